package hostcopy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fsshim/ramfs"
)

var (
	t1 = time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	t2 = time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)
)

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hostTree makes a tree with every kind of file and returns its root.
func hostTree(t *testing.T) string {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	check(t, os.WriteFile(p("a.txt"), []byte("hello"), 0o640))
	check(t, os.WriteFile(p("suid"), []byte("#!"), 0o755))
	check(t, syscall.Chmod(p("suid"), 0o4755))
	f, err := os.Create(p("sparse"))
	check(t, err)
	_, err = f.WriteAt([]byte("end"), 1<<20)
	check(t, err)
	check(t, f.Close())
	check(t, os.MkdirAll(p("sub/deep/er"), 0o750))
	check(t, os.WriteFile(p("sub/b"), bytes.Repeat([]byte("b"), 10000), 0o600))
	check(t, os.Link(p("sub/b"), p("hl")))
	check(t, os.Symlink("a.txt", p("link")))
	check(t, os.Symlink("nowhere/at/all", p("sub/dangling")))
	check(t, syscall.Mkfifo(p("fifo"), 0o600))
	check(t, syscall.Chmod(p("fifo"), 0o620))
	check(t, syscall.Mknod(p("sock"), syscall.S_IFSOCK|0o600, 0))
	if os.Geteuid() == 0 {
		check(t, syscall.Mknod(p("null"), syscall.S_IFCHR|0o666, 0x0103))
		check(t, os.Lchown(p("a.txt"), 1234, 5678))
		check(t, os.Lchown(p("link"), 4321, 8765))
	}
	for _, s := range []string{"a.txt", "suid", "sparse", "sub/b", "fifo", "sub/deep/er", "sub/deep", "sub", "."} {
		check(t, os.Chtimes(p(s), t1, t2))
	}
	return dir
}

func TestRoundTrip(t *testing.T) {
	src := hostTree(t)
	rfs := ramfs.New(ramfs.Options{})
	check(t, CopyIn(rfs, rfs.Root(), src))

	walk := func(path string) *ramfs.Inode {
		t.Helper()
		n, err := rfs.Walk(path)
		check(t, err)
		return n
	}
	lwalk := func(dir, name string) ramfs.Attr {
		t.Helper()
		n, err := rfs.Lookup(walk(dir), name)
		check(t, err)
		return rfs.Getattr(n)
	}
	a := rfs.Getattr(walk("a.txt"))
	if a.Mode != syscall.S_IFREG|0o640 || a.Size != 5 || !a.Mtime.Equal(t2) || !a.Atime.Equal(t1) {
		t.Errorf("a.txt: %+v", a)
	}
	if m := rfs.Getattr(walk("suid")).Mode; m != syscall.S_IFREG|0o4755 {
		t.Errorf("suid mode %o", m)
	}
	sp := rfs.Getattr(walk("sparse"))
	if sp.Size != 1<<20+3 || sp.Blocks != 8 {
		t.Errorf("sparse: size %d blocks %d", sp.Size, sp.Blocks)
	}
	if walk("hl") != walk("sub/b") || rfs.Getattr(walk("hl")).Nlink != 2 {
		t.Error("hard link not kept")
	}
	if l := lwalk(".", "link"); l.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		t.Errorf("link mode %o", l.Mode)
	}
	d, err := rfs.Lookup(walk("sub"), "dangling")
	check(t, err)
	if tg, _ := rfs.Readlink(d); tg != "nowhere/at/all" {
		t.Errorf("dangling target %q", tg)
	}
	if m := lwalk(".", "fifo").Mode; m != syscall.S_IFIFO|0o620 {
		t.Errorf("fifo mode %o", m)
	}
	for _, skipped := range []string{"sock", "null"} {
		if _, err := rfs.Lookup(rfs.Root(), skipped); !errors.Is(err, syscall.ENOENT) {
			t.Errorf("%s copied: %v", skipped, err)
		}
	}
	if s := rfs.Getattr(walk("sub")); s.Mode != syscall.S_IFDIR|0o750 || !s.Mtime.Equal(t2) || s.Nlink != 3 {
		t.Errorf("sub: %+v", s)
	}
	if r := rfs.Getattr(rfs.Root()); !r.Mtime.Equal(t2) {
		t.Errorf("root mtime %v", r.Mtime)
	}
	if os.Geteuid() == 0 {
		if a.Uid != 1234 || a.Gid != 5678 {
			t.Errorf("a.txt owner %d:%d", a.Uid, a.Gid)
		}
		if l := lwalk(".", "link"); l.Uid != 4321 || l.Gid != 8765 {
			t.Errorf("link owner %d:%d", l.Uid, l.Gid)
		}
	}

	out := t.TempDir()
	check(t, CopyOut(rfs, rfs.Root(), out))
	compareTrees(t, rfs, src, out)

	// CopyOut refuses a non-empty directory.
	err = CopyOut(rfs, rfs.Root(), out)
	if !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("CopyOut into non-empty dir: %v", err)
	}
}

