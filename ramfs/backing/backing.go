// Package backing is ramfs's Store in kernel memory: one file per regular
// inode in a private tmpfs that fsshim mounts for itself and that no path
// of the program's reaches. A program's fd onto a ramfs file is an fd onto
// its backing file (ramfs.FS.OpenData), so the kernel serves the file's
// reads, writes, offsets, mmap and locks; the tmpfs's size= makes a full
// mount fail writes with a real ENOSPC, and its pages are the kernel's to
// account and to give back when a file is removed.
//
// Where fsshim may mount (root), it makes each tmpfs itself with the new
// mount API (fsopen, fsconfig, fsmount): the mount fsmount returns is in no
// mount table, and fsshim keeps a directory fd on its root. Elsewhere the
// tmpfs is mounted by a short-lived helper (fsshim itself, started again
// in a user and mount namespace of its own): it mounts one tmpfs per mount
// of the program, opens each root, detaches the mounts (MNT_DETACH: they
// stay alive through the open fds and are in no mount table any more),
// passes the directory fds back over a socket and exits. fsshim then holds one fd per mount, none per
// file: a backing file is reached by openat on that fd with its inode
// number as name.
package backing

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// Dir is a private tmpfs holding backing files. It implements
// ramfs.Store. Its methods are safe for concurrent use (each works on
// fds of its own).
type Dir struct {
	fd  int
	dev uint64
}

var _ ramfs.Store = (*Dir)(nil)

// newDir takes ownership of fd, a directory on a tmpfs.
func newDir(fd int) (*Dir, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &Dir{fd: fd, dev: st.Dev}, nil
}

// Dev is the device number of the tmpfs: the st_dev of every backing file.
func (d *Dir) Dev() uint64 { return d.dev }

// Close gives up the fsshim's fd on the tmpfs; backing files stay alive
// while fds onto them are open.
func (d *Dir) Close() error { return unix.Close(d.fd) }

func name(n uint64) string { return strconv.FormatUint(n, 10) }

// file is an open backing file, a bare fd: most live for one call (an
// open's fd goes to the program, fsshim's copy is closed once it is
// installed), and an *os.File would cost an fcntl to make, a finalizer
// and the poller's bookkeeping to close.
type file int

var _ ramfs.DataFile = file(0)

// Fd implements ramfs.DataFile.
func (f file) Fd() uintptr { return uintptr(f) }

// Close implements ramfs.DataFile.
func (f file) Close() error { return unix.Close(int(f)) }

