package emul

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// parentOf resolves (dirfd, path) for a call that creates or removes the
// last component. done=true means r is the answer.
func (k *Kernel) parentOf(c *Call, dirfd int, addr uint64) (loc, Result, bool) {
	name, e := readPath(c.Mem, addr, false)
	if e != 0 {
		return loc{}, fail(e), true
	}
	l, e := k.walkLocked(c.Proc, dirfd, name, lastNoFollow)
	if e != 0 {
		return loc{}, fail(e), true
	}
	if l.host {
		return loc{}, k.hostResult(c, l), true
	}
	if l.ino == nil && l.dir != nil && l.m.FS.Getattr(l.dir).Nlink == 0 {
		return loc{}, fail(syscall.ENOENT), true // a removed directory
	}
	return l, Result{}, false
}

func (k *Kernel) mkdirCommon(c *Call, dirfd int, addr uint64, mode uint32) Result {
	l, r, done := k.parentOf(c, dirfd, addr)
	if done {
		return r
	}
	if l.node().ok() || l.name == "" {
		return fail(syscall.EEXIST)
	}
	if e := k.mayCreateNode(c.Proc, l.m, l.parent()); e != 0 {
		return fail(e)
	}
	undo, e := k.prepareCreateLocked(&l)
	if e != 0 {
		return fail(e)
	}
	uid, gid := k.ownerLocked(c.Proc, l)
	m := (mode & 0o1777) &^ c.Proc.Umask
	if a := l.m.FS.Getattr(l.dir); a.Mode&syscall.S_ISGID != 0 {
		m |= syscall.S_ISGID
	}
	// In an overlay the new directory is opaque: it is not merged with
	// a lower one a whiteout hid.
	_, err := l.m.FS.Mkdir(l.dir, l.name, m, uid, gid)
	if err != nil {
		undo()
	}
	return retErr(0, err)
}

// Mkdir follows mkdir(2).
func (k *Kernel) Mkdir(c *Call) Result {
	return k.mkdirCommon(c, atFDCWD, c.Args[0], uint32(c.Args[1]))
}

// Mkdirat follows mkdirat(2).
func (k *Kernel) Mkdirat(c *Call) Result {
	return k.mkdirCommon(c, fdArg(c.Args[0]), c.Args[1], uint32(c.Args[2]))
}

// lastComponent returns the final component of a path string as written
// ("." and ".." matter to rmdir and rename, which refuse them).
func lastComponent(name string) string {
	parts := splitPath(name)
	if len(parts) == 0 {
		return ""
	}
	return parts[len(parts)-1]
}

func (k *Kernel) rmdirCommon(c *Call, dirfd int, addr uint64) Result {
	name, e := readPath(c.Mem, addr, false)
	if e != 0 {
		return fail(e)
	}
	l, e := k.walkLocked(c.Proc, dirfd, name, lastNoFollow)
	if e != 0 {
		return fail(e)
	}
	if l.host {
		return k.hostResult(c, l)
	}
	switch lastComponent(name) {
	case ".":
		return fail(syscall.EINVAL)
	case "..":
		return fail(syscall.ENOTEMPTY)
	}
	if !l.node().ok() {
		return fail(syscall.ENOENT)
	}
	if l.name == "" {
		return fail(syscall.EBUSY) // a mount root
	}
	if !l.node().isDir() {
		return fail(syscall.ENOTDIR)
	}
	if e := k.mayDeleteNode(c.Proc, l.m, l.parent(), l.node()); e != 0 {
		return fail(e)
	}
	if l.m.ov != nil {
		// The merged view must be empty; then the upper directory
		// goes and a whiteout hides the lower one.
		if !k.mergedEmptyLocked(l.m, l.node()) {
			return fail(syscall.ENOTEMPTY)
		}
		return retE(0, k.removeLocked(l, true))
	}
	return retErr(0, l.m.FS.Rmdir(l.dir, l.name))
}