// compareTrees checks that out is a faithful copy of src (times as kept in
// the FS, since reading src may have moved its atimes).
func compareTrees(t *testing.T, rfs *ramfs.FS, src, out string) {
	t.Helper()
	// Atimes come from the FS; check them before reading the copies.
	n, err := rfs.Walk("a.txt")
	check(t, err)
	var st syscall.Stat_t
	check(t, syscall.Stat(filepath.Join(out, "a.txt"), &st))
	if want := rfs.Getattr(n).Atime; !time.Unix(st.Atim.Unix()).Equal(want) {
		t.Errorf("a.txt atime %v, want %v", time.Unix(st.Atim.Unix()), want)
	}
	inodes := map[uint64]uint64{}
	check(t, filepath.Walk(src, func(p string, _ fs.FileInfo, err error) error {
		check(t, err)
		rel, _ := filepath.Rel(src, p)
		var s, o syscall.Stat_t
		check(t, syscall.Lstat(p, &s))
		typ := s.Mode & syscall.S_IFMT
		oerr := syscall.Lstat(filepath.Join(out, rel), &o)
		if typ == syscall.S_IFSOCK || typ == syscall.S_IFCHR {
			if oerr == nil {
				t.Errorf("%s: copied out", rel)
			}
			return nil
		}
		if oerr != nil {
			t.Errorf("%s: missing in copy: %v", rel, oerr)
			return nil
		}
		if s.Mode != o.Mode {
			t.Errorf("%s: mode %o, copy %o", rel, s.Mode, o.Mode)
		}
		if typ == syscall.S_IFREG && s.Size != o.Size {
			t.Errorf("%s: size %d, copy %d", rel, s.Size, o.Size)
		}
		if typ != syscall.S_IFLNK && typ != syscall.S_IFDIR && o.Mtim != s.Mtim {
			t.Errorf("%s: mtime %v, copy %v", rel, s.Mtim, o.Mtim)
		}
		if typ == syscall.S_IFDIR && !time.Unix(o.Mtim.Unix()).Equal(t2) {
			t.Errorf("%s: dir mtime %v", rel, time.Unix(o.Mtim.Unix()))
		}
		if os.Geteuid() == 0 && (s.Uid != o.Uid || s.Gid != o.Gid) {
			t.Errorf("%s: owner %d:%d, copy %d:%d", rel, s.Uid, s.Gid, o.Uid, o.Gid)
		}
		if typ == syscall.S_IFREG {
			if prev, ok := inodes[s.Ino]; ok && prev != o.Ino {
				t.Errorf("%s: hard link not kept", rel)
			}
			inodes[s.Ino] = o.Ino
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(filepath.Join(out, rel))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: content differs", rel)
			}
		}
		if typ == syscall.S_IFLNK {
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(filepath.Join(out, rel))
			if a != b {
				t.Errorf("%s: target %q, copy %q", rel, a, b)
			}
		}
		return nil
	}))
	var sp syscall.Stat_t
	check(t, syscall.Stat(filepath.Join(out, "sparse"), &sp))
	if sp.Blocks > 64 {
		t.Errorf("sparse file copied out densely: %d blocks", sp.Blocks)
	}
}

