package main

// Raw system calls, one wrapper per syscall number. The x/sys/unix helpers
// are not used for the operations under test because several of them are
// rewritten in user space (Stat becomes newfstatat, Faccessat falls back to
// an emulation, Fchmodat checks flags itself): the scenarios must issue
// exactly the syscall they name. Every pointer is converted to uintptr
// inside the call expression of unix.Syscall/Syscall6, and the object is
// kept alive after it.

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cpath returns a NUL-terminated copy of p on the heap.
func cpath(p string) *byte {
	b := make([]byte, len(p)+1)
	copy(b, p)
	return &b[0]
}

// bufp returns a pointer to the first byte of b, or nil for an empty b.
func bufp(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}

func res(r uintptr, e unix.Errno) (int64, unix.Errno) {
	if e != 0 {
		return -1, e
	}
	return int64(r), 0
}

func sysOpen(path string, flags int, mode uint32) (int64, unix.Errno) {
	p := cpath(path)
	r, _, e := unix.Syscall(unix.SYS_OPEN, uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mode))
	runtime.KeepAlive(p)
	return res(r, e)
}

func sysCreat(path string, mode uint32) (int64, unix.Errno) {
	p := cpath(path)
	r, _, e := unix.Syscall(unix.SYS_CREAT, uintptr(unsafe.Pointer(p)), uintptr(mode), 0)
	runtime.KeepAlive(p)
	return res(r, e)
}

func sysOpenat(dirfd int, path string, flags int, mode uint32) (int64, unix.Errno) {
	p := cpath(path)
	r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mode), 0, 0)
	runtime.KeepAlive(p)
	return res(r, e)
}

func sysOpenat2(dirfd int, path string, how *unix.OpenHow, size uintptr) (int64, unix.Errno) {
	p := cpath(path)
	r, _, e := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(how)), size, 0, 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(how)
	return res(r, e)
}

func sysRead(fd int, b []byte) (int64, unix.Errno) {
	p := bufp(b)
	r, _, e := unix.Syscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(len(b)))
	runtime.KeepAlive(p)
	return res(r, e)
}

func sysWrite(fd int, b []byte) (int64, unix.Errno) {
	p := bufp(b)
	r, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(len(b)))
	runtime.KeepAlive(p)
	return res(r, e)
}

func sysPread(fd int, b []byte, off int64) (int64, unix.Errno) {
	p := bufp(b)
	r, _, e := unix.Syscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(len(b)), uintptr(off), 0, 0)
	runtime.KeepAlive(p)
	return res(r, e)
}

func sysPwrite(fd int, b []byte, off int64) (int64, unix.Errno) {
	p := bufp(b)
	r, _, e := unix.Syscall6(unix.SYS_PWRITE64, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(len(b)), uintptr(off), 0, 0)
	runtime.KeepAlive(p)
	return res(r, e)
}

// iovecs builds a heap array of iovec for bufs.
func iovecs(bufs [][]byte) []unix.Iovec {
	iov := make([]unix.Iovec, len(bufs)+1) // +1: never empty
	for i, b := range bufs {
		iov[i].Base = bufp(b)
		iov[i].SetLen(len(b))
	}
	return iov
}

// sysVec issues readv, writev (off ignored), preadv, pwritev (flags
// ignored), preadv2 or pwritev2. cnt is the iovcnt passed to the kernel.
func sysVec(nr uintptr, fd int, bufs [][]byte, cnt int, off int64, flags int) (int64, unix.Errno) {
	iov := iovecs(bufs)
	var r uintptr
	var e unix.Errno
	switch nr {
	case unix.SYS_READV, unix.SYS_WRITEV:
		r, _, e = unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(cnt))
	case unix.SYS_PREADV, unix.SYS_PWRITEV:
		r, _, e = unix.Syscall6(nr, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(cnt), uintptr(off), 0, 0)
	default:
		r, _, e = unix.Syscall6(nr, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(cnt), uintptr(off), 0, uintptr(flags))
	}
	runtime.KeepAlive(iov)
	runtime.KeepAlive(bufs)
	return res(r, e)
}

