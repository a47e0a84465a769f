package linked

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The hot paths of the linked build, each as one iteration of a loop that
// the benchmarks time (beside the same loop on the host kernel, on tmpfs)
// and the allocation test counts. Every argument is made once, before the
// loop: a pointer argument is an address computed at setup, of memory the
// op's closures keep alive (heap memory, which Go does not move), so the
// loop measures the dispatcher, emul and ramfs and nothing of the caller.

// sysFunc makes one raw system call: linked's Syscall, or the host
// kernel's.
type sysFunc func(nr int, a0, a1, a2, a3 uintptr) (int64, syscall.Errno)

func linkedSys(l *Linked) sysFunc {
	return func(nr int, a0, a1, a2, a3 uintptr) (int64, syscall.Errno) {
		return l.Syscall(nr, a0, a1, a2, a3, 0, 0)
	}
}

func nativeSys(nr int, a0, a1, a2, a3 uintptr) (int64, syscall.Errno) {
	r, _, e := unix.Syscall6(uintptr(nr), a0, a1, a2, a3, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int64(r), 0
}

// hotOp is one hot path: setup prepares it in directory dir through sys
// and returns one iteration, which reports a failure as an error.
type hotOp struct {
	name  string
	setup func(tb testing.TB, sys sysFunc, dir string) func() error
	// allocs is what one iteration of the linked build may allocate.
	allocs float64
	// why says why allocs is not 0.
	why string
}

// pin returns the address of heap memory p and keeps p alive until the
// test ends: the loops pass addresses, which hold nothing alive.
func pin(tb testing.TB, p unsafe.Pointer) uintptr {
	tb.Cleanup(func() { runtime.KeepAlive(p) })
	return uintptr(p)
}

// cstrAddr returns the address of a NUL-terminated copy of p.
func cstrAddr(tb testing.TB, p string) uintptr {
	b, err := unix.BytePtrFromString(p)
	if err != nil {
		tb.Fatal(err)
	}
	return pin(tb, unsafe.Pointer(b))
}

// buffer returns the address of n bytes.
func buffer(tb testing.TB, n int) uintptr {
	return pin(tb, unsafe.Pointer(&make([]byte, n)[0]))
}

func check(what string, r int64, e syscall.Errno, want int64) error {
	if e != 0 {
		return &os.SyscallError{Syscall: what, Err: e}
	}
	if want >= 0 && r != want {
		return &os.SyscallError{Syscall: what, Err: syscall.EIO}
	}
	return nil
}

// mkfile creates path with size bytes and returns it open with flags
// (-1: closed).
func mkfile(tb testing.TB, sys sysFunc, path string, size int, flags int) int {
	pa := cstrAddr(tb, path)
	fd, e := sys(unix.SYS_OPENAT, uintptr(atFDCWD), pa, unix.O_CREAT|unix.O_RDWR|unix.O_TRUNC, 0o644)
	if e != 0 {
		tb.Fatalf("create %s: %v", path, e)
	}
	buf := buffer(tb, 64<<10)
	for left := size; left > 0; {
		n := min(left, 64<<10)
		if _, e := sys(unix.SYS_WRITE, uintptr(fd), buf, uintptr(n), 0); e != 0 {
			tb.Fatalf("write %s: %v", path, e)
		}
		left -= n
	}
	sys(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0)
	if flags < 0 {
		return -1
	}
	fd, e = sys(unix.SYS_OPENAT, uintptr(atFDCWD), pa, uintptr(flags), 0)
	if e != 0 {
		tb.Fatalf("open %s: %v", path, e)
	}
	tb.Cleanup(func() { sys(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0) })
	return int(fd)
}

const dataSize = 1 << 20

var hotOps = []hotOp{
	{name: "null", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		// close(-1): no fd of any table, answered EBADF (by emul's
		// dispatcher when linked: a syscall as a function call).
		return func() error {
			if _, e := sys(unix.SYS_CLOSE, ^uintptr(0), 0, 0, 0); e != syscall.EBADF {
				return &os.SyscallError{Syscall: "close(-1)", Err: e}
			}
			return nil
		}
	}},
	{name: "stat", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		mkfile(tb, sys, dir+"/stat", 100, -1)
		pa := cstrAddr(tb, dir+"/stat")
		st := new(unix.Stat_t)
		sa := pin(tb, unsafe.Pointer(st))
		return func() error {
			_, e := sys(unix.SYS_STAT, pa, sa, 0, 0)
			if e == 0 && st.Size != 100 {
				e = syscall.EIO
			}
			return check("stat", 0, e, -1)
		}
	}},
	{name: "open-close", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		mkfile(tb, sys, dir+"/oc", 0, -1)
		pa := cstrAddr(tb, dir+"/oc")
		return func() error {
			fd, e := sys(unix.SYS_OPENAT, uintptr(atFDCWD), pa, unix.O_RDONLY, 0)
			if e != 0 {
				return check("open", fd, e, -1)
			}
			r, e := sys(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0)
			return check("close", r, e, 0)
		}
	}},
	{name: "pread-512", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		fd := mkfile(tb, sys, dir+"/pread", dataSize, unix.O_RDONLY)
		ba := buffer(tb, 512)
		off := 0
		return func() error {
			off = (off + 512) % dataSize
			r, e := sys(unix.SYS_PREAD64, uintptr(fd), ba, 512, uintptr(off))
			return check("pread64", r, e, 512)
		}
	}},
	{name: "read-4k", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		fd := mkfile(tb, sys, dir+"/read", dataSize, unix.O_RDONLY)
		return sequential(tb, sys, "read", unix.SYS_READ, fd)
	}},
	{name: "write-4k", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		fd := mkfile(tb, sys, dir+"/write", dataSize, unix.O_WRONLY)
		return sequential(tb, sys, "write", unix.SYS_WRITE, fd)
	}},
	{name: "lseek", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		// lseek(fd, 0, SEEK_CUR): a call emul answers from the open
		// file description alone.
		fd := mkfile(tb, sys, dir+"/lseek", 0, unix.O_RDONLY)
		return func() error {
			r, e := sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_CUR, 0)
			return check("lseek", r, e, 0)
		}
	}},
	{name: "dup-close", setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
		fd := mkfile(tb, sys, dir+"/dup", 0, unix.O_RDONLY)
		return func() error {
			nfd, e := sys(unix.SYS_DUP, uintptr(fd), 0, 0, 0)
			if e != 0 {
				return check("dup", nfd, e, -1)
			}
			r, e := sys(unix.SYS_CLOSE, uintptr(nfd), 0, 0, 0)
			return check("close", r, e, 0)
		}
	}},
	{name: "rename",
		allocs: 2,
		why:    "(the renamed entry is a new dirent, as tmpfs gives a renamed name a new offset while the old one stays behind for a listing in progress, and its name is a string of its own that the entry keeps)",
		setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
			mkfile(tb, sys, dir+"/ra", 0, -1)
			a := cstrAddr(tb, dir+"/ra")
			b := cstrAddr(tb, dir+"/rb")
			return func() error {
				r, e := sys(unix.SYS_RENAME, a, b, 0, 0)
				if e != 0 {
					return check("rename", r, e, 0)
				}
				a, b = b, a
				return nil
			}
		}},
	{name: "create-unlink",
		allocs: 3,
		why:    "(a new file is a new inode, a new directory entry and its name, kept as long as the file is)",
		setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
			pa := cstrAddr(tb, dir+"/cu")
			return func() error {
				fd, e := sys(unix.SYS_OPENAT, uintptr(atFDCWD), pa, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
				if e != 0 {
					return check("open", fd, e, -1)
				}
				if r, e := sys(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0); e != 0 {
					return check("close", r, e, 0)
				}
				r, e := sys(unix.SYS_UNLINK, pa, 0, 0, 0)
				return check("unlink", r, e, 0)
			}
		}},
	{name: "mkdir-rmdir",
		allocs: 4,
		why:    "(a new directory is a new inode, a directory entry and its name, and the directory's own content)",
		setup: func(tb testing.TB, sys sysFunc, dir string) func() error {
			pa := cstrAddr(tb, dir+"/md")
			return func() error {
				if r, e := sys(unix.SYS_MKDIR, pa, 0o755, 0, 0); e != 0 {
					return check("mkdir", r, e, 0)
				}
				r, e := sys(unix.SYS_RMDIR, pa, 0, 0, 0)
				return check("rmdir", r, e, 0)
			}
		}},
}

