package emul

import (
	"bytes"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// fakeLower is an in-memory Lower: a tree of entries by path, which the
// tests check is never changed.
type fakeLower struct {
	ents   map[string]*fakeEnt
	opened int
	closed int
}

type fakeEnt struct {
	a      LowerAttr
	data   string
	target string
}

const fakeMajor, fakeMinor = 8, 1

var fakeTime = time.Unix(1000000000, 0)

// newFakeLower builds a lower layer from specs: "d/" is a directory,
// "l->target" a symlink, "f=data" a file (mode 0644, directories 0755).
func newFakeLower(specs ...string) *fakeLower {
	fl := &fakeLower{ents: map[string]*fakeEnt{}}
	ino := uint64(1000)
	add := func(rel string, mode uint32, data, target string) {
		ino++
		e := &fakeEnt{data: data, target: target}
		e.a.Attr = ramfs.Attr{Ino: ino, Mode: mode, Nlink: 1, Uid: 0, Gid: 0, Size: int64(len(data) + len(target)),
			Blksize: 4096, Atime: fakeTime, Mtime: fakeTime, Ctime: fakeTime, Btime: fakeTime}
		e.a.DevMajor, e.a.DevMinor = fakeMajor, fakeMinor
		if mode&syscall.S_IFMT == syscall.S_IFDIR {
			e.a.Nlink = 2
		}
		fl.ents[rel] = e
	}
	add(".", syscall.S_IFDIR|0o755, "", "")
	for _, s := range specs {
		switch {
		case strings.HasSuffix(s, "/"):
			add(strings.TrimSuffix(s, "/"), syscall.S_IFDIR|0o755, "", "")
		case strings.Contains(s, "->"):
			n, t, _ := strings.Cut(s, "->")
			add(n, syscall.S_IFLNK|0o777, "", t)
		default:
			n, d, _ := strings.Cut(s, "=")
			add(n, syscall.S_IFREG|0o644, d, "")
		}
	}
	return fl
}

func (fl *fakeLower) Lstat(rel string) (LowerAttr, error) {
	if rel != "." {
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			if e := fl.ents[d]; e != nil && e.a.Mode&syscall.S_IFMT != syscall.S_IFDIR {
				return LowerAttr{}, syscall.ENOTDIR
			}
		}
	}
	e := fl.ents[rel]
	if e == nil {
		return LowerAttr{}, syscall.ENOENT
	}
	return e.a, nil
}

