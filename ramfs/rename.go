package ramfs

import (
	"syscall"
)

// Rename flags (renameat2(2)).
const (
	RenameNoreplace = 1
	RenameExchange  = 2
	// RenameWhiteout leaves a character device 0:0 (owned by 0:0) at the
	// old name, as tmpfs does. Checking CAP_MKNOD is the caller's job.
	RenameWhiteout = 4
)

// childTowardLocked returns the child of anc on the way from anc down to
// d, or nil if anc is not a proper ancestor of d (d_ancestor).
//
// Preconditions: fs.renameMu is locked (no parent changes); d is a
// directory.
func (fs *FS) childTowardLocked(anc, d *Inode) *Inode {
	for c := d; c != fs.root; {
		p := c.dir.parent.Load()
		if p == anc {
			return c
		}
		c = p
	}
	return nil
}

// lockRenameDirs locks the entries of the parents of a rename
// (lock_rename): one directory alone; two with fs.renameMu held first, an
// ancestor before its descendant, otherwise the lower inode number first.
//
// Preconditions: both are directories.
func (fs *FS) lockRenameDirs(oldDir, newDir *Inode) {
	if oldDir == newDir {
		oldDir.dir.mu.Lock()
		return
	}
	fs.renameMu.Lock()
	first, second := oldDir, newDir
	switch {
	case fs.childTowardLocked(oldDir, newDir) != nil:
	case fs.childTowardLocked(newDir, oldDir) != nil, newDir.ino < oldDir.ino:
		first, second = newDir, oldDir
	}
	first.dir.mu.Lock()
	second.dir.mu.Lock()
}

// unlockRenameDirs undoes lockRenameDirs.
func (fs *FS) unlockRenameDirs(oldDir, newDir *Inode) {
	oldDir.dir.mu.Unlock()
	if oldDir == newDir {
		return
	}
	newDir.dir.mu.Unlock()
	fs.renameMu.Unlock()
}

