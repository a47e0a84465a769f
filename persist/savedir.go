package persist

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// SaveDir writes the tree under root to the host directory hostDir,
// atomically: the copy is built in a new sibling directory
// hostDir+".fsshim-tmp-NNNN", every file and directory of it is fsynced,
// and it is swapped into place with renameat2(RENAME_EXCHANGE) (or, where
// the host file system lacks that, by renaming the previous hostDir to
// hostDir+".fsshim-old-NNNN" and the copy to hostDir); then the parent is
// fsynced and the previous tree removed. On an error before the swap the
// previous hostDir is left as it was and the temporary copy is removed.
//
// hostDir takes root's mode and times; owners are copied only when running
// as root (euid 0). hostDir need not exist, but its parent must; if it is a
// symlink, the directory it points to is replaced and the link kept. Holes
// of the FS, and aligned 4096-byte blocks of zeros, are left as holes.
// Character and block devices and sockets are not copied. Extended
// attributes are set with lsetxattr; those the host refuses (trusted.*
// when not root, any on a host file system without them, values too large
// for it...) are left out without stopping the save, which then returns an
// *XattrError listing them: the new tree, data and all, is in place.
//
// If only the removal of the previous tree fails, the error is a
// *CleanupError: the new tree is in place.
func SaveDir(fs *ramfs.FS, root *ramfs.Inode, hostDir string) error {
	return saveDir(fs, root, hostDir, true)
}

