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
// One mutex, FS.mu, guards all state of an FS: every inode, directory and
// page tree. Every exported method holds it for its whole duration, except
// ReadDir, which drops it around each call of its callback so the callback
// may call back into the FS. Helpers whose names end in Locked require FS.mu
// to be held (see their Preconditions line). With a single lock there is no
// lock order. Inode.ino and the file type bits never change and the mode is
// kept in an atomic, so Inode.Ino and Inode.Mode take no lock.
//
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
	"syscall"
	"time"
)

// Options configures a new FS.
type Options struct {
	Capacity  int64 // bytes of file data + metadata allowed; 0 = unlimited (16 TiB)
	MaxInodes int64 // 0 = unlimited
	// Now, if set, is the clock timestamps are taken from, both coarse
	// and fine-grained (clock.go); nil is the system's wall clock.
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
	mu sync.Mutex

	opt      Options
	clk      clock
	maxLinks uint32
	root     *Inode

	// +checklocks:mu
	nextIno uint64
	// +checklocks:mu
	usedBytes int64
	// +checklocks:mu
	usedInodes int64

	// pool keeps freed pages for new ones (file.go).
	// +checklocks:mu
	pool pagePool

	store Store
	// byKey finds a backed file by its backing file's key.
	// +checklocks:mu
	byKey map[uint64]*Inode
	// byKeyPeak is the most entries byKey has had since it was last
	// made anew (at least 1024).
	// +checklocks:mu
	byKeyPeak int
	// orphans are unlinked backed files a program may still hold open;
	// orphanCheck is how many there must be before they are checked again.
	// +checklocks:mu
	orphans     map[*Inode]bool
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
	fs.mu.Lock()
	defer fs.mu.Unlock()
	root := fs.newInodeLocked(sIFDIR|0o755, 0, 0, 0, fs.clk.coarse())
	root.dir.parent = root
	fs.usedBytes += inodeCost
	fs.usedInodes++
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

// reserveLocked charges bytes and inodes against the limits, or returns
// ENOSPC and charges nothing. Negative bytes are a refund and always fit.
//
// Preconditions: fs.mu is locked.
func (fs *FS) reserveLocked(bytes, inodes int64) error {
	if bytes > 0 && bytes > fs.freeBytesLocked() {
		return syscall.ENOSPC
	}
	if fs.opt.MaxInodes > 0 && inodes > 0 && fs.usedInodes+inodes > fs.opt.MaxInodes {
		return syscall.ENOSPC
	}
	fs.usedBytes += bytes
	fs.usedInodes += inodes
	return nil
}

// freeBytesLocked returns how many more bytes may be charged.
//
// Preconditions: fs.mu is locked.
//
// With a Store this is ramfs's metadata against the capacity; the Store's
// files are held to it by the Store itself (a tmpfs's size=), which, as
// tmpfs, lets empty files be made when its data is full.
func (fs *FS) freeBytesLocked() int64 {
	return max(fs.capacity()-fs.usedBytes, 0)
}

// storeUsedLocked is what the Store's files take when a capacity is set
// (the Store's own limit enforces it for data; metadata is ramfs's).
//
// Preconditions: fs.mu is locked.
func (fs *FS) storeUsedLocked() int64 {
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
	fs.mu.Lock()
	defer fs.mu.Unlock()
	total := fs.capacity()
	files := fs.opt.MaxInodes
	if files <= 0 {
		files = unlimitedInodes
	}
	return Statfs{
		Bsize:   pageSize,
		Blocks:  uint64(total / pageSize),
		Bfree:   uint64(max(total-fs.usedBytes-fs.storeUsedLocked(), 0) / pageSize),
		Files:   uint64(files),
		Ffree:   uint64(max(files-fs.usedInodes, 0)),
		Namelen: NameMax,
	}
}

// Used returns the bytes and inodes charged against the limits.
func (fs *FS) Used() (bytes int64, inodes int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.usedBytes, fs.usedInodes
}