func TestCopyInENOSPC(t *testing.T) {
	src := t.TempDir()
	check(t, os.WriteFile(filepath.Join(src, "small"), []byte("x"), 0o644))
	check(t, os.WriteFile(filepath.Join(src, "zbig"), bytes.Repeat([]byte("y"), 1<<20), 0o644))
	rfs := ramfs.New(ramfs.Options{Capacity: 64 << 10})
	err := CopyIn(rfs, rfs.Root(), src)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("CopyIn into a small FS: %v", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || filepath.Base(pe.Path) != "zbig" {
		t.Errorf("error %v does not name the file", err)
	}
	n, err := rfs.Walk("small")
	check(t, err)
	buf := make([]byte, 1)
	if k, _ := rfs.ReadAt(n, buf, 0); k != 1 || buf[0] != 'x' {
		t.Error("file copied before ENOSPC damaged")
	}
}

func TestCopyInNotDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	check(t, os.WriteFile(f, nil, 0o644))
	rfs := ramfs.New(ramfs.Options{})
	if err := CopyIn(rfs, rfs.Root(), f); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("CopyIn of a file: %v", err)
	}
	if err := CopyIn(rfs, rfs.Root(), filepath.Join(f, "missing")); err == nil {
		t.Error("CopyIn of a missing path succeeded")
	}
}

// TestCopyInXattrs: CopyIn reads the extended attributes of files,
// directories and FIFOs in the namespaces ramfs serves, binary and empty
// values included.
func TestCopyInXattrs(t *testing.T) {
	src := hostTree(t)
	p := func(s string) string { return filepath.Join(src, s) }
	set := func(path, name, value string) {
		t.Helper()
		if err := syscall.Setxattr(path, name, []byte(value), 0); err != nil {
			if errors.Is(err, syscall.EOPNOTSUPP) {
				t.Skipf("the host file system has no user attributes: %v", err)
			}
			t.Fatal(err)
		}
	}
	set(p("a.txt"), "user.a", "1")
	set(p("a.txt"), "user.bin", "\x00\xff")
	set(p("a.txt"), "user.empty", "")
	set(p("sub"), "user.dir", "d")
	set(p("."), "user.root", "r")
	set(p("sub/b"), "user.linked", "l")
	want := map[string]map[string]string{
		"a.txt": {"user.a": "1", "user.bin": "\x00\xff", "user.empty": ""},
		"sub":   {"user.dir": "d"},
		".":     {"user.root": "r"},
		"hl":    {"user.linked": "l"},
		"sub/b": {"user.linked": "l"},
	}
	if os.Geteuid() == 0 {
		set(p("fifo"), "trusted.fifo", "f")
		want["fifo"] = map[string]string{"trusted.fifo": "f"}
	}
	rfs := ramfs.New(ramfs.Options{})
	check(t, CopyIn(rfs, rfs.Root(), src))
	for rel, w := range want {
		n := rfs.Root()
		if rel != "." {
			var err error
			n, err = rfs.Walk(rel)
			check(t, err)
		}
		got := map[string]string{}
		for _, name := range rfs.ListXattr(n) {
			if strings.HasPrefix(name, "security.selinux") {
				continue
			}
			v, err := rfs.GetXattr(n, name)
			check(t, err)
			got[name] = string(v)
		}
		if len(got) != len(w) {
			t.Errorf("%s: %q, want %q", rel, got, w)
			continue
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%s: %q, want %q", rel, got, w)
			}
		}
	}
}
