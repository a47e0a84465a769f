package emul

import (
	"syscall"
	"time"
)

// Calls that change a file's attributes (notify_change): its size
// (truncate), mode, owner and times.

// Truncate follows truncate(2).
func (k *Kernel) Truncate(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	size := int64(c.Args[1])
	if size < 0 {
		return fail(syscall.EINVAL)
	}
	if l.node().isDir() {
		return fail(syscall.EISDIR)
	}
	if l.node().typ() != syscall.S_IFREG {
		return fail(syscall.EINVAL)
	}
	if e := k.permLocked(c.Proc, l.m, l.node(), mayWrite); e != 0 {
		return fail(e)
	}
	if e := k.execBusyLocked(l.ino); e != 0 { // exec.go
		return fail(e)
	}
	if e := k.copyUpLocked(&l, size != 0); e != 0 {
		return fail(e)
	}
	if err := l.m.FS.Truncate(l.ino, size); err != nil {
		return errResult(err)
	}
	k.killPrivLocked(c.Proc, l.m, l.ino)
	return ret(0)
}

// Ftruncate follows ftruncate(2): EINVAL unless a regular file open for
// writing.
func (k *Kernel) Ftruncate(c *Call) Result {
	f, r, done := k.ioFile(c)
	if done {
		return r
	}
	size := int64(c.Args[1])
	if size < 0 || !isReg(f.ino) || f.flags&oAccmode == syscall.O_RDONLY {
		return fail(syscall.EINVAL)
	}
	if err := f.m.FS.Truncate(f.ino, size); err != nil {
		return errResult(err)
	}
	k.killPrivLocked(c.Proc, f.m, f.ino)
	return ret(0)
}

func (k *Kernel) chmodLocked(c *Call, l loc, mode uint32) Result {
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	p := c.Proc
	a := k.attrOf(l.m, l.node())
	if p.Uid != 0 && a.Uid != p.Uid {
		return fail(syscall.EPERM)
	}
	mode &= 0o7777
	if p.Uid != 0 && !p.inGroup(a.Gid) {
		mode &^= syscall.S_ISGID
	}
	if e := k.copyUpLocked(&l, true); e != 0 {
		return fail(e)
	}
	return retErr(0, l.m.FS.Chmod(l.ino, mode))
}

// Chmod follows chmod(2).
func (k *Kernel) Chmod(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	return k.chmodLocked(c, l, uint32(c.Args[1]))
}

// Fchmod follows fchmod(2).
func (k *Kernel) Fchmod(c *Call) Result {
	f := k.identLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		// A host file under an overlay is changed in the overlay.
		l, r, done := k.fdLocMod(c, fdArg(c.Args[0]))
		if done {
			return r
		}
		return k.chmodLocked(c, l, uint32(c.Args[1]))
	}
	if f.flags&oPath != 0 {
		return fail(syscall.EBADF)
	}
	return k.chmodLocked(c, loc{m: f.m, ino: f.ino}, uint32(c.Args[1]))
}

// Fchmodat follows fchmodat(2) (no flags in the syscall).
func (k *Kernel) Fchmodat(c *Call) Result {
	l, r, done := k.target(c, fdArg(c.Args[0]), c.Args[1], true, false)
	if done {
		return r
	}
	return k.chmodLocked(c, l, uint32(c.Args[2]))
}

// Fchmodat2 follows fchmodat2(2): AT_SYMLINK_NOFOLLOW on a symlink is
// EOPNOTSUPP, as on tmpfs.
func (k *Kernel) Fchmodat2(c *Call) Result {
	flags := int(c.Args[3])
	if flags&^(atSymlinkNofollow|atEmptyPath) != 0 {
		return fail(syscall.EINVAL)
	}
	l, r, done := k.targetMod(c, fdArg(c.Args[0]), c.Args[1], flags&atSymlinkNofollow == 0, flags&atEmptyPath != 0)
	if done {
		return r
	}
	if l.node().ok() && l.node().typ() == syscall.S_IFLNK {
		return fail(syscall.EOPNOTSUPP)
	}
	return k.chmodLocked(c, l, uint32(c.Args[2]))
}