// Rmdir follows rmdir(2).
func (k *Kernel) Rmdir(c *Call) Result { return k.rmdirCommon(c, atFDCWD, c.Args[0]) }

func (k *Kernel) unlinkCommon(c *Call, dirfd int, addr uint64) Result {
	l, r, done := k.parentOf(c, dirfd, addr)
	if done {
		return r
	}
	if !l.node().ok() {
		return fail(syscall.ENOENT)
	}
	if l.name == "" || l.node().isDir() {
		return fail(syscall.EISDIR)
	}
	if l.slash {
		return fail(syscall.ENOTDIR)
	}
	if e := k.mayDeleteNode(c.Proc, l.m, l.parent(), l.node()); e != 0 {
		return fail(e)
	}
	if l.m.ov != nil {
		return retE(0, k.removeLocked(l, false))
	}
	return retErr(0, l.m.FS.Unlink(l.dir, l.name))
}

// Unlink follows unlink(2).
func (k *Kernel) Unlink(c *Call) Result { return k.unlinkCommon(c, atFDCWD, c.Args[0]) }

// Unlinkat follows unlinkat(2).
func (k *Kernel) Unlinkat(c *Call) Result {
	flags := int(c.Args[2])
	if flags&^atRemovedir != 0 {
		return fail(syscall.EINVAL)
	}
	if flags&atRemovedir != 0 {
		return k.rmdirCommon(c, fdArg(c.Args[0]), c.Args[1])
	}
	return k.unlinkCommon(c, fdArg(c.Args[0]), c.Args[1])
}

func (k *Kernel) renameCommon(c *Call, olddirfd int, oldAddr uint64, newdirfd int, newAddr uint64, flags uint32) Result {
	if flags&^uint32(ramfs.RenameNoreplace|ramfs.RenameExchange|unix.RENAME_WHITEOUT) != 0 {
		return fail(syscall.EINVAL)
	}
	if flags&ramfs.RenameNoreplace != 0 && flags&ramfs.RenameExchange != 0 {
		return fail(syscall.EINVAL)
	}
	oldName, e := readPath(c.Mem, oldAddr, false)
	if e != 0 {
		return fail(e)
	}
	newName, e := readPath(c.Mem, newAddr, false)
	if e != 0 {
		return fail(e)
	}
	p := c.Proc
	ol, e := k.walkLocked(p, olddirfd, oldName, lastNoFollow)
	if e != 0 {
		return fail(e)
	}
	nl, e := k.walkLocked(p, newdirfd, newName, lastNoFollow)
	if e != 0 {
		return fail(e)
	}
	if (ol.host && ol.hostPath == "") || (nl.host && nl.hostPath == "") {
		return cont() // a dirfd the kernel will refuse (EBADF, ENOTDIR)
	}
	if ol.host && nl.host {
		if ol.redirected || nl.redirected {
			return k.hostResult(c, loc{host: true, redirected: true, hostPath: ol.hostPath})
		}
		return cont()
	}
	if ol.host || nl.host || ol.m != nl.m {
		return fail(syscall.EXDEV)
	}
	if flags&unix.RENAME_WHITEOUT != 0 {
		return fail(syscall.EINVAL)
	}
	if ol.m.ov != nil {
		return k.renameOverlayLocked(p, ol, nl, oldName, newName, flags)
	}
	if ol.ino == nil {
		return fail(syscall.ENOENT)
	}
	oc, nc := lastComponent(oldName), lastComponent(newName)
	if ol.name == "" || nl.name == "" || oc == "." || oc == ".." || nc == "." || nc == ".." {
		return fail(syscall.EBUSY)
	}
	if !isDir(ol.ino) && (ol.slash || nl.slash) {
		return fail(syscall.ENOTDIR)
	}
	if flags&ramfs.RenameExchange != 0 && nl.ino == nil {
		return fail(syscall.ENOENT)
	}
	if e := k.mayDeleteLocked(p, ol.m, ol.dir, ol.ino); e != 0 {
		return fail(e)
	}
	if nl.ino != nil {
		if e := k.mayDeleteLocked(p, nl.m, nl.dir, nl.ino); e != 0 {
			return fail(e)
		}
	} else if e := k.mayCreateLocked(p, nl.m, nl.dir); e != 0 {
		return fail(e)
	}
	if ol.dir != nl.dir && nl.ino != ol.ino {
		// Moving a directory rewrites its "..": it must be writable.
		if isDir(ol.ino) {
			if e := k.permLocked(p, ol.m, ol.ino, mayWrite); e != 0 {
				return fail(e)
			}
		}
		if flags&ramfs.RenameExchange != 0 && isDir(nl.ino) {
			if e := k.permLocked(p, nl.m, nl.ino, mayWrite); e != 0 {
				return fail(e)
			}
		}
	}
	return retErr(0, ol.m.FS.Rename(ol.dir, ol.name, nl.dir, nl.name, flags&(ramfs.RenameNoreplace|ramfs.RenameExchange)))
}

