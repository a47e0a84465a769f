package ramfs

import (
	"sync"
	"sync/atomic"
	"syscall"
)

// fallocate(2) mode bits (include/uapi/linux/falloc.h).
const (
	FallocKeepSize  = 0x01
	FallocPunchHole = 0x02

	fallocCollapseRange = 0x08
	fallocZeroRange     = 0x10
	fallocInsertRange   = 0x20
	fallocUnshareRange  = 0x40
	fallocWriteZeroes   = 0x80
	fallocModeMask      = FallocPunchHole | fallocCollapseRange | fallocZeroRange |
		fallocInsertRange | fallocUnshareRange | fallocWriteZeroes
)

// The page tree is a radix tree with 64 slots per node. A tree of height h
// covers 64^h pages; height 9 covers every page index below
// MaxFileSize>>pageShift.
const (
	fanShift = 6
	fan      = 1 << fanShift
	fanMask  = fan - 1
	// noPage is past every page index.
	noPage = int64(1) << (fanShift * 9)
)

type page [pageSize]byte

// pnode is a node of the page tree: interior nodes use kids, leaves pages.
type pnode struct {
	kids  []*pnode
	pages []*page
	// unwritten marks leaf pages made by fallocate and not written since.
	// They read as zeros and count as holes for SEEK_DATA, as tmpfs's
	// !uptodate falloc folios do.
	unwritten uint64
	count     int // non-nil slots
}

func newNode(height int, pool *pagePool) *pnode {
	if height == 1 {
		if n := pool.leaf(); n != nil {
			return n
		}
		return &pnode{pages: make([]*page, fan)}
	}
	return &pnode{kids: make([]*pnode, fan)}
}

// The page pool keeps the pages and leaf nodes of file data that went away
// (a removed file, a truncation) for the next writes, as the kernel's
// page allocator keeps free pages, up to poolPages of each: allocating a
// page is most of what a small file's first write costs. It is split in
// poolShards shards on cache lines of their own, each a free list of
// pages and one of leaves with a lock each (leaf locks), and a file uses
// the shard its inode number picks, so that files written in parallel do
// not share one: a shard takes from, or gives to, the others only when it
// is empty, or full.
type pagePools struct {
	shards [poolShards]pagePool
}

const (
	poolPages  = 256
	poolShards = 8
	shardPages = poolPages / poolShards // of each kind per shard
)

// init links the shards to the set.
func (ps *pagePools) init() {
	for i := range ps.shards {
		ps.shards[i].set, ps.shards[i].i = ps, i
	}
}

// of returns the shard of n's pages.
func (ps *pagePools) of(n *Inode) *pagePool {
	return &ps.shards[n.ino%poolShards]
}

// pagePool is a shard of the page pool (pagePools).
type pagePool struct {
	pages  freeList[page]
	leaves freeList[pnode]

	set *pagePools
	i   int
	_   [64]byte // a cache line of its own
}

// freeList is a bounded stack of freed objects, with a lock of its own (a
// leaf lock) and its length in an atomic, for a look without the lock.
type freeList[T any] struct {
	mu sync.Mutex
	// +checklocks:mu
	items []*T
	// n is len(items), written with mu held.
	n atomic.Int32
}

// take returns the object put last, or nil when the list is empty.
func (f *freeList[T]) take() *T {
	if f.n.Load() == 0 {
		return nil
	}
	f.mu.Lock()
	n := len(f.items)
	if n == 0 {
		f.mu.Unlock()
		return nil
	}
	x := f.items[n-1]
	f.items = f.items[:n-1]
	f.n.Store(int32(n - 1))
	f.mu.Unlock()
	return x
}

// give keeps x if the list holds fewer than max; it reports whether it
// did.
func (f *freeList[T]) give(x *T, max int) bool {
	if int(f.n.Load()) >= max {
		return false
	}
	f.mu.Lock()
	n := len(f.items)
	if n >= max {
		f.mu.Unlock()
		return false
	}
	f.items = append(f.items, x)
	f.n.Store(int32(n + 1))
	f.mu.Unlock()
	return true
}

