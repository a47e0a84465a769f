// Package linked runs fsshim's emul and ramfs in-process: a syscall is a
// plain Go function call into the same dispatcher the supervisor uses, with
// the same argument decoding and memory copies, and no world switch. This is
// the "unikernel" build the benchmarks compare against the supervised
// transports and native Linux.
//
// The process's own file syscalls are not redirected: code uses a *Linked
// (its Syscall method, or the small helpers) explicitly. Emulated fds live in
// their own number space, lowest free from FDBase, above any number the host
// kernel can hand out (fs.nr_open is at most 1<<20), so the two never mix; a
// call on an fd that is not emulated, or on a path outside the mounts, is
// passed to the host kernel.
package linked

import (
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// Linked is an in-process ramfs with the Linux syscall interface.
type Linked struct {
	mu sync.Mutex
	k  *emul.Kernel
	p  *emul.Process
}

type selfHost struct{}

func (selfHost) FDPath(tgid, fd int) (string, error) { return "", syscall.EBADF }
func (selfHost) Cwd(tgid int) (string, error)        { return os.Getwd() }

// DupFD lends emul one of our own fds (emul.FDHost: bind and connect of
// AF_UNIX sockets in a mount).
func (selfHost) DupFD(tgid, fd int) (int, error) { return unix.Dup(fd) }

// New returns a Linked serving the given mounts.
func New(mounts []*emul.Mount) *Linked {
	k := emul.NewKernel(mounts, selfHost{})
	p := k.Process(os.Getpid(), nil)
	p.Umask = 0o022
	p.Uid, p.Gid = uint32(os.Geteuid()), uint32(os.Getegid())
	p.Ruid, p.Rgid = uint32(os.Getuid()), uint32(os.Getgid())
	if gs, err := os.Getgroups(); err == nil {
		for _, g := range gs {
			p.Groups = append(p.Groups, uint32(g))
		}
	}
	return &Linked{k: k, p: p}
}

// Kernel returns the emul kernel behind l.
func (l *Linked) Kernel() *emul.Kernel { return l.k }

// FDBase is the first emulated fd number.
const FDBase = 1 << 20

// lowestFree returns the lowest emulated fd number >= min that is free.
func (l *Linked) lowestFree(min int) int {
	fds := l.k.FDs(l.p)
	if min < FDBase {
		min = FDBase
	}
	for fd := min; ; fd++ {
		if _, used := fds[fd]; !used {
			return fd
		}
	}
}

// Syscall runs syscall nr with the raw register arguments, as the kernel's
// entry would: the return value, or an errno. A pointer argument must be
// converted to uintptr in the call expression itself
// (uintptr(unsafe.Pointer(&buf[0]))): then the memory is moved to the heap
// and kept alive for the call. An address computed before the call may be
// of a goroutine stack, which moves when it grows: emul's own calls grow
// it.
//
//go:uintptrescapes
func (l *Linked) Syscall(nr int, a0, a1, a2, a3, a4, a5 uintptr) (int64, syscall.Errno) {
	c := emul.Call{Tid: l.p.Tgid, Proc: l.p, Nr: nr, Mem: selfMem{},
		Args: [6]uint64{uint64(a0), uint64(a1), uint64(a2), uint64(a3), uint64(a4), uint64(a5)}}
	if !emul.Handles(nr) {
		return host(nr, a0, a1, a2, a3, a4, a5)
	}
	// The dup family on an emulated fd: the kernel does this part for a
	// supervised target; here the fd table is ours.
	switch nr {
	case unix.SYS_DUP:
		if f := l.k.FileOf(l.p, int(int32(a0))); f != nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			fd := l.lowestFree(0)
			l.k.Installed(l.p, fd, f)
			return int64(fd), 0
		}
	case unix.SYS_FCNTL:
		if f := l.k.FileOf(l.p, int(int32(a0))); f != nil && (a1 == unix.F_DUPFD || a1 == unix.F_DUPFD_CLOEXEC) {
			l.mu.Lock()
			defer l.mu.Unlock()
			fd := l.lowestFree(int(int32(a2)))
			l.k.Installed(l.p, fd, f)
			return int64(fd), 0
		}
	}
	emulated := false
	switch nr {
	case unix.SYS_CLOSE, unix.SYS_DUP2, unix.SYS_DUP3, unix.SYS_FCNTL, unix.SYS_CLOSE_RANGE:
		emulated = l.k.FileOf(l.p, int(int32(a0))) != nil
	}
	r := l.k.Handle(&c)
	switch r.Action {
	case emul.InstallFD:
		l.mu.Lock()
		fd := r.SetFD
		if fd < 0 {
			fd = l.lowestFree(0)
		}
		l.k.Installed(l.p, fd, r.File)
		l.mu.Unlock()
		l.k.Release(r.File)
		return int64(fd), 0
	case emul.Redirect:
		// A FIFO or device opens its host shadow, a connect goes to
		// one: here, in the caller's own thread, which may block.
		return redirect(r.Redir)
	case emul.Continue:
		if r.Fill != nil {
			return -1, syscall.ENODEV
		}
		if emulated {
			// close/dup2/dup3/fcntl(F_SETFD...) of an emulated fd:
			// emul has done its part and there is no placeholder.
			if nr == unix.SYS_DUP2 || nr == unix.SYS_DUP3 {
				return int64(int32(a1)), 0
			}
			return 0, 0
		}
		return host(nr, a0, a1, a2, a3, a4, a5)
	}
	if r.Err != 0 {
		return -1, r.Err
	}
	return r.Val, 0
}