// Rename moves oldDir/oldName to newDir/newName with the semantics of
// renameat2(2) on tmpfs (do_renameat2, vfs_rename, shmem_rename2), checked
// in Linux's order:
//
//   - unknown flags, or RenameExchange with another flag: EINVAL
//   - a directory argument that is not a directory: ENOTDIR; a name too
//     long: ENAMETOOLONG
//   - old name "." or "..": EBUSY; new name "." or "..": EEXIST with
//     RenameNoreplace, else EBUSY
//   - old name missing (or a removed directory): ENOENT
//   - RenameNoreplace and new exists: EEXIST; RenameExchange and new
//     missing: ENOENT
//   - moving a directory into its own subtree: EINVAL; replacing an
//     ancestor of oldDir: ENOTEMPTY (EINVAL with RenameExchange)
//   - old and new are the same inode: success, nothing changes
//   - directory over non-directory: ENOTDIR; non-directory over directory:
//     EISDIR
//   - new parent at Options.MaxLinks: EMLINK
//   - over a non-empty directory: ENOTEMPTY
//   - ENOSPC if the new name is longer and the FS is full, or no room for
//     the whiteout
//
// Both parents get new mtime and ctime, the moved inode(s) and a replaced
// inode a new ctime; ".." and the link counts of the parents follow moved
// directories. A replaced inode loses a link and is released when it has
// neither links nor references.
//
// ReadDir positions: in NewestFirst order the renamed entry goes to the
// front of newDir, at the replaced entry's position or a new one (a
// whiteout goes to oldDir's front first, at a new position); an exchange
// moves both names to the front, newName first, each keeping its
// position. In CreationOrder an entry renamed within its directory keeps
// its position; an entry that replaces another takes the replaced one's
// position; an entry moved to another directory without replacing gets a
// new position there. Either way an entry is never reported twice by a ReadDir that
// runs concurrently with renames.
func (fs *FS) Rename(oldDir *Inode, oldName string, newDir *Inode, newName string, flags uint32) error {
	if flags&^(RenameNoreplace|RenameExchange|RenameWhiteout) != 0 {
		return syscall.EINVAL
	}
	exchange := flags&RenameExchange != 0
	if exchange && flags&(RenameNoreplace|RenameWhiteout) != 0 {
		return syscall.EINVAL
	}
	if oldDir.dir == nil || newDir.dir == nil {
		return syscall.ENOTDIR
	}
	if oldDir.fs != fs || newDir.fs != fs {
		return syscall.EXDEV
	}
	for _, name := range [2]string{oldName, newName} {
		if !isDot(name) {
			if err := checkName(name); err != nil {
				return err
			}
		}
	}
	if isDot(oldName) {
		return syscall.EBUSY
	}
	if isDot(newName) {
		if flags&RenameNoreplace != 0 {
			return syscall.EEXIST
		}
		return syscall.EBUSY
	}
	fs.lockRenameDirs(oldDir, newDir)
	defer fs.unlockRenameDirs(oldDir, newDir)
	od, nd := oldDir.dir, newDir.dir
	if od.dead || nd.dead {
		return syscall.ENOENT
	}
	src := od.byName[oldName]
	if src == nil {
		return syscall.ENOENT
	}
	dst := nd.byName[newName]
	if dst != nil && flags&RenameNoreplace != 0 {
		return syscall.EEXIST
	}
	if dst == nil && exchange {
		return syscall.ENOENT
	}
	if oldDir != newDir {
		if t := fs.childTowardLocked(oldDir, newDir); t != nil && t == src.inode {
			return syscall.EINVAL
		}
		if t := fs.childTowardLocked(newDir, oldDir); t != nil && dst != nil && t == dst.inode {
			if exchange {
				return syscall.EINVAL
			}
			return syscall.ENOTEMPTY
		}
	}
	s := src.inode
	if dst != nil && dst.inode == s {
		return nil
	}
	var victim *Inode
	if dst != nil {
		victim = dst.inode
	}
	srcIsDir, dstIsDir := s.isDir(), victim != nil && victim.isDir()
	if victim != nil && !exchange {
		if srcIsDir && !dstIsDir {
			return syscall.ENOTDIR
		}
		if !srcIsDir && dstIsDir {
			return syscall.EISDIR
		}
	}
	if oldDir != newDir {
		// A directory's nlink changes only with its entries locked.
		if srcIsDir && !dstIsDir && newDir.nlink >= fs.maxLinks {
			return syscall.EMLINK
		}
		if exchange && !srcIsDir && dstIsDir && oldDir.nlink >= fs.maxLinks {
			return syscall.EMLINK
		}
	}
	if exchange {
		fs.exchangeLocked(oldDir, src, newDir, dst)
		return nil
	}
	if dstIsDir {
		// The victim's entries lock, after its parent's, is held from
		// here to its removal: it stays empty meanwhile.
		victim.dir.mu.Lock()
		defer victim.dir.mu.Unlock()
		if len(victim.dir.byName) > 0 {
			return syscall.ENOTEMPTY
		}
	}
	whiteout := flags&RenameWhiteout != 0
	if err := fs.reserveRename(oldName, newName, dst != nil, whiteout); err != nil {
		return err
	}

	// The moved inode goes into the victim's slot, or the source slot
	// renamed in place, or a new slot in newDir.
	switch {
	case fs.opt.DirOrder == NewestFirst:
		// A new slot at the front, as tmpfs gives the renamed name a
		// new offset (after the whiteout's, which is made first).
		// A replaced entry's position goes to the renamed one.
		od.remove(src)
		if whiteout {
			od.add(oldName, fs.whiteout())
		}
		if dst != nil {
			nd.remove(dst)
			nd.addAt(newName, s, dst.off)
		} else {
			nd.add(newName, s)
		}
	case dst != nil:
		dst.inode = s
		if whiteout {
			src.inode = fs.whiteout()
		} else {
			od.remove(src)
		}
	case oldDir == newDir && !whiteout:
		delete(od.byName, oldName)
		src.name = newName
		od.byName[newName] = src
	default:
		if whiteout {
			src.inode = fs.whiteout()
		} else {
			od.remove(src)
		}
		nd.add(newName, s)
	}
	if srcIsDir && oldDir != newDir {
		s.dir.parent.Store(newDir) // renameMu is held
	}
	if victim != nil {
		victim.mu.Lock()
		if dstIsDir {
			fs.killDirLocked(victim)
		} else {
			victim.nlink--
		}
		fs.ctimeLocked(victim)
		fs.maybeFreeLocked(victim)
		victim.mu.Unlock()
	}
	fs.ctimeOf(s)
	// The parents: ".." of a moved directory moves its link.
	oldDir.mu.Lock()
	if srcIsDir {
		oldDir.nlink--
	}
	fs.modifiedLocked(oldDir)
	oldDir.mu.Unlock()
	newDir.mu.Lock()
	if srcIsDir && victim == nil {
		newDir.nlink++
	}
	fs.modifiedLocked(newDir)
	newDir.mu.Unlock()
	return nil
}

