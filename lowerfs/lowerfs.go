// Package lowerfs is the lower layer of an fsshim overlay mount: a host
// directory read through relative paths, never written. It implements
// emul.Lower with host syscalls, which emul itself never makes.
//
// Every path is resolved from an O_PATH fd on the directory with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS):
// a symlink in the lower tree is reported as a symlink (emul follows it in
// its own walk) and can never lead the resolution out of the directory,
// nor can "..". On kernels without openat2 (before 5.6) paths are walked a
// component at a time with openat(O_PATH | O_NOFOLLOW), which refuses the
// same things. Nothing is ever opened for writing.
package lowerfs

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/ramfs"
)

// Dir is a host directory serving as a lower layer.
type Dir struct {
	root int
	path string
}

var _ emul.Lower = (*Dir)(nil)

// noOpenat2 is set once openat2 answered ENOSYS.
var noOpenat2 atomic.Bool

// Open opens the host directory path as a lower layer.
func Open(path string) (*Dir, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &Dir{root: fd, path: path}, nil
}

// Path is the host directory's path.
func (d *Dir) Path() string { return d.path }

// Close closes the directory.
func (d *Dir) Close() error { return unix.Close(d.root) }

// openRel opens rel beneath the root with flags (O_NOFOLLOW and O_CLOEXEC
// added).
func (d *Dir) openRel(rel string, flags int) (int, error) {
	if err := checkRel(rel); err != nil {
		return -1, err
	}
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if !noOpenat2.Load() {
		how := unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		for {
			fd, err := unix.Openat2(d.root, rel, &how)
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			if err != unix.ENOSYS {
				return fd, errnoOf(err)
			}
			noOpenat2.Store(true)
			break
		}
	}
	return d.walkOpen(rel, flags)
}

// walkOpen is openRel without openat2: every directory on the way is
// opened O_PATH|O_NOFOLLOW from the one before, so a symlink stops the
// walk (ENOTDIR when it is not last).
func (d *Dir) walkOpen(rel string, flags int) (int, error) {
	if rel == "." {
		return unix.Openat(d.root, ".", flags, 0)
	}
	comps := strings.Split(rel, "/")
	dir := d.root
	for i, c := range comps {
		if i == len(comps)-1 {
			fd, err := unix.Openat(dir, c, flags, 0)
			if dir != d.root {
				unix.Close(dir)
			}
			return fd, errnoOf(err)
		}
		next, err := unix.Openat(dir, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if dir != d.root {
			unix.Close(dir)
		}
		if err != nil {
			if err == unix.ELOOP {
				err = unix.ENOTDIR
			}
			return -1, errnoOf(err)
		}
		dir = next
	}
	return -1, unix.ENOENT
}

// checkRel refuses paths emul never gives: absolute, unclean, with ".."
// components.
func checkRel(rel string) error {
	if rel == "." {
		return nil
	}
	if rel == "" || strings.HasPrefix(rel, "/") || strings.HasSuffix(rel, "/") {
		return unix.EINVAL
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." || c == ".." {
			return unix.EINVAL
		}
	}
	return nil
}

// Lstat describes rel without following a symlink.
func (d *Dir) Lstat(rel string) (emul.LowerAttr, error) {
	fd, err := d.openRel(rel, unix.O_PATH)
	if err != nil {
		return emul.LowerAttr{}, err
	}
	defer unix.Close(fd)
	return statFD(fd)
}

