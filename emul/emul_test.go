package emul

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// arena is a Memory over a byte slice: address base+i is arena[i].
type arena struct {
	b    []byte
	base uint64
	next uint64
}

func newArena() *arena { return &arena{b: make([]byte, 1<<20), base: 0x10000, next: 0x10000} }

func (a *arena) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < a.base || addr-a.base >= uint64(len(a.b)) {
		return 0, syscall.EFAULT
	}
	n := copy(p, a.b[addr-a.base:])
	if n < len(p) {
		return n, syscall.EFAULT
	}
	return n, nil
}

func (a *arena) WriteAt(p []byte, addr uint64) (int, error) {
	if addr < a.base || addr-a.base >= uint64(len(a.b)) {
		return 0, syscall.EFAULT
	}
	n := copy(a.b[addr-a.base:], p)
	if n < len(p) {
		return n, syscall.EFAULT
	}
	return n, nil
}

// alloc reserves n bytes and returns their address.
func (a *arena) alloc(n int) uint64 {
	p := a.next
	a.next += uint64((n + 15) &^ 15)
	return p
}

func (a *arena) str(s string) uint64 {
	p := a.alloc(len(s) + 1)
	copy(a.b[p-a.base:], s)
	a.b[p-a.base+uint64(len(s))] = 0
	return p
}

func (a *arena) bytesAt(p uint64, n int) []byte { return a.b[p-a.base : p-a.base+uint64(n)] }

type fakeHost struct{ cwd string }

func (h fakeHost) FDPath(tgid, fd int) (string, error) { return "", errors.New("no") }
func (h fakeHost) Cwd(tgid int) (string, error)        { return h.cwd, nil }

// rig is a Kernel with one mount at /m and a process whose fds are
// installed directly (the linked transport's job).
type rig struct {
	t      *testing.T
	k      *Kernel
	p      *Process
	mem    *arena
	nextFD int
}

func newRig(t *testing.T) *rig { return newRigOpts(t, ramfs.Options{}) }

// newRigOpts is newRig over an FS made with opt.
func newRigOpts(t *testing.T, opt ramfs.Options) *rig {
	fs := ramfs.New(opt)
	k := NewKernel([]*Mount{{Path: "/m", FS: fs}}, fakeHost{cwd: "/"})
	k.OnFault = func(m string) { t.Log("fault:", m) }
	return &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
}

func (r *rig) call(nr int, args ...uint64) Result {
	c := Call{Tid: 1, Proc: r.p, Nr: nr, Mem: r.mem}
	copy(c.Args[:], args)
	res := r.k.Handle(&c)
	if res.Action == Continue && nr == unix.SYS_CLOSE {
		return Result{Action: Return} // the placeholder close is the transport's
	}
	if res.Action == InstallFD {
		rep := r.k.Complete(r, &c, &res)
		return Result{Action: Return, Val: rep.Val, Err: rep.Err}
	}
	return res
}

// The rig is the Target of its InstallFD answers (Kernel.Complete): fds
// are numbered from 3 up, as a transport whose table emul does not keep.
func (r *rig) Answer(c *Call, val int64, errno syscall.Errno) {}
func (r *rig) Continue(c *Call) (int64, syscall.Errno)        { return 0, 0 }
func (r *rig) Fill(c *Call, f *File, fd int) error            { return syscall.ENODEV }
func (r *rig) InstallFD(c *Call, f *File, fdFlags, setFD int) (int, syscall.Errno, Progress) {
	if setFD >= 0 {
		return setFD, 0, Did
	}
	r.nextFD++
	return r.nextFD - 1, 0, Did
}
func (r *rig) InstallHostFD(c *Call, h LowerFile, fdFlags int) (int, syscall.Errno, Progress) {
	return -1, syscall.ENOSYS, Did
}
func (r *rig) Redirect(c *Call, rd *Redirection) (int64, syscall.Errno, Progress) {
	return -1, syscall.ENOSYS, Did
}
func (r *rig) Defer(c *Call)                                  {}
func (r *rig) Late(id uint64, val int64, errno syscall.Errno) {}

// ok runs a call that must succeed and returns its value.
func (r *rig) ok(nr int, args ...uint64) int64 {
	r.t.Helper()
	res := r.call(nr, args...)
	if res.Action != Return || res.Err != 0 {
		r.t.Fatalf("syscall %d%v: got %v err %v", nr, args, res.Action, res.Err)
	}
	return res.Val
}

// errno runs a call that must fail with want.
func (r *rig) errno(want syscall.Errno, nr int, args ...uint64) {
	r.t.Helper()
	res := r.call(nr, args...)
	if res.Action != Return || res.Err != want {
		r.t.Fatalf("syscall %d%v: got %v val %d err %v, want %v", nr, args, res.Action, res.Val, res.Err, want)
	}
}