func sysLseek(fd int, off int64, whence int) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_LSEEK, uintptr(fd), uintptr(off), uintptr(whence))
	return res(r, e)
}

func sysClose(fd int) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return res(r, e)
}

func sysCloseRange(first, last uint, flags int) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_CLOSE_RANGE, uintptr(first), uintptr(last), uintptr(flags))
	return res(r, e)
}

func sysDup(fd int) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_DUP, uintptr(fd), 0, 0)
	return res(r, e)
}

func sysDup2(oldfd, newfd int) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_DUP2, uintptr(oldfd), uintptr(newfd), 0)
	return res(r, e)
}

func sysDup3(oldfd, newfd, flags int) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_DUP3, uintptr(oldfd), uintptr(newfd), uintptr(flags))
	return res(r, e)
}

func sysFcntl(fd, cmd int, arg uintptr) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(fd), uintptr(cmd), arg)
	return res(r, e)
}

func sysFcntlLock(fd, cmd int, lk *unix.Flock_t) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(unsafe.Pointer(lk)))
	runtime.KeepAlive(lk)
	return res(r, e)
}

func sysFlock(fd, how int) (int64, unix.Errno) {
	r, _, e := unix.Syscall(unix.SYS_FLOCK, uintptr(fd), uintptr(how), 0)
	return res(r, e)
}

// sysStat issues stat (nr SYS_STAT) or lstat (SYS_LSTAT).
func sysStat(nr uintptr, path string) (*unix.Stat_t, unix.Errno) {
	p := cpath(path)
	st := new(unix.Stat_t)
	_, _, e := unix.Syscall(nr, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(st)
	if e != 0 {
		return nil, e
	}
	return st, 0
}

func sysFstat(fd int) (*unix.Stat_t, unix.Errno) {
	st := new(unix.Stat_t)
	_, _, e := unix.Syscall(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0)
	runtime.KeepAlive(st)
	if e != 0 {
		return nil, e
	}
	return st, 0
}

func sysNewfstatat(dirfd int, path string, flags int) (*unix.Stat_t, unix.Errno) {
	p := cpath(path)
	st := new(unix.Stat_t)
	_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), uintptr(flags), 0, 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(st)
	if e != 0 {
		return nil, e
	}
	return st, 0
}

func sysStatx(dirfd int, path string, flags int, mask uint32) (*unix.Statx_t, unix.Errno) {
	p := cpath(path)
	stx := new(unix.Statx_t)
	_, _, e := unix.Syscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags), uintptr(mask), uintptr(unsafe.Pointer(stx)), 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(stx)
	if e != 0 {
		return nil, e
	}
	return stx, 0
}

func sysStatfs(path string) (*unix.Statfs_t, unix.Errno) {
	p := cpath(path)
	sf := new(unix.Statfs_t)
	_, _, e := unix.Syscall(unix.SYS_STATFS, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(sf)), 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(sf)
	if e != 0 {
		return nil, e
	}
	return sf, 0
}

func sysFstatfs(fd int) (*unix.Statfs_t, unix.Errno) {
	sf := new(unix.Statfs_t)
	_, _, e := unix.Syscall(unix.SYS_FSTATFS, uintptr(fd), uintptr(unsafe.Pointer(sf)), 0)
	runtime.KeepAlive(sf)
	if e != 0 {
		return nil, e
	}
	return sf, 0
}

// sysPath1 issues a syscall whose first argument is a path followed by up
// to two integers: access, mkdir, rmdir, unlink, chdir, chmod, truncate,
// chown, lchown, mknod.
func sysPath1(nr uintptr, path string, a1, a2 uintptr) (int64, unix.Errno) {
	p := cpath(path)
	r, _, e := unix.Syscall(nr, uintptr(unsafe.Pointer(p)), a1, a2)
	runtime.KeepAlive(p)
	return res(r, e)
}

