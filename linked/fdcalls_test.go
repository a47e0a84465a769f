package linked

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLinkedFDCallErrors: the fd-table calls on an emulated fd that emul
// leaves to "the kernel" (its Continue answer) get the kernel's answer:
// for these the host kernel has no placeholder to run the call on, so
// linked must give that answer itself. fs/file.c: ksys_dup3 answers
// EINVAL for newfd == oldfd and for a flag other than O_CLOEXEC, EBADF
// for a negative newfd; close_range EINVAL for an unknown flag or
// first > last; fcntl EINVAL for an unknown command; F_GETFD reports
// FD_CLOEXEC as it was set. A refused dup leaves no fd behind.
func TestLinkedFDCallErrors(t *testing.T) {
	l := newLinked(t)
	fd, err := l.Open("/lk/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	target := FDBase + 100
	for _, tc := range []struct {
		name       string
		nr         int
		a0, a1, a2 uintptr
		want       syscall.Errno
	}{
		{"dup3 onto itself", unix.SYS_DUP3, uintptr(fd), uintptr(fd), 0, syscall.EINVAL},
		{"dup3 with a bad flag", unix.SYS_DUP3, uintptr(fd), uintptr(target), 0x1234, syscall.EINVAL},
		{"dup3 onto -1", unix.SYS_DUP3, uintptr(fd), negOne, 0, syscall.EBADF},
		{"dup2 onto -1", unix.SYS_DUP2, uintptr(fd), negOne, 0, syscall.EBADF},
		{"close_range with a bad flag", unix.SYS_CLOSE_RANGE, uintptr(fd), uintptr(fd), 0x100, syscall.EINVAL},
		{"close_range with first > last", unix.SYS_CLOSE_RANGE, uintptr(fd), uintptr(fd - 1), 0, syscall.EINVAL},
		{"fcntl of an unknown command", unix.SYS_FCNTL, uintptr(fd), 9999, 0, syscall.EINVAL},
	} {
		if v, e := l.Syscall(tc.nr, tc.a0, tc.a1, tc.a2, 0, 0, 0); e != tc.want {
			t.Errorf("%s = %d, %v; want %v", tc.name, v, e, tc.want)
		}
	}
	var st unix.Stat_t
	if _, e := l.Syscall(unix.SYS_FSTAT, uintptr(target), uintptr(statPtr(&st)), 0, 0, 0, 0); e != syscall.EBADF {
		t.Errorf("fstat of the target of a refused dup3: %v, want EBADF", e)
	}
	if _, e := l.Syscall(unix.SYS_FSTAT, uintptr(fd), uintptr(statPtr(&st)), 0, 0, 0, 0); e != 0 {
		t.Errorf("fstat of the fd after the refused calls: %v", e)
	}
	if v, e := l.Syscall(unix.SYS_FCNTL, uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC, 0, 0, 0); v != 0 || e != 0 {
		t.Errorf("F_SETFD = %d, %v", v, e)
	}
	if v, e := l.Syscall(unix.SYS_FCNTL, uintptr(fd), unix.F_GETFD, 0, 0, 0, 0); v != unix.FD_CLOEXEC || e != 0 {
		t.Errorf("F_GETFD after F_SETFD(FD_CLOEXEC) = %d, %v; want FD_CLOEXEC", v, e)
	}
	// The accepted forms still work.
	if v, e := l.Syscall(unix.SYS_DUP2, uintptr(fd), uintptr(fd), 0, 0, 0, 0); v != int64(fd) || e != 0 {
		t.Errorf("dup2 onto itself = %d, %v; want %d", v, e, fd)
	}
	if v, e := l.Syscall(unix.SYS_DUP3, uintptr(fd), uintptr(target), unix.O_CLOEXEC, 0, 0, 0); v != int64(target) || e != 0 {
		t.Errorf("dup3 O_CLOEXEC = %d, %v; want %d", v, e, target)
	}
}