func statFD(fd int) (emul.LowerAttr, error) {
	var sx unix.Statx_t
	const mask = unix.STATX_BASIC_STATS | unix.STATX_BTIME
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, mask, &sx); err != nil {
		return emul.LowerAttr{}, errnoOf(err)
	}
	ts := func(t unix.StatxTimestamp) time.Time { return time.Unix(t.Sec, int64(t.Nsec)) }
	a := emul.LowerAttr{
		Attr: ramfs.Attr{
			Ino:     sx.Ino,
			Mode:    uint32(sx.Mode),
			Nlink:   sx.Nlink,
			Uid:     sx.Uid,
			Gid:     sx.Gid,
			Rdev:    encodeDev(sx.Rdev_major, sx.Rdev_minor),
			Size:    int64(sx.Size),
			Blocks:  int64(sx.Blocks),
			Blksize: int32(sx.Blksize),
			Atime:   ts(sx.Atime),
			Mtime:   ts(sx.Mtime),
			Ctime:   ts(sx.Ctime),
		},
		DevMajor: sx.Dev_major,
		DevMinor: sx.Dev_minor,
	}
	a.Btime = a.Ctime
	if sx.Mask&unix.STATX_BTIME != 0 {
		a.Btime = ts(sx.Btime)
	}
	return a, nil
}

// encodeDev is the kernel's new_encode_dev, the form stat(2) reports.
func encodeDev(major, minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(major&0xfff)<<8 | uint64(minor&^0xff)<<12
}

// ReadDir lists the directory rel.
func (d *Dir) ReadDir(rel string) ([]emul.LowerEntry, error) {
	fd, err := d.openRel(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []emul.LowerEntry
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, errnoOf(err)
		}
		if n == 0 {
			break
		}
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(uint16(b[16]) | uint16(b[17])<<8)
			if reclen < 19 || reclen > len(b) {
				return nil, unix.EIO
			}
			ino := uint64(0)
			for i := 7; i >= 0; i-- {
				ino = ino<<8 | uint64(b[i])
			}
			typ := b[18]
			name := b[19:reclen]
			if i := indexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			s := string(name)
			if s == "." || s == ".." {
				continue
			}
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if err := unix.Fstatat(fd, s, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
					typ = dtype(st.Mode)
				}
			}
			out = append(out, emul.LowerEntry{Name: s, Ino: ino, Type: typ})
		}
	}
	return out, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func dtype(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return unix.DT_REG
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFLNK:
		return unix.DT_LNK
	case unix.S_IFIFO:
		return unix.DT_FIFO
	case unix.S_IFSOCK:
		return unix.DT_SOCK
	case unix.S_IFCHR:
		return unix.DT_CHR
	case unix.S_IFBLK:
		return unix.DT_BLK
	}
	return unix.DT_UNKNOWN
}

// Readlink returns the target of the symlink rel.
func (d *Dir) Readlink(rel string) (string, error) {
	fd, err := d.openRel(rel, unix.O_PATH)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			if err == unix.ENOENT {
				err = unix.EINVAL // not a symlink
			}
			return "", errnoOf(err)
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Open opens rel read-only with the extra flags (O_PATH alone also opens
// a symlink itself).
func (d *Dir) Open(rel string, flags int) (emul.LowerFile, error) {
	const allowed = unix.O_PATH | unix.O_NONBLOCK | unix.O_APPEND | unix.O_DIRECT | unix.O_NOATIME |
		unix.O_DSYNC | unix.O_SYNC | unix.O_NOCTTY
	if flags&^allowed != 0 {
		return nil, unix.EINVAL
	}
	fd, err := d.openRel(rel, flags|unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	return &File{fd: fd}, nil
}

// File is an open lower file.
type File struct {
	fd     int
	closed bool
}

// ReadAt follows io.ReaderAt.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	total := 0
	for total < len(p) {
		n, err := unix.Pread(f.fd, p[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, errnoOf(err)
		}
		if n == 0 {
			return total, io.EOF
		}
		total += n
	}
	return total, nil
}

// Fd is the host fd.
func (f *File) Fd() uintptr { return uintptr(f.fd) }

// Close closes the file.
func (f *File) Close() error {
	if f.closed {
		return unix.EBADF
	}
	f.closed = true
	return unix.Close(f.fd)
}

// errnoOf keeps a syscall.Errno, and makes anything else EIO.
func errnoOf(err error) error {
	if err == nil {
		return nil
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
