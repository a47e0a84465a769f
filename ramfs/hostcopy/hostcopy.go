// Package hostcopy copies directory trees between the host file system and
// a ramfs.FS: regular files (holes kept), directories, symlinks, FIFOs and
// hard links, with modes, owners and times. Sockets and device nodes are
// skipped without an error. CopyIn also copies extended attributes (see
// CopyIn); CopyOut does not.
//
// Errors of the FS are returned as *fs.PathError wrapping the errno
// (errors.Is(err, syscall.ENOSPC) works); host errors are returned as the os
// package reports them.
package hostcopy

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"fsshim/ramfs"
)

// Lseek whence values for holes (SEEK_DATA, SEEK_HOLE).
const (
	seekData = 3
	seekHole = 4
)

const bufSize = 256 << 10

// CopyIn copies the tree under hostDir into dstDir: the entries of hostDir
// become entries of dstDir, and dstDir takes hostDir's mode, owner and
// times. Hard links are kept by host device and inode number. It stops at
// the first error, for example ENOSPC when the FS is full.
//
// Extended attributes of directories, regular files and FIFOs are copied
// when they are in a namespace ramfs serves (XattrServed): those the host
// lists and lets this process read (trusted.* only for root). A host file
// system without extended attributes gives none. Those of symlinks are not
// read: package syscall has no llistxattr, and user.* cannot be on a
// symlink anyway.
func CopyIn(dst *ramfs.FS, dstDir *ramfs.Inode, hostDir string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(hostDir, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: hostDir, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return &fs.PathError{Op: "copyin", Path: hostDir, Err: syscall.ENOTDIR}
	}
	c := &copyIn{fs: dst, links: make(map[devIno]*ramfs.Inode), buf: make([]byte, bufSize)}
	if err := c.dir(dstDir, hostDir); err != nil {
		return err
	}
	return c.attrs(dstDir, hostDir, &st)
}

type devIno struct{ dev, ino uint64 }

type copyIn struct {
	fs    *ramfs.FS
	links map[devIno]*ramfs.Inode
	buf   []byte
}

