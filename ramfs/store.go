package ramfs

import (
	"errors"
	"syscall"
	"time"
)

// Store keeps the data of regular files outside the Go heap, in files the
// kernel serves (ramfs/backing: a private tmpfs). Each regular inode has
// one backing file from its creation, named by the inode number; a
// program's fd can refer to it directly (OpenData), so reads, writes,
// offsets, mmap and locks are the kernel's, and ramfs keeps only names
// and metadata. With a Store, size, blocks, atime, mtime and ctime of a
// regular file are the backing file's: ramfs asks for them in Getattr, and
// a metadata change (chmod, chown, link, unlink, rename, xattr) touches
// the backing file's ctime so that every time of the file comes from one
// clock, the kernel's.
//
// A Store's methods are called concurrently for different files; the
// calls for one file are made with that inode's lock held, one at a time
// (Used and Busy may come at any time). A Store must not call back into
// the FS.
type Store interface {
	// Create makes an empty backing file for inode name, opened with
	// open(2) flags as Open does, and returns the key the kernel reports
	// for it (its inode number in the store). mode is the inode's mode:
	// see Touch.
	Create(name uint64, mode uint32, flags int) (key uint64, f DataFile, err error)
	// Remove deletes the backing file; open fds onto it keep its data.
	Remove(name uint64) error
	// Busy reports whether a file other than the Store's own may hold
	// the backing file open (or mapped).
	Busy(name uint64) bool
	// Open opens the backing file with open(2) flags (access mode,
	// O_APPEND, O_NONBLOCK, O_NOATIME, O_SYNC, O_DSYNC, O_DIRECT): a new
	// open file description.
	Open(name uint64, flags int) (DataFile, error)
	ReadAt(name uint64, p []byte, off int64, noatime bool) (int, error)
	// WriteAt is pwrite: a short count with a nil error when the store
	// filled up after some bytes, ENOSPC when none fit.
	WriteAt(name uint64, p []byte, off int64) (int, error)
	Truncate(name uint64, size int64) error
	Allocate(name uint64, mode uint32, off, length int64) error
	// Seek is lseek with SEEK_DATA (3) or SEEK_HOLE (4).
	Seek(name uint64, off int64, whence int) (int64, error)
	Stat(name uint64) (StoreAttr, error)
	// SetTimes sets atime and/or mtime (nil leaves one, a pointer to the
	// zero Time means the kernel's now, as UTIME_NOW) and ctime to now.
	SetTimes(name uint64, atime, mtime *time.Time) error
	// Touch sets ctime to now (a metadata change) and gives the backing
	// file the set-user-ID, set-group-ID and group-execute bits of mode
	// (KillPrivBits): a write by a program without CAP_FSETID then
	// clears them as Linux's file_remove_privs does, and Getattr takes
	// the clearing over (StoreAttr.Mode).
	Touch(name uint64, mode uint32) error
	// Used is the number of bytes the store's files take.
	Used() int64
}

// DataFile is an open backing file. *os.File implements it.
type DataFile interface {
	ReadAt(p []byte, off int64) (int, error)
	Close() error
	// Fd is the host fd, valid until Close.
	Fd() uintptr
}

// StoreAttr is what ramfs takes from a backing file for Getattr.
type StoreAttr struct {
	Mode                uint32
	Size, Blocks        int64
	Atime, Mtime, Ctime time.Time
}

// storeErr turns a Store error into the errno it carries (EIO for one
// without).
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// backed reports whether n's data lives in the store.
func (fs *FS) backed(n *Inode) bool {
	return fs.store != nil && n.typ() == sIFREG
}

// ensureDataLocked makes n's backing file if it has none yet.
//
// Preconditions: n.mu is locked; fs.backed(n).
func (fs *FS) ensureDataLocked(n *Inode) error {
	if n.hasData {
		return nil
	}
	f, err := fs.createDataLocked(n, 0) // O_RDONLY
	if err != nil {
		return err
	}
	return f.Close()
}

// bornBackedLocked gives a new regular file its backing file at once, so
// that all its times are the kernel's from the start (an open does not
// change them, as it would if the backing file were made then). With
// flags >= 0 it returns the backing file opened with them (OpenData's
// flags), else nil; a backing file that cannot be opened with flags
// (EINVAL: a flag the store's file system refuses) is made anyway and
// nil returned, so the caller's OpenData reports the error as the
// program's open would.
//
// Preconditions: n is new: no other goroutine can reach it yet.
func (fs *FS) bornBackedLocked(n *Inode, flags int) (DataFile, error) {
	if !fs.backed(n) {
		return nil, nil
	}
	if flags > 0 {
		f, err := fs.createDataLocked(n, flags)
		if err != syscall.EINVAL {
			return f, err
		}
	}
	f, err := fs.createDataLocked(n, 0) // O_RDONLY
	if err != nil {
		return nil, err
	}
	if flags == 0 {
		return f, nil
	}
	return nil, f.Close()
}