// shard returns the k-th shard after p (p itself for k = 0).
func (p *pagePool) shard(k int) *pagePool {
	return &p.set.shards[(p.i+k)%poolShards]
}

// page returns a zeroed page from the pool, or a new one.
func (p *pagePool) page() *page {
	for k := range poolShards {
		if pg := p.shard(k).pages.take(); pg != nil {
			clear(pg[:])
			return pg
		}
	}
	return new(page)
}

// leaf returns an empty leaf from the pool, or nil.
func (p *pagePool) leaf() *pnode {
	for k := range poolShards {
		if l := p.shard(k).leaves.take(); l != nil {
			return l
		}
	}
	return nil
}

// putPage takes back a page, if the pool has room for it.
func (p *pagePool) putPage(pg *page) {
	for k := range poolShards {
		if p.shard(k).pages.give(pg, shardPages) {
			return
		}
	}
}

// putLeaf takes back an empty leaf, if the pool has room for it.
func (p *pagePool) putLeaf(l *pnode) {
	l.unwritten, l.count = 0, 0
	for k := range poolShards {
		if p.shard(k).leaves.give(l, shardPages) {
			return
		}
	}
}

// putNode takes back node n of height h and what it holds.
func (p *pagePool) putNode(n *pnode, h int) {
	if h > 1 {
		for _, c := range n.kids {
			if c != nil {
				p.putNode(c, h-1)
			}
		}
		return
	}
	for i, pg := range n.pages {
		if pg != nil {
			p.putPage(pg)
			n.pages[i] = nil
		}
	}
	p.putLeaf(n)
}

// release gives t's pages and leaves to the pool and empties t.
func (t *pageTree) release(pool *pagePool) {
	if t.root != nil {
		pool.putNode(t.root, t.height)
	}
	*t = pageTree{}
}

// pageTree holds the data of a regular file.
type pageTree struct {
	root   *pnode
	height int
	npages int64
	size   int64
}

// span returns the number of pages one slot of a node at height h covers.
func span(h int) int64 { return int64(1) << (fanShift * (h - 1)) }

// leaf returns the leaf holding page idx and idx's slot in it, or nil.
func (t *pageTree) leaf(idx int64) (*pnode, int) {
	if t.height == 0 || idx >= span(t.height+1) {
		return nil, 0
	}
	n := t.root
	for h := t.height; h > 1; h-- {
		n = n.kids[(idx>>(fanShift*(h-1)))&fanMask]
		if n == nil {
			return nil, 0
		}
	}
	return n, int(idx & fanMask)
}

func (t *pageTree) get(idx int64) *page {
	l, s := t.leaf(idx)
	if l == nil {
		return nil
	}
	return l.pages[s]
}

// insert allocates page idx, which must be absent, and returns its leaf
// and slot.
func (t *pageTree) insert(idx int64, pool *pagePool) (*pnode, int) {
	if t.height == 0 {
		h := 1
		for idx >= span(h+1) {
			h++
		}
		t.root, t.height = newNode(h, pool), h
	}
	for idx >= span(t.height+1) {
		r := newNode(t.height+1, pool)
		r.kids[0], r.count = t.root, 1
		t.root = r
		t.height++
	}
	n := t.root
	for h := t.height; h > 1; h-- {
		s := (idx >> (fanShift * (h - 1))) & fanMask
		c := n.kids[s]
		if c == nil {
			c = newNode(h-1, pool)
			n.kids[s] = c
			n.count++
		}
		n = c
	}
	s := int(idx & fanMask)
	n.pages[s] = pool.page()
	n.count++
	t.npages++
	return n, s
}

// punch frees the pages with index in [from, to) into pool and returns
// how many it freed.
func (t *pageTree) punch(from, to int64, pool *pagePool) int64 {
	if t.height == 0 || from >= to {
		return 0
	}
	to = min(to, span(t.height+1))
	if from >= to {
		return 0
	}
	freed := punchNode(t.root, t.height, 0, from, to, pool)
	t.npages -= freed
	if t.root.count == 0 {
		if t.height == 1 {
			pool.putLeaf(t.root)
		}
		t.root, t.height = nil, 0
	}
	for t.height > 1 && t.root.count == 1 && t.root.kids[0] != nil {
		t.root = t.root.kids[0]
		t.height--
	}
	return freed
}

