package ramfs

import (
	"bytes"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// dirent is one directory entry; inode is nil once the entry is removed.
// Its cookie orders it in dirData.order. In CreationOrder the cookie is
// also its permanent ReadDir position; in NewestFirst (tmpfs's offset
// directories) the position is off, which a rename that replaces an entry
// takes over from it while the cookie moves the renamed entry to the front.
type dirent struct {
	name   string
	inode  *Inode
	cookie int64
	off    int64
}

// dirData is the content of a directory. byName gives O(1) lookup; order
// holds the entries by ascending cookie, including removed ones (tombstones)
// until the next compaction, so ReadDir can seek by binary search.
//
// mu is the directory's lock (Linux's i_rwsem): it guards the entries and
// every field but parent, the dirents too; lookups and listings hold it
// shared, changes exclusively. parent is read without a lock and written
// with FS.renameMu and the directory's old and new parents' mu held, or
// before the directory has a name.
type dirData struct {
	mu      sync.RWMutex
	parent  atomic.Pointer[Inode] // ".."; the root is its own parent. Kept after rmdir.
	byName  map[string]*dirent
	order   []*dirent
	removed int    // tombstones in order
	next    int64  // next cookie; 0 and 1 are "." and ".."
	gen     uint64 // bumped when order is compacted
	dead    bool   // removed by rmdir or rename: no lookups or creations

	// NewestFirst only (newest): the live entries by position, and the
	// next position to give (tmpfs gives them cyclically from 2, never
	// reusing one before it wraps).
	newest  bool
	byOff   map[int64]*dirent
	nextOff int64

	// _ makes the size a multiple of 64, as Inode's (TestInodeSize).
	_ [16]byte
}

// newDirData makes an empty directory; its maps are made with its first
// entry (a directory that never holds one costs no map). Its parent is
// to be set by the caller.
func newDirData(order DirOrder) *dirData {
	d := &dirData{next: 2}
	if order == NewestFirst {
		d.newest, d.nextOff = true, 2
	}
	return d
}

// add appends an entry with a new cookie and, in NewestFirst, a new
// position.
func (d *dirData) add(name string, n *Inode) *dirent {
	off := int64(0)
	if d.newest {
		off = d.nextOff
		d.nextOff++
	}
	return d.addAt(name, n, off)
}

// addAt appends an entry with a new cookie at position off (NewestFirst).
func (d *dirData) addAt(name string, n *Inode, off int64) *dirent {
	de := &dirent{name: name, inode: n, cookie: d.next, off: off}
	d.next++
	if d.byName == nil {
		d.byName = make(map[string]*dirent)
	}
	d.byName[name] = de
	d.order = append(d.order, de)
	if d.newest {
		if d.byOff == nil {
			d.byOff = make(map[int64]*dirent)
		}
		d.byOff[off] = de
	}
	return de
}

// remove turns de into a tombstone and compacts order when more than half
// of it is tombstones.
func (d *dirData) remove(de *dirent) {
	delete(d.byName, de.name)
	if d.newest && d.byOff[de.off] == de {
		delete(d.byOff, de.off)
	}
	de.inode = nil
	d.removed++
	if d.removed > 16 && d.removed > len(d.order)/2 {
		live := d.order[:0]
		for _, e := range d.order {
			if e.inode != nil {
				live = append(live, e)
			}
		}
		clear(d.order[len(live):])
		d.order = live
		d.removed = 0
		d.gen++
	}
}

// seek returns the index in order of the first entry with cookie >= pos.
func (d *dirData) seek(pos int64) int {
	return sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= pos })
}

func isDot(name string) bool { return name == "." || name == ".." }

// checkName validates a single path component other than "." and "..".
func checkName(name string) error {
	switch {
	case name == "":
		return syscall.ENOENT
	case len(name) > NameMax:
		return syscall.ENAMETOOLONG
	case strings.IndexByte(name, '/') >= 0 || strings.IndexByte(name, 0) >= 0:
		return syscall.EINVAL
	}
	return nil
}

func direntBytes(name string) int64 { return direntCost + int64(len(name)) }

