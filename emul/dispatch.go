package emul

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Syscall numbers the x/sys table lacks (x86-64).
const (
	sysFchmodat2     = 452
	sysSetxattrat    = 463
	sysGetxattrat    = 464
	sysListxattrat   = 465
	sysRemovexattrat = 466
	sysOpenTree      = 428
	sysMoveMount     = 429
	sysFsconfig      = 431
	sysFspick        = 433
	sysMountSetattr  = 442
	sysQuotactlFd    = 443
	sysLandlockAdd   = 445
	// arch/x86/entry/syscalls/syscall_64.tbl, Linux 6.15 and 6.17.
	sysOpenTreeAttr = 467
	sysFileGetattr  = 468
	sysFileSetattr  = 469
)

type handler func(*Kernel, *Call) Result

var handlers = map[int]handler{
	unix.SYS_OPEN:              (*Kernel).Open,
	unix.SYS_CREAT:             (*Kernel).Creat,
	unix.SYS_OPENAT:            (*Kernel).Openat,
	unix.SYS_OPENAT2:           (*Kernel).Openat2,
	unix.SYS_READ:              (*Kernel).Read,
	unix.SYS_WRITE:             (*Kernel).Write,
	unix.SYS_PREAD64:           (*Kernel).Pread64,
	unix.SYS_PWRITE64:          (*Kernel).Pwrite64,
	unix.SYS_READV:             (*Kernel).Readv,
	unix.SYS_WRITEV:            (*Kernel).Writev,
	unix.SYS_PREADV:            (*Kernel).Preadv,
	unix.SYS_PWRITEV:           (*Kernel).Pwritev,
	unix.SYS_PREADV2:           (*Kernel).Preadv2,
	unix.SYS_PWRITEV2:          (*Kernel).Pwritev2,
	unix.SYS_LSEEK:             (*Kernel).Lseek,
	unix.SYS_CLOSE:             (*Kernel).Close,
	unix.SYS_CLOSE_RANGE:       (*Kernel).CloseRange,
	unix.SYS_DUP:               (*Kernel).Dup,
	unix.SYS_DUP2:              (*Kernel).Dup2,
	unix.SYS_DUP3:              (*Kernel).Dup3,
	unix.SYS_FCNTL:             (*Kernel).Fcntl,
	unix.SYS_IOCTL:             (*Kernel).Ioctl,
	unix.SYS_STAT:              (*Kernel).Stat,
	unix.SYS_LSTAT:             (*Kernel).Lstat,
	unix.SYS_FSTAT:             (*Kernel).Fstat,
	unix.SYS_NEWFSTATAT:        (*Kernel).Newfstatat,
	unix.SYS_STATX:             (*Kernel).Statx,
	unix.SYS_STATFS:            (*Kernel).Statfs,
	unix.SYS_FSTATFS:           (*Kernel).Fstatfs,
	unix.SYS_ACCESS:            (*Kernel).Access,
	unix.SYS_FACCESSAT:         (*Kernel).Faccessat,
	unix.SYS_FACCESSAT2:        (*Kernel).Faccessat2,
	unix.SYS_MKDIR:             (*Kernel).Mkdir,
	unix.SYS_MKDIRAT:           (*Kernel).Mkdirat,
	unix.SYS_RMDIR:             (*Kernel).Rmdir,
	unix.SYS_UNLINK:            (*Kernel).Unlink,
	unix.SYS_UNLINKAT:          (*Kernel).Unlinkat,
	unix.SYS_RENAME:            (*Kernel).Rename,
	unix.SYS_RENAMEAT:          (*Kernel).Renameat,
	unix.SYS_RENAMEAT2:         (*Kernel).Renameat2,
	unix.SYS_LINK:              (*Kernel).Link,
	unix.SYS_LINKAT:            (*Kernel).Linkat,
	unix.SYS_SYMLINK:           (*Kernel).Symlink,
	unix.SYS_SYMLINKAT:         (*Kernel).Symlinkat,
	unix.SYS_READLINK:          (*Kernel).Readlink,
	unix.SYS_READLINKAT:        (*Kernel).Readlinkat,
	unix.SYS_GETDENTS64:        (*Kernel).Getdents64,
	unix.SYS_GETDENTS:          (*Kernel).Getdents,
	unix.SYS_CHDIR:             (*Kernel).Chdir,
	unix.SYS_FCHDIR:            (*Kernel).Fchdir,
	unix.SYS_GETCWD:            (*Kernel).Getcwd,
	unix.SYS_TRUNCATE:          (*Kernel).Truncate,
	unix.SYS_FTRUNCATE:         (*Kernel).Ftruncate,
	unix.SYS_FALLOCATE:         (*Kernel).Fallocate,
	unix.SYS_FSYNC:             (*Kernel).Fsync,
	unix.SYS_FDATASYNC:         (*Kernel).Fsync,
	unix.SYS_SYNCFS:            (*Kernel).Fsync,
	unix.SYS_SYNC_FILE_RANGE:   (*Kernel).SyncFileRange,
	unix.SYS_UMASK:             (*Kernel).Umask,
	unix.SYS_SETUID:            (*Kernel).SetID,
	unix.SYS_SETGID:            (*Kernel).SetID,
	unix.SYS_SETREUID:          (*Kernel).SetID,
	unix.SYS_SETREGID:          (*Kernel).SetID,
	unix.SYS_SETGROUPS:         (*Kernel).SetID,
	unix.SYS_SETRESUID:         (*Kernel).SetID,
	unix.SYS_SETRESGID:         (*Kernel).SetID,
	unix.SYS_SETFSUID:          (*Kernel).SetID,
	unix.SYS_SETFSGID:          (*Kernel).SetID,
	unix.SYS_FADVISE64:         (*Kernel).Fadvise64,
	unix.SYS_READAHEAD:         (*Kernel).Readahead,
	unix.SYS_FLOCK:             (*Kernel).Flock,
	unix.SYS_CHMOD:             (*Kernel).Chmod,
	unix.SYS_FCHMOD:            (*Kernel).Fchmod,
	unix.SYS_FCHMODAT:          (*Kernel).Fchmodat,
	sysFchmodat2:               (*Kernel).Fchmodat2,
	unix.SYS_CHOWN:             (*Kernel).Chown,
	unix.SYS_LCHOWN:            (*Kernel).Lchown,
	unix.SYS_FCHOWN:            (*Kernel).Fchown,
	unix.SYS_FCHOWNAT:          (*Kernel).Fchownat,
	unix.SYS_UTIMENSAT:         (*Kernel).Utimensat,
	unix.SYS_UTIME:             (*Kernel).Utime,
	unix.SYS_UTIMES:            (*Kernel).Utimes,
	unix.SYS_FUTIMESAT:         (*Kernel).Futimesat,
	unix.SYS_MKNOD:             (*Kernel).Mknod,
	unix.SYS_MKNODAT:           (*Kernel).Mknodat,
	unix.SYS_SETXATTR:          (*Kernel).XattrFollow,
	unix.SYS_GETXATTR:          (*Kernel).XattrFollow,
	unix.SYS_LISTXATTR:         (*Kernel).XattrFollow,
	unix.SYS_REMOVEXATTR:       (*Kernel).XattrFollow,
	unix.SYS_LSETXATTR:         (*Kernel).XattrNofollow,
	unix.SYS_LGETXATTR:         (*Kernel).XattrNofollow,
	unix.SYS_LLISTXATTR:        (*Kernel).XattrNofollow,
	unix.SYS_LREMOVEXATTR:      (*Kernel).XattrNofollow,
	sysSetxattrat:              (*Kernel).XattrAt,
	sysGetxattrat:              (*Kernel).XattrAt,
	sysListxattrat:             (*Kernel).XattrAt,
	sysRemovexattrat:           (*Kernel).XattrAt,
	unix.SYS_FSETXATTR:         (*Kernel).XattrFD,
	unix.SYS_FGETXATTR:         (*Kernel).XattrFD,
	unix.SYS_FLISTXATTR:        (*Kernel).XattrFD,
	unix.SYS_FREMOVEXATTR:      (*Kernel).XattrFD,
	unix.SYS_NAME_TO_HANDLE_AT: (*Kernel).NameToHandleAt,
	unix.SYS_INOTIFY_ADD_WATCH: (*Kernel).InotifyAddWatch,
	sysOpenTree:                (*Kernel).OpenTree,
	sysOpenTreeAttr:            (*Kernel).OpenTree,
	sysMoveMount:               (*Kernel).MoveMount,
	sysFsconfig:                (*Kernel).Fsconfig,
	sysFspick:                  (*Kernel).Fspick,
	sysMountSetattr:            (*Kernel).MountSetattr,
	unix.SYS_MOUNT:             (*Kernel).Mount,
	unix.SYS_UMOUNT2:           (*Kernel).Umount2,
	unix.SYS_CHROOT:            (*Kernel).Chroot,
	unix.SYS_ACCT:              (*Kernel).Acct,
	unix.SYS_SWAPON:            (*Kernel).Swap,
	unix.SYS_SWAPOFF:           (*Kernel).Swap,
	unix.SYS_QUOTACTL:          (*Kernel).Quotactl,
	sysQuotactlFd:              (*Kernel).QuotactlFd,
	unix.SYS_FANOTIFY_MARK:     (*Kernel).FanotifyMark,
	sysLandlockAdd:             (*Kernel).LandlockAddRule,
	unix.SYS_FINIT_MODULE:      (*Kernel).FDRefused,
	unix.SYS_KEXEC_FILE_LOAD:   (*Kernel).FDRefused,
	unix.SYS_BPF:               (*Kernel).Bpf,
	sysFileGetattr:             (*Kernel).FileGetattr,
	sysFileSetattr:             (*Kernel).FileSetattr,
	unix.SYS_MMAP:              (*Kernel).Mmap,
	unix.SYS_SENDFILE:          (*Kernel).Sendfile,
	unix.SYS_COPY_FILE_RANGE:   (*Kernel).CopyFileRange,
	unix.SYS_SPLICE:            (*Kernel).Splice,
	unix.SYS_TEE:               (*Kernel).Tee,
	unix.SYS_EXECVE:            (*Kernel).Execve,
	unix.SYS_EXECVEAT:          (*Kernel).Execve,
	unix.SYS_BIND:              (*Kernel).Bind,
	unix.SYS_CONNECT:           (*Kernel).Connect,
	unix.SYS_GETSOCKNAME:       (*Kernel).Getsockname,
	unix.SYS_GETPEERNAME:       (*Kernel).Getpeername,
}

