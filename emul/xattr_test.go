package emul

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

func newCapRig(t *testing.T, capacity int64) (*rig, *ramfs.FS) {
	fs := ramfs.New(ramfs.Options{Capacity: capacity})
	k := NewKernel([]*Mount{{Path: "/m", FS: fs}}, fakeHost{cwd: "/"})
	k.OnFault = func(m string) { t.Log("fault:", m) }
	return &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}, fs
}

// TestXattrNoGrowth: 1000 cycles of create, setxattr, unlink leave the
// mount as it was. Each attribute is charged to the mount while it exists
// and takes 32 KiB of a 1 MiB mount, so if the attributes of unlinked
// files were kept the cycles would run out of space after about 30.
func TestXattrNoGrowth(t *testing.T) {
	r, fs := newCapRig(t, 1<<20)
	path, name := r.mem.str("/m/f"), r.mem.str("user.big")
	const size = 32 << 10
	val := r.mem.alloc(size)
	bytes0, inodes0 := fs.Used()
	for i := range 1000 {
		if i%2 == 0 {
			fd := r.ok(unix.SYS_OPENAT, cwd, path, unix.O_CREAT|unix.O_WRONLY, 0o644)
			r.ok(unix.SYS_FSETXATTR, uint64(fd), name, val, size, 0)
			r.ok(unix.SYS_UNLINK, path)
			// The open file keeps its attribute until it is closed.
			if n := r.ok(unix.SYS_FGETXATTR, uint64(fd), name, 0, 0); n != size {
				t.Fatalf("cycle %d: fgetxattr of an unlinked open file = %d", i, n)
			}
			r.ok(unix.SYS_CLOSE, uint64(fd))
		} else {
			fd := r.ok(unix.SYS_OPENAT, cwd, path, unix.O_CREAT|unix.O_WRONLY, 0o644)
			r.ok(unix.SYS_CLOSE, uint64(fd))
			b1, _ := fs.Used()
			r.ok(unix.SYS_SETXATTR, path, name, val, size, 0)
			if b2, _ := fs.Used(); b2-b1 != size+int64(len("user.big")) {
				t.Fatalf("cycle %d: setxattr charged %d bytes, want %d", i, b2-b1, size+len("user.big"))
			}
			r.ok(unix.SYS_UNLINK, path)
		}
	}
	if b, n := fs.Used(); b != bytes0 || n != inodes0 {
		t.Errorf("after 1000 cycles: %d bytes, %d inodes used; before: %d, %d", b, n, bytes0, inodes0)
	}
}

// TestXattrCapacity: a value that does not fit fails with ENOSPC and
// leaves the previous value; ctime moves only on a change.
func TestXattrCapacity(t *testing.T) {
	r, fs := newCapRig(t, 16<<10)
	path, name := r.mem.str("/m/f"), r.mem.str("user.a")
	fd := r.ok(unix.SYS_OPENAT, cwd, path, unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.ok(unix.SYS_SETXATTR, path, name, r.mem.str("small"), 5, 0)
	f, err := fs.Lookup(fs.Root(), "f")
	if err != nil {
		t.Fatal(err)
	}
	c1 := fs.Getattr(f).Ctime
	r.errno(syscall.ENOSPC, unix.SYS_SETXATTR, path, name, r.mem.alloc(32<<10), 32<<10, 0)
	if c := fs.Getattr(f).Ctime; !c.Equal(c1) {
		t.Errorf("a failed setxattr changed ctime")
	}
	buf := r.mem.alloc(64)
	if n := r.ok(unix.SYS_GETXATTR, path, name, buf, 64); n != 5 || string(r.mem.bytesAt(buf, 5)) != "small" {
		t.Errorf("after ENOSPC: getxattr = %d %q", n, r.mem.bytesAt(buf, int(n)))
	}
	r.ok(unix.SYS_REMOVEXATTR, path, name)
	if c := fs.Getattr(f).Ctime; c.Before(c1) {
		t.Errorf("removexattr moved ctime back")
	}
	r.errno(syscall.ENODATA, unix.SYS_REMOVEXATTR, path, name)
}