// Lookup returns the entry name of dir. "." is dir and ".." its parent (the
// root's parent is the root). Lookups in a removed directory give ENOENT.
func (fs *FS) Lookup(dir *Inode, name string) (*Inode, error) {
	d := dir.dir
	if d == nil {
		return nil, syscall.ENOTDIR
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return fs.lookupLocked(dir, name)
}

// LookupName is Lookup of a name given as bytes (not "." or ".."), for a
// caller that walks a path it holds as bytes: no string is made for the
// lookup, and for an entry found name is the entry's own copy of its name,
// which the caller may keep. Errors: those of Lookup.
func (fs *FS) LookupName(dir *Inode, b []byte) (n *Inode, name string, err error) {
	return fs.lookupName(dir, b, false)
}

// LookupNameRef is LookupName followed by Ref with dir still locked, so
// the inode cannot be released in between (as LookupRef).
func (fs *FS) LookupNameRef(dir *Inode, b []byte) (n *Inode, name string, err error) {
	return fs.lookupName(dir, b, true)
}

func (fs *FS) lookupName(dir *Inode, b []byte, ref bool) (n *Inode, name string, err error) {
	d := dir.dir
	if d == nil {
		return nil, "", syscall.ENOTDIR
	}
	switch {
	case len(b) == 0:
		return nil, "", syscall.ENOENT
	case len(b) > NameMax:
		return nil, "", syscall.ENAMETOOLONG
	case bytes.IndexByte(b, '/') >= 0 || bytes.IndexByte(b, 0) >= 0:
		return nil, "", syscall.EINVAL
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.dead {
		return nil, "", syscall.ENOENT
	}
	de := d.byName[string(b)]
	if de == nil {
		return nil, "", syscall.ENOENT
	}
	if ref {
		fs.Ref(de.inode)
	}
	return de.inode, de.name, nil
}

// LookupRef is Lookup followed by Ref with dir still locked, so the inode
// cannot be released in between.
func (fs *FS) LookupRef(dir *Inode, name string) (*Inode, error) {
	d := dir.dir
	if d == nil {
		return nil, syscall.ENOTDIR
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	n, err := fs.lookupLocked(dir, name)
	if err != nil {
		return nil, err
	}
	fs.Ref(n)
	return n, nil
}

// Preconditions: dir.dir.mu is held, shared or exclusive, if dir is a
// directory.
func (fs *FS) lookupLocked(dir *Inode, name string) (*Inode, error) {
	d := dir.dir
	if d == nil {
		return nil, syscall.ENOTDIR
	}
	switch name {
	case ".":
		return dir, nil
	case "..":
		return d.parent.Load(), nil
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if d.dead {
		return nil, syscall.ENOENT
	}
	de := d.byName[name]
	if de == nil {
		return nil, syscall.ENOENT
	}
	return de.inode, nil
}

// Parent returns the parent of a directory (the root's parent is the root;
// a removed directory keeps its last parent), or nil if dir is not a
// directory.
func (fs *FS) Parent(dir *Inode) *Inode {
	if dir.dir == nil {
		return nil
	}
	return dir.dir.parent.Load()
}

// Entries returns the number of entries of dir, not counting "." and "..";
// 0 if dir is not a directory.
func (fs *FS) Entries(dir *Inode) int {
	d := dir.dir
	if d == nil {
		return 0
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.byName)
}

// checkCreateLocked checks that name may be created in dir, in the order of
// Linux's filename_create and may_create.
//
// Preconditions: dir.dir.mu is held, shared or exclusive, if dir is a
// directory.
func (fs *FS) checkCreateLocked(dir *Inode, name string) error {
	d := dir.dir
	if d == nil {
		return syscall.ENOTDIR
	}
	if isDot(name) {
		return syscall.EEXIST
	}
	if err := checkName(name); err != nil {
		return err
	}
	if d.dead {
		return syscall.ENOENT
	}
	if d.byName[name] != nil {
		return syscall.EEXIST
	}
	return nil
}

// lockDir locks dir's entries and then dir itself, as a creation in dir
// needs, and returns false (locking nothing) if dir is not a directory.
func lockDir(dir *Inode) bool {
	if dir.dir == nil {
		return false
	}
	dir.dir.mu.Lock()
	dir.mu.Lock()
	return true
}

// unlockDir undoes lockDir.
func unlockDir(dir *Inode) {
	dir.mu.Unlock()
	dir.dir.mu.Unlock()
}

// createLocked makes a new inode named name in dir, charging its costs (a
// symlink's target included). A setgid directory passes on its group, and
// its setgid bit to subdirectories (inode_init_owner).
//
// Preconditions: dir.dir.mu and dir.mu are locked (lockDir);
// checkCreateLocked(dir, name) passed.
func (fs *FS) createLocked(dir *Inode, name string, mode, uid, gid uint32, rdev uint64, target string) (*Inode, error) {
	n, _, err := fs.createOpenLocked(dir, name, mode, uid, gid, rdev, target, -1, false)
	return n, err
}

// createOpenLocked is createLocked that, for a regular file with a
// backing file, returns that file opened with open(2) flags (see
// bornBackedLocked) when flags >= 0.
//
// Preconditions: as createLocked.
func (fs *FS) createOpenLocked(dir *Inode, name string, mode, uid, gid uint32, rdev uint64, target string, flags int, ref bool) (*Inode, DataFile, error) {
	cost := inodeCost + direntBytes(name) + symlinkCost(len(target))
	if err := fs.reserve(cost, 1); err != nil {
		return nil, nil, err
	}
	if dmode := dir.mode.Load(); dmode&sISGID != 0 {
		gid = dir.gid
		if mode&sIFMT == sIFDIR {
			mode |= sISGID
		}
	}
	now := fs.clk.coarse()
	n := fs.newInode(mode, uid, gid, rdev, now)
	n.target = target
	df, err := fs.bornBackedLocked(n, flags)
	if err != nil {
		fs.charge(-cost, -1)
		return nil, nil, err
	}
	if n.dir != nil {
		n.dir.parent.Store(dir)
		dir.nlink++
	}
	if ref {
		n.refs = 1 // no other caller can find n yet
	}
	dir.dir.add(name, n)
	fs.modifiedLocked(dir)
	return n, df, nil
}

// Create makes a regular file; mode holds the permission bits (07777).
// Errors: ENOTDIR, EEXIST (also for "." and ".."), ENOENT (empty name or
// removed dir), ENAMETOOLONG, EINVAL (name with '/' or NUL), ENOSPC.
func (fs *FS) Create(dir *Inode, name string, mode uint32, uid, gid uint32) (*Inode, error) {
	if !lockDir(dir) {
		return nil, syscall.ENOTDIR
	}
	defer unlockDir(dir)
	if err := fs.checkCreateLocked(dir, name); err != nil {
		return nil, err
	}
	return fs.createLocked(dir, name, sIFREG|mode&permMask, uid, gid, 0, "")
}

// CreateRef is Create that also takes a reference on the new file (as
// Ref), before any other caller can find it: an unlink by another thread
// cannot release it before its creator holds it.
func (fs *FS) CreateRef(dir *Inode, name string, mode uint32, uid, gid uint32) (*Inode, error) {
	if !lockDir(dir) {
		return nil, syscall.ENOTDIR
	}
	defer unlockDir(dir)
	if err := fs.checkCreateLocked(dir, name); err != nil {
		return nil, err
	}
	n, _, err := fs.createOpenLocked(dir, name, sIFREG|mode&permMask, uid, gid, 0, "", -1, true)
	return n, err
}

// CreateOpen is Create for an open(O_CREAT) that gives the caller an fd
// onto the new file's data: with a Store it also returns the backing
// file opened with open(2) flags as OpenData would, by the same open
// that makes it (one open fewer than Create and then OpenData). The
// DataFile is nil without a Store, or when the backing file could not be
// opened with flags (the caller's OpenData then gets the error).
func (fs *FS) CreateOpen(dir *Inode, name string, mode uint32, uid, gid uint32, flags int) (*Inode, DataFile, error) {
	if !lockDir(dir) {
		return nil, nil, syscall.ENOTDIR
	}
	defer unlockDir(dir)
	if err := fs.checkCreateLocked(dir, name); err != nil {
		return nil, nil, err
	}
	return fs.createOpenLocked(dir, name, sIFREG|mode&permMask, uid, gid, 0, "", max(flags, 0), false)
}

// Tmpfile makes a regular file with no name, as open(O_TMPFILE) does
// (shmem_tmpfile): it has link count 0, holds one reference (Unref it when
// the file is closed), and Link may give it a name once. Clearing that
// permission for O_EXCL is the caller's job. dir's times do not change.
// Errors: ENOTDIR, ENOENT (dir was removed), ENOSPC.
func (fs *FS) Tmpfile(dir *Inode, mode uint32, uid, gid uint32) (*Inode, error) {
	d := dir.dir
	if d == nil {
		return nil, syscall.ENOTDIR
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.dead {
		return nil, syscall.ENOENT
	}
	if err := fs.reserve(inodeCost, 1); err != nil {
		return nil, err
	}
	if dir.mode.Load()&sISGID != 0 {
		dir.mu.Lock()
		gid = dir.gid
		dir.mu.Unlock()
	}
	n := fs.newInode(sIFREG|mode&permMask, uid, gid, 0, fs.clk.coarse())
	if _, err := fs.bornBackedLocked(n, -1); err != nil {
		fs.charge(-inodeCost, -1)
		return nil, err
	}
	n.nlink = 0
	n.refs = 1
	n.linkable = true
	return n, nil
}

// ForbidLink takes away a Tmpfile inode's permission to be linked
// (O_TMPFILE|O_EXCL).
func (fs *FS) ForbidLink(n *Inode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.linkable = false
}

// Mkdir makes a directory (shmem_mkdir); the parent's link count grows by
// one. Errors as Create, plus EMLINK when the parent has Options.MaxLinks
// links.
func (fs *FS) Mkdir(dir *Inode, name string, mode uint32, uid, gid uint32) (*Inode, error) {
	if !lockDir(dir) {
		return nil, syscall.ENOTDIR
	}
	defer unlockDir(dir)
	if err := fs.checkCreateLocked(dir, name); err != nil {
		return nil, err
	}
	if dir.nlink >= fs.maxLinks {
		return nil, syscall.EMLINK
	}
	return fs.createLocked(dir, name, sIFDIR|mode&permMask, uid, gid, 0, "")
}

// Mknod makes a FIFO, socket, character or block device, or regular file;
// mode holds the type and permission bits (type 0 means regular, as
// mknod(2)). rdev is kept for devices only. A directory type gives EPERM,
// any other type EINVAL (may_mknod), before any other check.
func (fs *FS) Mknod(dir *Inode, name string, mode uint32, rdev uint64, uid, gid uint32) (*Inode, error) {
	switch mode & sIFMT {
	case 0:
		mode |= sIFREG
	case sIFREG, sIFCHR, sIFBLK, sIFIFO, sIFSOCK:
	case sIFDIR:
		return nil, syscall.EPERM
	default:
		return nil, syscall.EINVAL
	}
	if !lockDir(dir) {
		return nil, syscall.ENOTDIR
	}
	defer unlockDir(dir)
	if err := fs.checkCreateLocked(dir, name); err != nil {
		return nil, err
	}
	return fs.createLocked(dir, name, mode&(sIFMT|permMask), uid, gid, rdev, "")
}

// Link adds the name name in dir for target (vfs_link, shmem_link).
// Errors: those of Create, then EXDEV (target of another FS), EPERM (target
// is a directory), ENOENT (target has no links left), EMLINK, ENOSPC.
func (fs *FS) Link(dir *Inode, name string, target *Inode) error {
	d := dir.dir
	if d == nil {
		return syscall.ENOTDIR
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := fs.checkCreateLocked(dir, name); err != nil {
		return err
	}
	switch {
	case target.fs != fs:
		return syscall.EXDEV
	case target.isDir():
		return syscall.EPERM
	}
	if err := fs.linkLocked(dir, name, target); err != nil {
		return err
	}
	dir.mu.Lock()
	fs.modifiedLocked(dir)
	dir.mu.Unlock()
	return nil
}

// linkLocked is the part of Link that changes target.
//
// Preconditions: dir.dir.mu is locked; target is not a directory.
func (fs *FS) linkLocked(dir *Inode, name string, target *Inode) error {
	target.mu.Lock()
	defer target.mu.Unlock()
	switch {
	case target.nlink == 0 && !target.linkable:
		return syscall.ENOENT
	case target.nlink >= fs.maxLinks:
		return syscall.EMLINK
	}
	if err := fs.reserve(direntBytes(name), 0); err != nil {
		return err
	}
	dir.dir.add(name, target)
	target.nlink++
	target.linkable = false
	fs.ctimeLocked(target)
	return nil
}

// lookupVictimLocked finds the entry name of dir for Unlink and Rmdir.
//
// Preconditions: dir.dir.mu is held, shared or exclusive.
func lookupVictimLocked(dir *Inode, name string) (*dirent, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if dir.dir.dead {
		return nil, syscall.ENOENT
	}
	de := dir.dir.byName[name]
	if de == nil {
		return nil, syscall.ENOENT
	}
	return de, nil
}

// Unlink removes a non-directory entry (do_unlinkat, shmem_unlink).
// Errors: ENOTDIR (dir), EISDIR ("." or ".." or a directory entry), ENOENT,
// ENAMETOOLONG, EINVAL.
func (fs *FS) Unlink(dir *Inode, name string) error {
	d := dir.dir
	if d == nil {
		return syscall.ENOTDIR
	}
	if isDot(name) {
		return syscall.EISDIR
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	de, err := lookupVictimLocked(dir, name)
	if err != nil {
		return err
	}
	n := de.inode
	if n.isDir() {
		return syscall.EISDIR
	}
	fs.removeEntryLocked(dir, de)
	dir.mu.Lock()
	fs.modifiedLocked(dir)
	dir.mu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nlink--
	fs.maybeFreeLocked(n)
	if !n.freed {
		// Still linked or open: its ctime shows the unlink (a freed
		// file's backing file is gone).
		fs.ctimeLocked(n)
	}
	return nil
}

// Rmdir removes an empty directory (do_rmdir, shmem_rmdir). The removed
// directory gets link count 0 and refuses lookups, creations and ReadDir
// with ENOENT. Errors: ENOTDIR, EINVAL ("."), ENOTEMPTY (".." or not empty),
// ENOENT, ENAMETOOLONG.
func (fs *FS) Rmdir(dir *Inode, name string) error {
	d := dir.dir
	if d == nil {
		return syscall.ENOTDIR
	}
	switch name {
	case ".":
		return syscall.EINVAL
	case "..":
		return syscall.ENOTEMPTY
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	de, err := lookupVictimLocked(dir, name)
	if err != nil {
		return err
	}
	n := de.inode
	if !n.isDir() {
		return syscall.ENOTDIR
	}
	// The child's entries lock, after its parent's, keeps it empty until
	// it is marked removed.
	n.dir.mu.Lock()
	defer n.dir.mu.Unlock()
	if len(n.dir.byName) > 0 {
		return syscall.ENOTEMPTY
	}
	fs.removeEntryLocked(dir, de)
	n.mu.Lock()
	fs.killDirLocked(n)
	fs.ctimeLocked(n)
	fs.maybeFreeLocked(n)
	n.mu.Unlock()
	dir.mu.Lock()
	dir.nlink--
	fs.modifiedLocked(dir)
	dir.mu.Unlock()
	return nil
}

// removeEntryLocked removes de from dir and refunds its cost.
//
// Preconditions: dir.dir.mu is locked.
func (fs *FS) removeEntryLocked(dir *Inode, de *dirent) {
	fs.charge(-direntBytes(de.name), 0)
	dir.dir.remove(de)
}

// killDirLocked marks an empty directory removed.
//
// Preconditions: n.dir.mu and n.mu are locked.
func (fs *FS) killDirLocked(n *Inode) {
	n.nlink = 0
	n.dir.dead = true
	n.dir.order = nil
	n.dir.removed = 0
	if n.dir.byOff != nil {
		clear(n.dir.byOff)
	}
}

// ReadDir lists dir from position pos, like getdents on tmpfs: position 0 is
// ".", 1 is "..", then the entries in the FS's DirOrder. fn gets each entry
// and the position to resume after it; returning false stops the listing.
// Whether the entry of that last call was used is up to fn: a getdents
// whose buffer is full returns false and resumes later from the previous
// entry's next. Entries removed before they are reached are not listed.
// In CreationOrder each entry has a permanent increasing position, entries
// made during the listing may or may not be listed, and positions past the
// end list nothing. In NewestFirst the position after the last entry is
// EndOfDir, and entries made during the listing are not listed. ReadDir
// applies the relatime rule to dir's atime.
//
// fn is called without any lock of the FS held, so it may call methods of
// fs.
// Errors: ENOTDIR, ENOENT (dir was removed: iterate_dir's IS_DEADDIR), EINVAL
// (pos < 0).
func (fs *FS) ReadDir(dir *Inode, pos int64, fn func(name string, ino uint64, typ uint8, next int64) bool) error {
	return fs.readDir(dir, pos, true, fn)
}

// ReadDirNoatime is ReadDir without the atime update, for O_NOATIME.
func (fs *FS) ReadDirNoatime(dir *Inode, pos int64, fn func(name string, ino uint64, typ uint8, next int64) bool) error {
	return fs.readDir(dir, pos, false, fn)
}

func (fs *FS) readDir(dir *Inode, pos int64, atime bool, fn func(name string, ino uint64, typ uint8, next int64) bool) error {
	d := dir.dir
	if d == nil {
		return syscall.ENOTDIR
	}
	if pos < 0 {
		return syscall.EINVAL
	}
	d.mu.RLock()
	if d.dead {
		d.mu.RUnlock()
		return syscall.ENOENT
	}
	if atime {
		dir.mu.Lock()
		fs.accessedLocked(dir)
		dir.mu.Unlock()
	}
	if pos == 0 {
		d.mu.RUnlock()
		if !fn(".", dir.ino, dtDir, 1) {
			return nil
		}
		d.mu.RLock()
		pos = 1
	}
	if fs.opt.DirOrder == NewestFirst {
		fs.readDirNewestLocked(dir, pos, fn) // unlocks
		return nil
	}
	if pos == 1 {
		ino := d.parent.Load().ino
		d.mu.RUnlock()
		if !fn("..", ino, dtDir, 2) {
			return nil
		}
		d.mu.RLock()
		pos = 2
	}
	gen, i := d.gen, d.seek(pos)
	for {
		if d.gen != gen {
			gen, i = d.gen, d.seek(pos)
		}
		for i < len(d.order) && d.order[i].inode == nil {
			i++
		}
		if i >= len(d.order) {
			break
		}
		de := d.order[i]
		name, ino, typ, next := de.name, de.inode.ino, dtype(de.inode.Mode()), de.cookie+1
		d.mu.RUnlock()
		if !fn(name, ino, typ, next) {
			return nil
		}
		d.mu.RLock()
		pos = next
		i++
	}
	d.mu.RUnlock()
	return nil
}

// FirstEntry is the position of the first entry after "." and "..": a
// ReadDir from it lists every entry, in either order (as tmpfs's
// DIR_OFFSET_FIRST; no entry's own next is ever 2).
const FirstEntry = 2

// EndOfDir is the position after the last entry of a NewestFirst listing
// (tmpfs's DIR_OFFSET_EOD): resuming there lists nothing.
const EndOfDir = 1<<31 - 1

// resumeAt is the position to resume at to list the entry at index i of
// order and those before it: its position plus one, or EndOfDir when
// there is none (i < 0).
func (d *dirData) resumeAt(i int) int64 {
	if i < 0 {
		return EndOfDir
	}
	return d.order[i].off + 1
}

// live returns the index of the last live entry of order at or before
// index i, or -1.
func (d *dirData) live(i int) int {
	for i >= 0 && d.order[i].inode == nil {
		i--
	}
	return i
}

// indexOf returns the index of de in order.
func (d *dirData) indexOf(de *dirent) int {
	return d.seek(de.cookie)
}

// startAt returns the index in order where a NewestFirst listing resumed
// at pos goes on: the entry at position pos-1, or if that is gone the
// live entry with the greatest position below it; -1 when there is none.
// FirstEntry starts at the front.
func (d *dirData) startAt(pos int64) int {
	if pos == FirstEntry {
		return d.live(len(d.order) - 1)
	}
	if pos >= EndOfDir || pos < FirstEntry {
		return -1
	}
	if de := d.byOff[pos-1]; de != nil {
		return d.indexOf(de)
	}
	var best *dirent
	for _, de := range d.byOff {
		if de.off < pos && (best == nil || de.off > best.off) {
			best = de
		}
	}
	if best == nil {
		return -1
	}
	return d.indexOf(best)
}

// readDirNewestLocked lists dir newest first from pos >= 1 (".." at 1),
// calling fn without dir.dir.mu held.
//
// Preconditions: dir.dir.mu is held shared; it is released on return.
func (fs *FS) readDirNewestLocked(dir *Inode, pos int64, fn func(name string, ino uint64, typ uint8, next int64) bool) {
	d := dir.dir
	if pos == 1 {
		ino, next := d.parent.Load().ino, d.resumeAt(d.live(len(d.order)-1))
		d.mu.RUnlock()
		if !fn("..", ino, dtDir, next) {
			return
		}
		d.mu.RLock()
		pos = next
	}
	for {
		i := d.startAt(pos)
		if i < 0 {
			break
		}
		de := d.order[i]
		name, ino, typ := de.name, de.inode.ino, dtype(de.inode.Mode())
		next := d.resumeAt(d.live(i - 1))
		d.mu.RUnlock()
		if !fn(name, ino, typ, next) {
			return
		}
		d.mu.RLock()
		pos = next
	}
	d.mu.RUnlock()
}