func (fl *fakeLower) ReadDir(rel string) ([]LowerEntry, error) {
	e := fl.ents[rel]
	if e == nil {
		return nil, syscall.ENOENT
	}
	if e.a.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil, syscall.ENOTDIR
	}
	var out []LowerEntry
	for p, c := range fl.ents {
		if p != "." && path.Dir(p) == rel {
			out = append(out, LowerEntry{Name: path.Base(p), Ino: c.a.Ino, Type: dtypeOf(c.a.Mode)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func dtypeOf(mode uint32) uint8 {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return 4
	case syscall.S_IFLNK:
		return 10
	}
	return 8
}

func (fl *fakeLower) Readlink(rel string) (string, error) {
	e := fl.ents[rel]
	if e == nil {
		return "", syscall.ENOENT
	}
	if e.target == "" {
		return "", syscall.EINVAL
	}
	return e.target, nil
}

func (fl *fakeLower) Open(rel string, flags int) (LowerFile, error) {
	e := fl.ents[rel]
	if e == nil {
		return nil, syscall.ENOENT
	}
	fl.opened++
	return &fakeFile{fl: fl, r: strings.NewReader(e.data)}, nil
}

// snapshot describes the whole lower tree, to check it never changes.
func (fl *fakeLower) snapshot() string {
	var lines []string
	for p, e := range fl.ents {
		lines = append(lines, p+" "+e.data+e.target+" "+itoa(int(e.a.Mode)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

type fakeFile struct {
	fl *fakeLower
	r  *strings.Reader
}

func (f *fakeFile) ReadAt(p []byte, off int64) (int, error) { return f.r.ReadAt(p, off) }
func (f *fakeFile) Close() error                            { f.fl.closed++; return nil }
func (f *fakeFile) Fd() uintptr                             { return 99 }

// fdHost is a Host that names some of the target's host fds.
type fdHost struct {
	fakeHost
	paths map[int]string
}

func (h fdHost) FDPath(tgid, fd int) (string, error) {
	if p, ok := h.paths[fd]; ok {
		return p, nil
	}
	return "", syscall.EBADF
}

// newOverlayRig is a rig whose mount /m is an overlay of fl.
func newOverlayRig(t *testing.T, fl *fakeLower, hostFDs bool) (*rig, *Mount, map[int]string) {
	paths := map[int]string{}
	m := &Mount{Path: "/m", FS: ramfs.New(ramfs.Options{}), Lower: fl}
	k := NewKernel([]*Mount{m}, fdHost{fakeHost{cwd: "/"}, paths})
	k.HostFDs = hostFDs
	k.OnFault = func(msg string) { t.Log("fault:", msg) }
	before := fl.snapshot()
	t.Cleanup(func() {
		if after := fl.snapshot(); after != before {
			t.Errorf("the lower layer changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if fl.opened != fl.closed {
			t.Errorf("%d lower files opened, %d closed", fl.opened, fl.closed)
		}
	})
	return &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}, m, paths
}

// stat returns the struct stat of path (lstat when !follow).
func (r *rig) stat(p string, follow bool) (st struct {
	dev, ino uint64
	nlink    uint64
	mode     uint32
	size     int64
}, e syscall.Errno) {
	buf := r.mem.alloc(sizeofStat)
	nr := unix.SYS_STAT
	if !follow {
		nr = unix.SYS_LSTAT
	}
	res := r.call(nr, r.mem.str(p), buf)
	if res.Action != Return {
		r.t.Fatalf("stat %s: action %v", p, res.Action)
	}
	if res.Err != 0 {
		return st, res.Err
	}
	b := r.mem.bytesAt(buf, sizeofStat)
	st.dev, st.ino, st.nlink = le.Uint64(b[0:]), le.Uint64(b[8:]), le.Uint64(b[16:])
	st.mode, st.size = le.Uint32(b[24:]), int64(le.Uint64(b[48:]))
	return st, 0
}

// readAll opens p read-only and returns its data; with HostFDs off the
// open must be emulated.
func (r *rig) readAll(p string) string {
	r.t.Helper()
	fd := r.ok(unix.SYS_OPEN, r.mem.str(p), unix.O_RDONLY, 0)
	buf := r.mem.alloc(4096)
	n := r.ok(unix.SYS_READ, uint64(fd), buf, 4096)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	return string(r.mem.bytesAt(buf, int(n)))
}

// list returns the names getdents64 gives for directory p, sorted unless
// order matters.
func (r *rig) list(p string) []string {
	r.t.Helper()
	fd := r.ok(unix.SYS_OPEN, r.mem.str(p), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	defer r.ok(unix.SYS_CLOSE, uint64(fd))
	var names []string
	buf := r.mem.alloc(256)
	for {
		// A small buffer: the listing must resume correctly.
		n := r.ok(unix.SYS_GETDENTS64, uint64(fd), buf, 256)
		if n == 0 {
			return names
		}
		b := r.mem.bytesAt(buf, int(n))
		for len(b) > 0 {
			reclen := le.Uint16(b[16:])
			names = append(names, string(bytes.TrimRight(b[19:reclen], "\x00")))
			b = b[reclen:]
		}
	}
}

func wantDev(maj, min uint32) uint64 { return encodeDev(maj, min) }

func TestOverlayLookups(t *testing.T) {
	fl := newFakeLower("a=alpha", "d/", "d/x=xx", "d/sub/", "link->a", "dlink->d", "esc->/etc", "up->../..")
	r, m, _ := newOverlayRig(t, fl, false)
	maj, mnr := r.k.devOf(m)
	mountDev := wantDev(maj, mnr)
	lowerDev := wantDev(fakeMajor, fakeMinor)
	// An upper file of its own, and a lower one whited out.
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/u"), unix.O_CREAT|unix.O_WRONLY, 0o600)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/d/x"))

	for _, c := range []struct {
		path   string
		follow bool
		err    syscall.Errno
		typ    uint32
		size   int64
		dev    uint64 // 0: the mount's
		nlink  uint64 // 0: not checked
	}{
		{path: "/m/a", follow: true, typ: syscall.S_IFREG, size: 5, dev: lowerDev, nlink: 1},
		{path: "/m/link", follow: true, typ: syscall.S_IFREG, size: 5, dev: lowerDev},
		{path: "/m/link", typ: syscall.S_IFLNK, size: 1, dev: lowerDev},
		{path: "/m/d", follow: true, typ: syscall.S_IFDIR, size: 60, nlink: 3}, // ".", "..", sub (x is whited out)
		{path: "/m/d/", follow: true, typ: syscall.S_IFDIR, size: 60},
		{path: "/m/dlink/sub", follow: true, typ: syscall.S_IFDIR, size: 40, nlink: 2},
		{path: "/m/d/sub/../../a", follow: true, typ: syscall.S_IFREG, size: 5, dev: lowerDev},
		{path: "/m/u", follow: true, typ: syscall.S_IFREG, size: 0},
		{path: "/m/d/x", follow: true, err: syscall.ENOENT},
		{path: "/m/nope", follow: true, err: syscall.ENOENT},
		{path: "/m/a/x", follow: true, err: syscall.ENOTDIR},
		{path: "/m/a/", follow: true, err: syscall.ENOTDIR},
		{path: "/m/esc/passwd", follow: true, err: syscall.EXDEV},
		{path: "/m/d/sub/../../up/etc", follow: true, err: syscall.EXDEV},
		{path: "/m", follow: true, typ: syscall.S_IFDIR, size: 20 * (2 + 7), nlink: 3}, // one subdirectory: d
	} {
		st, e := r.stat(c.path, c.follow)
		if e != c.err {
			t.Errorf("stat %s: errno %v, want %v", c.path, e, c.err)
			continue
		}
		if e != 0 {
			continue
		}
		dev := c.dev
		if dev == 0 {
			dev = mountDev
		}
		if st.mode&syscall.S_IFMT != c.typ || (c.size != 0 && st.size != c.size) || st.dev != dev || (c.nlink != 0 && st.nlink != c.nlink) {
			t.Errorf("stat %s: mode %o size %d dev %#x nlink %d; want type %o size %d dev %#x nlink %d",
				c.path, st.mode, st.size, st.dev, st.nlink, c.typ, c.size, dev, c.nlink)
		}
	}
	// Lower directories have numbers of their own, stable across their
	// copy-up; lower files keep the host's.
	before, _ := r.stat("/m/d", true)
	if before.ino < dirInoBase {
		t.Errorf("lower directory ino %d", before.ino)
	}
	if st, _ := r.stat("/m/a", true); st.ino != fl.ents["a"].a.Ino {
		t.Errorf("lower file ino %d, want %d", st.ino, fl.ents["a"].a.Ino)
	}
	fd = r.ok(unix.SYS_OPEN, r.mem.str("/m/d/new"), unix.O_CREAT|unix.O_WRONLY, 0o600) // copies d up
	r.ok(unix.SYS_CLOSE, uint64(fd))
	if after, _ := r.stat("/m/d", true); after.ino != before.ino || after.nlink != 3 || after.size != 80 {
		t.Errorf("copied-up directory: ino %d (was %d) nlink %d size %d", after.ino, before.ino, after.nlink, after.size)
	}
	if got := r.readAll("/m/link"); got != "alpha" {
		t.Errorf("read through a lower symlink: %q", got)
	}
}

func TestOverlayReadFallsThrough(t *testing.T) {
	fl := newFakeLower("a=alpha")
	r, m, _ := newOverlayRig(t, fl, true)
	res := r.call(unix.SYS_OPENAT, cwd, r.mem.str("/m/a"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if res.Action != InstallHostFD || res.Host == nil || res.FDFlags != unix.O_CLOEXEC {
		t.Fatalf("read-only open of a lower file: %v %+v", res.Action, res)
	}
	res.Host.Close()
	if _, err := m.FS.Lookup(m.FS.Root(), "a"); err == nil {
		t.Errorf("a read-only open copied the file up")
	}
	// O_PATH too; a write or O_TRUNC copies up.
	res = r.call(unix.SYS_OPENAT, cwd, r.mem.str("/m/a"), unix.O_PATH, 0)
	if res.Action != InstallHostFD {
		t.Fatalf("O_PATH open: %v", res.Action)
	}
	res.Host.Close()
	r.errno(syscall.EISDIR, unix.SYS_OPENAT, cwd, r.mem.str("/m"), unix.O_WRONLY, 0)
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/a"), unix.O_RDWR, 0)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	if _, err := m.FS.Lookup(m.FS.Root(), "a"); err != nil {
		t.Errorf("an open for writing did not copy up: %v", err)
	}
	// Once copied up, reads are emulated.
	if res := r.call(unix.SYS_OPENAT, cwd, r.mem.str("/m/a"), unix.O_RDONLY, 0); res.Action != Return || res.Err != 0 {
		t.Errorf("read-only open of the copy: %v %v", res.Action, res.Err)
	}
}

func TestOverlayCopyUpOnWrite(t *testing.T) {
	fl := newFakeLower("d/", "d/f=alpha", "big="+strings.Repeat("\x00", 8192)+"tail")
	r, m, _ := newOverlayRig(t, fl, false)
	root := m.FS.Getattr(m.FS.Root())
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/d/f"), unix.O_WRONLY|unix.O_APPEND, 0)
	r.ok(unix.SYS_WRITE, uint64(fd), r.mem.str("beta"), 4)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	if got := r.readAll("/m/d/f"); got != "alphabeta" {
		t.Errorf("after append: %q", got)
	}
	if fl.ents["d/f"].data != "alpha" {
		t.Errorf("the lower file changed")
	}
	// The copy keeps mode, owner, times (but mtime: it was written) and,
	// for stat, the lower number and device.
	st, _ := r.stat("/m/d/f", true)
	if st.ino != fl.ents["d/f"].a.Ino || st.dev != wantDev(fakeMajor, fakeMinor) || st.mode != syscall.S_IFREG|0o644 {
		t.Errorf("copied-up stat: ino %d dev %#x mode %o", st.ino, st.dev, st.mode)
	}
	// Copy-up is invisible in the parents: their times are the lower ones.
	d, err := m.FS.Walk("/d")
	if err != nil {
		t.Fatal(err)
	}
	if a := m.FS.Getattr(d); !a.Mtime.Equal(fakeTime) {
		t.Errorf("copied-up parent mtime %v, want %v", a.Mtime, fakeTime)
	}
	if a := m.FS.Getattr(m.FS.Root()); !a.Mtime.Equal(root.Mtime) {
		t.Errorf("root mtime changed by a copy-up")
	}
	// Truncate copies up without the data; holes stay holes.
	r.ok(unix.SYS_TRUNCATE, r.mem.str("/m/big"), 8196)
	big, _ := m.FS.Walk("/big")
	if a := m.FS.Getattr(big); a.Size != 8196 || a.Blocks != 8 {
		t.Errorf("copied-up sparse file: size %d blocks %d", a.Size, a.Blocks)
	}
	r.ok(unix.SYS_CHMOD, r.mem.str("/m/d"), 0o700)
	if st, _ := r.stat("/m/d", true); st.mode != syscall.S_IFDIR|0o700 {
		t.Errorf("chmod of a lower directory: %o", st.mode)
	}
}

func TestOverlayWhiteout(t *testing.T) {
	fl := newFakeLower("a=alpha", "b=bravo")
	r, m, _ := newOverlayRig(t, fl, false)
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/a"))
	if _, e := r.stat("/m/a", false); e != syscall.ENOENT {
		t.Errorf("stat after unlink: %v", e)
	}
	wh, err := m.FS.Lookup(m.FS.Root(), "a")
	if err != nil || !isWhiteout(m.FS, wh) {
		t.Errorf("no whiteout for a lower file: %v", err)
	}
	r.errno(syscall.ENOENT, unix.SYS_UNLINK, r.mem.str("/m/a"))
	// A copied-up file leaves a whiteout too; a file of the upper layer
	// alone does not.
	r.ok(unix.SYS_CHMOD, r.mem.str("/m/b"), 0o600)
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/b"))
	if n, err := m.FS.Lookup(m.FS.Root(), "b"); err != nil || !isWhiteout(m.FS, n) {
		t.Errorf("no whiteout for a copied-up file: %v", err)
	}
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/c"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/c"))
	if _, err := m.FS.Lookup(m.FS.Root(), "c"); err == nil {
		t.Errorf("a whiteout for an upper-only file")
	}
	if got := r.list("/m"); !slices.Equal(got, []string{".", ".."}) {
		t.Errorf("listing after the removals: %q", got)
	}
	// A new file where the whiteout is: empty, not the lower one.
	fd = r.ok(unix.SYS_OPEN, r.mem.str("/m/a"), unix.O_CREAT|unix.O_RDWR, 0o600)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	if got := r.readAll("/m/a"); got != "" {
		t.Errorf("re-created a reads %q", got)
	}
	if got := r.list("/m"); !slices.Equal(got, []string{".", "..", "a"}) {
		t.Errorf("listing: %q", got)
	}
}

func TestOverlayMergedGetdents(t *testing.T) {
	fl := newFakeLower("a=1", "b=2", "c=3", "d/", "d/x=4", "e/")
	r, m, _ := newOverlayRig(t, fl, false)
	// Upper entries: a new one, a copied-up one (shadowing), a whiteout.
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/new"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.ok(unix.SYS_CHMOD, r.mem.str("/m/b"), 0o600)
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/c"))
	got := r.list("/m")
	// Upper entries first (newest first, as tmpfs lists), then the lower
	// ones left.
	want := []string{".", "..", "b", "new", "a", "d", "e"}
	if !slices.Equal(got, want) {
		t.Errorf("merged listing %q, want %q", got, want)
	}
	if got := r.list("/m/d"); !slices.Equal(got, []string{".", "..", "x"}) {
		t.Errorf("lower directory listing %q", got)
	}
	// d_ino agrees with stat.
	dfd := r.ok(unix.SYS_OPEN, r.mem.str("/m"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	buf := r.mem.alloc(4096)
	n := r.ok(unix.SYS_GETDENTS64, uint64(dfd), buf, 4096)
	for b := r.mem.bytesAt(buf, int(n)); len(b) > 0; {
		reclen := le.Uint16(b[16:])
		name := string(bytes.TrimRight(b[19:reclen], "\x00"))
		ino := le.Uint64(b)
		if name != ".." {
			if st, e := r.stat("/m/"+name, false); e != 0 || st.ino != ino {
				t.Errorf("%s: d_ino %d, st_ino %d (%v)", name, ino, st.ino, e)
			}
		}
		b = b[reclen:]
	}
	// lseek to 0 takes a new snapshot.
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/a"))
	r.ok(unix.SYS_LSEEK, uint64(dfd), 0, unix.SEEK_SET)
	n = r.ok(unix.SYS_GETDENTS64, uint64(dfd), buf, 4096)
	if bytes.Contains(r.mem.bytesAt(buf, int(n)), []byte("a\x00")) {
		t.Errorf("a listed after its removal and a rewind")
	}
	r.ok(unix.SYS_CLOSE, uint64(dfd))
	_ = m
}

func TestOverlayRenameAcrossLayers(t *testing.T) {
	fl := newFakeLower("a=alpha", "d/", "d/x=xx", "v=victim")
	r, m, _ := newOverlayRig(t, fl, false)
	// A lower file moves: copied up, renamed, a whiteout at the old name.
	r.ok(unix.SYS_RENAME, r.mem.str("/m/d/x"), r.mem.str("/m/y"))
	if got := r.readAll("/m/y"); got != "xx" {
		t.Errorf("moved file reads %q", got)
	}
	if _, e := r.stat("/m/d/x", false); e != syscall.ENOENT {
		t.Errorf("old name: %v", e)
	}
	if got := r.list("/m/d"); !slices.Equal(got, []string{".", ".."}) {
		t.Errorf("old directory lists %q", got)
	}
	// Over a lower file.
	r.ok(unix.SYS_RENAME, r.mem.str("/m/a"), r.mem.str("/m/v"))
	if got := r.readAll("/m/v"); got != "alpha" {
		t.Errorf("renamed over a lower file: %q", got)
	}
	if _, e := r.stat("/m/a", false); e != syscall.ENOENT {
		t.Errorf("a after rename: %v", e)
	}
	// A directory with lower entries cannot move (mv copies); one of the
	// upper layer alone can, also over an empty lower directory.
	r.errno(syscall.EXDEV, unix.SYS_RENAME, r.mem.str("/m/d"), r.mem.str("/m/d2"))
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/n"), 0o755)
	r.ok(unix.SYS_RENAME, r.mem.str("/m/n"), r.mem.str("/m/n2"))
	r.ok(unix.SYS_RENAME, r.mem.str("/m/n2"), r.mem.str("/m/d"))
	if got := r.list("/m/d"); !slices.Equal(got, []string{".", ".."}) {
		t.Errorf("a directory renamed over a lower one lists %q", got)
	}
	r.errno(syscall.ENOTDIR, unix.SYS_RENAME, r.mem.str("/m/d"), r.mem.str("/m/y"))
	r.errno(syscall.EISDIR, unix.SYS_RENAME, r.mem.str("/m/y"), r.mem.str("/m/d"))
	got := r.list("/m")
	sort.Strings(got)
	if want := []string{".", "..", "d", "v", "y"}; !slices.Equal(got, want) {
		t.Errorf("root lists %q, want %q", got, want)
	}
	_ = m
}

func TestOverlayOpaqueDirectory(t *testing.T) {
	fl := newFakeLower("d/", "d/x=xx", "d/sub/")
	r, m, _ := newOverlayRig(t, fl, false)
	r.errno(syscall.ENOTEMPTY, unix.SYS_RMDIR, r.mem.str("/m/d"))
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/d/x"))
	r.errno(syscall.ENOTEMPTY, unix.SYS_RMDIR, r.mem.str("/m/d"))
	r.ok(unix.SYS_RMDIR, r.mem.str("/m/d/sub"))
	r.ok(unix.SYS_RMDIR, r.mem.str("/m/d"))
	if _, e := r.stat("/m/d", false); e != syscall.ENOENT {
		t.Errorf("after rmdir: %v", e)
	}
	if got := r.list("/m"); !slices.Equal(got, []string{".", ".."}) {
		t.Errorf("root lists %q", got)
	}
	// A new d hides everything the lower d had.
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/d"), 0o700)
	if got := r.list("/m/d"); !slices.Equal(got, []string{".", ".."}) {
		t.Errorf("new d lists %q", got)
	}
	if _, e := r.stat("/m/d/x", false); e != syscall.ENOENT {
		t.Errorf("lower d/x seen through an opaque d: %v", e)
	}
	if st, _ := r.stat("/m/d", false); st.mode != syscall.S_IFDIR|0o700 || st.nlink != 2 {
		t.Errorf("new d: mode %o nlink %d", st.mode, st.nlink)
	}
	r.ok(unix.SYS_RMDIR, r.mem.str("/m/d"))
	if n, err := m.FS.Lookup(m.FS.Root(), "d"); err != nil || !isWhiteout(m.FS, n) {
		t.Errorf("no whiteout after removing the opaque d: %v", err)
	}
}

func TestOverlayHostFDChangesTheOverlay(t *testing.T) {
	fl := newFakeLower("a=alpha")
	r, m, paths := newOverlayRig(t, fl, true)
	// fd 7 is the host file /m/a the program got for reading: fchmod of
	// it changes the overlay's copy, never the host file.
	paths[7] = "/m/a"
	r.ok(unix.SYS_FCHMOD, 7, 0o600)
	if st, _ := r.stat("/m/a", false); st.mode != syscall.S_IFREG|0o600 {
		t.Errorf("mode after fchmod of the host fd: %o", st.mode)
	}
	if fl.ents["a"].a.Mode != syscall.S_IFREG|0o644 {
		t.Errorf("the lower file's mode changed")
	}
	// Once the name shows another file, the fd's file is gone: EROFS.
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/a"))
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/a"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.errno(syscall.EROFS, unix.SYS_FCHMOD, 7, 0o600)
	// Other host fds go to the kernel.
	if res := r.call(unix.SYS_FCHMOD, 8, 0o600); res.Action != Continue {
		t.Errorf("fchmod of an unrelated fd: %v", res.Action)
	}
	_ = m
}

func TestOverlayCopyUpAll(t *testing.T) {
	fl := newFakeLower("a=alpha", "b=bravo", "d/", "d/x=xx", "d/e/", "d/e/y=yy", "l->a")
	r, m, _ := newOverlayRig(t, fl, false)
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/b"))
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/d/x"), unix.O_WRONLY|unix.O_TRUNC, 0)
	r.ok(unix.SYS_WRITE, uint64(fd), r.mem.str("new"), 3)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	if err := r.k.CopyUpAll(m); err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(dir string, n *ramfs.Inode)
	walk = func(dir string, n *ramfs.Inode) {
		m.FS.ReadDir(n, 2, func(name string, _ uint64, _ uint8, _ int64) bool {
			c, _ := m.FS.Lookup(n, name)
			p := path.Join(dir, name)
			a := m.FS.Getattr(c)
			switch a.Mode & syscall.S_IFMT {
			case syscall.S_IFDIR:
				got = append(got, p+"/")
				walk(p, c)
			case syscall.S_IFLNK:
				t, _ := m.FS.Readlink(c)
				got = append(got, p+"->"+t)
			case syscall.S_IFREG:
				b := make([]byte, a.Size)
				m.FS.ReadAt(c, b, 0)
				got = append(got, p+"="+string(b))
			default:
				got = append(got, p+"?")
			}
			return true
		})
	}
	walk("", m.FS.Root())
	sort.Strings(got)
	want := []string{"a=alpha", "d/", "d/e/", "d/e/y=yy", "d/x=new", "l->a"}
	if !slices.Equal(got, want) {
		t.Errorf("upper layer after CopyUpAll:\n%q\nwant\n%q", got, want)
	}
}

var _ io.ReaderAt = (*fakeFile)(nil)

// /proc/self/fd/N and /dev/fd/N, /dev/stdin... name the file behind the
// fd: an emulated file, or for a host file under an overlay the overlay's
// entry (an open for writing copies up, the host file is not reopened).
func TestFDLinks(t *testing.T) {
	fl := newFakeLower("a=alpha")
	r, _, paths := newOverlayRig(t, fl, true)
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/e"), unix.O_CREAT|unix.O_RDWR, 0o644)
	r.ok(unix.SYS_WRITE, uint64(fd), r.mem.str("emulated"), 8)
	for _, p := range []string{"/dev/fd/" + itoa(int(fd)), "/proc/self/fd/" + itoa(int(fd)), "/proc/1/fd/" + itoa(int(fd))} {
		if got := r.readAll(p); got != "emulated" {
			t.Errorf("%s reads %q", p, got)
		}
	}
	// readlink of /proc/self/fd/N names the file; /dev/stdin stays the
	// host's symlink.
	buf := r.mem.alloc(64)
	if n := r.ok(unix.SYS_READLINK, r.mem.str("/proc/self/fd/"+itoa(int(fd))), buf, 64); string(r.mem.bytesAt(buf, int(n))) != "/m/e" {
		t.Errorf("readlink = %q", r.mem.bytesAt(buf, int(n)))
	}
	if res := r.call(unix.SYS_READLINK, r.mem.str("/dev/stdin"), buf, 64); res.Action != Continue {
		t.Errorf("readlink /dev/stdin: %v", res.Action)
	}
	paths[7] = "/m/a"
	wfd := r.ok(unix.SYS_OPEN, r.mem.str("/proc/self/fd/7"), unix.O_WRONLY|unix.O_TRUNC, 0)
	r.ok(unix.SYS_WRITE, uint64(wfd), r.mem.str("new"), 3)
	r.ok(unix.SYS_CLOSE, uint64(wfd))
	if got := r.readAll("/m/a"); got != "new" {
		t.Errorf("a after a write through /proc/self/fd/7: %q", got)
	}
	if res := r.call(unix.SYS_OPEN, r.mem.str("/proc/self/fd/8"), unix.O_WRONLY, 0); res.Action != Continue {
		t.Errorf("open of another host fd's link: %v", res.Action)
	}
}

func TestOverlayRenameCases(t *testing.T) {
	fl := newFakeLower("d/", "d/x=xx", "a=alpha", "b=bravo", "w=whited")
	r, m, _ := newOverlayRig(t, fl, false)
	// A directory of the upper layer over a merged one whose merged view
	// is empty: the merged one goes with its whiteouts.
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/d/x"))
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/n"), 0o755)
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/n/inside"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.ok(unix.SYS_RENAME, r.mem.str("/m/n"), r.mem.str("/m/d"))
	if got := r.list("/m/d"); !slices.Equal(got, []string{".", "..", "inside"}) {
		t.Errorf("d lists %q", got)
	}
	if _, e := r.stat("/m/d/x", false); e != syscall.ENOENT {
		t.Errorf("d/x: %v", e)
	}
	// RENAME_EXCHANGE of a lower file and an upper one.
	fd = r.ok(unix.SYS_OPEN, r.mem.str("/m/u"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_WRITE, uint64(fd), r.mem.str("upper"), 5)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.ok(unix.SYS_RENAMEAT2, cwd, r.mem.str("/m/a"), cwd, r.mem.str("/m/u"), unix.RENAME_EXCHANGE)
	if a, u := r.readAll("/m/a"), r.readAll("/m/u"); a != "upper" || u != "alpha" {
		t.Errorf("after exchange a=%q u=%q", a, u)
	}
	// RENAME_NOREPLACE: a lower name exists, a whited-out one does not.
	r.errno(syscall.EEXIST, unix.SYS_RENAMEAT2, cwd, r.mem.str("/m/u"), cwd, r.mem.str("/m/b"), unix.RENAME_NOREPLACE)
	r.ok(unix.SYS_UNLINK, r.mem.str("/m/w"))
	r.ok(unix.SYS_RENAMEAT2, cwd, r.mem.str("/m/u"), cwd, r.mem.str("/m/w"), unix.RENAME_NOREPLACE)
	if got := r.readAll("/m/w"); got != "alpha" {
		t.Errorf("w = %q", got)
	}
	// link of a lower file copies it up.
	r.ok(unix.SYS_LINK, r.mem.str("/m/b"), r.mem.str("/m/b2"))
	if st, _ := r.stat("/m/b", false); st.nlink != 2 {
		t.Errorf("b nlink %d after link", st.nlink)
	}
	got := r.list("/m")
	sort.Strings(got)
	if want := []string{".", "..", "a", "b", "b2", "d", "w"}; !slices.Equal(got, want) {
		t.Errorf("root lists %q, want %q", got, want)
	}
	_ = m
}
