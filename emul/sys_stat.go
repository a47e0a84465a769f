package emul

import (
	"strings"
	"syscall"
)

// target resolves (dirfd, path) for a path syscall. When done is true, r is
// the answer (an errno, or Continue for a host path). emptyOK is
// AT_EMPTY_PATH: an empty (or NULL) path names dirfd itself.
func (k *Kernel) target(c *Call, dirfd int, addr uint64, follow, emptyOK bool) (l loc, r Result, done bool) {
	var name []byte
	if !(emptyOK && addr == 0) {
		var e syscall.Errno
		name, e = c.pathBytes(0, addr, emptyOK)
		if e != 0 {
			return loc{}, fail(e), true
		}
	}
	if len(name) == 0 && emptyOK {
		return k.fdLoc(c, dirfd)
	}
	var fl walkFlags
	if follow {
		fl = followLast
	}
	if c.shared {
		fl |= holdLast
	}
	l, e := k.walkPathLocked(c, dirfd, name, fl)
	if e != 0 {
		return loc{}, fail(e), true
	}
	if l.host {
		return loc{}, k.hostResult(c, l), true
	}
	return l, Result{}, false
}

// fdLoc is the location of an fd itself (AT_EMPTY_PATH, f* calls).
func (k *Kernel) fdLoc(c *Call, fd int) (loc, Result, bool) {
	var f *File
	if fd == atFDCWD {
		f = c.Proc.fs.cwd
	} else {
		f = k.identGet(c, fd)
	}
	if f == nil {
		return loc{}, cont(), true
	}
	return loc{m: f.m, ino: f.ino, absDir: f.path}, Result{}, false
}

// mustExist turns a walk result without an inode into ENOENT (or ENOTDIR
// for a trailing slash on a non-directory).
func mustExist(l *loc) syscall.Errno {
	if !l.node().ok() {
		return syscall.ENOENT
	}
	if l.slash && !l.node().isDir() {
		return syscall.ENOTDIR
	}
	return 0
}

func (k *Kernel) statTo(c *Call, l *loc, addr uint64) Result {
	if e := mustExist(l); e != 0 {
		return fail(e)
	}
	b := c.scratch().stat[:sizeofStat]
	a, maj, mnr := k.statOfLocked(l.m, l.node(), true)
	k.encodeStat(b, maj, mnr, a)
	return c.answerOut(b, addr)
}

// Stat follows stat(2).
func (k *Kernel) Stat(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	return k.statTo(c, &l, c.Args[1])
}

// Lstat follows lstat(2).
func (k *Kernel) Lstat(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], false, false)
	if done {
		return r
	}
	return k.statTo(c, &l, c.Args[1])
}

// Fstat follows fstat(2).
func (k *Kernel) Fstat(c *Call) Result {
	f := k.identGet(c, fdArg(c.Args[0]))
	if f == nil {
		return cont()
	}
	return k.statTo(c, &loc{m: f.m, ino: f.ino}, c.Args[1])
}

// Newfstatat follows newfstatat(2) (fstatat).
func (k *Kernel) Newfstatat(c *Call) Result {
	flags := int(c.Args[3])
	if flags&^(atSymlinkNofollow|atNoAutomount|atEmptyPath) != 0 {
		return fail(syscall.EINVAL)
	}
	l, r, done := k.target(c, fdArg(c.Args[0]), c.Args[1], flags&atSymlinkNofollow == 0, flags&atEmptyPath != 0)
	if done {
		return r
	}
	return k.statTo(c, &l, c.Args[2])
}

// Statx follows statx(2); the mask asked for does not limit what is filled,
// as on tmpfs.
func (k *Kernel) Statx(c *Call) Result {
	flags := int(c.Args[2])
	if flags&^(atSymlinkNofollow|atNoAutomount|atEmptyPath|atStatxSyncType) != 0 || flags&atStatxSyncType == atStatxSyncType {
		return fail(syscall.EINVAL)
	}
	if uint32(c.Args[3])&0x80000000 != 0 {
		return fail(syscall.EINVAL)
	}
	l, r, done := k.target(c, fdArg(c.Args[0]), c.Args[1], flags&atSymlinkNofollow == 0, flags&atEmptyPath != 0)
	if done {
		return r
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	b := c.scratch().stat[:sizeofStatx]
	want := uint32(c.Args[3])
	a, maj, mnr := k.statOfLocked(l.m, l.node(), want&(statxMtime|statxCtime) != 0)
	k.encodeStatx(b, l.m, maj, mnr, a, want)
	return c.answerOut(b, c.Args[4])
}

// Statfs follows statfs(2).
func (k *Kernel) Statfs(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	var b [sizeofStatfs]byte
	k.encodeStatfs(b[:], l.m)
	return retE(0, writeFull(c.Mem, b[:], c.Args[1]))
}

// Fstatfs follows fstatfs(2).
func (k *Kernel) Fstatfs(c *Call) Result {
	f := k.identLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		return cont()
	}
	var b [sizeofStatfs]byte
	k.encodeStatfs(b[:], f.m)
	return retE(0, writeFull(c.Mem, b[:], c.Args[1]))
}