// createDataLocked makes n's backing file and returns it opened with
// flags. The backing file's times start now, by the kernel's clock.
//
// Preconditions: n.mu is locked (or n is new); fs.backed(n); !n.hasData.
func (fs *FS) createDataLocked(n *Inode, flags int) (DataFile, error) {
	key, f, err := fs.store.Create(n.ino, n.mode.Load(), flags)
	if err != nil {
		return nil, storeErr(err)
	}
	n.hasData, n.dataKey = true, key
	fs.storeMu.Lock()
	fs.byKey[key] = n
	fs.byKeyPeak = max(fs.byKeyPeak, len(fs.byKey), 1024)
	fs.storeMu.Unlock()
	return f, nil
}

// dropDataLocked deletes n's backing file, or keeps n as an orphan when
// a program may still hold the backing file open: an unlinked file stays
// readable, and fstat of it must still find its inode.
//
// Preconditions: n.mu is locked.
func (fs *FS) dropDataLocked(n *Inode) (orphaned bool) {
	if !n.hasData {
		return false
	}
	fs.storeMu.Lock()
	orphan := fs.orphans[n]
	fs.storeMu.Unlock()
	if orphan || fs.store.Busy(n.ino) {
		fs.storeMu.Lock()
		fs.orphans[n] = true
		fs.storeMu.Unlock()
		return true
	}
	fs.store.Remove(n.ino)
	n.hasData = false
	fs.storeMu.Lock()
	defer fs.storeMu.Unlock()
	delete(fs.byKey, n.dataKey)
	delete(fs.orphans, n)
	if fs.byKeyPeak > 1024 && len(fs.byKey) < fs.byKeyPeak/4 {
		// A Go map keeps its size when entries go: a copy gives the
		// memory of removed files back.
		m := make(map[uint64]*Inode, len(fs.byKey))
		for k, v := range fs.byKey {
			m[k] = v
		}
		fs.byKey, fs.byKeyPeak = m, max(len(m), 1024)
	}
	return false
}

// reapOrphans frees the orphans no program holds open any more. Unless
// force is set it runs only when the number of orphans has doubled since
// the last pass, so its cost is spread over the unlinks that made them.
//
// held, if not nil, is an orphan whose lock the caller holds. The locks
// of the other orphans are taken while held's is held, out of the usual
// order, so then they are only tried (TryLock): an orphan whose lock is
// busy is left for a later pass. Without held they are waited for.
//
// Preconditions: held.mu is locked if held is not nil; no leaf lock is
// held; without held, no Inode.mu is held either.
func (fs *FS) reapOrphans(held *Inode, force bool) {
	fs.storeMu.Lock()
	if !force && len(fs.orphans) < fs.orphanCheck {
		fs.storeMu.Unlock()
		return
	}
	list := make([]*Inode, 0, len(fs.orphans))
	for n := range fs.orphans {
		list = append(list, n)
	}
	fs.storeMu.Unlock()
	for _, n := range list {
		switch {
		case n == held:
		case held == nil:
			n.mu.Lock()
		case !n.mu.TryLock():
			continue
		}
		fs.reapLocked(n)
		if n != held {
			n.mu.Unlock()
		}
	}
	fs.storeMu.Lock()
	fs.orphanCheck = max(64, 2*len(fs.orphans))
	fs.storeMu.Unlock()
}

// reapLocked frees orphan n if no program holds it open, or forgets it as
// an orphan if it has a link or reference again.
//
// Preconditions: n.mu is locked.
func (fs *FS) reapLocked(n *Inode) {
	fs.storeMu.Lock()
	orphan := fs.orphans[n]
	fs.storeMu.Unlock()
	if !orphan {
		return // freed by another pass
	}
	if n.nlink != 0 || n.refs != 0 {
		fs.storeMu.Lock()
		delete(fs.orphans, n) // linked (O_TMPFILE) or referenced again
		fs.storeMu.Unlock()
		return
	}
	if !fs.store.Busy(n.ino) {
		fs.storeMu.Lock()
		delete(fs.orphans, n)
		fs.storeMu.Unlock()
		fs.maybeFreeLocked(n)
	}
}

// ReapOrphans frees the data of unlinked files no program holds open any
// more (see Store.Busy). FS calls it itself as orphans accumulate; a
// caller may call it when it knows programs have ended.
func (fs *FS) ReapOrphans() {
	fs.reapOrphans(nil, true)
}

// Orphans returns the number of unlinked files kept because a program may
// hold them open.
func (fs *FS) Orphans() int {
	fs.storeMu.Lock()
	defer fs.storeMu.Unlock()
	return len(fs.orphans)
}

// InodeByDataKey returns the regular file whose backing file the kernel
// reports as key (Store.Create's key), or nil: how the inode behind a
// program's fd is found.
func (fs *FS) InodeByDataKey(key uint64) *Inode {
	fs.storeMu.Lock()
	defer fs.storeMu.Unlock()
	return fs.byKey[key]
}