// sysAt1 issues a syscall of the form (dirfd, path, a2, a3, a4):
// faccessat, faccessat2, mkdirat, unlinkat, fchmodat, fchmodat2, fchownat,
// mknodat.
func sysAt1(nr uintptr, dirfd int, path string, a2, a3, a4 uintptr) (int64, unix.Errno) {
	p := cpath(path)
	r, _, e := unix.Syscall6(nr, uintptr(dirfd), uintptr(unsafe.Pointer(p)), a2, a3, a4, 0)
	runtime.KeepAlive(p)
	return res(r, e)
}

// sysPath2 issues a syscall of the form (path, path): rename, link,
// symlink.
func sysPath2(nr uintptr, a, b string) (int64, unix.Errno) {
	pa, pb := cpath(a), cpath(b)
	r, _, e := unix.Syscall(nr, uintptr(unsafe.Pointer(pa)), uintptr(unsafe.Pointer(pb)), 0)
	runtime.KeepAlive(pa)
	runtime.KeepAlive(pb)
	return res(r, e)
}

// sysAt2 issues a syscall of the form (dirfd, path, dirfd, path, flags):
// renameat, renameat2, linkat.
func sysAt2(nr uintptr, d1 int, a string, d2 int, b string, flags int) (int64, unix.Errno) {
	pa, pb := cpath(a), cpath(b)
	r, _, e := unix.Syscall6(nr, uintptr(d1), uintptr(unsafe.Pointer(pa)), uintptr(d2), uintptr(unsafe.Pointer(pb)), uintptr(flags), 0)
	runtime.KeepAlive(pa)
	runtime.KeepAlive(pb)
	return res(r, e)
}

func sysSymlinkat(target string, dirfd int, path string) (int64, unix.Errno) {
	pt, pp := cpath(target), cpath(path)
	r, _, e := unix.Syscall(unix.SYS_SYMLINKAT, uintptr(unsafe.Pointer(pt)), uintptr(dirfd), uintptr(unsafe.Pointer(pp)))
	runtime.KeepAlive(pt)
	runtime.KeepAlive(pp)
	return res(r, e)
}

func sysReadlink(path string, b []byte) (int64, unix.Errno) {
	p, bp := cpath(path), bufp(b)
	r, _, e := unix.Syscall(unix.SYS_READLINK, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(bp)), uintptr(len(b)))
	runtime.KeepAlive(p)
	runtime.KeepAlive(bp)
	return res(r, e)
}

func sysReadlinkat(dirfd int, path string, b []byte) (int64, unix.Errno) {
	p, bp := cpath(path), bufp(b)
	r, _, e := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(bp)), uintptr(len(b)), 0, 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(bp)
	return res(r, e)
}

// sysGetdents issues getdents64 (SYS_GETDENTS64) or the old getdents.
func sysGetdents(nr uintptr, fd int, b []byte) (int64, unix.Errno) {
	bp := bufp(b)
	r, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(bp)), uintptr(len(b)))
	runtime.KeepAlive(bp)
	return res(r, e)
}

func sysGetcwd(b []byte) (int64, unix.Errno) {
	bp := bufp(b)
	r, _, e := unix.Syscall(unix.SYS_GETCWD, uintptr(unsafe.Pointer(bp)), uintptr(len(b)), 0)
	runtime.KeepAlive(bp)
	return res(r, e)
}

// sysFd issues a syscall whose arguments are all integers (fchdir, fsync,
// fdatasync, syncfs, ftruncate, fchmod, fchown, fallocate,
// sync_file_range, ioctl with an integer argument, umask).
func sysFd(nr uintptr, a0, a1, a2, a3 uintptr) (int64, unix.Errno) {
	r, _, e := unix.Syscall6(nr, a0, a1, a2, a3, 0, 0)
	return res(r, e)
}

// sysUtimensat passes ts (nil or two timespecs) to utimensat.
func sysUtimensat(dirfd int, path *string, ts []unix.Timespec, flags int) (int64, unix.Errno) {
	var p *byte
	if path != nil {
		p = cpath(*path)
	}
	var tp *unix.Timespec
	if ts != nil {
		tp = &ts[0]
	}
	r, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(tp)), uintptr(flags), 0, 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(ts)
	return res(r, e)
}

