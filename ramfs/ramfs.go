// Package ramfs is an in-memory file system that follows Linux tmpfs
// (mm/shmem.c, fs/libfs.c) closely enough that emul can return its errors
// to a traced program unchanged.
//
// Every error is a bare syscall.Errno with the value Linux tmpfs returns for
// the same operation; errors.Is(err, fs.ErrNotExist) works because
// syscall.Errno implements Is. ramfs does no permission checks and knows no
// credentials: the caller checks access and passes uid and gid in.
//
// # Locking
//
// Locks are fine-grained so that calls on different files, and on files in
// different directories, run in parallel. They follow Linux's VFS
// (Documentation/filesystems/directory-locking.rst), with an inode's
// attributes under a lock apart from its directory entries:
//
//   - dirData.mu, a sync.RWMutex per directory, is the directory's lock
//     (Linux's i_rwsem): it guards the entries and the removed flag.
//     Lookups and listings hold it shared, so lookups in one directory
//     run in parallel; creating, linking, unlinking or renaming in the
//     directory holds it exclusively.
//   - Inode.mu, a sync.Mutex per inode, guards the inode's attributes,
//     link and reference counts, file data and extended attributes:
//     ReadAt, WriteAt, Truncate, Getattr, SetTimes... of different
//     inodes run in parallel. It is a plain mutex because nearly every
//     call on a file changes something (a read may set atime), and an
//     uncontended Mutex costs half what an RWMutex's write lock does. A
//     directory's link count is written with both its locks held, so
//     either is enough to read it.
//   - FS.renameMu serialises renames between two different directories
//     (s_vfs_rename_mutex). Only such a rename moves a directory to another
//     parent, so with renameMu held the shape of the tree stays as it is.
//     dirData.parent is an atomic pointer, read without a lock and written
//     with renameMu held (or before the directory has a name).
//   - FS.storeMu guards the maps of a Store (byKey, orphans), and each
//     free list of the page pool (file.go) has a lock of its own. These are
//     leaves: nothing else is locked while one is held. The capacity
//     counters (usedBytes, usedInodes) and the last inode number are
//     atomics, and so is the clock (clock.go).
//
// Lock order, outermost first:
//
//  1. FS.renameMu.
//  2. dirData.mu: a parent's before its child's. Two directories neither
//     of which is the other's ancestor are locked together only by a
//     rename between them, with renameMu held, the lower inode number
//     first; of two related ones the ancestor goes first.
//  3. Inode.mu: at most one at a time, and no dirData.mu is taken while
//     one is held. The one exception: a pass over the orphans of a Store
//     (store.go) made while an orphan's Inode.mu is held only tries
//     (TryLock) the others and skips those it cannot take.
//  4. The leaf locks: FS.storeMu and the page pool's, each taken and
//     released on its own.
//
// So a creation locks the directory's entries, then the directory inode
// (for its times and link count); an unlink, rmdir or rename locks the
// entries of the directories involved (the emptied directory's too, from
// the check that it is empty to its removal), and then, one at a time,
// the inodes whose attributes change. A change is atomic for lookups and
// listings; a Getattr of one of the inodes may see the new entries a
// moment before the new times or link count. Lookups lock a directory for
// a single step: Walk holds no lock across components, so a walk racing
// with a rename sees each directory before or after it, as a Linux path
// walk does. LookupRef and the io/fs view take the reference with the
// directory still locked, so the inode cannot be released in between.
//
// ReadDir holds the directory's lock only between calls of its callback, so
// the callback may call back into the FS. Helpers whose names end in Locked
// require the locks their Preconditions line names. Inode.ino, the file
// type bits, Inode.dir and a symlink's target never change, and the mode
// is an atomic (written with Inode.mu held), so Inode.Ino and Inode.Mode
// take no lock. Inode and dirData are padded to a multiple of 64 bytes so
// that two of them never share a cache line.