// reserveRenameLocked charges the change in directory entry bytes of a
// rename: the source entry goes away (unless a whiteout takes it over), a
// new entry is made unless the moved inode takes over the replaced one's.
func (fs *FS) reserveRename(oldName, newName string, replace, whiteout bool) error {
	var bytes, inodes int64
	if whiteout {
		bytes += inodeCost
		inodes++
	} else {
		bytes -= direntBytes(oldName)
	}
	if !replace {
		bytes += direntBytes(newName)
	}
	return fs.reserve(bytes, inodes)
}

// whiteout makes the character device 0:0 that RENAME_WHITEOUT leaves
// behind (shmem_whiteout); its capacity is already reserved.
func (fs *FS) whiteout() *Inode {
	return fs.newInode(sIFCHR, 0, 0, 0, fs.clk.coarse())
}

// ctimeOf sets n's ctime, locking n for that alone.
//
// Preconditions: no Inode.mu is held.
func (fs *FS) ctimeOf(n *Inode) {
	n.mu.Lock()
	fs.ctimeLocked(n)
	n.mu.Unlock()
}

// exchangeLocked swaps the inodes of two entries (simple_rename_exchange).
// Names, and so capacity, do not change.
//
// Preconditions: the entries of oldDir and newDir are locked
// (lockRenameDirs) and no Inode.mu is held; the checks of Rename passed,
// so neither inode is oldDir, newDir or an ancestor of them.
func (fs *FS) exchangeLocked(oldDir *Inode, src *dirent, newDir *Inode, dst *dirent) {
	a, b := src.inode, dst.inode
	if fs.opt.DirOrder == NewestFirst {
		// tmpfs: each name keeps its position, and both go to the front
		// of their directories (d_exchange moves the two dentries to the
		// head of their parents' child lists, the one now named oldName
		// first), so a listing shows newName, then oldName.
		od, nd := oldDir.dir, newDir.dir
		od.remove(src)
		od.addAt(src.name, b, src.off)
		nd.remove(dst)
		nd.addAt(dst.name, a, dst.off)
	} else {
		src.inode, dst.inode = b, a
	}
	// A directory moved against a non-directory takes a ".." link along.
	var toNew, toOld bool
	if oldDir != newDir {
		aDir, bDir := a.isDir(), b.isDir()
		if aDir {
			a.dir.parent.Store(newDir) // renameMu is held
		}
		if bDir {
			b.dir.parent.Store(oldDir)
		}
		toNew, toOld = aDir && !bDir, !aDir && bDir
	}
	fs.ctimeOf(a)
	fs.ctimeOf(b)
	oldDir.mu.Lock()
	switch {
	case toNew:
		oldDir.nlink--
	case toOld:
		oldDir.nlink++
	}
	fs.modifiedLocked(oldDir)
	oldDir.mu.Unlock()
	newDir.mu.Lock()
	switch {
	case toNew:
		newDir.nlink++
	case toOld:
		newDir.nlink--
	}
	fs.modifiedLocked(newDir)
	newDir.mu.Unlock()
}