// sysTableSize bounds the syscall numbers emul knows.
const sysTableSize = 512

var table [sysTableSize]handler

func init() {
	for nr, h := range handlers {
		table[nr] = h
	}
}

// Handles reports whether emul has a handler for syscall nr.
func Handles(nr int) bool { return nr >= 0 && nr < len(table) && table[nr] != nil }

// Handle answers one call. A syscall emul does not know is answered
// Continue only when it cannot touch a mount; the filter routes only known
// ones, so an unknown number here is a policy bug and is logged.
func (k *Kernel) Handle(c *Call) Result {
	if c.Nr < 0 || c.Nr >= len(table) || table[c.Nr] == nil {
		if k.OnFault != nil {
			k.OnFault("no handler for syscall " + itoa(c.Nr) + ": answered ENOSYS")
		}
		return fail(38) // ENOSYS
	}
	if c.buf == nil {
		c.buf = callBufs.Get().(*callBuf)
		defer func() {
			callBufs.Put(c.buf)
			c.buf = nil
		}()
	}
	// The copies from and to the caller's memory are made outside k.mu
	// where they can be: its paths before, a stat record after.
	b := c.buf
	pre := prefetchArgs[c.Nr]
	if pre[0] != 0 {
		c.prefetch(pre)
	}
	b.later, b.outLen = true, 0
	var r Result
	ran := false
	if sharedCalls[c.Nr] && k.sharedOK() {
		// shared.go: run with k.mu shared, or give up and run below.
		k.mu.RLock()
		c.shared = true
		r = k.serve(c)
		ran = (r.Action != Return || r.Err != errExclusive) && !c.retry
		if !ran {
			k.dropResult(c, &r) // nothing of it reached the caller
		} else if k.Concurrent && (r.Action == InstallFD || r.Action == InstallHostFD) {
			k.tab.Lock()
			k.installing++
			k.tab.Unlock()
			c.installing = true
		}
		if c.nheld != 0 || c.heldIno != nil {
			k.releaseHeld(c)
		}
		c.shared, c.retry = false, false
		k.mu.RUnlock()
	}
	if !ran {
		k.mu.Lock()
		if e, ok := k.injected(c); ok {
			r = fail(e)
		} else {
			r = k.serve(c)
		}
		if k.Concurrent && (r.Action == InstallFD || r.Action == InstallHostFD) {
			k.installing++
			c.installing = true
		}
		k.mu.Unlock()
	}
	b.later = false
	if pre[0] != 0 {
		b.preAt = [2]prefetched{}
	}
	if b.outLen > 0 {
		if r.Action == Return && r.Err == 0 {
			r = retE(r.Val, writeFull(c.Mem, b.stat[:b.outLen], b.outAddr))
		}
		b.outLen = 0
	}
	return r
}

// injected asks the Injector, if there is one, whether c fails on
// purpose.
//
// Preconditions: k.mu is held.
func (k *Kernel) injected(c *Call) (syscall.Errno, bool) {
	if k.Inject == nil {
		return 0, false
	}
	return k.injectLocked(c)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// serve runs c's handler, k.mu held (shared or not). A Redirect answer
// takes the caller's credentials here, while the lock excludes SetIDs,
// their writer: the transport makes the host call after k.mu is let go.
func (k *Kernel) serve(c *Call) Result {
	r := table[c.Nr](k, c)
	if r.Action == Redirect && r.Redir != nil {
		r.Redir.Creds = c.Proc.Creds
	}
	return r
}
