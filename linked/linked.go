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
	"errors"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// Linked is an in-process ramfs with the Linux syscall interface. It is
// safe for concurrent use, and goroutines' calls run at once: emul runs
// the common calls with its lock held shared (emul/shared.go), ramfs has
// a lock per directory and per inode, and the Target primitives below
// keep no state of their own.
type Linked struct {
	k *emul.Kernel
	p *emul.Process
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
	if !emul.Handles(nr) {
		return host(nr, a0, a1, a2, a3, a4, a5)
	}
	// The dup family on an emulated fd: the kernel does this part for a
	// supervised target; here the fd table is emul's own.
	switch nr {
	case unix.SYS_DUP:
		if nfd, ok := l.k.DupLowest(l.p, int(int32(a0)), FDBase, false); ok {
			return int64(nfd), 0
		}
	case unix.SYS_FCNTL:
		if a1 == unix.F_DUPFD || a1 == unix.F_DUPFD_CLOEXEC {
			if nfd, ok := l.k.DupLowest(l.p, int(int32(a0)), max(int(int32(a2)), FDBase), a1 == unix.F_DUPFD_CLOEXEC); ok {
				return int64(nfd), 0
			}
		}
	}
	emulated := false
	if nr == unix.SYS_CLOSE_RANGE {
		// emul answers the rest of the fd-table calls on an emulated
		// fd itself (the table is its own; a close of one is answered
		// 0), but the range may hold host fds too.
		emulated = int32(a0) >= 0 && l.k.FileOf(l.p, int(int32(a0))) != nil
	}
	c := calls.Get().(*emul.Call)
	c.ID, c.Tid, c.Proc, c.Nr, c.Mem = 0, l.p.Tgid, l.p, nr, selfMem{}
	c.Args = [6]uint64{uint64(a0), uint64(a1), uint64(a2), uint64(a3), uint64(a4), uint64(a5)}
	r := l.k.Handle(c)
	var rep emul.Reply
	if emulated && r.Action == emul.Continue && r.Fill == nil {
		// close_range from an emulated fd: emul has done it, and
		// there is no placeholder for the host kernel to close.
	} else {
		rep = l.k.Complete(l, c, &r)
	}
	calls.Put(c)
	return rep.Val, rep.Err
}

// calls holds the Calls Syscall hands to emul: a Call goes to the heap
// (emul's handlers and the Target primitives take its address through
// function values and interfaces), and Complete is done with it when
// Syscall returns (a primitive keeps a copy, never the pointer).
var calls = sync.Pool{New: func() any { return emul.NewCall() }}

// The answer protocol's primitives (emul.Target) for the calling
// goroutine: an answer is Syscall's return value, so Answer has nothing
// to send; Continue is the host call; fds are numbered in emul's table.

// Answer implements emul.Target: the answer is Complete's Reply.
func (l *Linked) Answer(c *emul.Call, val int64, errno syscall.Errno) {}

// Continue implements emul.Target: the host kernel runs the call.
func (l *Linked) Continue(c *emul.Call) (int64, syscall.Errno) {
	a := &c.Args
	return host(c.Nr, uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5]))
}

// Fill implements emul.Target: an emulated file has no placeholder to
// map here (mmap of it fails with ENODEV).
func (l *Linked) Fill(c *emul.Call, f *emul.File, fd int) error { return errors.ErrUnsupported }

// InstallFD implements emul.Target: the lowest free emulated number from
// FDBase, or setFD.
func (l *Linked) InstallFD(c *emul.Call, f *emul.File, fdFlags, setFD int) (int, syscall.Errno, emul.Progress) {
	if setFD >= 0 {
		return setFD, 0, emul.Did
	}
	return l.k.InstallLowest(c.Proc, FDBase, f, fdFlags&unix.O_CLOEXEC != 0), 0, emul.Recorded
}

// InstallHostFD implements emul.Target. emul does not ask for it
// (Kernel.HostFDs is false here: a lower file is copied up on open).
func (l *Linked) InstallHostFD(c *emul.Call, h emul.LowerFile, fdFlags int) (int, syscall.Errno, emul.Progress) {
	return -1, syscall.EIO, emul.Did
}

// Redirect implements emul.Target: a FIFO or device opens its host
// shadow, a connect goes to one, here in the caller's own thread, which
// may block.
func (l *Linked) Redirect(c *emul.Call, rd *emul.Redirection) (int64, syscall.Errno, emul.Progress) {
	v, e := redirect(rd)
	return v, e, emul.Did
}

// Defer implements emul.Target. A linked call has no ID, so emul never
// defers one (a lock it would wait for answers EDEADLK).
func (l *Linked) Defer(c *emul.Call) {}

// Late implements emul.Target; see Defer.
func (l *Linked) Late(id uint64, val int64, errno syscall.Errno) {}

var _ emul.Target = (*Linked)(nil)

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
	p := newCPath(path)
	r, e := l.Syscall(unix.SYS_OPENAT, atFDCWD, uintptr(p.ptr()), uintptr(flags), uintptr(mode), 0, 0)
	p.free()
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
	p := newCPath(path)
	_, e := l.Syscall(nr, uintptr(p.ptr()), a1, 0, 0, 0, 0)
	p.free()
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
	o, n := newCPath(oldpath), newCPath(newpath)
	_, e := l.Syscall(unix.SYS_RENAME, uintptr(o.ptr()), uintptr(n.ptr()), 0, 0, 0, 0)
	o.free()
	n.free()
	return errOf(e)
}

// Stat is stat(path) into a unix.Stat_t.
func (l *Linked) Stat(path string, st *unix.Stat_t) error {
	p := newCPath(path)
	_, e := l.Syscall(unix.SYS_STAT, uintptr(p.ptr()), uintptr(statPtr(st)), 0, 0, 0, 0)
	p.free()
	return errOf(e)
}

// Getdents64 is getdents64(fd, buf).
func (l *Linked) Getdents64(fd int, buf []byte) (int, error) {
	r, e := l.Syscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(ptr(buf)), uintptr(len(buf)), 0, 0, 0)
	return int(r), errOf(e)
}

// atFDCWD is AT_FDCWD (-100) as a register holds it.
const atFDCWD = ^uintptr(99)