func sysUtime(path string, ub *unix.Utimbuf) (int64, unix.Errno) {
	p := cpath(path)
	r, _, e := unix.Syscall(unix.SYS_UTIME, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(ub)), 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(ub)
	return res(r, e)
}

func sysUtimes(path string, tv []unix.Timeval) (int64, unix.Errno) {
	p := cpath(path)
	var tp *unix.Timeval
	if tv != nil {
		tp = &tv[0]
	}
	r, _, e := unix.Syscall(unix.SYS_UTIMES, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(tp)), 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(tv)
	return res(r, e)
}

// sysXattr issues one of the xattr syscalls. kind selects the first
// argument: a path for set/get/list/removexattr and their l* forms, an fd
// for the f* forms. name is ignored by the list calls.
func sysXattr(nr uintptr, path string, fd int, name string, val []byte, flags int) (int64, unix.Errno) {
	var first uintptr
	var p *byte
	switch nr {
	case unix.SYS_FSETXATTR, unix.SYS_FGETXATTR, unix.SYS_FLISTXATTR, unix.SYS_FREMOVEXATTR:
		first = uintptr(fd)
	default:
		p = cpath(path)
	}
	n := cpath(name)
	vp := bufp(val)
	var r uintptr
	var e unix.Errno
	switch nr {
	case unix.SYS_SETXATTR, unix.SYS_LSETXATTR:
		r, _, e = unix.Syscall6(nr, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(vp)), uintptr(len(val)), uintptr(flags), 0)
	case unix.SYS_FSETXATTR:
		r, _, e = unix.Syscall6(nr, first, uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(vp)), uintptr(len(val)), uintptr(flags), 0)
	case unix.SYS_GETXATTR, unix.SYS_LGETXATTR:
		r, _, e = unix.Syscall6(nr, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(vp)), uintptr(len(val)), 0, 0)
	case unix.SYS_FGETXATTR:
		r, _, e = unix.Syscall6(nr, first, uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(vp)), uintptr(len(val)), 0, 0)
	case unix.SYS_LISTXATTR, unix.SYS_LLISTXATTR:
		r, _, e = unix.Syscall(nr, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(vp)), uintptr(len(val)))
	case unix.SYS_FLISTXATTR:
		r, _, e = unix.Syscall(nr, first, uintptr(unsafe.Pointer(vp)), uintptr(len(val)))
	case unix.SYS_REMOVEXATTR, unix.SYS_LREMOVEXATTR:
		r, _, e = unix.Syscall(nr, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(n)), 0)
	case unix.SYS_FREMOVEXATTR:
		r, _, e = unix.Syscall(nr, first, uintptr(unsafe.Pointer(n)), 0)
	default:
		panic("sysXattr: not an xattr syscall")
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(n)
	runtime.KeepAlive(vp)
	return res(r, e)
}

func sysSendfile(out, in int, off *int64, count int) (int64, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_SENDFILE, uintptr(out), uintptr(in), uintptr(unsafe.Pointer(off)), uintptr(count), 0, 0)
	runtime.KeepAlive(off)
	return res(r, e)
}

func sysCopyFileRange(in int, offIn *int64, out int, offOut *int64, n int, flags int) (int64, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_COPY_FILE_RANGE, uintptr(in), uintptr(unsafe.Pointer(offIn)), uintptr(out), uintptr(unsafe.Pointer(offOut)), uintptr(n), uintptr(flags))
	runtime.KeepAlive(offIn)
	runtime.KeepAlive(offOut)
	return res(r, e)
}

// sysIoctlInt issues an ioctl whose argument points to an int, and
// returns the int after the call.
func sysIoctlInt(fd int, req uint, in int32) (int64, int32, unix.Errno) {
	v := new(int32)
	*v = in
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(v)))
	runtime.KeepAlive(v)
	n, e := res(r, e)
	return n, *v, e
}

// sysIoctlBuf issues an ioctl whose argument points to a buffer.
func sysIoctlBuf(fd int, req uint, b []byte) (int64, unix.Errno) {
	p := bufp(b)
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(p)))
	runtime.KeepAlive(p)
	return res(r, e)
}