func (c *copyIn) dir(dir *ramfs.Inode, hostDir string) error {
	ents, err := os.ReadDir(hostDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := c.entry(dir, e.Name(), filepath.Join(hostDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (c *copyIn) entry(dir *ramfs.Inode, name, p string) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	typ := st.Mode & syscall.S_IFMT
	switch typ {
	case syscall.S_IFDIR, syscall.S_IFREG, syscall.S_IFLNK, syscall.S_IFIFO:
	default:
		return nil // sockets and devices
	}
	key := devIno{uint64(st.Dev), st.Ino}
	if typ != syscall.S_IFDIR && st.Nlink > 1 {
		if n, ok := c.links[key]; ok {
			return fsErr("link", p, c.fs.Link(dir, name, n))
		}
	}
	var n *ramfs.Inode
	var err error
	switch typ {
	case syscall.S_IFDIR:
		n, err = c.fs.Mkdir(dir, name, st.Mode&0o7777, st.Uid, st.Gid)
		if err == nil {
			err = c.dir(n, p)
		}
	case syscall.S_IFREG:
		n, err = c.fs.Create(dir, name, st.Mode&0o7777, st.Uid, st.Gid)
		if err == nil {
			err = c.data(n, p, st.Size)
		}
	case syscall.S_IFLNK:
		var target string
		if target, err = os.Readlink(p); err != nil {
			return err
		}
		n, err = c.fs.Symlink(dir, name, target, st.Uid, st.Gid)
	case syscall.S_IFIFO:
		n, err = c.fs.Mknod(dir, name, st.Mode&(syscall.S_IFMT|0o7777), 0, st.Uid, st.Gid)
	}
	if err != nil {
		return fsErr("copyin", p, err)
	}
	if typ != syscall.S_IFDIR && st.Nlink > 1 {
		c.links[key] = n
	}
	return c.attrs(n, p, &st)
}

// data copies the data of a host file, skipping its holes when the host
// supports SEEK_DATA.
func (c *copyIn) data(n *ramfs.Inode, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	for off := int64(0); off < size; {
		start, err := f.Seek(off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break
		}
		end := size
		if err != nil {
			start = off // no SEEK_DATA: copy everything
		} else if end, err = f.Seek(start, seekHole); err != nil {
			return err
		}
		if err := c.copyRange(n, f, p, start, end); err != nil {
			return err
		}
		off = end
	}
	return fsErr("truncate", p, c.fs.Truncate(n, size))
}

func (c *copyIn) copyRange(n *ramfs.Inode, f *os.File, p string, off, end int64) error {
	for off < end {
		k, err := f.ReadAt(c.buf[:min(int64(len(c.buf)), end-off)], off)
		if err != nil && err != io.EOF {
			return err
		}
		if k == 0 {
			return nil // the host file shrank
		}
		for chunk := c.buf[:k]; len(chunk) > 0; {
			w, err := c.fs.WriteAt(n, chunk, off)
			if err != nil {
				return fsErr("write", p, err)
			}
			chunk = chunk[w:]
			off += int64(w)
		}
	}
	return nil
}

// attrs copies owner, extended attributes, mode and times. Chown comes
// first because it clears setuid and setgid.
func (c *copyIn) attrs(n *ramfs.Inode, p string, st *syscall.Stat_t) error {
	if err := c.fs.Chown(n, int64(st.Uid), int64(st.Gid)); err != nil {
		return fsErr("chown", p, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		if err := c.xattrs(n, p); err != nil {
			return err
		}
		if err := c.fs.Chmod(n, st.Mode&0o7777); err != nil {
			return fsErr("chmod", p, err)
		}
	}
	atime := time.Unix(st.Atim.Unix())
	mtime := time.Unix(st.Mtim.Unix())
	return fsErr("utimes", p, c.fs.SetTimes(n, &atime, &mtime))
}

// XattrServed reports whether an extended attribute name is in a
// namespace that fsshim serves, the ones tmpfs has: user., trusted. and
// security. (POSIX ACLs, system.*, are not served).
func XattrServed(name string) bool {
	return strings.HasPrefix(name, "user.") || strings.HasPrefix(name, "trusted.") ||
		strings.HasPrefix(name, "security.")
}

// xattrs copies the extended attributes of the host file p (not a
// symlink) into n.
func (c *copyIn) xattrs(n *ramfs.Inode, p string) error {
	list, err := hostXattr(func(b []byte) (int, error) { return syscall.Listxattr(p, b) })
	if err != nil {
		if errors.Is(err, syscall.EOPNOTSUPP) {
			return nil // the host file system has none
		}
		return &fs.PathError{Op: "listxattr", Path: p, Err: err}
	}
	for name := range strings.SplitSeq(strings.TrimSuffix(string(list), "\x00"), "\x00") {
		if !XattrServed(name) {
			continue
		}
		v, err := hostXattr(func(b []byte) (int, error) { return syscall.Getxattr(p, name, b) })
		switch {
		case errors.Is(err, syscall.ENODATA):
			continue // removed meanwhile
		case err != nil:
			return &fs.PathError{Op: "getxattr " + name, Path: p, Err: err}
		}
		if err := c.fs.SetXattr(n, name, v, 0); err != nil {
			return fsErr("setxattr "+name, p, err)
		}
	}
	return nil
}

// hostXattr calls get, a listxattr or getxattr, with a buffer of the size
// it asks for, again if the value grew meanwhile (ERANGE).
func hostXattr(get func([]byte) (int, error)) ([]byte, error) {
	for {
		size, err := get(nil)
		if err != nil || size == 0 {
			return nil, err
		}
		b := make([]byte, size)
		k, err := get(b)
		if errors.Is(err, syscall.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return b[:k], nil
	}
}

func fsErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: p, Err: err}
}

// CopyOut copies the tree under srcDir into hostDir, which must exist and
// be empty: the entries of srcDir become entries of hostDir, and hostDir
// takes srcDir's mode and times. Owners are copied only when running as
// root; symlink times are not copied (that needs lutimes, which package
// syscall lacks). Reading does not change atimes in the FS.
func CopyOut(src *ramfs.FS, srcDir *ramfs.Inode, hostDir string) error {
	ents, err := os.ReadDir(hostDir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return &fs.PathError{Op: "copyout", Path: hostDir, Err: syscall.ENOTEMPTY}
	}
	c := &copyOut{fs: src, links: make(map[uint64]string), buf: make([]byte, bufSize), root: os.Geteuid() == 0}
	if err := c.dir(srcDir, hostDir); err != nil {
		return err
	}
	return c.attrs(hostDir, src.Getattr(srcDir))
}

type copyOut struct {
	fs    *ramfs.FS
	links map[uint64]string // inode number -> host path of the first copy
	buf   []byte
	root  bool
}

func (c *copyOut) dir(dir *ramfs.Inode, hostDir string) error {
	var names []string
	err := c.fs.ReadDirNoatime(dir, 2, func(name string, _ uint64, _ uint8, _ int64) bool {
		names = append(names, name)
		return true
	})
	if err != nil {
		return fsErr("readdir", hostDir, err)
	}
	for _, name := range names {
		n, err := c.fs.Lookup(dir, name)
		if errors.Is(err, syscall.ENOENT) {
			continue // removed meanwhile
		}
		p := filepath.Join(hostDir, name)
		if err != nil {
			return fsErr("lookup", p, err)
		}
		if err := c.entry(n, p); err != nil {
			return err
		}
	}
	return nil
}

func (c *copyOut) entry(n *ramfs.Inode, p string) error {
	a := c.fs.Getattr(n)
	typ := a.Mode & syscall.S_IFMT
	switch typ {
	case syscall.S_IFDIR, syscall.S_IFREG, syscall.S_IFLNK, syscall.S_IFIFO:
	default:
		return nil // sockets and devices
	}
	if typ != syscall.S_IFDIR && a.Nlink > 1 {
		if first, ok := c.links[a.Ino]; ok {
			return os.Link(first, p)
		}
		c.links[a.Ino] = p
	}
	switch typ {
	case syscall.S_IFDIR:
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		if err := c.dir(n, p); err != nil {
			return err
		}
	case syscall.S_IFREG:
		if err := c.data(n, p, a.Size); err != nil {
			return err
		}
	case syscall.S_IFLNK:
		target, err := c.fs.Readlink(n)
		if err != nil {
			return fsErr("readlink", p, err)
		}
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	case syscall.S_IFIFO:
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			return &fs.PathError{Op: "mkfifo", Path: p, Err: err}
		}
	}
	return c.attrs(p, a)
}

// data writes a file's data ranges and sets its size, so holes stay holes.
func (c *copyOut) data(n *ramfs.Inode, p string, size int64) (err error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	for off := int64(0); off < size; {
		start, err := c.fs.SeekData(n, off)
		if errors.Is(err, syscall.ENXIO) {
			break
		}
		if err != nil {
			return fsErr("seek", p, err)
		}
		end, err := c.fs.SeekHole(n, start)
		if err != nil {
			return fsErr("seek", p, err)
		}
		for start < end {
			k, err := c.fs.ReadAtNoatime(n, c.buf[:min(int64(len(c.buf)), end-start)], start)
			if err != nil {
				return fsErr("read", p, err)
			}
			if k == 0 {
				break // truncated meanwhile
			}
			if _, err := f.WriteAt(c.buf[:k], start); err != nil {
				return err
			}
			start += int64(k)
		}
		off = end
	}
	return f.Truncate(size)
}

func (c *copyOut) attrs(p string, a ramfs.Attr) error {
	if c.root {
		if err := os.Lchown(p, int(a.Uid), int(a.Gid)); err != nil {
			return err
		}
	}
	if a.Mode&syscall.S_IFMT == syscall.S_IFLNK {
		return nil
	}
	if err := syscall.Chmod(p, a.Mode&0o7777); err != nil {
		return &fs.PathError{Op: "chmod", Path: p, Err: err}
	}
	return os.Chtimes(p, a.Atime, a.Mtime)
}
