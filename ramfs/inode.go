package ramfs

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// File type and mode bits, Linux values (include/uapi/linux/stat.h).
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000

	sISUID = 0o4000
	sISGID = 0o2000
	sIXGRP = 0o0010

	permMask = 0o7777
)

// Directory entry types (DT_* in include/linux/fs_types.h).
const (
	dtUnknown = 0
	dtFIFO    = 1
	dtChr     = 2
	dtDir     = 4
	dtBlk     = 6
	dtReg     = 8
	dtLnk     = 10
	dtSock    = 12
)

// Inode is a file, directory, symlink or special file. Pointer identity is
// inode identity.
type Inode struct {
	fs  *FS
	ino uint64
	// mode is written with mu locked; the type bits never change.
	mode atomic.Uint32

	// mu guards the inode's state below (see Locking in the package
	// doc); a directory's entries have a lock of their own, dir.mu.
	mu sync.Mutex

	// nlink of a directory is written with both mu and dir.mu held, so
	// either is enough to read it.
	// +checklocks:mu
	nlink uint32
	// refs counts open references (Ref/Unref).
	// +checklocks:mu
	refs int64
	// freed is set once a dead inode (no links, no references) has been
	// uncharged; Ref of a freed inode charges it again.
	// +checklocks:mu
	freed bool
	// linkable lets Link give a name to an O_TMPFILE inode with no links
	// (I_LINKABLE); it is cleared by the first Link.
	// +checklocks:mu
	linkable bool
	// +checklocks:mu
	uid, gid uint32
	// +checklocks:mu
	rdev uint64
	// +checklocks:mu
	atime, mtime, ctime, btime time.Time
	// ctimeSeen is set when a stat has seen ctime since it last changed
	// (I_CTIME_QUERIED): the next change takes a fine-grained time if
	// the coarse one would not differ (clock.go).
	// +checklocks:mu
	ctimeSeen bool

	// dir is set for directories only; the pointer never changes, what
	// it points to is guarded by dir.mu.
	dir *dirData
	// hasData is set when the file has a backing file in the Store
	// (store.go), whose key the kernel reports is dataKey.
	// +checklocks:mu
	hasData bool
	// +checklocks:mu
	dataKey uint64
	// opened is the path the file was last opened by (SetOpenedPath).
	// +checklocks:mu
	opened string
	// file holds the size and pages of a regular file without a Store.
	// +checklocks:mu
	file pageTree
	// target is the target of a symlink; it is set before the symlink
	// has a name and never changes.
	target string
	// xattrs are the extended attributes (xattr.go); nil when there are
	// none.
	// +checklocks:mu
	xattrs map[string][]byte

	// _ makes the size a multiple of 64 (a size class of its own), so
	// that every inode starts a cache line and two inodes used on two
	// CPUs never share one (TestInodeSize).
	_ [56]byte
}

// Attr is the stat(2) view of an inode.
type Attr struct {
	Ino     uint64
	Mode    uint32 // S_IFMT type bits | permission bits (incl. setuid/setgid/sticky), Linux values
	Nlink   uint32
	Uid     uint32
	Gid     uint32
	Rdev    uint64
	Size    int64 // regular: bytes; directory: 40 + 20 per entry (as tmpfs); symlink: len(target)
	Blocks  int64 // 512-byte units allocated
	Blksize int32 // 4096

	Atime, Mtime, Ctime, Btime time.Time
}

// Ino returns the inode number. Numbers are not reused; the root is 1.
func (n *Inode) Ino() uint64 { return n.ino }

// Mode returns the type and permission bits. It takes no lock.
func (n *Inode) Mode() uint32 { return n.mode.Load() }

func (n *Inode) typ() uint32 { return n.mode.Load() & sIFMT }

func (n *Inode) isDir() bool { return n.dir != nil }

// newInode makes an inode with one link (two for a directory) and all
// times set to now. It charges nothing. The inode is not yet reachable, so
// its fields may be set without its lock until it is given a name.
func (fs *FS) newInode(mode, uid, gid uint32, rdev uint64, now time.Time) *Inode {
	n := &Inode{
		fs: fs, ino: fs.nextIno.Add(1), nlink: 1, uid: uid, gid: gid,
		atime: now, mtime: now, ctime: now, btime: now,
	}
	switch mode & sIFMT {
	case sIFDIR:
		n.nlink = 2
		n.dir = newDirData(fs.opt.DirOrder)
	case sIFCHR, sIFBLK:
		n.rdev = rdev
	}
	n.mode.Store(mode)
	return n
}