// ReadAt implements ramfs.DataFile (io.ReaderAt: a short count comes
// with an error, io.EOF at the end of the file).
func (f file) ReadAt(p []byte, off int64) (int, error) {
	n, err := full(unix.Pread, int(f), p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (d *Dir) open(n uint64, flags int) (int, error) { return d.openMode(n, flags, 0) }

func (d *Dir) openMode(n uint64, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(d.fd, name(n), flags|unix.O_CLOEXEC, mode)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// Create implements ramfs.Store.
func (d *Dir) Create(n uint64, mode uint32, flags int) (uint64, ramfs.DataFile, error) {
	flags = flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW) | unix.O_CREAT | unix.O_EXCL
	fd, err := d.openMode(n, flags, 0o600)
	if err == unix.EEXIST {
		// A file of an inode that was freed and taken up again
		// (ramfs.FS.Ref of a released inode): start empty.
		unix.Unlinkat(d.fd, name(n), 0)
		fd, err = d.openMode(n, flags, 0o600)
	}
	if err != nil {
		return 0, nil, err
	}
	fail := func(err error) (uint64, ramfs.DataFile, error) {
		unix.Close(fd)
		unix.Unlinkat(d.fd, name(n), 0)
		return 0, nil, err
	}
	if mode&ramfs.KillPrivBits != 0 {
		if err := unix.Fchmod(fd, backingMode(mode)); err != nil {
			return fail(err)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail(err)
	}
	return st.Ino, file(fd), nil
}

// Remove implements ramfs.Store.
func (d *Dir) Remove(n uint64) error { return unix.Unlinkat(d.fd, name(n), 0) }

// Busy implements ramfs.Store: the kernel grants a write lease only on a
// file no one else has open (for reading or writing, or mapped through an
// fd since closed), so a lease it grants to a fresh fd of fsshim's says
// no program holds the file.
func (d *Dir) Busy(n uint64) bool {
	fd, err := d.open(n, unix.O_RDONLY|unix.O_NOATIME)
	if err != nil {
		return false // gone
	}
	defer unix.Close(fd)
	// The lease goes with the fd, closed on return. Where leases are
	// off (fs.leases-enable = 0: EINVAL) the answer is "not busy": an
	// unlinked file a program still holds then loses its ramfs inode
	// (fstat of the fd answers from the backing file) rather than every
	// removed file staying.
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_WRLCK)
	return err == unix.EAGAIN || err == unix.EBUSY
}

// Open implements ramfs.Store.
func (d *Dir) Open(n uint64, flags int) (ramfs.DataFile, error) {
	fd, err := d.open(n, flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW))
	if err != nil {
		return nil, err
	}
	return file(fd), nil
}

// ReadAt implements ramfs.Store.
func (d *Dir) ReadAt(n uint64, p []byte, off int64, noatime bool) (int, error) {
	flags := unix.O_RDONLY
	if noatime {
		flags |= unix.O_NOATIME
	}
	fd, err := d.open(n, flags)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return full(unix.Pread, fd, p, off)
}

// WriteAt implements ramfs.Store.
func (d *Dir) WriteAt(n uint64, p []byte, off int64) (int, error) {
	fd, err := d.open(n, unix.O_WRONLY)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return full(unix.Pwrite, fd, p, off)
}

// Truncate implements ramfs.Store.
func (d *Dir) Truncate(n uint64, size int64) error {
	fd, err := d.open(n, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Ftruncate(fd, size)
}

// Allocate implements ramfs.Store.
func (d *Dir) Allocate(n uint64, mode uint32, off, length int64) error {
	fd, err := d.open(n, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fallocate(fd, mode, off, length)
}

// Seek implements ramfs.Store.
func (d *Dir) Seek(n uint64, off int64, whence int) (int64, error) {
	fd, err := d.open(n, unix.O_RDONLY|unix.O_NOATIME)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.Seek(fd, off, whence)
}

func fromTimespec(ts unix.Timespec) time.Time { return time.Unix(ts.Sec, ts.Nsec) }

// Stat implements ramfs.Store.
func (d *Dir) Stat(n uint64) (ramfs.StoreAttr, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name(n), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return ramfs.StoreAttr{}, err
	}
	return ramfs.StoreAttr{
		Mode: st.Mode,
		Size: st.Size, Blocks: st.Blocks,
		Atime: fromTimespec(st.Atim), Mtime: fromTimespec(st.Mtim), Ctime: fromTimespec(st.Ctim),
	}, nil
}

func timespec(t *time.Time) unix.Timespec {
	switch {
	case t == nil:
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	case t.IsZero():
		return unix.Timespec{Nsec: unix.UTIME_NOW}
	}
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// SetTimes implements ramfs.Store.
func (d *Dir) SetTimes(n uint64, atime, mtime *time.Time) error {
	if atime == nil && mtime == nil {
		return nil
	}
	ts := []unix.Timespec{timespec(atime), timespec(mtime)}
	return unix.UtimesNanoAt(d.fd, name(n), ts, unix.AT_SYMLINK_NOFOLLOW)
}

// Touch implements ramfs.Store: a chmod to the mode the file has sets its
// ctime and nothing else.
func (d *Dir) Touch(n uint64, mode uint32) error {
	return unix.Fchmodat(d.fd, name(n), backingMode(mode), 0)
}

// backingMode is the mode of the backing file of an inode with mode m:
// readable and writable by fsshim alone, with m's ramfs.KillPrivBits.
func backingMode(m uint32) uint32 { return 0o600 | m&ramfs.KillPrivBits }

// Used implements ramfs.Store.
func (d *Dir) Used() int64 {
	var st unix.Statfs_t
	if err := unix.Fstatfs(d.fd, &st); err != nil {
		return 0
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// ErrUnavailable is returned (wrapped) when no private tmpfs can be had.
var ErrUnavailable = errors.New("no private tmpfs")

func wrap(err error) error { return fmt.Errorf("%w: %v", ErrUnavailable, err) }

// PlaceholderPrefix begins the name of the directory a placeholder was
// opened on; the program's /proc/PID/fd shows "/fsshim-ID (deleted)".
const PlaceholderPrefix = "fsshim-"

// Placeholder returns a new open file description that stands for an
// emulated directory (or, with opath, an O_PATH description) in a
// program's fd table, so that the kernel answers the calls fsshim does
// not route much as it would: for a directory, a fresh directory of the
// tmpfs, opened and removed at once (read: EISDIR, write: EBADF); for
// O_PATH, which a transport cannot install (SECCOMP_IOCTL_NOTIF_ADDFD
// takes no O_PATH file), a removed empty file opened with access mode 3,
// neither for reading nor for writing (read, write, sendfile, fallocate:
// EBADF, as on O_PATH). No two placeholders share a file.
func (d *Dir) Placeholder(id uint64, opath bool) (ramfs.DataFile, error) {
	nm := PlaceholderPrefix + strconv.FormatUint(id, 10)
	var fd int
	var err error
	if opath {
		fd, err = unix.Openat(d.fd, nm, unix.O_RDWR|unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == nil {
			unix.Unlinkat(d.fd, nm, 0)
		}
	} else {
		if err := unix.Mkdirat(d.fd, nm, 0o500); err != nil {
			return nil, err
		}
		fd, err = unix.Openat(d.fd, nm, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Unlinkat(d.fd, nm, unix.AT_REMOVEDIR)
	}
	if err != nil {
		return nil, err
	}
	return file(fd), nil
}

// full runs pread or pwrite until p is done, EOF (a read of 0) or an
// error; an error after some bytes ends with the count so far.
func full(op func(int, []byte, int64) (int, error), fd int, p []byte, off int64) (int, error) {
	total := 0
	for total < len(p) {
		k, err := op(fd, p[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if total > 0 {
				break
			}
			return 0, err
		}
		if k == 0 {
			break
		}
		total += k
	}
	return total, nil
}