func punchNode(n *pnode, h int, base, from, to int64, pool *pagePool) int64 {
	sp := span(h)
	lo := max(int64(0), (from-base)/sp)
	hi := min(int64(fanMask), (to-1-base)/sp)
	var freed int64
	for s := lo; s <= hi; s++ {
		if h == 1 {
			if n.pages[s] != nil {
				pool.putPage(n.pages[s])
				n.pages[s] = nil
				n.unwritten &^= 1 << s
				n.count--
				freed++
			}
			continue
		}
		c := n.kids[s]
		if c == nil {
			continue
		}
		freed += punchNode(c, h-1, base+s*sp, from, to, pool)
		if c.count == 0 {
			if h == 2 {
				pool.putLeaf(c)
			}
			n.kids[s] = nil
			n.count--
		}
	}
	return freed
}

// present counts the allocated pages with index in [from, to).
func (t *pageTree) present(from, to int64) int64 {
	if t.height == 0 {
		return 0
	}
	to = min(to, span(t.height+1))
	if from >= to {
		return 0
	}
	return presentNode(t.root, t.height, 0, from, to)
}

func presentNode(n *pnode, h int, base, from, to int64) int64 {
	sp := span(h)
	lo := max(int64(0), (from-base)/sp)
	hi := min(int64(fanMask), (to-1-base)/sp)
	var c int64
	for s := lo; s <= hi; s++ {
		if h == 1 {
			if n.pages[s] != nil {
				c++
			}
		} else if k := n.kids[s]; k != nil {
			c += presentNode(k, h-1, base+s*sp, from, to)
		}
	}
	return c
}

// scan returns the first page index >= from that holds written data (data
// true) or is a hole (absent or unwritten, data false); -1 if there is none
// in the tree.
func (t *pageTree) scan(from int64, data bool) int64 {
	if t.height == 0 || from >= span(t.height+1) {
		if data {
			return -1
		}
		return from
	}
	r := scanNode(t.root, t.height, 0, from, data)
	if r < 0 && !data {
		return span(t.height + 1)
	}
	return r
}

func scanNode(n *pnode, h int, base, from int64, data bool) int64 {
	sp := span(h)
	for s := max(int64(0), (from-base)/sp); s < fan; s++ {
		b := base + s*sp
		if h == 1 {
			if (n.pages[s] != nil && n.unwritten&(1<<s) == 0) == data {
				return b
			}
			continue
		}
		c := n.kids[s]
		if c == nil {
			if !data {
				return max(b, from)
			}
			continue
		}
		if r := scanNode(c, h-1, b, from, data); r >= 0 {
			return r
		}
	}
	return -1
}

// lseek whence values for a Store.
const (
	seekData = 3
	seekHole = 4
)

// checkRegular returns the error for data operations on a non-regular
// inode: EISDIR for directories, EINVAL otherwise.
func (n *Inode) checkRegular() error {
	switch n.typ() {
	case sIFREG:
		return nil
	case sIFDIR:
		return syscall.EISDIR
	}
	return syscall.EINVAL
}

// checkRange is rw_verify_area: negative offsets and offset+length
// overflowing loff_t give EINVAL.
func checkRange(off int64, n int) error {
	if off < 0 || off > MaxFileSize-int64(n) {
		return syscall.EINVAL
	}
	return nil
}

// ReadAt reads file data at off (shmem_file_read_iter): a short count at
// EOF, (0, nil) at or after EOF, never io.EOF. Holes read as zeros. It
// applies the relatime rule to atime. Errors: EISDIR, EINVAL (not a regular
// file; off < 0; off+len(p) overflows).
func (fs *FS) ReadAt(n *Inode, p []byte, off int64) (int, error) {
	return fs.readAt(n, p, off, true)
}

