package linked

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Benchmarks beside hot_test.go's: they drive Syscall directly with
// arguments made once, so they measure the dispatcher and emul, not the
// helpers' argument copies.

// BenchmarkLinkedLseek is the cheapest call emul answers itself:
// lseek(fd, 0, SEEK_CUR) on an emulated fd, a Return with no data moved
// (BenchmarkLinkedNull's close(-1) goes on to the host kernel).
func BenchmarkLinkedLseek(b *testing.B) {
	l := newLinked(b)
	fd, err := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, e := l.Syscall(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_CUR, 0, 0, 0); e != 0 {
			b.Fatal(e)
		}
	}
}

// BenchmarkLinkedDupClose is dup of an emulated fd (the linked table's
// own lowest-free search) and its close.
func BenchmarkLinkedDupClose(b *testing.B) {
	l := newLinked(b)
	fd, err := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		nfd, e := l.Syscall(unix.SYS_DUP, uintptr(fd), 0, 0, 0, 0, 0)
		if e != 0 {
			b.Fatal(e)
		}
		if _, e := l.Syscall(unix.SYS_CLOSE, uintptr(nfd), 0, 0, 0, 0, 0); e != 0 {
			b.Fatal(e)
		}
	}
}