// Rename follows rename(2).
func (k *Kernel) Rename(c *Call) Result {
	return k.renameCommon(c, atFDCWD, c.Args[0], atFDCWD, c.Args[1], 0)
}

// Renameat follows renameat(2).
func (k *Kernel) Renameat(c *Call) Result {
	return k.renameCommon(c, fdArg(c.Args[0]), c.Args[1], fdArg(c.Args[2]), c.Args[3], 0)
}

// Renameat2 follows renameat2(2): RENAME_NOREPLACE and RENAME_EXCHANGE.
func (k *Kernel) Renameat2(c *Call) Result {
	return k.renameCommon(c, fdArg(c.Args[0]), c.Args[1], fdArg(c.Args[2]), c.Args[3], uint32(c.Args[4]))
}

func (k *Kernel) linkCommon(c *Call, olddirfd int, oldAddr uint64, newdirfd int, newAddr uint64, flags int) Result {
	if flags&^(atSymlinkFollow|atEmptyPath) != 0 {
		return fail(syscall.EINVAL)
	}
	p := c.Proc
	ol, r, done := k.target(c, olddirfd, oldAddr, flags&atSymlinkFollow != 0, flags&atEmptyPath != 0)
	if done {
		if r.Action == Continue {
			// The old path is on the host: the new one must be too.
			nl, r2, done2 := k.target(c, newdirfd, newAddr, false, false)
			if done2 {
				return r2
			}
			_ = nl
			return fail(syscall.EXDEV)
		}
		return r
	}
	newName, e := readPath(c.Mem, newAddr, false)
	if e != 0 {
		return fail(e)
	}
	if !ol.node().ok() {
		return fail(syscall.ENOENT)
	}
	if ol.slash && !ol.node().isDir() {
		return fail(syscall.ENOTDIR)
	}
	nl, e := k.walkLocked(p, newdirfd, newName, lastNoFollow)
	if e != 0 {
		return fail(e)
	}
	if nl.host && nl.hostPath == "" {
		return cont()
	}
	if nl.host || nl.m != ol.m {
		return fail(syscall.EXDEV)
	}
	if nl.node().ok() || nl.name == "" {
		return fail(syscall.EEXIST)
	}
	if ol.node().isDir() {
		return fail(syscall.EPERM)
	}
	if ol.slash || nl.slash {
		return fail(syscall.ENOENT)
	}
	if e := k.mayCreateNode(p, nl.m, nl.parent()); e != 0 {
		return fail(e)
	}
	if e := k.mayLinkNode(p, ol.m, ol.node()); e != 0 {
		return fail(e)
	}
	// In an overlay a lower file is copied up to be linked.
	if e := k.materializeLocked(&ol, true); e != 0 {
		return fail(e)
	}
	undo, e := k.prepareCreateLocked(&nl)
	if e != 0 {
		return fail(e)
	}
	err := nl.m.FS.Link(nl.dir, nl.name, ol.ino)
	if err != nil {
		undo()
	}
	return retErr(0, err)
}

