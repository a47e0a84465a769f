package emul

import (
	"math"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

const (
	oAccmode  = syscall.O_ACCMODE
	oPath     = unix.O_PATH
	oTmpfile  = unix.O_TMPFILE
	oKeepMask = ^(syscall.O_CREAT | syscall.O_EXCL | syscall.O_NOCTTY | syscall.O_TRUNC | syscall.O_CLOEXEC)
	// Flags open(2) accepts (VALID_OPEN_FLAGS); others are EINVAL for openat2.
	validOpenFlags = syscall.O_RDONLY | syscall.O_WRONLY | syscall.O_RDWR | syscall.O_CREAT | syscall.O_EXCL |
		syscall.O_NOCTTY | syscall.O_TRUNC | syscall.O_APPEND | syscall.O_NONBLOCK | syscall.O_DSYNC |
		syscall.O_ASYNC | syscall.O_DIRECT | oLargefile | syscall.O_DIRECTORY | syscall.O_NOFOLLOW |
		syscall.O_NOATIME | syscall.O_CLOEXEC | unix.O_PATH | unix.O_TMPFILE | syscall.O_SYNC

	resolveNoXdev       = 0x01
	resolveNoMagiclinks = 0x02
	resolveNoSymlinks   = 0x04
	resolveBeneath      = 0x08
	resolveInRoot       = 0x10
	resolveCached       = 0x20
)

func fdArg(a uint64) int { return int(int32(a)) }

// Open follows open(2): open(path, flags, mode) is openat(AT_FDCWD, ...).
func (k *Kernel) Open(c *Call) Result {
	return k.openCommon(c, atFDCWD, c.Args[0], int(int32(c.Args[1])), uint32(c.Args[2]), 0, false)
}

// Creat is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
func (k *Kernel) Creat(c *Call) Result {
	return k.openCommon(c, atFDCWD, c.Args[0], syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC, uint32(c.Args[1]), 0, false)
}

// Openat follows openat(2).
func (k *Kernel) Openat(c *Call) Result {
	return k.openCommon(c, fdArg(c.Args[0]), c.Args[1], int(int32(c.Args[2])), uint32(c.Args[3]), 0, false)
}

// Openat2 follows openat2(2): struct open_how, strict flag checks, RESOLVE_*.
func (k *Kernel) Openat2(c *Call) Result {
	size := c.Args[3]
	if size < 24 {
		return fail(syscall.EINVAL)
	}
	if size > 4096 {
		return fail(syscall.E2BIG)
	}
	raw := make([]byte, size)
	if e := readFull(c.Mem, raw, c.Args[2]); e != 0 {
		return fail(e)
	}
	for _, b := range raw[24:] {
		if b != 0 {
			return fail(syscall.E2BIG)
		}
	}
	flags, mode, resolve := le.Uint64(raw), le.Uint64(raw[8:]), le.Uint64(raw[16:])
	if flags&^uint64(uint32(validOpenFlags)) != 0 || flags > 0xffffffff {
		return fail(syscall.EINVAL)
	}
	if mode&^0o7777 != 0 {
		return fail(syscall.EINVAL)
	}
	if flags&(syscall.O_CREAT|unix.O_TMPFILE) == 0 && mode != 0 {
		return fail(syscall.EINVAL)
	}
	if resolve&^0x3f != 0 || resolve&(resolveBeneath|resolveInRoot) == resolveBeneath|resolveInRoot {
		return fail(syscall.EINVAL)
	}
	if flags&unix.O_PATH != 0 && flags&^uint64(unix.O_PATH|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|oLargefile) != 0 {
		return fail(syscall.EINVAL)
	}
	if resolve&resolveCached != 0 {
		return fail(syscall.EAGAIN)
	}
	var fl walkFlags
	if resolve&resolveNoSymlinks != 0 {
		fl |= noSymlinks
	}
	if resolve&resolveBeneath != 0 {
		fl |= beneath
	}
	if resolve&resolveInRoot != 0 {
		fl |= inRoot
	}
	if resolve&resolveNoXdev != 0 {
		fl |= noXdev
	}
	if resolve&resolveNoMagiclinks != 0 {
		fl |= noMagiclinks
	}
	return k.openCommon(c, fdArg(c.Args[0]), c.Args[1], int(flags), uint32(mode), fl, true)
}

func (k *Kernel) openCommon(c *Call, dirfd int, pathAddr uint64, flags int, mode uint32, fl walkFlags, strict bool) Result {
	name, e := c.pathBytes(0, pathAddr, false)
	if e != 0 {
		return fail(e)
	}
	p := c.Proc
	if len(name) >= 6 && name[0] == '/' && (name[1] == 'p' || name[1] == 'e') {
		if c.shared {
			if hasPrefix(name, "/proc/") || string(name) == "/etc/mtab" {
				return exclusive() // mountTableOpenLocked's
			}
		} else if r, ok := k.mountTableOpenLocked(p, string(name), flags); ok {
			return r // mounttab.go
		}
	}
	if flags&oTmpfile == oTmpfile && flags&oAccmode == syscall.O_RDONLY {
		return fail(syscall.EINVAL)
	}
	if flags&oPath != 0 {
		flags &= unix.O_PATH | syscall.O_DIRECTORY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC
	}
	if flags&syscall.O_CREAT != 0 && flags&syscall.O_DIRECTORY != 0 && flags&oTmpfile != oTmpfile {
		return fail(syscall.EINVAL) // since Linux 6.4
	}
	creating := flags&syscall.O_CREAT != 0 && flags&oPath == 0
	if flags&syscall.O_NOFOLLOW == 0 && !(creating && flags&syscall.O_EXCL != 0) {
		fl |= followLast
	}
	if c.shared {
		fl |= holdLast
	}
	l, e := k.walkPathLocked(c, dirfd, name, fl)
	if e != 0 {
		return fail(e)
	}
	if l.host {
		return k.hostResult(c, l)
	}
	fs := l.m.FS
	if flags&oTmpfile == oTmpfile {
		if c.shared {
			return exclusive()
		}
		if !l.node().ok() {
			return fail(syscall.ENOENT)
		}
		if !l.node().isDir() {
			return fail(syscall.ENOTDIR)
		}
		if e := k.copyUpLocked(&l, false); e != 0 {
			return fail(e)
		}
		return k.openTmpfileLocked(c, l, flags, mode)
	}
	var ino *ramfs.Inode
	var born ramfs.DataFile // a new file's backing file, opened as the program asked
	if !l.node().ok() {
		if !creating || l.name == "" {
			return fail(syscall.ENOENT)
		}
		if l.slash {
			return fail(syscall.EISDIR)
		}
		if e := k.mayCreateLocked(p, l.m, l.parent()); e != 0 {
			return fail(e)
		}
		undo, e := k.prepareCreateLocked(&l)
		if e != 0 {
			return fail(e)
		}
		uid, gid := k.ownerLocked(p, l)
		var n *ramfs.Inode
		var err error
		perm := (mode & 0o7777) &^ p.Umask
		switch {
		case k.passthroughFSLocked(l.m, flags):
			n, born, err = fs.CreateOpen(l.dir, l.name, perm, uid, gid, flags&dataFlags)
		case c.shared:
			// Held from its making on, as a walk's last inode
			// (holdLast): another thread's unlink cannot free it
			// before the description holds it.
			if n, err = fs.CreateRef(l.dir, l.name, perm, uid, gid); err == nil {
				c.heldIno, c.heldFS = n, fs
			}
		default:
			n, err = fs.Create(l.dir, l.name, perm, uid, gid)
		}
		if err != nil {
			undo()
			if c.shared && err == syscall.EEXIST && flags&syscall.O_EXCL == 0 {
				// Another thread made the name since the walk: the
				// open opens what it made, which a walk under k.mu
				// held exclusively finds.
				return exclusive()
			}
			return errResult(err)
		}
		ino = n
	} else {
		if creating && flags&syscall.O_EXCL != 0 {
			return fail(syscall.EEXIST)
		}
		typ := l.node().typ()
		switch {
		case typ == syscall.S_IFLNK:
			if flags&oPath == 0 {
				return fail(syscall.ELOOP)
			}
		case typ == syscall.S_IFDIR:
			if creating {
				return fail(syscall.EISDIR)
			}
			if flags&oPath == 0 && (flags&oAccmode != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0) {
				return fail(syscall.EISDIR)
			}
		default:
			if flags&syscall.O_DIRECTORY != 0 || l.slash {
				return fail(syscall.ENOTDIR)
			}
		}
		if e := k.permLocked(p, l.m, l.node(), accessFor(flags)); e != 0 {
			return fail(e)
		}
		if flags&syscall.O_NOATIME != 0 && !k.isOwnerLocked(p, l.m, l.node()) {
			return fail(syscall.EPERM)
		}
		if accessFor(flags)&mayWrite != 0 {
			if e := k.execBusyLocked(l.ino); e != 0 { // exec.go
				return fail(e)
			}
		}
		if r, done := k.openNodeLocked(&l, flags); done {
			return r
		}
		ino = l.ino
		if typ != syscall.S_IFREG && typ != syscall.S_IFDIR && typ != syscall.S_IFLNK && flags&oPath == 0 {
			// A FIFO or device opens its shadow on the host; a
			// socket cannot be opened (special.go).
			if c.shared {
				return exclusive()
			}
			return k.openSpecialLocked(l.m, ino, flags)
		}
		if typ == syscall.S_IFREG && flags&syscall.O_TRUNC != 0 && flags&oPath == 0 {
			if err := fs.Truncate(ino, 0); err != nil {
				return errResult(err)
			}
			k.killPrivLocked(p, l.m, ino)
		}
	}
	if born != nil {
		return k.installDataLocked(l.m, ino, born, flags, l.absPath())
	}
	if k.passthroughLocked(l.m, ino, flags) {
		return k.openDataLocked(l.m, ino, flags, l.absPath())
	}
	if c.shared && k.shadow.src != nil && isDir(ino) {
		// A directory's placeholder is its exec shadow's, made on
		// the host as needed (dirPlaceholderLocked): exclusively.
		return exclusive()
	}
	f := k.newFileAt(c, &l, ino, flags&oKeepMask)
	return k.placeholderLocked(c, l.m, Result{Action: InstallFD, File: f, FDFlags: flags & syscall.O_CLOEXEC, SetFD: -1})
}

// openTmpfileLocked implements O_TMPFILE: an unnamed regular file in dir.
func (k *Kernel) openTmpfileLocked(c *Call, l loc, flags int, mode uint32) Result {
	p := c.Proc
	fs := l.m.FS
	uid, gid := k.ownerLocked(p, loc{m: l.m, dir: l.ino})
	n, err := fs.Tmpfile(l.ino, (mode&0o7777)&^p.Umask, uid, gid)
	if err != nil {
		return errResult(err)
	}
	if k.passthroughLocked(l.m, n, flags) {
		r := k.openDataLocked(l.m, n, flags&^oTmpfile, l.absPath()+"/#"+itoa(int(n.Ino())))
		if flags&syscall.O_EXCL != 0 {
			fs.ForbidLink(n)
		}
		// The program's fd holds the file now; ramfs keeps it while
		// the backing file is open (ramfs.Store.Busy).
		fs.Unref(n)
		return r
	}
	f := k.newFileLocked(l.m, n, (flags&^oTmpfile)&oKeepMask, l.absPath()+"/#"+itoa(int(n.Ino())))
	fs.Unref(n) // the description now holds the inode
	if flags&syscall.O_EXCL != 0 {
		fs.ForbidLink(n)
	}
	return k.placeholderLocked(c, l.m, Result{Action: InstallFD, File: f, FDFlags: flags & syscall.O_CLOEXEC, SetFD: -1})
}

// hostResult answers a call whose path lies outside the mounts.
func (k *Kernel) hostResult(c *Call, l loc) Result {
	if !l.redirected {
		return cont()
	}
	// The walk went through a mount and came back out (a symlink in the
	// ramfs to a host path, or ".." above a mount root); the host kernel
	// would resolve the original string through the mount's exec shadow,
	// which is made to hold that route (mirrorLocked). Where it cannot
	// be (no shadow, or a route through a magic link to an emulated
	// directory), say so instead of guessing.
	if l.mirror != nil && k.mirrorLocked(l.mirror) {
		return cont()
	}
	if k.OnFault != nil {
		k.OnFault("path leads from a mount back to the host (" + l.hostPath + "): answered EXDEV")
	}
	return fail(syscall.EXDEV)
}

// Close follows close(2). For an emulated fd the description reference is
// dropped and the kernel closes the placeholder. When emul's table is the
// process's fd table (no Oracle: linked), there is no placeholder: the
// close of an emulated fd is answered 0 here, and a negative fd, which
// names nothing in any table, EBADF, as close_fd answers it; a supervised
// target's kernel answers it.
func (k *Kernel) Close(c *Call) Result {
	fd := fdArg(c.Args[0])
	if fd < 0 && k.Oracle == nil {
		return fail(syscall.EBADF)
	}
	if k.dropFD(c, fd) && k.Oracle == nil {
		return ret(0)
	}
	return cont()
}

// CloseRange follows close_range(2).
func (k *Kernel) CloseRange(c *Call) Result {
	first, last, flags := uint32(c.Args[0]), uint32(c.Args[1]), uint32(c.Args[2])
	p := c.Proc
	if flags&^uint32(unix.CLOSE_RANGE_UNSHARE|unix.CLOSE_RANGE_CLOEXEC) != 0 || first > last {
		return fail(syscall.EINVAL)
	}
	if flags&unix.CLOSE_RANGE_CLOEXEC != 0 {
		if k.Oracle == nil {
			for fd := range p.fds {
				if uint32(fd) >= first && uint32(fd) <= last {
					p.setCloexecLocked(fd, true)
				}
			}
		}
		return cont()
	}
	// An fd being installed may lie in the range: recorded after the
	// kernel closed it, it would be taken for the program's (dropFD).
	k.waitInstallsLocked()
	for fd := range p.fds {
		if uint32(fd) >= first && uint32(fd) <= last {
			k.dropFDLocked(p, fd)
		}
	}
	return cont()
}

// Dup follows dup(2): the kernel duplicates the placeholder, and the new
// number is learnt from the target's fd table (see Process.unseen).
func (k *Kernel) Dup(c *Call) Result {
	if int32(c.Args[0]) < 0 && k.Oracle == nil {
		// A negative fd is in no table: where emul's table is the
		// process's (linked), emul answers as ksys_dup does.
		return fail(syscall.EBADF)
	}
	if f := k.fdGet(c, fdArg(c.Args[0])); f != nil {
		if c.shared {
			k.tab.Lock()
			defer k.tab.Unlock()
		}
		k.markUnseen(c.Proc, c.Tid, f, 0, false)
	}
	return cont()
}

// Dup2 follows dup2(2).
func (k *Kernel) Dup2(c *Call) Result {
	return k.dupTo(c, fdArg(c.Args[0]), fdArg(c.Args[1]), 0, false)
}

// Dup3 follows dup3(2).
func (k *Kernel) Dup3(c *Call) Result {
	return k.dupTo(c, fdArg(c.Args[0]), fdArg(c.Args[1]), int(c.Args[2]), true)
}

func (k *Kernel) dupTo(c *Call, oldfd, newfd, flags int, three bool) Result {
	p := c.Proc
	// The checks of ksys_dup3 (fs/file.c), in its order; dup2 onto
	// itself is a no-op that needs a valid oldfd.
	switch {
	case three && flags&^syscall.O_CLOEXEC != 0:
		return fail(syscall.EINVAL)
	case oldfd == newfd && three:
		return fail(syscall.EINVAL)
	case oldfd == newfd:
		if k.Oracle == nil && k.fileLocked(p, oldfd) != nil {
			return ret(int64(oldfd))
		}
		return cont()
	case newfd < 0:
		return fail(syscall.EBADF)
	}
	// newfd may be an fd being installed: the kernel is about to close
	// it, and the install must be recorded first to be dropped.
	k.awaitFDLocked(p, newfd)
	f := k.fileLocked(p, oldfd)
	if f == nil {
		k.dropFDLocked(p, newfd)
		return cont()
	}
	if k.Oracle == nil {
		// emul's table is the fd table: the dup is done here.
		k.installLocked(p, newfd, f)
		p.setCloexecLocked(newfd, flags&syscall.O_CLOEXEC != 0)
		return ret(int64(newfd))
	}
	// The kernel makes newfd another reference to oldfd's placeholder.
	// The entry is made now; should a call on newfd come before the
	// kernel ran this one (another thread), the check against the kernel
	// drops it, and the mark has it learnt again.
	k.installLocked(p, newfd, f)
	e := p.fds[newfd]
	e.tentative = true
	p.fds[newfd] = e
	k.markUnseen(p, c.Tid, f, newfd, true)
	return cont()
}

// Fcntl follows fcntl(2) for the commands that concern the open file
// description; fd-level commands run on the placeholder in the kernel.
func (k *Kernel) Fcntl(c *Call) Result {
	p := c.Proc
	f := k.fileLocked(p, fdArg(c.Args[0]))
	if f == nil {
		return cont()
	}
	switch int(c.Args[1]) {
	case syscall.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		// The kernel takes the lowest free fd from arg on (an
		// unsigned long; past the fd limit it fails, EINVAL).
		min := c.Args[2]
		if min > math.MaxInt32 {
			min = math.MaxInt32
		}
		k.markUnseen(p, c.Tid, f, int(min), false)
		return cont()
	case syscall.F_GETFL:
		if f.flags&oPath != 0 {
			return ret(int64(f.flags))
		}
		return ret(int64(f.flags | oLargefile))
	case syscall.F_SETFL:
		if f.flags&oPath != 0 {
			return fail(syscall.EBADF)
		}
		const settable = syscall.O_APPEND | syscall.O_NONBLOCK | syscall.O_ASYNC | syscall.O_DIRECT | syscall.O_NOATIME
		arg := int(c.Args[2])
		f.flags = f.flags&^settable | arg&settable
		return ret(0)
	case syscall.F_GETLK, syscall.F_SETLK, syscall.F_SETLKW, unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		if f.flags&oPath != 0 {
			return fail(syscall.EBADF)
		}
		return k.fcntlLock(c, f, int(c.Args[1]))
	}
	if k.Oracle == nil {
		return k.fcntlFDLocked(c)
	}
	return cont()
}

// fcntlFDLocked answers the fd-level fcntl commands on an emulated fd
// where emul's table is the fd table (no Oracle: linked), as fs/fcntl.c
// does for a file of tmpfs.
func (k *Kernel) fcntlFDLocked(c *Call) Result {
	p, fd := c.Proc, fdArg(c.Args[0])
	switch int(c.Args[1]) {
	case syscall.F_GETFD:
		if p.fds[fd].cloexec {
			return ret(syscall.FD_CLOEXEC)
		}
		return ret(0)
	case syscall.F_SETFD:
		p.setCloexecLocked(fd, c.Args[2]&syscall.FD_CLOEXEC != 0)
		return ret(0)
	case syscall.F_GETOWN, unix.F_GETSIG:
		return ret(0) // no owner, no signal was ever set
	case syscall.F_SETOWN, unix.F_SETSIG:
		return ret(0) // no SIGIO is ever sent for a ramfs file
	case unix.F_GETLEASE:
		return ret(syscall.F_UNLCK)
	}
	return fail(syscall.EINVAL)
}

// Ioctl follows the generic ioctls do_vfs_ioctl handles for a regular file;
// anything else on an emulated fd is ENOTTY, as on tmpfs.
func (k *Kernel) Ioctl(c *Call) Result {
	f := k.fileLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		if c.Args[1] == fsIocSetflags {
			// On a host file under an overlay: as on tmpfs, never
			// on the host file.
			_, r, done := k.fdLocMod(c, fdArg(c.Args[0]))
			if done {
				return r
			}
			v, e := readU32(c.Mem, c.Args[2])
			if e != 0 {
				return fail(e)
			}
			if v != 0 {
				return fail(syscall.EOPNOTSUPP)
			}
			return ret(0)
		}
		return cont()
	}
	if f.flags&oPath != 0 {
		return fail(syscall.EBADF)
	}
	switch c.Args[1] {
	case fioclex, fionclex:
		if k.Oracle == nil {
			c.Proc.setCloexecLocked(fdArg(c.Args[0]), c.Args[1] == fioclex)
			return ret(0)
		}
		return cont()
	case fionbio:
		return k.setFlagFromArg(c, f, syscall.O_NONBLOCK)
	case fionread:
		if !isReg(f.ino) {
			return fail(syscall.ENOTTY)
		}
		a := f.m.FS.Getattr(f.ino)
		var b [4]byte
		le.PutUint32(b[:], uint32(a.Size-f.off))
		return retE(0, writeFull(c.Mem, b[:], c.Args[2]))
	case fioasync:
		return k.setFlagFromArg(c, f, syscall.O_ASYNC)
	case fsIocGetflags:
		if !isReg(f.ino) && !isDir(f.ino) {
			return fail(syscall.ENOTTY)
		}
		var b [4]byte
		return retE(0, writeFull(c.Mem, b[:], c.Args[2]))
	case fsIocSetflags:
		if !isReg(f.ino) && !isDir(f.ino) {
			return fail(syscall.ENOTTY)
		}
		v, e := readU32(c.Mem, c.Args[2])
		if e != 0 {
			return fail(e)
		}
		if v != 0 {
			return fail(syscall.EOPNOTSUPP)
		}
		return ret(0)
	case figetbsz:
		var b [4]byte
		le.PutUint32(b[:], 4096)
		return retE(0, writeFull(c.Mem, b[:], c.Args[2]))
	}
	return fail(syscall.ENOTTY)
}

