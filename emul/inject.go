package emul

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Injector decides whether a call on a file in a mount fails on purpose
// (fsshim --inject): it sees the syscall number and the file's absolute
// path.
type Injector interface {
	Check(nr int, path string) (syscall.Errno, bool)
}

// Where the path of a path syscall is: the dirfd argument (-1 for none)
// and the path argument.
type pathArgs struct{ dirfd, path int }

var injectPaths = map[int]pathArgs{
	unix.SYS_OPEN: {-1, 0}, unix.SYS_CREAT: {-1, 0}, unix.SYS_STAT: {-1, 0}, unix.SYS_LSTAT: {-1, 0},
	unix.SYS_STATFS: {-1, 0}, unix.SYS_ACCESS: {-1, 0}, unix.SYS_MKDIR: {-1, 0}, unix.SYS_RMDIR: {-1, 0},
	unix.SYS_UNLINK: {-1, 0}, unix.SYS_RENAME: {-1, 0}, unix.SYS_LINK: {-1, 0}, unix.SYS_SYMLINK: {-1, 1},
	unix.SYS_READLINK: {-1, 0}, unix.SYS_CHDIR: {-1, 0}, unix.SYS_TRUNCATE: {-1, 0}, unix.SYS_CHMOD: {-1, 0},
	unix.SYS_CHOWN: {-1, 0}, unix.SYS_LCHOWN: {-1, 0}, unix.SYS_UTIME: {-1, 0}, unix.SYS_UTIMES: {-1, 0},
	unix.SYS_MKNOD:  {-1, 0},
	unix.SYS_OPENAT: {0, 1}, unix.SYS_OPENAT2: {0, 1}, unix.SYS_NEWFSTATAT: {0, 1}, unix.SYS_STATX: {0, 1},
	unix.SYS_FACCESSAT: {0, 1}, unix.SYS_FACCESSAT2: {0, 1}, unix.SYS_MKDIRAT: {0, 1}, unix.SYS_UNLINKAT: {0, 1},
	unix.SYS_RENAMEAT: {0, 1}, unix.SYS_RENAMEAT2: {0, 1}, unix.SYS_LINKAT: {0, 1}, unix.SYS_SYMLINKAT: {1, 2},
	unix.SYS_READLINKAT: {0, 1}, unix.SYS_FCHMODAT: {0, 1}, sysFchmodat2: {0, 1}, unix.SYS_FCHOWNAT: {0, 1},
	unix.SYS_FUTIMESAT: {0, 1}, unix.SYS_MKNODAT: {0, 1},
}

// injectLocked asks the Injector about a call that works on a file in a
// mount; calls on host files are never failed on purpose.
func (k *Kernel) injectLocked(c *Call) (syscall.Errno, bool) {
	var path string
	if pa, ok := injectPaths[c.Nr]; ok {
		dirfd := atFDCWD
		if pa.dirfd >= 0 {
			dirfd = fdArg(c.Args[pa.dirfd])
		}
		name, e := c.readPath(c.Args[pa.path], false)
		if e != 0 {
			return 0, false
		}
		l, e := k.walkLocked(c.Proc, dirfd, name, followLast)
		if e != 0 || l.host {
			return 0, false
		}
		path = l.absPath()
	} else {
		f := k.identLocked(c.Proc, fdArg(c.Args[0]))
		if f == nil {
			return 0, false
		}
		path = string(f.path)
	}
	return k.Inject.Check(c.Nr, path)
}