// Link follows link(2).
func (k *Kernel) Link(c *Call) Result {
	return k.linkCommon(c, atFDCWD, c.Args[0], atFDCWD, c.Args[1], 0)
}

// Linkat follows linkat(2).
func (k *Kernel) Linkat(c *Call) Result {
	return k.linkCommon(c, fdArg(c.Args[0]), c.Args[1], fdArg(c.Args[2]), c.Args[3], int(c.Args[4]))
}

func (k *Kernel) symlinkCommon(c *Call, targetAddr uint64, dirfd int, addr uint64) Result {
	t, e := readPath(c.Mem, targetAddr, true)
	if e != 0 {
		return fail(e)
	}
	l, r, done := k.parentOf(c, dirfd, addr)
	if done {
		return r
	}
	if l.node().ok() || l.name == "" {
		return fail(syscall.EEXIST)
	}
	if t == "" {
		return fail(syscall.ENOENT)
	}
	if l.slash {
		return fail(syscall.ENOENT)
	}
	if e := k.mayCreateNode(c.Proc, l.m, l.parent()); e != 0 {
		return fail(e)
	}
	undo, e := k.prepareCreateLocked(&l)
	if e != 0 {
		return fail(e)
	}
	uid, gid := k.ownerLocked(c.Proc, l)
	_, err := l.m.FS.Symlink(l.dir, l.name, t, uid, gid)
	if err != nil {
		undo()
	}
	return retErr(0, err)
}

// Symlink follows symlink(2).
func (k *Kernel) Symlink(c *Call) Result { return k.symlinkCommon(c, c.Args[0], atFDCWD, c.Args[1]) }

// Symlinkat follows symlinkat(2).
func (k *Kernel) Symlinkat(c *Call) Result {
	return k.symlinkCommon(c, c.Args[0], fdArg(c.Args[1]), c.Args[2])
}

func (k *Kernel) mknodCommon(c *Call, dirfd int, addr uint64, mode uint32, dev uint64) Result {
	l, r, done := k.parentOf(c, dirfd, addr)
	if done {
		return r
	}
	typ := mode & syscall.S_IFMT
	switch typ {
	case 0:
		typ = syscall.S_IFREG
	case syscall.S_IFREG, syscall.S_IFIFO, syscall.S_IFSOCK:
	case syscall.S_IFCHR, syscall.S_IFBLK:
		if c.Proc.Uid != 0 {
			return fail(syscall.EPERM)
		}
	case syscall.S_IFDIR:
		return fail(syscall.EPERM)
	default:
		return fail(syscall.EINVAL)
	}
	if l.node().ok() || l.name == "" {
		return fail(syscall.EEXIST)
	}
	if l.slash {
		return fail(syscall.ENOENT)
	}
	if e := k.mayCreateNode(c.Proc, l.m, l.parent()); e != 0 {
		return fail(e)
	}
	undo, e := k.prepareCreateLocked(&l)
	if e != 0 {
		return fail(e)
	}
	uid, gid := k.ownerLocked(c.Proc, l)
	perm := (mode & 0o7777) &^ c.Proc.Umask
	if typ != syscall.S_IFCHR && typ != syscall.S_IFBLK {
		dev = 0
	}
	_, err := l.m.FS.Mknod(l.dir, l.name, typ|perm, dev, uid, gid)
	if err != nil {
		undo()
	}
	return retErr(0, err)
}

// Mknod follows mknod(2).
func (k *Kernel) Mknod(c *Call) Result {
	return k.mknodCommon(c, atFDCWD, c.Args[0], uint32(c.Args[1]), c.Args[2])
}

// Mknodat follows mknodat(2).
func (k *Kernel) Mknodat(c *Call) Result {
	return k.mknodCommon(c, fdArg(c.Args[0]), c.Args[1], uint32(c.Args[2]), c.Args[3])
}