// HasStore reports whether regular files' data lives in a Store.
func (fs *FS) HasStore() bool { return fs.store != nil }

// OpenData opens n's backing file with open(2) flags, making it first if
// needed, for a program's fd. Errors: EINVAL without a Store or for a
// non-regular file, the Store's errors.
func (fs *FS) OpenData(n *Inode, flags int) (DataFile, error) {
	if !fs.backed(n) {
		return nil, syscall.EINVAL
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.hasData {
		return fs.createDataLocked(n, flags)
	}
	f, err := fs.store.Open(n.ino, flags)
	return f, storeErr(err)
}

// ctimeLocked sets n's ctime for a metadata change; a backed file's
// backing file is touched too (its ctime is the one Getattr reports).
//
// Preconditions: n.mu is locked.
func (fs *FS) ctimeLocked(n *Inode) {
	n.ctime = fs.changeTimeLocked(n)
	if n.hasData {
		fs.store.Touch(n.ino, n.mode.Load())
	}
}

// storeAttrLocked fills a's data fields from n's backing file. It may
// clear setuid and setgid in n's mode.
//
// Preconditions: n.mu is locked; fs.backed(n).
func (fs *FS) storeAttrLocked(n *Inode, a *Attr) {
	if !n.hasData {
		return // never written: empty, times from ramfs
	}
	sa, err := fs.store.Stat(n.ino)
	if err != nil {
		return
	}
	a.Size, a.Blocks = sa.Size, sa.Blocks
	a.Atime, a.Mtime, a.Ctime = sa.Atime, sa.Mtime, sa.Ctime
	if lost := a.Mode & (sISUID | sISGID) &^ sa.Mode; lost != 0 {
		// A write cleared them (file_remove_privs on the backing file).
		a.Mode &^= lost
		n.mode.Store(a.Mode)
	}
}

// KillPrivBits are the mode bits a Store's backing file carries of its
// inode's mode (Store.Touch).
const KillPrivBits = sISUID | sISGID | sIXGRP

func (fs *FS) storeRead(n *Inode, p []byte, off int64, atime bool) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.hasData {
		return 0, nil
	}
	k, err := fs.store.ReadAt(n.ino, p, off, !atime)
	return k, storeErr(err)
}

func (fs *FS) storeWrite(n *Inode, p []byte, off int64, appending bool) (int64, int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := fs.ensureDataLocked(n); err != nil {
		return off, 0, err
	}
	if appending {
		sa, err := fs.store.Stat(n.ino)
		if err != nil {
			return off, 0, storeErr(err)
		}
		off = sa.Size
		if err := checkRange(off, len(p)); err != nil {
			return off, 0, err
		}
	}
	if len(p) == 0 {
		return off, 0, nil
	}
	k, err := fs.store.WriteAt(n.ino, p, off)
	return off, k, storeErr(err)
}

func (fs *FS) storeWriteFault(n *Inode, off int64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := fs.ensureDataLocked(n); err != nil {
		return err
	}
	sa, err := fs.store.Stat(n.ino)
	if err != nil {
		return storeErr(err)
	}
	if err := storeErr(fs.store.Allocate(n.ino, FallocKeepSize, off&^(pageSize-1), pageSize)); err != nil {
		return err
	}
	// The page now holds zeros as data: write them, so SEEK_DATA sees it.
	var z [1]byte
	pos := off &^ (pageSize - 1)
	if pos < sa.Size {
		return nil
	}
	if _, err := fs.store.WriteAt(n.ino, z[:], pos); err != nil {
		return storeErr(err)
	}
	return storeErr(fs.store.Truncate(n.ino, max(sa.Size, off)))
}

func (fs *FS) storeTruncate(n *Inode, size int64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := fs.ensureDataLocked(n); err != nil {
		return err
	}
	return storeErr(fs.store.Truncate(n.ino, size))
}

func (fs *FS) storeAllocate(n *Inode, mode uint32, off, length int64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := fs.ensureDataLocked(n); err != nil {
		return err
	}
	return storeErr(fs.store.Allocate(n.ino, mode, off, length))
}

func (fs *FS) storeSeek(n *Inode, off int64, whence int) (int64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.hasData {
		return 0, syscall.ENXIO
	}
	pos, err := fs.store.Seek(n.ino, off, whence)
	return pos, storeErr(err)
}

// Preconditions: n.mu is locked; fs.backed(n).
func (fs *FS) storeTouch(n *Inode, atime bool) {
	if atime {
		return // the kernel keeps atime for reads of the backing file
	}
	if fs.ensureDataLocked(n) == nil {
		var now time.Time
		fs.store.SetTimes(n.ino, nil, &now)
	}
}

// SetOpenedPath records the path n was last opened by, for the callers
// that must name the file behind an fd (readlink of /proc/PID/fd/N).
func (fs *FS) SetOpenedPath(n *Inode, path string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.opened = path
}

// OpenedPath returns what SetOpenedPath recorded.
func (fs *FS) OpenedPath(n *Inode) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opened
}