// chownLocked follows chown_common/notify_change (the rules are
// chownRules').
func (k *Kernel) chownLocked(c *Call, l loc, uid, gid uint32) Result {
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	a := k.attrOf(l.m, l.node())
	nu, ng := int64(-1), int64(-1)
	if uid != 0xffffffff {
		nu = int64(uid)
	}
	if gid != 0xffffffff {
		ng = int64(gid)
	}
	clear, e := chownRules(c.Proc, a, nu, ng)
	if e != 0 {
		return fail(e)
	}
	if e := k.copyUpLocked(&l, true); e != 0 {
		return fail(e)
	}
	if err := l.m.FS.Chown(l.ino, nu, ng); err != nil {
		return errResult(err)
	}
	if mode := l.ino.Mode() & 0o7777; mode&clear != 0 {
		return retErr(0, l.m.FS.Chmod(l.ino, mode&^clear))
	}
	return ret(0)
}

// Chown follows chown(2).
func (k *Kernel) Chown(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	return k.chownLocked(c, l, uint32(c.Args[1]), uint32(c.Args[2]))
}

// Lchown follows lchown(2).
func (k *Kernel) Lchown(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], false, false)
	if done {
		return r
	}
	return k.chownLocked(c, l, uint32(c.Args[1]), uint32(c.Args[2]))
}

// Fchown follows fchown(2).
func (k *Kernel) Fchown(c *Call) Result {
	f := k.identLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		l, r, done := k.fdLocMod(c, fdArg(c.Args[0]))
		if done {
			return r
		}
		return k.chownLocked(c, l, uint32(c.Args[1]), uint32(c.Args[2]))
	}
	if f.flags&oPath != 0 {
		return fail(syscall.EBADF)
	}
	return k.chownLocked(c, loc{m: f.m, ino: f.ino}, uint32(c.Args[1]), uint32(c.Args[2]))
}

// Fchownat follows fchownat(2).
func (k *Kernel) Fchownat(c *Call) Result {
	flags := int(c.Args[4])
	if flags&^(atSymlinkNofollow|atEmptyPath) != 0 {
		return fail(syscall.EINVAL)
	}
	l, r, done := k.targetMod(c, fdArg(c.Args[0]), c.Args[1], flags&atSymlinkNofollow == 0, flags&atEmptyPath != 0)
	if done {
		return r
	}
	return k.chownLocked(c, l, uint32(c.Args[2]), uint32(c.Args[3]))
}

// setTimesLocked applies (atime, mtime), each nil for "omit"; now marks
// which of them are "now".
func (k *Kernel) setTimesLocked(c *Call, l loc, at, mt *time.Time, explicit bool) Result {
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	if at == nil && mt == nil {
		return ret(0)
	}
	if !k.isOwnerLocked(c.Proc, l.m, l.node()) {
		// Explicit times need ownership; "now" needs write permission
		// (setattr_prepare, ATTR_TIMES_SET versus ATTR_TOUCH).
		if explicit {
			return fail(syscall.EPERM)
		}
		if e := k.permLocked(c.Proc, l.m, l.node(), mayWrite); e != 0 {
			return fail(e)
		}
	}
	if e := k.copyUpLocked(&l, true); e != 0 {
		return fail(e)
	}
	return retErr(0, l.m.FS.SetTimes(l.ino, at, mt))
}

// now stands for UTIME_NOW: the zero Time, which ramfs.FS.SetTimes takes
// as "now by the file system's clock" (the kernel's, for a file whose data
// is in a Store, so that mtime and ctime agree).
func (k *Kernel) now() time.Time { return time.Time{} }