const cwd = uint64(0xffffff9c) // AT_FDCWD as the register holds it (int -100, 32 bits)

func TestOpenWriteReadStat(t *testing.T) {
	r := newRig(t)
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	data := r.mem.str("hello world")
	if n := r.ok(unix.SYS_WRITE, uint64(fd), data, 11); n != 11 {
		t.Fatalf("write = %d", n)
	}
	if off := r.ok(unix.SYS_LSEEK, uint64(fd), 0, unix.SEEK_SET); off != 0 {
		t.Fatalf("lseek = %d", off)
	}
	buf := r.mem.alloc(64)
	if n := r.ok(unix.SYS_READ, uint64(fd), buf, 64); n != 11 || string(r.mem.bytesAt(buf, 11)) != "hello world" {
		t.Fatalf("read = %d %q", n, r.mem.bytesAt(buf, 11))
	}
	st := r.mem.alloc(sizeofStat)
	r.ok(unix.SYS_FSTAT, uint64(fd), st)
	b := r.mem.bytesAt(st, sizeofStat)
	if size := le.Uint64(b[48:]); size != 11 {
		t.Errorf("st_size = %d", size)
	}
	if mode := le.Uint32(b[24:]); mode != syscall.S_IFREG|0o644&^0o022 {
		t.Errorf("st_mode = %o", mode)
	}
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.errno(syscall.EEXIST, unix.SYS_OPENAT, cwd, r.mem.str("/m/f"), unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o644)
	r.errno(syscall.ENOENT, unix.SYS_OPENAT, cwd, r.mem.str("/m/nope"), unix.O_RDONLY, 0)
	r.errno(syscall.ENOTDIR, unix.SYS_OPENAT, cwd, r.mem.str("/m/f/x"), unix.O_RDONLY, 0)
	r.errno(syscall.ENOTDIR, unix.SYS_OPENAT, cwd, r.mem.str("/m/f/"), unix.O_RDONLY, 0)
}

func TestHostPathsContinue(t *testing.T) {
	r := newRig(t)
	for _, p := range []string{"/etc/passwd", "/mm/x", "/", "relative", "/m/../etc"} {
		res := r.call(unix.SYS_OPENAT, cwd, r.mem.str(p), unix.O_RDONLY, 0)
		if res.Action != Continue {
			t.Errorf("open %q: %v %v, want continue", p, res.Action, res.Err)
		}
	}
	// Unknown fds go to the host.
	if res := r.call(unix.SYS_READ, 1, r.mem.alloc(8), 8); res.Action != Continue {
		t.Errorf("read(1): %v", res.Action)
	}
}

func TestSymlinkEscapeIsRefused(t *testing.T) {
	r := newRig(t)
	r.ok(unix.SYS_SYMLINK, r.mem.str("/etc"), r.mem.str("/m/etc"))
	r.errno(syscall.EXDEV, unix.SYS_OPENAT, cwd, r.mem.str("/m/etc/passwd"), unix.O_RDONLY, 0)
	r.ok(unix.SYS_SYMLINK, r.mem.str("loop"), r.mem.str("/m/loop"))
	r.errno(syscall.ELOOP, unix.SYS_OPENAT, cwd, r.mem.str("/m/loop"), unix.O_RDONLY, 0)
}