// saveDir is SaveDir reading from src; exchange false skips
// RENAME_EXCHANGE, to test the other way of swapping.
func saveDir(src source, root *ramfs.Inode, hostDir string, exchange bool) error {
	dst, exists, err := destination(hostDir, true)
	if err != nil {
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), filepath.Base(dst)+".fsshim-tmp-")
	if err != nil {
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	skipped, err := writeTree(src, root, tmp)
	if err != nil {
		removeTree(tmp)
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	var xe error
	if len(skipped) > 0 {
		xe = &XattrError{Dest: hostDir, Skipped: skipped}
	}
	if err := swapDir(tmp, dst, exists, exchange); err != nil {
		var ce *CleanupError
		if errors.As(err, &ce) {
			return errors.Join(err, xe)
		}
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	return xe
}

// destination resolves the path a save replaces: absolute, through a
// symlink in the last component. It must be a directory (dir) or a regular
// file (!dir) if it exists.
func destination(p string, dir bool) (dst string, exists bool, err error) {
	dst, err = filepath.Abs(p)
	if err != nil {
		return "", false, err
	}
	st, err := os.Lstat(dst)
	if errors.Is(err, iofs.ErrNotExist) {
		return dst, false, nil
	}
	if err != nil {
		return "", false, err
	}
	if st.Mode()&iofs.ModeSymlink != 0 {
		if dst, err = filepath.EvalSymlinks(dst); err != nil {
			return "", false, err // a dangling link: refuse rather than guess
		}
		if st, err = os.Lstat(dst); err != nil {
			return "", false, err
		}
	}
	switch {
	case dst == "/":
		return "", false, errors.New("the root directory cannot be replaced")
	case dir && !st.IsDir():
		return "", false, &iofs.PathError{Op: "save", Path: dst, Err: syscall.ENOTDIR}
	case !dir && !st.Mode().IsRegular():
		return "", false, fmt.Errorf("%s exists and is not a regular file", dst)
	}
	return dst, true, nil
}

// writeTree copies the tree under root into the empty directory top. It
// returns the extended attributes the host refused.
func writeTree(src source, root *ramfs.Inode, top string) ([]SkippedXattr, error) {
	d := &dirWriter{src: src, top: top, chown: os.Geteuid() == 0, buf: make([]byte, bufSize)}
	w := &walker{
		src: src,
		keep: func(typ uint32) bool {
			switch typ {
			case syscall.S_IFDIR, syscall.S_IFREG, syscall.S_IFLNK, syscall.S_IFIFO:
				return true
			}
			return false
		},
		pre:  d.pre,
		post: func(e *entry) error { d.dirs = append(d.dirs, e); return nil },
	}
	if err := w.walk(root); err != nil {
		return nil, err
	}
	// Directories get their attributes last, children before parents, so
	// that a read-only directory does not stop the copy (when not root) and
	// adding entries does not change a directory's mtime afterwards.
	for _, e := range d.dirs {
		if err := d.finishDir(e); err != nil {
			return nil, err
		}
	}
	return d.skipped, nil
}

type dirWriter struct {
	src   source
	top   string
	chown bool
	buf   []byte
	dirs  []*entry // in post-order
	// skipped are the extended attributes the host refused.
	skipped []SkippedXattr
}

func (d *dirWriter) host(rel string) string {
	return filepath.Join(d.top, filepath.FromSlash(rel))
}

func (d *dirWriter) pre(e *entry) error {
	p := d.host(e.rel)
	if e.first != "" {
		return os.Link(d.host(e.first), p)
	}
	switch e.typ() {
	case syscall.S_IFDIR:
		if e.rel == "." {
			return nil
		}
		return os.Mkdir(p, 0o700)
	case syscall.S_IFREG:
		return d.file(e, p)
	case syscall.S_IFLNK:
		if err := os.Symlink(e.target, p); err != nil {
			return err
		}
	case syscall.S_IFIFO:
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return &iofs.PathError{Op: "mkfifo", Path: p, Err: err}
		}
	}
	return d.attrs(p, e)
}

// file writes a regular file: its data ranges, skipping zero blocks, then
// its size, attributes and an fsync.
func (d *dirWriter) file(e *entry, p string) (err error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	write := func(b []byte, off int64) error {
		_, err := f.WriteAt(b, off)
		return err
	}
	err = readData(d.src, e, d.buf, func(b []byte, off int64) error {
		return writeSparse(b, off, write)
	})
	if err != nil {
		return err
	}
	if err := f.Truncate(e.a.Size); err != nil {
		return err
	}
	if err := d.attrs(p, e); err != nil {
		return err
	}
	return f.Sync()
}

// finishDir sets a directory's attributes and fsyncs it. It opens the
// directory before the chmod, which could make it unreadable.
func (d *dirWriter) finishDir(e *entry) (err error) {
	p := d.host(e.rel)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := d.attrs(p, e); err != nil {
		return err
	}
	return f.Sync()
}

// attrs sets owner (as root), extended attributes, mode (not of symlinks)
// and times. The owner comes first because chown clears setuid and setgid
// (and security.capability); the attributes come before the mode, which
// could take away the write permission user.* needs when not root.
func (d *dirWriter) attrs(p string, e *entry) error {
	a := e.a
	link := a.Mode&syscall.S_IFMT == syscall.S_IFLNK
	if d.chown {
		if err := unix.Lchown(p, int(a.Uid), int(a.Gid)); err != nil {
			return &iofs.PathError{Op: "lchown", Path: p, Err: err}
		}
	}
	if err := d.xattrs(p, e); err != nil {
		return err
	}
	if !link {
		if err := unix.Chmod(p, a.Mode&0o7777); err != nil {
			return &iofs.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	flags := 0
	if link {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	ts := []unix.Timespec{
		{Sec: a.Atime.Unix(), Nsec: int64(a.Atime.Nanosecond())},
		{Sec: a.Mtime.Unix(), Nsec: int64(a.Mtime.Nanosecond())},
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, flags); err != nil {
		return &iofs.PathError{Op: "utimensat", Path: p, Err: err}
	}
	return nil
}

// xattrs sets the extended attributes of e on the host file p. One the
// host refuses is left out and recorded in d.skipped; the save goes on.
func (d *dirWriter) xattrs(p string, e *entry) error {
	xs, err := readXattrs(d.src, e)
	if err != nil {
		return err
	}
	for _, x := range xs {
		if err := unix.Lsetxattr(p, x.name, x.value, 0); err != nil {
			d.skipped = append(d.skipped, SkippedXattr{Path: e.rel, Name: x.name, Err: err})
		}
	}
	return nil
}

// swapDir puts the finished copy tmp in the place of dst and removes the
// previous tree. Until the swap, any failure removes tmp and leaves dst.
func swapDir(tmp, dst string, exists, exchange bool) error {
	parent := filepath.Dir(dst)
	if !exists {
		if err := os.Rename(tmp, dst); err != nil {
			removeTree(tmp)
			return err
		}
		return syncDir(parent)
	}
	old := ""
	if exchange {
		err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
		switch {
		case err == nil:
			old = tmp // the previous tree now has the temporary name
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
			// The file system cannot exchange: rename twice.
		default:
			removeTree(tmp)
			return &os.LinkError{Op: "renameat2 RENAME_EXCHANGE", Old: tmp, New: dst, Err: err}
		}
	}
	if old == "" {
		backup, err := os.MkdirTemp(parent, filepath.Base(dst)+".fsshim-old-")
		if err != nil {
			removeTree(tmp)
			return err
		}
		// Renaming a directory over an empty one replaces it (rename(2);
		// os.Rename refuses).
		if err := unix.Rename(dst, backup); err != nil {
			os.Remove(backup)
			removeTree(tmp)
			return &os.LinkError{Op: "rename", Old: dst, New: backup, Err: err}
		}
		if err := os.Rename(tmp, dst); err != nil {
			if rerr := unix.Rename(backup, dst); rerr != nil {
				return fmt.Errorf("%w; putting the previous tree back failed too (%v): it is at %s, the new one at %s", err, rerr, backup, tmp)
			}
			removeTree(tmp)
			return err
		}
		old = backup
	}
	if err := syncDir(parent); err != nil {
		return fmt.Errorf("the new tree is in place but its rename may not be durable (%w); the previous tree is kept at %s", err, old)
	}
	if err := removeTree(old); err != nil {
		return &CleanupError{Path: old, Err: err}
	}
	return nil
}

// removeTree removes a tree the save made. If that fails (a directory
// without write permission, when not root), it makes every directory
// writable and tries again.
func removeTree(p string) error {
	if os.RemoveAll(p) == nil {
		return nil
	}
	filepath.WalkDir(p, func(q string, de iofs.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// syncDir fsyncs a directory, making the renames in it durable.
func syncDir(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