// # Capacity
//
// Used bytes are the sum of: 256 per live inode, 64 plus the name length per
// directory entry, 4096 per allocated page of file data, the target of each
// symlink (a whole page for targets of 128 bytes or more, which tmpfs also
// stores in a page), and the name and value bytes of each extended
// attribute. Holes take nothing. An inode is live while it has a link or an
// open reference (Ref); a dead inode gives back its pages and attributes.
// Creating calls fail with ENOSPC when the bytes or Options.MaxInodes would
// be exceeded; writes stop at the last page that fits; SetXattr fails with
// ENOSPC and changes nothing. Without a capacity the limit is 16 TiB, which
// is also what Statfs reports, so fallocate of absurd sizes fails instead of
// exhausting memory.
package ramfs

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configures a new FS.
type Options struct {
	Capacity  int64 // bytes of file data + metadata allowed; 0 = unlimited (16 TiB)
	MaxInodes int64 // 0 = unlimited
	// Now, if set, is the clock timestamps are taken from, both coarse
	// and fine-grained (clock.go); nil is the system's wall clock. It
	// may be called from several goroutines at once.
	Now func() time.Time

	// Store, if set, holds the data of regular files (store.go); nil
	// keeps it in the Go heap.
	Store Store

	// MaxLinks limits the link count of an inode (Link, and Mkdir/Rename
	// on the parent directory) and makes them fail with EMLINK. tmpfs has
	// no limit; 0 means the largest value Attr.Nlink can hold.
	MaxLinks uint32

	// DirOrder is the order in which ReadDir lists a directory.
	DirOrder DirOrder
}

// DirOrder is a directory listing order.
type DirOrder int

const (
	// NewestFirst lists the most recently made entry first, as tmpfs
	// does since its directories became offset maps walked through the
	// dentry list (Linux 6.14 and later, fs/libfs.c offset_iterate_dir):
	// a name made by create, link or rename goes to the front. The
	// position after an entry is the next entry's position plus one, and
	// resuming at p lists the entries made before position p: a listing
	// never sees an entry made or renamed after it started.
	NewestFirst DirOrder = iota
	// CreationOrder lists entries oldest first, each at a permanent
	// increasing position.
	CreationOrder
)

// Costs charged against Options.Capacity; see the package doc.
const (
	inodeCost  = 256
	direntCost = 64
)

// Sizes and limits, Linux values.
const (
	pageShift = 12
	pageSize  = 1 << pageShift

	// MaxFileSize is the largest file size, tmpfs's s_maxbytes
	// (MAX_LFS_FILESIZE on 64-bit Linux).
	MaxFileSize = 1<<63 - 1

	// NameMax is the longest name of a directory entry (NAME_MAX).
	NameMax = 255
	// SymlinkMax is the longest symlink target (PATH_MAX - 1).
	SymlinkMax = 4095

	// shortSymlinkLen: shorter targets are kept inline by tmpfs and take
	// no block; longer ones take a page (SHORT_SYMLINK_LEN).
	shortSymlinkLen = 128

	// bogoDirentSize is tmpfs's BOGO_DIRENT_SIZE: a directory's size is
	// 2*bogoDirentSize plus bogoDirentSize per entry.
	bogoDirentSize = 20

	// unlimitedBytes is what Statfs reports as the size of an FS without
	// a capacity: 16 TiB.
	unlimitedBytes = 1 << 44
	// unlimitedInodes is what Statfs reports as Files without MaxInodes.
	unlimitedInodes = 1 << 32
)

// FS is one in-memory file system. It is safe for concurrent use.
type FS struct {
	// renameMu is held by a rename between two directories; see the
	// package doc.
	renameMu sync.Mutex

	opt      Options
	clk      clock
	maxLinks uint32
	root     *Inode
	store    Store

	// The counters below change all the time; the padding keeps them
	// off the cache lines of the fields above, which every call reads.
	_ [64]byte

	// usedBytes and usedInodes are what is charged against the limits
	// (reserve).
	usedBytes, usedInodes atomic.Int64
	// nextIno is the last inode number given.
	nextIno atomic.Uint64

	_ [64]byte

	// pools keep freed pages for new ones (file.go); they have their own
	// locks.
	pools pagePools

	// storeMu guards the maps of backed files.
	storeMu sync.Mutex
	// byKey finds a backed file by its backing file's key.
	// +checklocks:storeMu
	byKey map[uint64]*Inode
	// byKeyPeak is the most entries byKey has had since it was last
	// made anew (at least 1024).
	// +checklocks:storeMu
	byKeyPeak int
	// orphans are unlinked backed files a program may still hold open;
	// orphanCheck is how many there must be before they are checked again.
	// +checklocks:storeMu
	orphans map[*Inode]bool
	// +checklocks:storeMu
	orphanCheck int
}

// New returns an empty FS whose root is a directory with mode 0755 owned by
// uid 0, gid 0.
func New(opt Options) *FS {
	fs := &FS{opt: opt, clk: clockOf(opt.Now), maxLinks: opt.MaxLinks, store: opt.Store}
	if fs.store != nil {
		fs.byKey = map[uint64]*Inode{}
		fs.orphans = map[*Inode]bool{}
		fs.orphanCheck = 64
	}
	if fs.maxLinks == 0 {
		fs.maxLinks = ^uint32(0)
	}
	fs.pools.init()
	root := fs.newInode(sIFDIR|0o755, 0, 0, 0, fs.clk.coarse())
	root.dir.parent.Store(root)
	fs.charge(inodeCost, 1)
	fs.root = root
	return fs
}