func readU32(mem Memory, addr uint64) (uint32, syscall.Errno) {
	var b [4]byte
	if e := readFull(mem, b[:], addr); e != 0 {
		return 0, e
	}
	return le.Uint32(b[:]), 0
}

func retE(v int64, e syscall.Errno) Result {
	if e != 0 {
		return fail(e)
	}
	return ret(v)
}

// Umask lets the kernel set the mask and remembers it for file creation.
func (k *Kernel) Umask(c *Call) Result {
	c.Proc.Umask = uint32(c.Args[0]) & 0o777
	return cont()
}

// SetID is the set*id family: the kernel changes the credentials, and the
// process's are re-read before its next call.
func (k *Kernel) SetID(c *Call) Result {
	c.Proc.CredsStale = true
	return cont()
}

const figetbsz = 2 // FIGETBSZ, _IO(0x00, 2)

// Generic ioctl numbers (include/uapi/asm-generic/ioctls.h).
const (
	fionread = 0x541B
	fionbio  = 0x5421
	fionclex = 0x5450
	fioclex  = 0x5451
	fioasync = 0x5452

	fsIocGetflags = 0x80086601 // FS_IOC_GETFLAGS: tmpfs keeps no flags here
	fsIocSetflags = 0x40086602
)

// setFlagFromArg sets or clears a status flag of f from the int the ioctl
// argument points to (FIONBIO, FIOASYNC).
func (k *Kernel) setFlagFromArg(c *Call, f *File, flag int) Result {
	v, e := readU32(c.Mem, c.Args[2])
	if e != 0 {
		return fail(e)
	}
	if v != 0 {
		f.flags |= flag
	} else {
		f.flags &^= flag
	}
	return ret(0)
}
