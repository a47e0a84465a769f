// Package fsys is the file-system surface the benchmarks drive, with two
// implementations: Raw, one host system call per method (so under a
// supervising transport every method is one intercepted call), and
// Linked, the same calls made as plain function calls into fsshim's emul
// and ramfs in this process (the "unikernel" build).
//
// Both satisfy postmark.FS and postmark.Fstater, so PostMark and the
// micro-benchmarks run the same code over either.
package fsys

import (
	"golang.org/x/sys/unix"

	"fsshim/bench/postmark"
)

// Sys is what the benchmarks call. Errors are unix.Errno values.
type Sys interface {
	postmark.FS
	postmark.Fstater
	Pread(fd int, p []byte, off int64) (int, error)
	Rename(oldpath, newpath string) error
	Stat(path string, st *unix.Stat_t) error
	Getdents64(fd int, buf []byte) (int, error)
	// Bare makes the cheapest routed call there is, dup(-1): every
	// transport and data mode routes it (close, which --data passthrough
	// leaves to the kernel, would be timed natively) and hands it straight
	// back to the host kernel, which answers EBADF. Bare returns that
	// error.
	Bare() error
}

// Raw is Sys with raw system calls through golang.org/x/sys/unix.
type Raw struct{ postmark.Raw }

var _ Sys = Raw{}

// Pread is pread64(2).
func (Raw) Pread(fd int, p []byte, off int64) (int, error) { return unix.Pread(fd, p, off) }

// Rename is renameat(AT_FDCWD, oldpath, AT_FDCWD, newpath).
func (Raw) Rename(oldpath, newpath string) error { return unix.Rename(oldpath, newpath) }

// Stat is newfstatat(AT_FDCWD, path, st, 0).
func (Raw) Stat(path string, st *unix.Stat_t) error { return unix.Stat(path, st) }

// Getdents64 is getdents64(2).
func (Raw) Getdents64(fd int, buf []byte) (int, error) { return unix.Getdents(fd, buf) }

// Bare is dup(-1).
func (Raw) Bare() error {
	_, _, e := unix.Syscall(unix.SYS_DUP, ^uintptr(0), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
