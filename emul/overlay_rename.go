package emul

import (
	"strconv"
	"syscall"

	"fsshim/ramfs"
)

// Removals and renames in an overlay (ovl_unlink, ovl_rmdir, ovl_rename):
// a name the lower layer has is replaced by a whiteout.

func (ov *overlay) unlink(l loc) syscall.Errno { return ov.remove(l, false) }

// rmdir removes a directory whose merged view is empty: the upper
// directory (if any) goes and a whiteout hides the lower one.
func (ov *overlay) rmdir(l loc) syscall.Errno {
	if !ov.empty(l.node()) {
		return syscall.ENOTEMPTY
	}
	return ov.remove(l, true)
}

// remove removes the existing entry l names (unlink, or rmdir when dir),
// leaving a whiteout when the lower layer has the name. The caller has
// checked permissions and, for a directory, that its merged view is empty.
func (ov *overlay) remove(l loc, dir bool) syscall.Errno {
	fs := ov.fs
	needWh := ov.has(ov.lowPath(l.parent()), l.name)
	if l.ino == nil {
		// Only in the lower layer: a whiteout is all it takes.
		d, e := ov.upperDir(l.parent())
		if e != 0 {
			return e
		}
		_, err := fs.Mknod(d, l.name, syscall.S_IFCHR, 0, 0, 0)
		return Errno(err)
	}
	name := l.name
	if needWh {
		// Move the entry aside leaving the whiteout in one step, so
		// that a full ramfs fails the call before anything changed.
		name = ov.tmpName(l.dir)
		if err := fs.Rename(l.dir, l.name, l.dir, name, ramfs.RenameWhiteout); err != nil {
			return Errno(err)
		}
	}
	if !dir {
		return Errno(fs.Unlink(l.dir, name))
	}
	ov.clearWhiteouts(l.ino)
	if rel, ok := ov.merged[l.ino]; ok {
		delete(ov.merged, l.ino)
		delete(ov.byRel, rel)
	}
	return Errno(fs.Rmdir(l.dir, name))
}

// tmpName returns a name dir does not have, for an entry on its way out.
func (ov *overlay) tmpName(dir *ramfs.Inode) string {
	for {
		ov.tmpSeq++
		name := ".fsshim-gone-" + strconv.FormatUint(ov.tmpSeq, 10)
		if _, err := ov.fs.Lookup(dir, name); err != nil {
			return name
		}
	}
}

// clearWhiteouts removes the whiteouts of upper directory d (before d
// itself goes: they hid lower entries below it).
func (ov *overlay) clearWhiteouts(d *ramfs.Inode) {
	fs := ov.fs
	var names []string
	fs.ReadDirNoatime(d, 2, func(name string, _ uint64, typ uint8, _ int64) bool {
		if typ == dtChr {
			names = append(names, name)
		}
		return true
	})
	for _, name := range names {
		if n, err := fs.Lookup(d, name); err == nil && isWhiteout(fs, n) {
			fs.Unlink(d, name)
		}
	}
}

// hasLowerDir reports whether directory n has entries in the lower layer
// below it (it cannot be renamed: EXDEV).
func (ov *overlay) hasLowerDir(n node) bool {
	return n.ok() && n.isDir() && ov.lowPath(n) != ""
}

// rename is ovl_rename after renameCommon's checks: a directory with lower
// entries cannot move (EXDEV, as overlayfs without redirect_dir answers,
// and mv(1) copies instead); the source is copied up, the rename happens
// in the upper layer, and a whiteout takes the old name when the lower
// layer has it. A directory that lands where the lower layer has one is
// opaque, since only copied-up directories are merged.
func (ov *overlay) rename(ol, nl loc, flags uint32) syscall.Errno {
	fs := ov.fs
	src, dst := ol.node(), nl.node()
	exchange := flags&ramfs.RenameExchange != 0
	if ov.hasLowerDir(src) || (exchange && ov.hasLowerDir(dst)) {
		return syscall.EXDEV
	}
	// ramfs checks an upper victim; a victim in the lower layer alone, or
	// merged with it, is checked here.
	victimMerged := !exchange && dst.ino != nil && isDir(dst.ino) && ov.merged[dst.ino] != ""
	if (dst.lo != nil && !exchange) || victimMerged {
		switch {
		case src.isDir() && !dst.isDir():
			return syscall.ENOTDIR
		case !src.isDir() && dst.isDir():
			return syscall.EISDIR
		case dst.isDir() && !ov.empty(dst):
			return syscall.ENOTEMPTY
		}
	}
	if e := ov.copyUpLoc(&ol, true); e != 0 {
		return e
	}
	if exchange {
		if e := ov.copyUpLoc(&nl, true); e != 0 {
			return e
		}
	}
	nd, e := ov.upperDir(nl.parent())
	if e != 0 {
		return e
	}
	nl.dir, nl.ov.dlo = nd, nil
	rflags := flags & (ramfs.RenameNoreplace | ramfs.RenameExchange)
	if !exchange && ov.has(ov.lowPath(ol.parent()), ol.name) {
		rflags |= ramfs.RenameWhiteout
	}
	// Steps that make the upper slot free, each undone if the rename
	// fails: a whiteout there goes (ramfs would not put a directory over
	// it, nor RENAME_NOREPLACE anything), a merged victim moves aside.
	var undo []func()
	if nl.ov.wh && (src.isDir() || flags&ramfs.RenameNoreplace != 0) {
		if err := fs.Unlink(nl.dir, nl.name); err != nil {
			return Errno(err)
		}
		undo = append(undo, func() { fs.Mknod(nd, nl.name, syscall.S_IFCHR, 0, 0, 0) })
	}
	var aside string
	if victimMerged {
		aside = ov.tmpName(nl.dir)
		if err := fs.Rename(nl.dir, nl.name, nl.dir, aside, 0); err != nil {
			return Errno(err)
		}
		undo = append(undo, func() { fs.Rename(nd, aside, nd, nl.name, 0) })
	}
	if err := fs.Rename(ol.dir, ol.name, nl.dir, nl.name, rflags); err != nil {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return Errno(err)
	}
	if victimMerged {
		ov.clearWhiteouts(dst.ino)
		delete(ov.byRel, ov.merged[dst.ino])
		delete(ov.merged, dst.ino)
		fs.Rmdir(nl.dir, aside)
	}
	return 0
}