func (k *Kernel) accessCommon(c *Call, dirfd int, addr uint64, mode, flags int) Result {
	if mode&^7 != 0 {
		return fail(syscall.EINVAL)
	}
	if flags&^(atEaccess|atSymlinkNofollow|atEmptyPath) != 0 {
		return fail(syscall.EINVAL)
	}
	l, r, done := k.target(c, dirfd, addr, flags&atSymlinkNofollow == 0, flags&atEmptyPath != 0)
	if done {
		return r
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	uid := c.Proc.Ruid
	if flags&atEaccess != 0 {
		uid = c.Proc.Uid
	}
	return retE(0, k.permAs(uid, c.Proc, l.m, l.node(), mode))
}

// Access follows access(2).
func (k *Kernel) Access(c *Call) Result {
	return k.accessCommon(c, atFDCWD, c.Args[0], int(c.Args[1]), 0)
}

// Faccessat follows faccessat(2) (no flags argument in the syscall).
func (k *Kernel) Faccessat(c *Call) Result {
	return k.accessCommon(c, fdArg(c.Args[0]), c.Args[1], int(c.Args[2]), 0)
}

// Faccessat2 follows faccessat2(2).
func (k *Kernel) Faccessat2(c *Call) Result {
	return k.accessCommon(c, fdArg(c.Args[0]), c.Args[1], int(c.Args[2]), int(c.Args[3]))
}

func (k *Kernel) readlinkCommon(c *Call, dirfd int, addr, buf uint64, size int64) Result {
	if name, e := c.readPath(addr, true); e == 0 && name != "" {
		// readlink of /proc/self/fd/N for an emulated fd names the
		// file, not its placeholder.
		if l, e := k.walkLocked(c.Proc, dirfd, name, 0); e == 0 && l.host && !l.redirected && strings.HasPrefix(l.hostPath, "/proc/") {
			if f := k.procFDLocked(c.Proc, l.hostPath); f != nil {
				if size <= 0 {
					return fail(syscall.EINVAL)
				}
				t := string(f.path)
				if f.m.FS.GetattrOwner(f.ino).Nlink == 0 {
					t += " (deleted)" // d_path of an unlinked dentry
				}
				if int64(len(t)) > size {
					t = t[:size]
				}
				return retE(int64(len(t)), writeFull(c.Mem, []byte(t), buf))
			}
		}
	}
	l, r, done := k.target(c, dirfd, addr, false, true)
	if done {
		return r
	}
	if size <= 0 {
		return fail(syscall.EINVAL)
	}
	if !l.node().ok() {
		return fail(syscall.ENOENT)
	}
	t, err := l.m.layer.readlink(l.node())
	if err != nil {
		if l.name == "" { // AT_EMPTY_PATH on a non-symlink fd
			return fail(syscall.ENOENT)
		}
		return errResult(err)
	}
	if int64(len(t)) > size {
		t = t[:size]
	}
	return retE(int64(len(t)), writeFull(c.Mem, []byte(t), buf))
}

// Readlink follows readlink(2).
func (k *Kernel) Readlink(c *Call) Result {
	return k.readlinkCommon(c, atFDCWD, c.Args[0], c.Args[1], int64(int32(c.Args[2])))
}

// Readlinkat follows readlinkat(2); an empty path reads the link dirfd
// refers to (an O_PATH|O_NOFOLLOW fd).
func (k *Kernel) Readlinkat(c *Call) Result {
	return k.readlinkCommon(c, fdArg(c.Args[0]), c.Args[1], c.Args[2], int64(int32(c.Args[3])))
}

// direntFormat is one layout of directory records: put appends a record
// and returns its length (0 when it does not fit), written says how many
// bytes from the record's start Linux's filldir stores (it skips the
// padding of a linux_dirent64 after the name's NUL; the old linux_dirent
// ends with its type byte). A record is delivered only when all of those
// were stored before a fault.
type direntFormat struct {
	put     func(b []byte, ino uint64, off int64, typ uint8, name string) int
	written func(reclen int, name string) int
}

var (
	dirent64Format  = direntFormat{putDirent64, func(_ int, name string) int { return 19 + len(name) + 1 }}
	direntOldFormat = direntFormat{putDirent, func(reclen int, _ string) int { return reclen }}
)

// direntRec is one record built for the caller: where its stored bytes end
// and where it ends in the buffer, and the directory position after it.
type direntRec struct {
	written, end int
	next         int64
}

// getdents fills the caller's buffer from f's position, as dcache_readdir
// does: EINVAL if not even one entry fits.
func (k *Kernel) getdents(c *Call, df direntFormat) Result {
	f, r, done := k.ioFile(c)
	if done {
		return r
	}
	if !isDir(f.ino) {
		return fail(syscall.ENOTDIR)
	}
	if fs := f.m.FS; fs.Getattr(f.ino).Nlink == 0 {
		return fail(syscall.ENOENT) // IS_DEADDIR
	}
	size := int(uint32(c.Args[2]))
	if size > 1<<20 {
		size = 1 << 20
	}
	buf := k.buf.get(size)
	recs := k.dirents[:0]
	used := 0
	tooSmall := false
	err := f.m.layer.readDir(f, f.flags&syscall.O_NOATIME != 0, func(name string, ino uint64, typ uint8, next int64) bool {
		n := df.put(buf[used:], ino, next, typ, name)
		if n == 0 {
			tooSmall = used == 0
			return false
		}
		recs = append(recs, direntRec{used + df.written(n, name), used + n, next})
		used += n
		return true
	})
	k.dirents = recs
	if err != nil {
		return errResult(err)
	}
	if tooSmall {
		return fail(syscall.EINVAL)
	}
	return k.deliverDirents(c, f, buf[:used], recs)
}

// deliverDirents copies the records in buf to the caller and moves f's
// position past the ones delivered. filldir stores record after record, so
// when the buffer runs into memory the caller cannot write, the records
// stored before the fault are returned and the position stays at the
// first one that was not (the next call starts there); EFAULT, with the
// position unchanged, when not even the first record was stored.
func (k *Kernel) deliverDirents(c *Call, f *File, buf []byte, recs []direntRec) Result {
	moved, e := copyOut(c.Mem, buf, c.Args[1])
	if e == 0 {
		if len(recs) > 0 {
			f.off = recs[len(recs)-1].next
		}
		return ret(int64(len(buf)))
	}
	n := 0
	for _, r := range recs {
		if r.written > moved {
			break
		}
		n = r.end
		f.off = r.next
	}
	if n == 0 {
		return fail(e)
	}
	return ret(int64(n))
}

// Getdents64 follows getdents64(2).
func (k *Kernel) Getdents64(c *Call) Result { return k.getdents(c, dirent64Format) }

// Getdents follows getdents(2) (struct linux_dirent).
func (k *Kernel) Getdents(c *Call) Result { return k.getdents(c, direntOldFormat) }

// Getcwd follows getcwd(2) when the working directory is in a mount.
func (k *Kernel) Getcwd(c *Call) Result {
	p := c.Proc
	if p.fs.cwd == nil {
		return cont()
	}
	if p.fs.cwd.m.FS.Getattr(p.fs.cwd.ino).Nlink == 0 {
		return fail(syscall.ENOENT) // the directory was removed
	}
	b := append(append([]byte(nil), p.fs.cwd.path...), 0)
	if uint64(len(b)) > c.Args[1] {
		return fail(syscall.ERANGE)
	}
	return retE(int64(len(b)), writeFull(c.Mem, b, c.Args[0]))
}

func (k *Kernel) setCwdLocked(p *Process, l loc) Result {
	if !l.node().isDir() {
		return fail(syscall.ENOTDIR)
	}
	if e := k.permLocked(p, l.m, l.node(), mayExec); e != 0 {
		return fail(e)
	}
	if e := k.copyUpLocked(&l, false); e != 0 {
		return fail(e)
	}
	f := k.newFileAtLocked(&l, l.ino, oPath)
	if p.fs.cwd != nil {
		k.putFileLocked(p.fs.cwd)
	}
	p.fs.cwd = f
	return ret(0)
}

// Chdir follows chdir(2). Into a mount, the working directory is kept by
// emul; the kernel's stays where it was, except at a mount's root whose
// host directory the kernel can enter too (kernelFollowsLocked); back to
// the host, the kernel's chdir runs and emul forgets its own.
func (k *Kernel) Chdir(c *Call) Result {
	p := c.Proc
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		if r.Action == Continue {
			k.leaveCwdLocked(p)
		}
		return r
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	r = k.setCwdLocked(p, l)
	if r.Err != 0 {
		return r
	}
	if k.shadow.src != nil {
		return k.kernelChdirLocked(c, r) // exec.go
	}
	if k.kernelFollowsLocked(p, l) {
		return cont()
	}
	return r
}

func (k *Kernel) leaveCwdLocked(p *Process) {
	if p.fs.cwd != nil {
		k.putFileLocked(p.fs.cwd)
		p.fs.cwd = nil
	}
	p.fs.kernelAstray = false
}

// Fchdir follows fchdir(2). Into a directory whose placeholder is the
// exec shadow's directory of the same path (exec.go), the kernel's fchdir
// runs too once emul's succeeded, as for a chdir: the kernel's working
// directory is then that shadow directory, from which a relative exec
// finds its copy and ".." leads where emul's walk goes. Into any other
// placeholder the kernel cannot follow.
func (k *Kernel) Fchdir(c *Call) Result {
	p := c.Proc
	f := k.identLocked(p, fdArg(c.Args[0]))
	if f == nil {
		k.leaveCwdLocked(p)
		return cont()
	}
	r := k.setCwdLocked(p, loc{m: f.m, ino: f.ino, absDir: f.path})
	if r.Err != 0 {
		return r
	}
	if f.shadowAt != "" && f.shadowAt == string(f.path) {
		p.fs.kernelAstray = false
		return cont()
	}
	p.fs.kernelAstray = true
	return r
}