func TestGetdentsAndRename(t *testing.T) {
	r := newRig(t)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/d"), 0o755)
	for _, n := range []string{"a", "b", "c"} {
		fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/d/"+n), unix.O_CREAT|unix.O_WRONLY, 0o600)
		r.ok(unix.SYS_CLOSE, uint64(fd))
	}
	r.ok(unix.SYS_RENAME, r.mem.str("/m/d/a"), r.mem.str("/m/d/z"))
	r.errno(syscall.EXDEV, unix.SYS_RENAME, r.mem.str("/m/d/b"), r.mem.str("/tmp/b"))
	dfd := r.ok(unix.SYS_OPEN, r.mem.str("/m/d"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	buf := r.mem.alloc(4096)
	n := r.ok(unix.SYS_GETDENTS64, uint64(dfd), buf, 4096)
	var names []string
	b := r.mem.bytesAt(buf, int(n))
	for len(b) > 0 {
		reclen := le.Uint16(b[16:])
		name := b[19:reclen]
		names = append(names, string(bytes.TrimRight(name, "\x00")))
		b = b[reclen:]
	}
	got := strings.Join(names, ",")
	if got != ".,..,z,c,b" { // tmpfs's order: newest name first
		t.Errorf("getdents names = %s", got)
	}
	if n := r.ok(unix.SYS_GETDENTS64, uint64(dfd), buf, 4096); n != 0 {
		t.Errorf("second getdents = %d, want 0", n)
	}
	r.ok(unix.SYS_LSEEK, uint64(dfd), 0, unix.SEEK_SET)
	r.errno(syscall.EINVAL, unix.SYS_GETDENTS64, uint64(dfd), buf, 4)
	r.errno(syscall.ENOTEMPTY, unix.SYS_RMDIR, r.mem.str("/m/d"))
	r.errno(syscall.EISDIR, unix.SYS_UNLINK, r.mem.str("/m/d"))
	r.errno(syscall.EBUSY, unix.SYS_RMDIR, r.mem.str("/m"))
}

func TestCwdAndRelative(t *testing.T) {
	r := newRig(t)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/w"), 0o755)
	r.ok(unix.SYS_CHDIR, r.mem.str("/m/w"))
	buf := r.mem.alloc(256)
	n := r.ok(unix.SYS_GETCWD, buf, 256)
	if got := string(r.mem.bytesAt(buf, int(n)-1)); got != "/m/w" {
		t.Errorf("getcwd = %q", got)
	}
	fd := r.ok(unix.SYS_OPEN, r.mem.str("rel"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	st := r.mem.alloc(sizeofStat)
	r.ok(unix.SYS_STAT, r.mem.str("/m/w/rel"), st)
	// ".." above the mount root leaves the mount; the kernel's own working
	// directory is still "/" (chdir into the mount was emulated), so it
	// would resolve the string elsewhere: refused, not guessed.
	r.errno(syscall.EXDEV, unix.SYS_STAT, r.mem.str("../../etc"), st)
	// An absolute path is the same for both.
	if res := r.call(unix.SYS_STAT, r.mem.str("/m/../etc"), st); res.Action != Continue {
		t.Errorf("stat /m/../etc: %v %v, want continue", res.Action, res.Err)
	}
	// A symlink whose target climbs out of the mount is refused rather
	// than guessed.
	r.ok(unix.SYS_SYMLINK, r.mem.str("../../etc"), r.mem.str("/m/w/up"))
	r.errno(syscall.EXDEV, unix.SYS_STAT, r.mem.str("up/passwd"), st)
	r.errno(syscall.ERANGE, unix.SYS_GETCWD, buf, 3)
}

func TestFaultsAreEFAULT(t *testing.T) {
	r := newRig(t)
	r.errno(syscall.EFAULT, unix.SYS_OPEN, 0, unix.O_RDONLY, 0)
	r.errno(syscall.EFAULT, unix.SYS_OPEN, 0x1, unix.O_RDONLY, 0)
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	r.errno(syscall.EFAULT, unix.SYS_WRITE, uint64(fd), 0x5, 10)
	long := strings.Repeat("a", 5000)
	r.errno(syscall.ENAMETOOLONG, unix.SYS_OPEN, r.mem.str("/m/"+long), unix.O_RDONLY, 0)
}

// FuzzPathDecode: reading a path from arbitrary memory is an error xor a
// string, never a panic, and never longer than PATH_MAX.
func FuzzPathDecode(f *testing.F) {
	f.Add([]byte("/m/a\x00"), uint16(0))
	f.Add([]byte("no-nul"), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, off uint16) {
		a := &arena{b: data, base: 0x1000}
		s, e := readPathInto(make([]byte, pathMax), a, 0x1000+uint64(off), false)
		if e != 0 && s != nil {
			t.Fatalf("both error %v and result %q", e, s)
		}
		if len(s) >= pathMax {
			t.Fatalf("path of %d bytes", len(s))
		}
	})
}

// A program whose kernel working directory is at or below a mount path
// (fsshim's default mount is the working directory) resolves relative paths
// in the ramfs, never on the host.
func TestStartedInsideMount(t *testing.T) {
	fs := ramfs.New(ramfs.Options{})
	if _, err := fs.Mkdir(fs.Root(), "w", 0o755, 0, 0); err != nil {
		t.Fatal(err)
	}
	k := NewKernel([]*Mount{{Path: "/m", FS: fs}}, fakeHost{cwd: "/m/w"})
	r := &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
	fd := r.ok(unix.SYS_OPEN, r.mem.str("rel"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	if _, err := fs.Walk("/w/rel"); err != nil {
		t.Errorf("relative create did not land in the ramfs: %v", err)
	}
	buf := r.mem.alloc(64)
	n := r.ok(unix.SYS_GETCWD, buf, 64)
	if got := string(r.mem.bytesAt(buf, int(n)-1)); got != "/m/w" {
		t.Errorf("getcwd = %q", got)
	}
	// ".." from the mount root goes back to the host.
	if res := r.call(unix.SYS_STAT, r.mem.str("../../etc"), r.mem.alloc(sizeofStat)); res.Action != Continue {
		t.Errorf("stat ../../etc: %v %v, want continue", res.Action, res.Err)
	}
}
