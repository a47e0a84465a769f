package linked

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// A FIFO in the ramfs opens as a real pipe in-process: a blocking open in
// one goroutine waits for the other end opened in another.
func TestLinkedFIFO(t *testing.T) {
	l := newLinked(t)
	defer l.Kernel().Cleanup()
	p := newCPath("/lk/fifo")
	_, e := l.Syscall(unix.SYS_MKNOD, uintptr(p.ptr()), unix.S_IFIFO|0o600, 0, 0, 0, 0)
	p.free()
	if e != 0 {
		t.Fatal(e)
	}
	if _, err := l.Open("/lk/fifo", unix.O_WRONLY|unix.O_NONBLOCK, 0); err != unix.ENXIO {
		t.Errorf("non-blocking write open with no reader: %v, want ENXIO", err)
	}
	done := make(chan error, 1)
	go func() {
		fd, err := l.Open("/lk/fifo", unix.O_WRONLY, 0)
		if err == nil {
			// The fd is the host's: written directly (Syscall
			// would pass it to the host anyway).
			_, err = unix.Write(fd, []byte("piped"))
			unix.Close(fd)
		}
		done <- err
	}()
	fd, err := l.Open("/lk/fifo", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if fd >= FDBase {
		t.Errorf("a FIFO's fd %d is an emulated one", fd)
	}
	buf := make([]byte, 16)
	n, _ := l.Read(fd, buf)
	if err := <-done; err != nil || string(buf[:n]) != "piped" {
		t.Errorf("read %q, writer %v", buf[:n], err)
	}
}

// A socket bound to a path in the ramfs is reachable by connect.
func TestLinkedUnixSocket(t *testing.T) {
	l := newLinked(t)
	defer l.Kernel().Cleanup()
	addr := func(path string) []byte {
		b := make([]byte, 2+len(path)+1)
		b[0] = unix.AF_UNIX
		copy(b[2:], path)
		return b
	}
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	a := addr("/lk/sock")
	if _, e := l.Syscall(unix.SYS_BIND, uintptr(ln), uintptr(ptr(a)), uintptr(len(a)), 0, 0, 0); e != 0 {
		t.Fatalf("bind: %v", e)
	}
	var st unix.Stat_t
	if err := l.Stat("/lk/sock", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Fatalf("stat: %v mode %o", err, st.Mode)
	}
	unix.Listen(ln, 1)
	cl, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cl)
	if _, e := l.Syscall(unix.SYS_CONNECT, uintptr(cl), uintptr(ptr(a)), uintptr(len(a)), 0, 0, 0); e != 0 {
		t.Fatalf("connect: %v", e)
	}
	m := addr("/lk/missing")
	if _, e := l.Syscall(unix.SYS_CONNECT, uintptr(cl), uintptr(ptr(m)), uintptr(len(m)), 0, 0, 0); e != unix.ENOENT {
		t.Errorf("connect to a missing path: %v", e)
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(m)
}