// ReadAtNoatime is ReadAt without the atime update, for O_NOATIME.
func (fs *FS) ReadAtNoatime(n *Inode, p []byte, off int64) (int, error) {
	return fs.readAt(n, p, off, false)
}

func (fs *FS) readAt(n *Inode, p []byte, off int64, atime bool) (int, error) {
	if err := n.checkRegular(); err != nil {
		return 0, err
	}
	if err := checkRange(off, len(p)); err != nil {
		return 0, err
	}
	if fs.store != nil {
		return fs.storeRead(n, p, off, atime)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if atime {
		fs.accessedLocked(n)
	}
	return n.file.read(p, off), nil
}

// read copies the data at off into p and returns the count: short at
// EOF, 0 at or past it.
func (t *pageTree) read(p []byte, off int64) int {
	if off >= t.size {
		return 0
	}
	total := int(min(int64(len(p)), t.size-off))
	buf := p[:total]
	for len(buf) > 0 {
		po := int(off & (pageSize - 1))
		c := min(len(buf), pageSize-po)
		if pg := t.get(off >> pageShift); pg != nil {
			copy(buf[:c], pg[po:])
		} else {
			clear(buf[:c])
		}
		buf = buf[c:]
		off += int64(c)
	}
	return total
}

// WriteAt writes p at off and extends the size (shmem_file_write_iter).
// Like tmpfs it goes page by page: when the capacity runs out it returns the
// bytes written so far with a nil error, or (0, ENOSPC) if none; data
// written before stays intact. mtime and ctime are set first, as
// file_modified does, even if the write then fails with ENOSPC. A zero-length
// write changes nothing. Errors: EISDIR, EINVAL (not regular; off < 0;
// off+len(p) overflows, which is where Linux's rw_verify_area stops a write
// past MaxFileSize), ENOSPC. Clearing setuid/setgid (file_remove_privs)
// depends on the writer's credentials and is the caller's job.
func (fs *FS) WriteAt(n *Inode, p []byte, off int64) (int, error) {
	if err := n.checkRegular(); err != nil {
		return 0, err
	}
	if err := checkRange(off, len(p)); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if fs.store != nil {
		_, k, err := fs.storeWrite(n, p, off, false)
		return k, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return fs.writeLocked(n, p, off)
}

// Append writes p at the end of the file, as a write with O_APPEND does:
// finding the end and writing happen under one lock. It returns the offset
// written at and the count; the file position afterwards is off+k. Errors
// as WriteAt.
func (fs *FS) Append(n *Inode, p []byte) (off int64, k int, err error) {
	if err := n.checkRegular(); err != nil {
		return 0, 0, err
	}
	if fs.store != nil {
		return fs.storeWrite(n, p, 0, true)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	off = n.file.size
	if err := checkRange(off, len(p)); err != nil {
		return off, 0, err
	}
	if len(p) == 0 {
		return off, 0, nil
	}
	k, err = fs.writeLocked(n, p, off)
	return off, k, err
}

// writeLocked is WriteAt after the argument checks.
//
// Preconditions: n.mu is locked; n is regular; len(p) > 0; off+len(p)
// does not overflow.
func (fs *FS) writeLocked(n *Inode, p []byte, off int64) (int, error) {
	fs.modifiedLocked(n)
	t := &n.file
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		idx := pos >> pageShift
		l, s := t.leaf(idx)
		if l == nil || l.pages[s] == nil {
			if fs.reserve(pageSize, 0) != nil {
				break
			}
			l, s = t.insert(idx, fs.pools.of(n))
		}
		l.unwritten &^= 1 << s
		done += copy(l.pages[s][pos&(pageSize-1):], p[done:])
	}
	if end := off + int64(done); done > 0 && end > t.size {
		t.size = end
	}
	fs.maybeFreeLocked(n)
	if done == 0 {
		return 0, syscall.ENOSPC
	}
	return done, nil
}

// WriteFault records what a tmpfs write leaves behind when copying the
// caller's data stops at a fault with the next byte due at off. Linux 6.18's
// generic_perform_write gets the page holding off (shmem_write_begin)
// before it copies; the copy moves nothing; shmem_write_end then zeroes a
// page that was new (or fallocated), marks it up to date and sets the size
// to off when off is past the end. So afterwards the page holding off
// exists and is data (zeros, not an fallocated hole, for SeekData), and
// the size is at least off: a write at a position past the end whose
// buffer faults at once fails with EFAULT yet grows the file. mtime and
// ctime are set (file_modified ran before the copy). Errors: EISDIR,
// EINVAL (not regular; off < 0 or past MaxFileSize), ENOSPC (no room for
// the page: the write fails there instead).
func (fs *FS) WriteFault(n *Inode, off int64) error {
	if err := n.checkRegular(); err != nil {
		return err
	}
	if err := checkRange(off, 0); err != nil {
		return err
	}
	if fs.store != nil {
		return fs.storeWriteFault(n, off)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	fs.modifiedLocked(n)
	t := &n.file
	idx := off >> pageShift
	l, s := t.leaf(idx)
	if l == nil || l.pages[s] == nil {
		if fs.reserve(pageSize, 0) != nil {
			fs.maybeFreeLocked(n)
			return syscall.ENOSPC
		}
		l, s = t.insert(idx, fs.pools.of(n))
	}
	l.unwritten &^= 1 << s
	if off > t.size {
		t.size = off
	}
	fs.maybeFreeLocked(n)
	return nil
}

// Truncate sets the size (shmem_setattr). Growing leaves a hole; shrinking
// (or keeping the size) drops every page past the new size, including
// fallocate(FALLOC_FL_KEEP_SIZE) pages past EOF, and zeroes the tail of the
// last partial page. mtime and ctime are always set, even when the size does
// not change: Linux 6.18 tmpfs does so for truncate(2) as well as for
// ftruncate(2) and open(O_TRUNC). Errors: EISDIR, EINVAL (other
// non-regular; size < 0).
func (fs *FS) Truncate(n *Inode, size int64) error {
	if err := n.checkRegular(); err != nil {
		return err
	}
	if size < 0 {
		return syscall.EINVAL
	}
	if fs.store != nil {
		return fs.storeTruncate(n, size)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &n.file
	if size <= t.size {
		first := size >> pageShift
		if po := size & (pageSize - 1); po != 0 {
			if pg := t.get(first); pg != nil {
				clear(pg[po:])
			}
			first++
		}
		fs.charge(-t.punch(first, noPage, fs.pools.of(n))*pageSize, 0)
	}
	t.size = size
	fs.modifiedLocked(n)
	fs.maybeFreeLocked(n)
	return nil
}

// fallocModeValid is vfs_fallocate's check of the mode bits, done before
// the file type is looked at.
func fallocModeValid(mode uint32) bool {
	if mode&^(fallocModeMask|FallocKeepSize) != 0 {
		return false
	}
	switch mode & fallocModeMask {
	case 0, fallocUnshareRange, fallocZeroRange:
		return true
	case FallocPunchHole:
		return mode&FallocKeepSize != 0
	case fallocCollapseRange, fallocInsertRange, fallocWriteZeroes:
		return mode&FallocKeepSize == 0
	}
	return false
}

// Allocate is fallocate(2) on tmpfs (vfs_fallocate, shmem_fallocate).
// Mode 0 allocates [off, off+length) and extends the size; FallocKeepSize
// allocates without changing the size; FallocPunchHole|FallocKeepSize frees
// the whole pages in the range and zeroes the partial ones. Allocation is
// all or nothing: without room for every missing page it fails with ENOSPC
// and changes nothing. Allocated pages read as zeros and count as holes for
// SeekData until written. On success mtime and ctime are set.
//
// Errors, in Linux's order: EINVAL (off < 0, length <= 0), EOPNOTSUPP
// (invalid mode), ESPIPE (FIFO), EISDIR, ENODEV (not a regular file), EFBIG
// (off+length past MaxFileSize), EOPNOTSUPP (a valid mode tmpfs does not
// support: zero range, collapse, insert, unshare, write zeroes), ENOSPC.
func (fs *FS) Allocate(n *Inode, mode uint32, off, length int64) error {
	if off < 0 || length <= 0 {
		return syscall.EINVAL
	}
	if !fallocModeValid(mode) {
		return syscall.EOPNOTSUPP
	}
	switch n.typ() {
	case sIFREG:
	case sIFIFO:
		return syscall.ESPIPE
	case sIFDIR:
		return syscall.EISDIR
	default:
		return syscall.ENODEV
	}
	if off > MaxFileSize-length {
		return syscall.EFBIG
	}
	if mode&^(FallocKeepSize|FallocPunchHole) != 0 {
		return syscall.EOPNOTSUPP
	}
	if fs.store != nil {
		return fs.storeAllocate(n, mode, off, length)
	}
	end := off + length
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &n.file
	if mode&FallocPunchHole != 0 {
		fs.punchLocked(t, fs.pools.of(n), off, end)
	} else {
		first, last := off>>pageShift, (end-1)>>pageShift
		missing := last - first + 1 - t.present(first, last+1)
		if !fs.reservePages(missing) {
			return syscall.ENOSPC
		}
		for idx := first; idx <= last && missing > 0; idx++ {
			if l, s := t.leaf(idx); l == nil || l.pages[s] == nil {
				l, s = t.insert(idx, fs.pools.of(n))
				l.unwritten |= 1 << s
				missing--
			}
		}
		if mode&FallocKeepSize == 0 && end > t.size {
			t.size = end
		}
	}
	fs.modifiedLocked(n)
	fs.maybeFreeLocked(n)
	return nil
}

// punchLocked frees the whole pages in [off, end) and zeroes the parts of
// partial pages in it (shmem_truncate_range).
//
// Preconditions: the mu of the inode t belongs to is locked; pool is
// that inode's shard.
func (fs *FS) punchLocked(t *pageTree, pool *pagePool, off, end int64) {
	first, last := off>>pageShift, end>>pageShift // pages [first, last) are whole unless off is unaligned
	if po := off & (pageSize - 1); po != 0 {
		if pg := t.get(first); pg != nil {
			clear(pg[po:min(pageSize, po+(end-off))])
		}
		first++
	}
	if pe := end & (pageSize - 1); pe != 0 && last >= first {
		if pg := t.get(last); pg != nil {
			clear(pg[:pe])
		}
	}
	fs.charge(-t.punch(first, last, pool)*pageSize, 0)
}

// SeekData returns the first offset >= off that holds data
// (lseek SEEK_DATA, mapping_seek_hole_data). Errors: ENXIO when off < 0 or
// off >= size or there is no data past off; EINVAL for non-regular files
// (tmpfs directories reject SEEK_DATA with EINVAL too).
func (fs *FS) SeekData(n *Inode, off int64) (int64, error) {
	if n.typ() != sIFREG {
		return 0, syscall.EINVAL
	}
	if fs.store != nil {
		return fs.storeSeek(n, off, seekData)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &n.file
	if off < 0 || off >= t.size {
		return 0, syscall.ENXIO
	}
	idx := t.scan(off>>pageShift, true)
	if idx < 0 || idx > (t.size-1)>>pageShift {
		return 0, syscall.ENXIO
	}
	return max(off, idx<<pageShift), nil
}

// SeekHole returns the first offset >= off in a hole, or the size if there
// is none before EOF (lseek SEEK_HOLE). Errors as SeekData.
func (fs *FS) SeekHole(n *Inode, off int64) (int64, error) {
	if n.typ() != sIFREG {
		return 0, syscall.EINVAL
	}
	if fs.store != nil {
		return fs.storeSeek(n, off, seekHole)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &n.file
	if off < 0 || off >= t.size {
		return 0, syscall.ENXIO
	}
	idx := t.scan(off>>pageShift, false)
	if idx > (t.size-1)>>pageShift {
		return t.size, nil
	}
	return max(off, idx<<pageShift), nil
}