// Root returns the root directory.
func (fs *FS) Root() *Inode { return fs.root }

// Now returns the FS clock's coarse time (clock.go), as timestamps take
// it; it carries no monotonic reading.
func (fs *FS) Now() time.Time {
	return fs.clk.coarse()
}

// reserve charges bytes and inodes against the limits, or returns ENOSPC
// and charges nothing. Negative bytes are a refund and always fit.
//
// The two counters are atomics, each charged by compare-and-swap within
// its limit, inodes first: a reserve that fails on bytes takes back the
// inodes it charged, which another reserve may have seen for that moment
// (tmpfs too charges inodes and blocks one after the other).
func (fs *FS) reserve(bytes, inodes int64) error {
	if inodes > 0 && fs.opt.MaxInodes > 0 {
		if !addWithin(&fs.usedInodes, inodes, fs.opt.MaxInodes) {
			return syscall.ENOSPC
		}
	} else if inodes != 0 {
		fs.usedInodes.Add(inodes)
	}
	if bytes > 0 {
		if !addWithin(&fs.usedBytes, bytes, fs.capacity()) {
			if inodes != 0 {
				fs.usedInodes.Add(-inodes)
			}
			return syscall.ENOSPC
		}
	} else if bytes != 0 {
		fs.usedBytes.Add(bytes)
	}
	return nil
}

// addWithin adds d > 0 to v unless that takes it past limit; it reports
// whether it did.
func addWithin(v *atomic.Int64, d, limit int64) bool {
	for {
		cur := v.Load()
		if d > max(limit-cur, 0) {
			return false
		}
		if v.CompareAndSwap(cur, cur+d) {
			return true
		}
	}
}

// reservePages charges n pages if that many fit, as a whole: it reports
// whether it did.
func (fs *FS) reservePages(n int64) bool {
	for {
		cur := fs.usedBytes.Load()
		if n > fs.freeBytes(cur)/pageSize {
			return false
		}
		if fs.usedBytes.CompareAndSwap(cur, cur+n*pageSize) {
			return true
		}
	}
}

// charge adds bytes and inodes to what is charged, without a limit check
// (negative values are a refund).
func (fs *FS) charge(bytes, inodes int64) {
	if bytes != 0 {
		fs.usedBytes.Add(bytes)
	}
	if inodes != 0 {
		fs.usedInodes.Add(inodes)
	}
}

// freeBytes returns how many more bytes may be charged when used are.
//
// With a Store this is ramfs's metadata against the capacity; the Store's
// files are held to it by the Store itself (a tmpfs's size=), which, as
// tmpfs, lets empty files be made when its data is full.
func (fs *FS) freeBytes(used int64) int64 {
	return max(fs.capacity()-used, 0)
}

// storeUsed is what the Store's files take when a capacity is set (the
// Store's own limit enforces it for data; metadata is ramfs's).
func (fs *FS) storeUsed() int64 {
	if fs.store == nil || fs.opt.Capacity <= 0 {
		return 0
	}
	return fs.store.Used()
}

// capacity returns the byte limit (see the package doc for "unlimited").
func (fs *FS) capacity() int64 {
	if fs.opt.Capacity <= 0 {
		return unlimitedBytes
	}
	return fs.opt.Capacity
}

// Statfs is the statfs(2) view of an FS.
type Statfs struct {
	Bsize                       int64
	Blocks, Bfree, Files, Ffree uint64
	Namelen                     int64
}

// Statfs reports sizes in 4096-byte blocks. Without a capacity it reports
// 16 TiB, and without MaxInodes 2^32 files.
func (fs *FS) Statfs() Statfs {
	storeUsed := fs.storeUsed()
	usedBytes, usedInodes := fs.Used()
	total := fs.capacity()
	files := fs.opt.MaxInodes
	if files <= 0 {
		files = unlimitedInodes
	}
	return Statfs{
		Bsize:   pageSize,
		Blocks:  uint64(total / pageSize),
		Bfree:   uint64(max(total-usedBytes-storeUsed, 0) / pageSize),
		Files:   uint64(files),
		Ffree:   uint64(max(files-usedInodes, 0)),
		Namelen: NameMax,
	}
}

// Used returns the bytes and inodes charged against the limits. Each
// count is exact; taken while other calls run, the two need not be from
// the same moment.
func (fs *FS) Used() (bytes int64, inodes int64) {
	return fs.usedBytes.Load(), fs.usedInodes.Load()
}
