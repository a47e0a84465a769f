package linked

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// edgeBuf maps two pages, the second PROT_NONE, and returns the address
// good bytes before the second page.
func edgeBuf(t *testing.T) (m []byte, at func(good int) uintptr) {
	t.Helper()
	pg := os.Getpagesize()
	m, err := unix.Mmap(-1, 0, 2*pg, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	if err := unix.Mprotect(m[pg:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	return m, func(good int) uintptr { return uintptr(unsafe.Pointer(&m[pg-good])) }
}

func TestLinkedFaultingBuffer(t *testing.T) {
	l := newLinked(t)
	m, at := edgeBuf(t)
	fd, err := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write(fd, []byte(strings.Repeat("x", 10000))); err != nil {
		t.Fatal(err)
	}
	l.Lseek(fd, 0, unix.SEEK_SET)
	if n, e := l.Syscall(unix.SYS_READ, uintptr(fd), at(100), 300, 0, 0, 0); n != 100 || e != 0 {
		t.Errorf("read across the fault = %d, %v; want 100", n, e)
	}
	if _, e := l.Syscall(unix.SYS_READ, uintptr(fd), at(0), 300, 0, 0, 0); e != syscall.EFAULT {
		t.Errorf("read into an inaccessible page: %v, want EFAULT", e)
	}
	if off, _ := l.Lseek(fd, 0, unix.SEEK_CUR); off != 100 {
		t.Errorf("offset = %d, want 100", off)
	}
	if n, e := l.Syscall(unix.SYS_WRITE, uintptr(fd), at(30), 300, 0, 0, 0); n != 30 || e != 0 {
		t.Errorf("write across the fault = %d, %v; want 30", n, e)
	}
	if n, e := l.Syscall(unix.SYS_GETDENTS64, uintptr(fd), at(30), 300, 0, 0, 0); e != syscall.ENOTDIR {
		t.Errorf("getdents64 on a file = %d, %v", n, e)
	}
	dfd, err := l.Open("/lk", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// ".", ".." and "f" are 24 bytes each; 30 bytes hold the first.
	if n, e := l.Syscall(unix.SYS_GETDENTS64, uintptr(dfd), at(30), 4096, 0, 0, 0); n != 24 || e != 0 {
		t.Errorf("getdents64 across the fault = %d, %v; want 24", n, e)
	}
	_ = m
}