// decodeTimespecs reads struct timespec[2] with UTIME_NOW/UTIME_OMIT.
func (k *Kernel) decodeTimespecs(c *Call, addr uint64) (at, mt *time.Time, explicit bool, e syscall.Errno) {
	if addr == 0 {
		n := k.now()
		return &n, &n, false, 0
	}
	var b [32]byte
	if e := readFull(c.Mem, b[:], addr); e != 0 {
		return nil, nil, false, e
	}
	var out [2]*time.Time
	now := k.now()
	for i := 0; i < 2; i++ {
		sec, nsec := int64(le.Uint64(b[16*i:])), int64(le.Uint64(b[16*i+8:]))
		switch nsec {
		case utimeNow:
			out[i] = &now
		case utimeOmit:
		default:
			if nsec < 0 || nsec >= 1e9 {
				return nil, nil, false, syscall.EINVAL
			}
			t := time.Unix(sec, nsec)
			out[i] = &t
			explicit = true
		}
	}
	return out[0], out[1], explicit, 0
}

// Utimensat follows utimensat(2); a NULL path works on dirfd (futimens).
func (k *Kernel) Utimensat(c *Call) Result {
	flags := int(c.Args[3])
	if flags&^(atSymlinkNofollow|atEmptyPath) != 0 {
		return fail(syscall.EINVAL)
	}
	var l loc
	if c.Args[1] == 0 {
		var r Result
		var done bool
		l, r, done = k.fdLocMod(c, fdArg(c.Args[0]))
		if done {
			return r
		}
	} else {
		var r Result
		var done bool
		l, r, done = k.targetMod(c, fdArg(c.Args[0]), c.Args[1], flags&atSymlinkNofollow == 0, flags&atEmptyPath != 0)
		if done {
			return r
		}
	}
	at, mt, explicit, e := k.decodeTimespecs(c, c.Args[2])
	if e != 0 {
		return fail(e)
	}
	return k.setTimesLocked(c, l, at, mt, explicit)
}

// decodeTimevals reads struct timeval[2] (utimes, futimesat).
func (k *Kernel) decodeTimevals(c *Call, addr uint64) (at, mt *time.Time, e syscall.Errno) {
	if addr == 0 {
		n := k.now()
		return &n, &n, 0
	}
	var b [32]byte
	if e := readFull(c.Mem, b[:], addr); e != 0 {
		return nil, nil, e
	}
	var out [2]*time.Time
	for i := 0; i < 2; i++ {
		sec, usec := int64(le.Uint64(b[16*i:])), int64(le.Uint64(b[16*i+8:]))
		if usec < 0 || usec >= 1e6 {
			return nil, nil, syscall.EINVAL
		}
		t := time.Unix(sec, usec*1000)
		out[i] = &t
	}
	return out[0], out[1], 0
}

// Utimes follows utimes(2).
func (k *Kernel) Utimes(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	at, mt, e := k.decodeTimevals(c, c.Args[1])
	if e != 0 {
		return fail(e)
	}
	return k.setTimesLocked(c, l, at, mt, c.Args[1] != 0)
}

// Futimesat follows futimesat(2).
func (k *Kernel) Futimesat(c *Call) Result {
	l, r, done := k.target(c, fdArg(c.Args[0]), c.Args[1], true, false)
	if done {
		return r
	}
	at, mt, e := k.decodeTimevals(c, c.Args[2])
	if e != 0 {
		return fail(e)
	}
	return k.setTimesLocked(c, l, at, mt, c.Args[2] != 0)
}

// Utime follows utime(2): struct utimbuf { actime, modtime }.
func (k *Kernel) Utime(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	if c.Args[1] == 0 {
		n := k.now()
		return k.setTimesLocked(c, l, &n, &n, false)
	}
	var b [16]byte
	if e := readFull(c.Mem, b[:], c.Args[1]); e != 0 {
		return fail(e)
	}
	at, mt := time.Unix(int64(le.Uint64(b[:])), 0), time.Unix(int64(le.Uint64(b[8:])), 0)
	return k.setTimesLocked(c, l, &at, &mt, true)
}
