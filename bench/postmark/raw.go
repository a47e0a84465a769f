package postmark

import "golang.org/x/sys/unix"

// FS is the file-system surface PostMark needs; paths are absolute or
// relative as the configuration gives them. Errors should be unix.Errno
// values (or wrap them) so callers can test for them with errors.Is.
type FS interface {
	Open(path string, flags int, mode uint32) (fd int, err error)
	Close(fd int) error
	Read(fd int, p []byte) (int, error)
	Write(fd int, p []byte) (int, error)
	Lseek(fd int, off int64, whence int) (int64, error)
	Unlink(path string) error
	Mkdir(path string, mode uint32) error
	Rmdir(path string) error
}

// Fstater is an optional FS extension. With buffering on, C's stdio calls
// fstat once per stream to size its buffer (st_blksize, at most 8192);
// an FS that implements Fstater gets the same call, so a buffered run
// issues exactly the syscalls PostMark's does. Without it the buffer is
// 4096 bytes and that one call is skipped.
type Fstater interface {
	Fstat(fd int, st *unix.Stat_t) error
}

// Raw implements FS (and Fstater) with raw syscalls through
// golang.org/x/sys/unix, without os.File, so every method is exactly one
// system call: under fsshim each one is one intercepted call. Open passes
// flags through unchanged (no O_CLOEXEC is added).
type Raw struct{}

var (
	_ FS      = Raw{}
	_ Fstater = Raw{}
)

// Open is openat(AT_FDCWD, path, flags, mode).
func (Raw) Open(path string, flags int, mode uint32) (int, error) {
	return unix.Open(path, flags, mode)
}

// Close is close(2).
func (Raw) Close(fd int) error { return unix.Close(fd) }

// Read is read(2); a zero-length p still makes the call.
func (Raw) Read(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

// Write is write(2); a zero-length p still makes the call.
func (Raw) Write(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// Lseek is lseek(2).
func (Raw) Lseek(fd int, off int64, whence int) (int64, error) {
	return unix.Seek(fd, off, whence)
}

// Unlink is unlinkat(AT_FDCWD, path, 0).
func (Raw) Unlink(path string) error { return unix.Unlink(path) }

// Mkdir is mkdirat(AT_FDCWD, path, mode).
func (Raw) Mkdir(path string, mode uint32) error { return unix.Mkdir(path, mode) }

// Rmdir is unlinkat(AT_FDCWD, path, AT_REMOVEDIR).
func (Raw) Rmdir(path string) error { return unix.Rmdir(path) }

// Fstat is fstat(2).
func (Raw) Fstat(fd int, st *unix.Stat_t) error { return unix.Fstat(fd, st) }
