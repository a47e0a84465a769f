package emul

import "syscall"

// Calls about a file's data that ramfs answers without moving any:
// fallocate, the fsync family and the read-ahead hints.

// Fallocate follows fallocate(2) on tmpfs.
func (k *Kernel) Fallocate(c *Call) Result {
	f := k.fileLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		return cont()
	}
	mode, off, length := uint32(c.Args[1]), int64(c.Args[2]), int64(c.Args[3])
	if off < 0 || length <= 0 {
		return fail(syscall.EINVAL)
	}
	if f.flags&oPath != 0 || f.flags&oAccmode == syscall.O_RDONLY {
		return fail(syscall.EBADF)
	}
	if isDir(f.ino) {
		return fail(syscall.EISDIR)
	}
	if !isReg(f.ino) {
		return fail(syscall.ENODEV)
	}
	if err := f.m.FS.Allocate(f.ino, mode, off, length); err != nil {
		return errResult(err)
	}
	k.killPrivLocked(c.Proc, f.m, f.ino)
	return ret(0)
}

// SyncFileRange follows sync_file_range(2)'s argument checks; there is
// nothing to flush.
func (k *Kernel) SyncFileRange(c *Call) Result {
	f := k.fileLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		return cont()
	}
	off, n, flags := int64(c.Args[1]), int64(c.Args[2]), c.Args[3]
	if flags&^7 != 0 || off < 0 || n < 0 || off+n < 0 {
		return fail(syscall.EINVAL)
	}
	if f.flags&oPath != 0 {
		return fail(syscall.EBADF)
	}
	if !isReg(f.ino) && !isDir(f.ino) {
		return fail(syscall.ESPIPE)
	}
	return ret(0)
}

// Fsync is fsync(2), fdatasync(2) and syncfs(2): a RAM file system has
// nothing to flush.
func (k *Kernel) Fsync(c *Call) Result {
	if _, r, done := k.ioFile(c); done {
		return r
	}
	return ret(0)
}

// Fadvise64 follows fadvise64(2): advice is checked and ignored.
func (k *Kernel) Fadvise64(c *Call) Result {
	if _, r, done := k.ioFile(c); done {
		return r
	}
	if adv := int(c.Args[3]); adv < 0 || adv > 5 || int64(c.Args[2]) < 0 {
		return fail(syscall.EINVAL)
	}
	return ret(0)
}

// Readahead follows readahead(2).
func (k *Kernel) Readahead(c *Call) Result {
	f := k.fileLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		return cont()
	}
	if f.flags&oPath != 0 || f.flags&oAccmode == syscall.O_WRONLY {
		return fail(syscall.EBADF)
	}
	if !isReg(f.ino) {
		return fail(syscall.EINVAL)
	}
	return ret(0)
}
