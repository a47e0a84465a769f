package emul

import (
	"syscall"

	"fsshim/ramfs"
)

// sameNode reports whether a and b are the same entry.
func sameNode(a, b node) bool {
	if a.ino != nil || b.ino != nil {
		return a.ino == b.ino
	}
	return a.lo != nil && b.lo != nil && a.lo.rel == b.lo.rel
}

// renameOverlayLocked is renameat2(2) in an overlay mount (ovl_rename),
// after renameCommon's checks of the flags and of the mounts: the source
// is copied up (a directory with lower entries cannot move: EXDEV, as
// overlayfs without redirect_dir answers, and mv(1) copies instead), the
// rename happens in the upper layer, and a whiteout takes the old name
// when the lower layer has it. A directory that lands where the lower
// layer has one is opaque, since only copied-up directories are merged.
func (k *Kernel) renameOverlayLocked(p *Process, ol, nl loc, oldName, newName string, flags uint32) Result {
	m := ol.m
	fs, ov := m.FS, m.ov
	src, dst := ol.node(), nl.node()
	if !src.ok() {
		return fail(syscall.ENOENT)
	}
	oc, nc := lastComponent(oldName), lastComponent(newName)
	if ol.name == "" || nl.name == "" || oc == "." || oc == ".." || nc == "." || nc == ".." {
		return fail(syscall.EBUSY)
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
	if e := k.mayDeleteNode(p, m, ol.parent(), src); e != 0 {
		return fail(e)
	}
	if dst.ok() {
		if e := k.mayDeleteNode(p, m, nl.parent(), dst); e != 0 {
			return fail(e)
		}
	} else if e := k.mayCreateNode(p, m, nl.parent()); e != 0 {
		return fail(e)
	}
	if !sameNode(ol.parent(), nl.parent()) && !sameNode(src, dst) {
		// Moving a directory rewrites its "..": it must be writable.
		if src.isDir() {
			if e := k.permNodeLocked(p, m, src, mayWrite); e != 0 {
				return fail(e)
			}
		}
		if exchange && dst.isDir() {
			if e := k.permNodeLocked(p, m, dst, mayWrite); e != 0 {
				return fail(e)
			}
		}
	}
	if sameNode(src, dst) {
		return ret(0)
	}
	if m.hasLowerDir(src) || (exchange && m.hasLowerDir(dst)) {
		return fail(syscall.EXDEV)
	}
	// ramfs checks an upper victim; a victim in the lower layer alone, or
	// merged with it, is checked here.
	victimMerged := !exchange && dst.ino != nil && isDir(dst.ino) && ov.merged[dst.ino] != ""
	if (dst.lo != nil && !exchange) || victimMerged {
		switch {
		case src.isDir() && !dst.isDir():
			return fail(syscall.ENOTDIR)
		case !src.isDir() && dst.isDir():
			return fail(syscall.EISDIR)
		case dst.isDir() && !k.mergedEmptyLocked(m, dst):
			return fail(syscall.ENOTEMPTY)
		}
	}
	if e := k.copyUpLocked(&ol, true); e != 0 {
		return fail(e)
	}
	if exchange {
		if e := k.copyUpLocked(&nl, true); e != 0 {
			return fail(e)
		}
	}
	nd, e := k.upperDirLocked(m, nl.parent())
	if e != 0 {
		return fail(e)
	}
	nl.dir, nl.dlo = nd, nil
	rflags := flags & (ramfs.RenameNoreplace | ramfs.RenameExchange)
	if !exchange && ov.has(m.lowPath(ol.parent()), ol.name) {
		rflags |= ramfs.RenameWhiteout
	}
	// Steps that make the upper slot free, each undone if the rename
	// fails: a whiteout there goes (ramfs would not put a directory over
	// it, nor RENAME_NOREPLACE anything), a merged victim moves aside.
	var undo []func()
	if nl.wh && (src.isDir() || flags&ramfs.RenameNoreplace != 0) {
		if err := fs.Unlink(nl.dir, nl.name); err != nil {
			return errResult(err)
		}
		undo = append(undo, func() { fs.Mknod(nd, nl.name, syscall.S_IFCHR, 0, 0, 0) })
	}
	var aside string
	if victimMerged {
		aside = k.tmpNameLocked(m, nl.dir)
		if err := fs.Rename(nl.dir, nl.name, nl.dir, aside, 0); err != nil {
			return errResult(err)
		}
		undo = append(undo, func() { fs.Rename(nd, aside, nd, nl.name, 0) })
	}
	if err := fs.Rename(ol.dir, ol.name, nl.dir, nl.name, rflags); err != nil {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return errResult(err)
	}
	if victimMerged {
		k.clearWhiteoutsLocked(m, dst.ino)
		delete(ov.byRel, ov.merged[dst.ino])
		delete(ov.merged, dst.ino)
		fs.Rmdir(nl.dir, aside)
	}
	return ret(0)
}