// Truncate follows truncate(2).
func (k *Kernel) Truncate(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	if e := mustExist(l); e != 0 {
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
	if e := k.permNodeLocked(c.Proc, l.m, l.node(), mayWrite); e != 0 {
		return fail(e)
	}
	if e := k.materializeLocked(&l, size != 0); e != 0 {
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

func (k *Kernel) chmodLocked(c *Call, l loc, mode uint32) Result {
	if e := mustExist(l); e != 0 {
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
	if e := k.materializeLocked(&l, true); e != 0 {
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
	f := k.fileLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		// A host file under an overlay is changed in the overlay.
		l, r, done := k.fdLocMod(c.Proc, fdArg(c.Args[0]))
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
	if e := mustExist(l); e != 0 {
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
	if e := k.materializeLocked(&l, true); e != 0 {
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
	f := k.fileLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		l, r, done := k.fdLocMod(c.Proc, fdArg(c.Args[0]))
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
	if e := mustExist(l); e != 0 {
		return fail(e)
	}
	if at == nil && mt == nil {
		return ret(0)
	}
	if !k.isOwnerNode(c.Proc, l.m, l.node()) {
		// Explicit times need ownership; "now" needs write permission
		// (setattr_prepare, ATTR_TIMES_SET versus ATTR_TOUCH).
		if explicit {
			return fail(syscall.EPERM)
		}
		if e := k.permNodeLocked(c.Proc, l.m, l.node(), mayWrite); e != 0 {
			return fail(e)
		}
	}
	if e := k.materializeLocked(&l, true); e != 0 {
		return fail(e)
	}
	return retErr(0, l.m.FS.SetTimes(l.ino, at, mt))
}

func (k *Kernel) now() time.Time { return time.Now() }

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
		l, r, done = k.fdLocMod(c.Proc, fdArg(c.Args[0]))
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

// Mmap maps an emulated file by mapping its placeholder: the transport
// fills the placeholder with the file's data, then the kernel maps it.
// MAP_SHARED with write access would lose the writes, so it is refused
// with ENODEV (as for a file system without shared writable mappings).
func (k *Kernel) Mmap(c *Call) Result {
	fd := fdArg(c.Args[4])
	f := k.fileLocked(c.Proc, fd)
	if f == nil {
		return cont()
	}
	prot, flags := int(c.Args[2]), int(c.Args[3])
	if f.flags&oPath != 0 {
		return fail(syscall.EBADF)
	}
	if !isReg(f.ino) {
		return fail(syscall.ENODEV)
	}
	if f.flags&oAccmode == syscall.O_WRONLY {
		return fail(syscall.EACCES)
	}
	if flags&syscall.MAP_TYPE == syscall.MAP_SHARED && prot&syscall.PROT_WRITE != 0 {
		if f.flags&oAccmode != syscall.O_RDWR {
			return fail(syscall.EACCES)
		}
		return fail(syscall.ENODEV)
	}
	return Result{Action: Continue, Fill: f, FillFD: fd}
}

// ReadFile copies the data of f at off into p (for a transport filling a
// placeholder).
func (k *Kernel) ReadFile(f *File, p []byte, off int64) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return f.m.FS.ReadAt(f.ino, p, off)
}

// Size returns the current size of f's inode.
func (k *Kernel) Size(f *File) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return f.m.FS.Getattr(f.ino).Size
}

// mayLinkNode is may_linkat under fs.protected_hardlinks=1: a caller that
// does not own the file may link it only if it is a regular file, not
// set-user-ID, not set-group-ID with group execute, and the caller may
// read and write it.
func (k *Kernel) mayLinkNode(p *Process, m *Mount, n node) syscall.Errno {
	if k.isOwnerNode(p, m, n) {
		return 0
	}
	mode := n.mode()
	if n.typ() == syscall.S_IFREG && mode&syscall.S_ISUID == 0 && mode&(syscall.S_ISGID|0o010) != syscall.S_ISGID|0o010 &&
		k.permNodeLocked(p, m, n, mayRead|mayWrite) == 0 {
		return 0
	}
	return syscall.EPERM
}