func redirect(rd *emul.Redirection) (int64, syscall.Errno) {
	switch rd.Nr {
	case unix.SYS_OPENAT:
		fd, err := unix.Open(rd.Path, rd.Flags, 0)
		if err != nil {
			return -1, err.(syscall.Errno)
		}
		return int64(fd), 0
	case unix.SYS_CONNECT:
		if err := unix.Connect(rd.FD, &unix.SockaddrUnix{Name: rd.Path}); err != nil {
			return -1, err.(syscall.Errno)
		}
		return 0, 0
	}
	return -1, syscall.ENOSYS
}

func host(nr int, a0, a1, a2, a3, a4, a5 uintptr) (int64, syscall.Errno) {
	r, _, e := unix.Syscall6(uintptr(nr), a0, a1, a2, a3, a4, a5)
	if e != 0 {
		return -1, e
	}
	return int64(r), 0
}

func errOf(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Open is openat(AT_FDCWD, path, flags, mode).
func (l *Linked) Open(path string, flags int, mode uint32) (int, error) {
	r, e := l.Syscall(unix.SYS_OPENAT, atFDCWD, uintptr(cstr(path)), uintptr(flags), uintptr(mode), 0, 0)
	return int(r), errOf(e)
}

// Close is close(fd).
func (l *Linked) Close(fd int) error {
	_, e := l.Syscall(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
	return errOf(e)
}

// Read is read(fd, p).
func (l *Linked) Read(fd int, p []byte) (int, error) {
	r, e := l.Syscall(unix.SYS_READ, uintptr(fd), uintptr(ptr(p)), uintptr(len(p)), 0, 0, 0)
	return int(r), errOf(e)
}

// Write is write(fd, p).
func (l *Linked) Write(fd int, p []byte) (int, error) {
	r, e := l.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(ptr(p)), uintptr(len(p)), 0, 0, 0)
	return int(r), errOf(e)
}

// Pread is pread64(fd, p, off).
func (l *Linked) Pread(fd int, p []byte, off int64) (int, error) {
	r, e := l.Syscall(unix.SYS_PREAD64, uintptr(fd), uintptr(ptr(p)), uintptr(len(p)), uintptr(off), 0, 0)
	return int(r), errOf(e)
}

// Lseek is lseek(fd, off, whence).
func (l *Linked) Lseek(fd int, off int64, whence int) (int64, error) {
	r, e := l.Syscall(unix.SYS_LSEEK, uintptr(fd), uintptr(off), uintptr(whence), 0, 0, 0)
	return r, errOf(e)
}

func (l *Linked) pathCall(nr int, path string, a1 uintptr) error {
	_, e := l.Syscall(nr, uintptr(cstr(path)), a1, 0, 0, 0, 0)
	return errOf(e)
}

// Unlink is unlink(path).
func (l *Linked) Unlink(path string) error { return l.pathCall(unix.SYS_UNLINK, path, 0) }

// Mkdir is mkdir(path, mode).
func (l *Linked) Mkdir(path string, mode uint32) error {
	return l.pathCall(unix.SYS_MKDIR, path, uintptr(mode))
}

// Rmdir is rmdir(path).
func (l *Linked) Rmdir(path string) error { return l.pathCall(unix.SYS_RMDIR, path, 0) }

// Rename is rename(oldpath, newpath).
func (l *Linked) Rename(oldpath, newpath string) error {
	_, e := l.Syscall(unix.SYS_RENAME, uintptr(cstr(oldpath)), uintptr(cstr(newpath)), 0, 0, 0, 0)
	return errOf(e)
}

// Stat is stat(path) into a unix.Stat_t.
func (l *Linked) Stat(path string, st *unix.Stat_t) error {
	_, e := l.Syscall(unix.SYS_STAT, uintptr(cstr(path)), uintptr(statPtr(st)), 0, 0, 0, 0)
	return errOf(e)
}

// Getdents64 is getdents64(fd, buf).
func (l *Linked) Getdents64(fd int, buf []byte) (int, error) {
	r, e := l.Syscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(ptr(buf)), uintptr(len(buf)), 0, 0, 0)
	return int(r), errOf(e)
}

// atFDCWD is AT_FDCWD (-100) as a register holds it.
const atFDCWD = ^uintptr(99)