// sequential is read or write of 4 KiB at a time through a dataSize file,
// back to its start with lseek at the end.
func sequential(tb testing.TB, sys sysFunc, what string, nr int, fd int) func() error {
	ba := buffer(tb, 4096)
	pos := 0
	return func() error {
		if pos == dataSize {
			if r, e := sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_SET, 0); e != 0 {
				return check("lseek", r, e, 0)
			}
			pos = 0
		}
		r, e := sys(nr, uintptr(fd), ba, 4096, 0)
		pos += 4096
		return check(what, r, e, 4096)
	}
}

// hotLinked returns a Linked with an empty mount at /lk.
func hotLinked(tb testing.TB) (sysFunc, string) {
	return linkedSys(newLinked(tb)), "/lk"
}

// hotNative returns the host kernel and a directory on tmpfs (/dev/shm),
// or skips.
func hotNative(tb testing.TB) (sysFunc, string) {
	dir, err := os.MkdirTemp("/dev/shm", "fsshim-hot-")
	if err != nil {
		tb.Skip("no tmpfs at /dev/shm:", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return nativeSys, dir
}

func benchHot(b *testing.B, env func(testing.TB) (sysFunc, string)) {
	for _, op := range hotOps {
		b.Run(op.name, func(b *testing.B) {
			sys, dir := env(b)
			body := op.setup(b, sys, dir)
			b.ReportAllocs()
			for b.Loop() {
				if err := body(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLinked is each hot path as a function call into emul.
func BenchmarkLinked(b *testing.B) { benchHot(b, hotLinked) }

// BenchmarkNative is the same loops on the host kernel, on tmpfs.
func BenchmarkNative(b *testing.B) { benchHot(b, hotNative) }

// TestLinkedHotPathAllocs checks that the hot paths allocate nothing per
// call (or exactly what hotOp.why explains).
func TestLinkedHotPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not kept under the race detector (sync.Pool drops objects at random)")
	}
	for _, op := range hotOps {
		t.Run(op.name, func(t *testing.T) {
			sys, dir := hotLinked(t)
			body := op.setup(t, sys, dir)
			var err error
			for range 100 { // warm up: pools, map and scratch growth
				if err = body(); err != nil {
					t.Fatal(err)
				}
			}
			got := testing.AllocsPerRun(1000, func() {
				if e := body(); e != nil && err == nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != op.allocs {
				t.Errorf("%s: %v allocations per call, want %v %s", op.name, got, op.allocs, op.why)
			}
		})
	}
}

// The helpers that take a Go string path copy it to a NUL-terminated
// buffer from a pool: no allocation either.
func TestLinkedHelperAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not kept under the race detector (sync.Pool drops objects at random)")
	}
	l := newLinked(t)
	fd, err := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	l.Close(fd)
	st := new(unix.Stat_t)
	got := testing.AllocsPerRun(1000, func() {
		if err := l.Stat("/lk/f", st); err != nil {
			t.Fatal(err)
		}
		fd, err := l.Open("/lk/f", unix.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		l.Close(fd)
	})
	if got != 0 {
		t.Errorf("Stat, Open and Close: %v allocations, want 0", got)
	}
}
