package linked

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The hot paths of the linked build, one benchmark each: what a call costs
// when it is a function call. Allocation counts are reported (-benchmem).

func BenchmarkLinkedNull(b *testing.B) {
	l := newLinked(b)
	b.ReportAllocs()
	for b.Loop() {
		l.Syscall(unix.SYS_CLOSE, ^uintptr(0), 0, 0, 0, 0, 0)
	}
}

func BenchmarkLinkedStat(b *testing.B) {
	l := newLinked(b)
	fd, _ := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	l.Write(fd, make([]byte, 100))
	l.Close(fd)
	var st unix.Stat_t
	p, _ := unix.BytePtrFromString("/lk/f")
	b.ReportAllocs()
	for b.Loop() {
		l.Syscall(unix.SYS_STAT, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&st)), 0, 0, 0, 0)
	}
}

func BenchmarkLinkedOpenClose(b *testing.B) {
	l := newLinked(b)
	fd, _ := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	l.Close(fd)
	p, _ := unix.BytePtrFromString("/lk/f")
	b.ReportAllocs()
	for b.Loop() {
		fd, _ := l.Syscall(unix.SYS_OPEN, uintptr(unsafe.Pointer(p)), unix.O_RDONLY, 0, 0, 0, 0)
		l.Syscall(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
	}
}

func BenchmarkLinkedWrite4k(b *testing.B) {
	l := newLinked(b)
	fd, _ := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%256 == 0 {
			l.Lseek(fd, 0, unix.SEEK_SET)
		}
		i++
		l.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), 4096, 0, 0, 0)
	}
}