// baseCost is what an inode costs apart from its data pages and the
// directory entries naming it.
func (n *Inode) baseCost() int64 {
	return inodeCost + symlinkCost(len(n.target))
}

// Getattr returns n's attributes.
func (fs *FS) Getattr(n *Inode) Attr {
	if d := n.dir; d != nil {
		d.mu.RLock()
		defer d.mu.RUnlock()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attrLocked()
}

// Stat is Getattr for stat(2) and statx(2). With cmtime (the caller asked
// for mtime or ctime, as stat(2) always does) it notes that ctime was seen
// (fill_mg_cmtime sets I_CTIME_QUERIED), so that n's next change takes a
// time this stat can tell apart from the ctime it saw (clock.go).
func (fs *FS) Stat(n *Inode, cmtime bool) Attr {
	if d := n.dir; d != nil {
		d.mu.RLock()
		defer d.mu.RUnlock()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if cmtime {
		n.ctimeSeen = true
	}
	return n.attrLocked()
}

// GetattrOwner is Getattr for permission checks: type, mode, owner, group
// and link count are right; a file in a Store does not have its backing
// file asked for size, blocks and times (which are left as ramfs has
// them).
func (fs *FS) GetattrOwner(n *Inode) Attr {
	n.mu.Lock()
	defer n.mu.Unlock()
	mode := n.mode.Load()
	return Attr{Ino: n.ino, Mode: mode, Nlink: n.nlink, Uid: n.uid, Gid: n.gid, Rdev: n.rdev, Blksize: pageSize}
}

// Preconditions: n.mu is locked; for a directory n.dir.mu is held too
// (shared or exclusive).
func (n *Inode) attrLocked() Attr {
	mode := n.mode.Load()
	a := Attr{
		Ino: n.ino, Mode: mode, Nlink: n.nlink, Uid: n.uid, Gid: n.gid, Rdev: n.rdev,
		Blksize: pageSize,
		Atime:   n.atime, Mtime: n.mtime, Ctime: n.ctime, Btime: n.btime,
	}
	switch mode & sIFMT {
	case sIFREG:
		if n.fs.store != nil {
			n.fs.storeAttrLocked(n, &a)
			break
		}
		a.Size = n.file.size
		a.Blocks = n.file.npages * (pageSize / 512)
	case sIFDIR:
		a.Size = bogoDirentSize * int64(2+len(n.dir.byName))
	case sIFLNK:
		a.Size = int64(len(n.target))
		if len(n.target) >= shortSymlinkLen {
			a.Blocks = pageSize / 512
		}
	}
	return a
}

// Chmod sets the 07777 bits of n's mode and its ctime. Dropping setgid for
// callers outside the group is the caller's job, as it is the VFS's in Linux.
func (fs *FS) Chmod(n *Inode, mode uint32) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mode.Store(n.typ() | mode&permMask)
	fs.ctimeLocked(n)
	return nil
}

// Chown sets the owner and group; -1 (or 2^32-1, which is (uid_t)-1) leaves
// one unchanged, other values outside uint32 give EINVAL. Like chown_common
// in Linux,
// it clears setuid on non-directories, and setgid when group-execute is set,
// whatever the caller's privileges; ctime is set even if nothing changed.
func (fs *FS) Chown(n *Inode, uid, gid int64) error {
	if uid < -1 || uid > 1<<32-1 || gid < -1 || gid > 1<<32-1 {
		return syscall.EINVAL
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if uid != -1 && uid != 1<<32-1 {
		n.uid = uint32(uid)
	}
	if gid != -1 && gid != 1<<32-1 {
		n.gid = uint32(gid)
	}
	if !n.isDir() {
		mode := n.mode.Load()
		mode &^= sISUID
		if mode&sIXGRP != 0 {
			mode &^= sISGID
		}
		n.mode.Store(mode)
	}
	fs.ctimeLocked(n)
	return nil
}

// SetTimes sets atime and/or mtime (nil leaves one unchanged) and sets ctime
// to now, like utimensat(2). With both nil nothing changes, as utimensat
// does for UTIME_OMIT twice. A pointer to the zero Time is UTIME_NOW: the
// FS's clock (or, for a file in a Store, the kernel's) at the change.
func (fs *FS) SetTimes(n *Inode, atime, mtime *time.Time) error {
	if atime == nil && mtime == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if fs.backed(n) {
		if err := fs.ensureDataLocked(n); err != nil {
			return err
		}
		return storeErr(fs.store.SetTimes(n.ino, atime, mtime))
	}
	now := fs.changeTimeLocked(n)
	if atime != nil {
		n.atime = atime.Round(0)
		if atime.IsZero() {
			n.atime = now
		}
	}
	if mtime != nil {
		n.mtime = mtime.Round(0)
		if mtime.IsZero() {
			n.mtime = now
		}
	}
	n.ctime = now
	return nil
}

// Touch records an access or a modification that did not go through
// ReadAt/WriteAt (a FIFO read or write, say). With atime true it applies the
// relatime rule to atime (touch_atime); with atime false it sets mtime and
// ctime to now (file_update_time).
func (fs *FS) Touch(n *Inode, atime bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if fs.backed(n) {
		fs.storeTouch(n, atime)
		return
	}
	if atime {
		fs.accessedLocked(n)
		return
	}
	fs.modifiedLocked(n)
}

// accessedLocked updates atime by Linux's relatime rule
// (relatime_need_update): only if atime is not newer than mtime or ctime, or
// is at least a day old.
//
// Preconditions: n.mu is locked.
func (fs *FS) accessedLocked(n *Inode) {
	now := fs.currentLocked(n)
	if n.atime.After(n.mtime) && n.atime.After(n.ctime) && now.Sub(n.atime) < 24*time.Hour {
		return
	}
	n.atime = now
}

// modifiedLocked sets mtime and ctime for a change of n's content
// (inode_set_ctime_current, then the mtime to the same).
//
// Preconditions: n.mu is locked.
func (fs *FS) modifiedLocked(n *Inode) {
	now := fs.changeTimeLocked(n)
	n.mtime = now
	n.ctime = now
}

// Ref takes an open reference on n: an inode whose last link goes away stays
// usable until its last Unref. Ref of an inode that was already released
// (its last link and reference went away before this call) makes it usable
// again and charges it again; use LookupRef to avoid that window.
func (fs *FS) Ref(n *Inode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fs.refLocked(n)
}

// Preconditions: n.mu is locked.
func (fs *FS) refLocked(n *Inode) {
	if n.freed {
		n.freed = false
		fs.charge(n.baseCost(), 1)
	}
	n.refs++
}

// Unref drops a reference taken by Ref. When an inode has neither links nor
// references its data and inode are returned to the capacity. Unref without
// a matching Ref panics.
func (fs *FS) Unref(n *Inode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.refs <= 0 {
		panic("ramfs: Unref without Ref")
	}
	n.refs--
	fs.maybeFreeLocked(n)
}

// maybeFreeLocked returns the capacity of an inode that has neither links
// nor references (iput_final -> shmem_evict_inode).
//
// Preconditions: n.mu is locked.
func (fs *FS) maybeFreeLocked(n *Inode) {
	if n.nlink != 0 || n.refs != 0 {
		return
	}
	if n.hasData && fs.dropDataLocked(n) {
		// A program may hold the file open: it stays whole (and
		// linkable, for O_TMPFILE) until reapOrphans sees it closed.
		fs.reapOrphans(n, false)
		return
	}
	var bytes, inodes int64
	if n.file.npages > 0 || n.file.size > 0 {
		bytes -= n.file.npages * pageSize
		n.file.release(fs.pools.of(n))
	}
	bytes -= n.freeXattrsLocked()
	n.linkable = false
	if !n.freed {
		n.freed = true
		bytes -= n.baseCost()
		inodes--
	}
	fs.charge(bytes, inodes)
}

// dtype returns the DT_* value for a mode.
func dtype(mode uint32) uint8 {
	switch mode & sIFMT {
	case sIFREG:
		return dtReg
	case sIFDIR:
		return dtDir
	case sIFLNK:
		return dtLnk
	case sIFIFO:
		return dtFIFO
	case sIFSOCK:
		return dtSock
	case sIFCHR:
		return dtChr
	case sIFBLK:
		return dtBlk
	}
	return dtUnknown
}
