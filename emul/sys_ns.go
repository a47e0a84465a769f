package emul

import (
	"bytes"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// Calls that change names in a directory (fs/namei.c): mkdir, rmdir,
// unlink, rename, link, symlink and mknod.

// parentOf resolves (dirfd, path) for a call that creates or removes the
// last component. done=true means r is the answer.
func (k *Kernel) parentOf(c *Call, dirfd int, addr uint64) (loc, Result, bool) {
	name, e := c.pathBytes(0, addr, false)
	if e != 0 {
		return loc{}, fail(e), true
	}
	l, e := k.walkPathLocked(c, dirfd, name, lastNoFollow)
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
	if e := k.mayCreateLocked(c.Proc, l.m, l.parent()); e != 0 {
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

// lastComponent returns the final component of a path as written ("."
// and ".." matter to rmdir and rename, which refuse them).
func lastComponent(name []byte) string {
	for len(name) > 0 && name[len(name)-1] == '/' {
		name = name[:len(name)-1]
	}
	last := name[bytes.LastIndexByte(name, '/')+1:]
	switch string(last) {
	case ".":
		return "."
	case "..":
		return ".."
	}
	return "" // another name: only "." and ".." are told apart
}

func (k *Kernel) rmdirCommon(c *Call, dirfd int, addr uint64) Result {
	name, e := c.pathBytes(0, addr, false)
	if e != 0 {
		return fail(e)
	}
	l, e := k.walkPathLocked(c, dirfd, name, lastNoFollow)
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
	if e := k.mayDeleteLocked(c.Proc, l.m, l.parent(), l.node()); e != 0 {
		return fail(e)
	}
	return retE(0, l.m.layer.rmdir(l))
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
	if c.shared && k.stickyLocked(c.Proc, l.parent()) {
		return exclusive() // may_delete's owner rule: see shared.go
	}
	if e := k.mayDeleteLocked(c.Proc, l.m, l.parent(), l.node()); e != 0 {
		return fail(e)
	}
	return retE(0, l.m.layer.unlink(l))
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
		if c.shared {
			return exclusive()
		}
		return k.rmdirCommon(c, fdArg(c.Args[0]), c.Args[1])
	}
	return k.unlinkCommon(c, fdArg(c.Args[0]), c.Args[1])
}

// isAncestorLocked reports whether directory a is d or a directory above
// it in mount m (d_ancestor).
//
// Preconditions: k.mu is held.
func (k *Kernel) isAncestorLocked(m *Mount, a, d node) bool {
	root := m.FS.Root()
	for {
		if a.same(d) {
			return true
		}
		if d.ino == root {
			return false
		}
		p, err := m.layer.parent(d)
		if err != nil || !p.ok() || p.same(d) {
			return false // a removed directory has no way up
		}
		d = p
	}
}

// renameCommon follows renameat2(2): the checks in the order of
// fs/namei.c:do_renameat2 and vfs_rename, then the layer's rename.
//
// Preconditions: k.mu is held.
func (k *Kernel) renameCommon(c *Call, olddirfd int, oldAddr uint64, newdirfd int, newAddr uint64, flags uint32) Result {
	if flags&^uint32(ramfs.RenameNoreplace|ramfs.RenameExchange|unix.RENAME_WHITEOUT) != 0 {
		return fail(syscall.EINVAL)
	}
	if flags&ramfs.RenameNoreplace != 0 && flags&ramfs.RenameExchange != 0 {
		return fail(syscall.EINVAL)
	}
	oldName, e := c.pathBytes(0, oldAddr, false)
	if e != 0 {
		return fail(e)
	}
	newName, e := c.pathBytes(1, newAddr, false)
	if e != 0 {
		return fail(e)
	}
	p := c.Proc
	ol, e := k.walkPathLocked(c, olddirfd, oldName, lastNoFollow)
	if e != 0 {
		return fail(e)
	}
	nl, e := k.walkPathLocked(c, newdirfd, newName, lastNoFollow)
	if e != 0 {
		return fail(e)
	}
	if (ol.host && ol.hostPath == "") || (nl.host && nl.hostPath == "") {
		return cont() // a dirfd the kernel will refuse (EBADF, ENOTDIR)
	}
	if ol.host && nl.host {
		if ol.redirected || nl.redirected {
			// Both walks' routes must be shown to the kernel.
			for _, l := range []loc{ol, nl} {
				if l.redirected && (l.mirror == nil || !k.mirrorLocked(l.mirror)) {
					return k.hostResult(c, loc{host: true, redirected: true, hostPath: l.hostPath})
				}
			}
		}
		return cont()
	}
	if ol.host || nl.host || ol.m != nl.m {
		return fail(syscall.EXDEV)
	}
	if flags&unix.RENAME_WHITEOUT != 0 {
		return fail(syscall.EINVAL)
	}
	src, dst := ol.node(), nl.node()
	if !src.ok() {
		return fail(syscall.ENOENT)
	}
	oc, nc := lastComponent(oldName), lastComponent(newName)
	if ol.name == "" || nl.name == "" || oc == "." || oc == ".." || nc == "." || nc == ".." {
		return fail(syscall.EBUSY)
	}
	if c.shared && (flags != 0 || ol.slash || nl.slash || !ol.parent().same(nl.parent()) ||
		k.stickyLocked(c.Proc, ol.parent()) || src.same(dst)) {
		// The checks below compare what two walks found at two
		// moments, and a shared rename acts by name (ramfs.Rename
		// checks again what they lead to then): where an answer would
		// come from both walks (the flags' EEXIST and ENOENT, a
		// trailing slash, old and new one inode), from the owner of
		// an inode (a sticky directory) or from the tree holding
		// still (a move to another directory: lock_rename's
		// s_vfs_rename_mutex), the rename runs exclusively
		// (shared.go).
		return exclusive()
	}
	if !src.isDir() && (ol.slash || nl.slash) {
		return fail(syscall.ENOTDIR)
	}
	exchange := flags&ramfs.RenameExchange != 0
	if exchange && !dst.ok() {
		return fail(syscall.ENOENT)
	}
	if flags&ramfs.RenameNoreplace != 0 && dst.ok() {
		return fail(syscall.EEXIST)
	}
	m := ol.m
	if !ol.parent().same(nl.parent()) {
		// lock_rename's trap: a directory cannot move below itself, nor
		// be replaced by something from below it.
		if src.isDir() && k.isAncestorLocked(m, src, nl.parent()) {
			return fail(syscall.EINVAL)
		}
		if dst.ok() && dst.isDir() && k.isAncestorLocked(m, dst, ol.parent()) {
			if exchange {
				return fail(syscall.EINVAL)
			}
			return fail(syscall.ENOTEMPTY)
		}
	}
	if src.same(dst) {
		return ret(0) // vfs_rename: nothing to do, before any permission check
	}
	if e := k.mayDeleteLocked(p, m, ol.parent(), src); e != 0 {
		return fail(e)
	}
	if dst.ok() {
		if e := k.mayDeleteLocked(p, m, nl.parent(), dst); e != 0 {
			return fail(e)
		}
	} else if e := k.mayCreateLocked(p, m, nl.parent()); e != 0 {
		return fail(e)
	}
	if !ol.parent().same(nl.parent()) && !src.same(dst) {
		// Moving a directory rewrites its "..": it must be writable.
		if src.isDir() {
			if e := k.permLocked(p, m, src, mayWrite); e != 0 {
				return fail(e)
			}
		}
		if exchange && dst.isDir() {
			if e := k.permLocked(p, m, dst, mayWrite); e != 0 {
				return fail(e)
			}
		}
	}
	return retE(0, m.layer.rename(ol, nl, flags&(ramfs.RenameNoreplace|ramfs.RenameExchange)))
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
	newName, e := c.pathBytes(1, newAddr, false)
	if e != 0 {
		return fail(e)
	}
	if !ol.node().ok() {
		return fail(syscall.ENOENT)
	}
	if ol.slash && !ol.node().isDir() {
		return fail(syscall.ENOTDIR)
	}
	nl, e := k.walkPathLocked(c, newdirfd, newName, lastNoFollow)
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
	if e := k.mayCreateLocked(p, nl.m, nl.parent()); e != 0 {
		return fail(e)
	}
	if e := k.mayLinkLocked(p, ol.m, ol.node()); e != 0 {
		return fail(e)
	}
	// In an overlay a lower file is copied up to be linked.
	if e := k.copyUpLocked(&ol, true); e != 0 {
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
	t, e := c.readPath(targetAddr, true)
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
	if e := k.mayCreateLocked(c.Proc, l.m, l.parent()); e != 0 {
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
	if e := k.mayCreateLocked(c.Proc, l.m, l.parent()); e != 0 {
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
