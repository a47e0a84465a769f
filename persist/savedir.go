package persist

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	return saveDir(fs, root, hostDir, true, nil)
}

// saveDir is SaveDir reading from src; exchange false skips
// RENAME_EXCHANGE, to test the other way of swapping. The destination is
// refused if guard protects it, checked on the parent directory the save
// has open and works in: the parent is opened once, and the temporary
// copy, the swap and the removal of the previous tree are all done
// relative to it, so that a symlink put in place of the parent meanwhile
// cannot send them elsewhere.
func saveDir(src source, root *ramfs.Inode, hostDir string, exchange bool, guard Guard) error {
	dst, _, err := destination(hostDir, true)
	if err != nil {
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	at, exists, err := openParent(dst, true, guard, hostDir)
	if err != nil {
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	defer at.close()
	tmp, err := at.mkdirTemp(at.base + ".fsshim-tmp-")
	if err != nil {
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	skipped, err := at.writeTree(src, root, tmp)
	if err != nil {
		removeTree(at.proc(tmp))
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	var xe error
	if len(skipped) > 0 {
		xe = &XattrError{Dest: hostDir, Skipped: skipped}
	}
	if err := at.swapDir(tmp, exists, exchange); err != nil {
		var ce *CleanupError
		if errors.As(err, &ce) {
			return errors.Join(err, xe)
		}
		return fmt.Errorf("persist: save %s: %w", hostDir, err)
	}
	return xe
}

// parentDir is the open directory a save writes in: the parent of its
// destination.
type parentDir struct {
	fd   int
	dir  string // its path, for messages
	base string // the destination's name in it
}

// openParent opens the parent directory of dst (a path from destination)
// and checks, on the open directory, that guard allows writing dst there
// and that dst is still what it should be: absent, or a directory (dir)
// or a regular file (!dir), not a symlink put there since destination
// looked.
func openParent(dst string, dir bool, guard Guard, shown string) (*parentDir, bool, error) {
	p := &parentDir{dir: filepath.Dir(dst), base: filepath.Base(dst)}
	fd, err := unix.Open(p.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, &iofs.PathError{Op: "open", Path: p.dir, Err: err}
	}
	p.fd = fd
	if err := guard.checkAt(fd, p.base, shown); err != nil {
		p.close()
		return nil, false, err
	}
	var st unix.Stat_t
	err = unix.Fstatat(fd, p.base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return p, false, nil
	case err != nil:
		p.close()
		return nil, false, &iofs.PathError{Op: "stat", Path: dst, Err: err}
	case dir && st.Mode&unix.S_IFMT == unix.S_IFDIR, !dir && st.Mode&unix.S_IFMT == unix.S_IFREG:
		return p, true, nil
	}
	p.close()
	return nil, false, fmt.Errorf("%s changed during the save (now of mode %o)", dst, st.Mode)
}

func (p *parentDir) close() { unix.Close(p.fd) }

// path is the name of an entry of p, for messages.
func (p *parentDir) path(name string) string { return filepath.Join(p.dir, name) }

// proc is a path that reaches the entry name of p through p's descriptor.
func (p *parentDir) proc(name string) string {
	return "/proc/self/fd/" + strconv.Itoa(p.fd) + "/" + name
}

// mkdirTemp makes a new directory in p named prefix and a random number.
func (p *parentDir) mkdirTemp(prefix string) (string, error) {
	for range 10000 {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		err := unix.Mkdirat(p.fd, name, 0o700)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return "", &iofs.PathError{Op: "mkdir", Path: p.path(name), Err: err}
		}
	}
	return "", &iofs.PathError{Op: "mkdirtemp", Path: p.path(prefix + "*"), Err: iofs.ErrExist}
}

// writeTree is writeTree into the new directory name of p, reached
// through p's descriptor; errors name it by its path.
func (p *parentDir) writeTree(src source, root *ramfs.Inode, name string) ([]SkippedXattr, error) {
	top := p.proc(name)
	skipped, err := writeTree(src, root, top)
	return skipped, renamePaths(err, top, p.path(name))
}

// renamePaths replaces the prefix from by to in the paths err names.
func renamePaths(err error, from, to string) error {
	fix := func(s string) string {
		if s == from || strings.HasPrefix(s, from+"/") {
			return to + s[len(from):]
		}
		return s
	}
	var pe *iofs.PathError
	if errors.As(err, &pe) {
		pe.Path = fix(pe.Path)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		le.Old, le.New = fix(le.Old), fix(le.New)
	}
	return err
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

// swapDir puts the finished copy tmp, an entry of p, in the place of the
// destination and removes the previous tree. Until the swap, any failure
// removes tmp and leaves the destination.
func (p *parentDir) swapDir(tmp string, exists, exchange bool) error {
	if !exists {
		// RENAME_NOREPLACE: a directory that appeared meanwhile is not
		// replaced (nor would rename(2) replace one that is not empty).
		if err := p.renameNoReplace(tmp, p.base); err != nil {
			removeTree(p.proc(tmp))
			return &os.LinkError{Op: "rename", Old: p.path(tmp), New: p.path(p.base), Err: err}
		}
		return p.sync()
	}
	old := ""
	if exchange {
		err := unix.Renameat2(p.fd, tmp, p.fd, p.base, unix.RENAME_EXCHANGE)
		switch {
		case err == nil:
			old = tmp // the previous tree now has the temporary name
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
			// The file system cannot exchange: rename twice.
		default:
			removeTree(p.proc(tmp))
			return &os.LinkError{Op: "renameat2 RENAME_EXCHANGE", Old: p.path(tmp), New: p.path(p.base), Err: err}
		}
	}
	if old == "" {
		backup, err := p.mkdirTemp(p.base + ".fsshim-old-")
		if err != nil {
			removeTree(p.proc(tmp))
			return err
		}
		// Renaming a directory over an empty one replaces it (rename(2)).
		if err := unix.Renameat(p.fd, p.base, p.fd, backup); err != nil {
			unix.Unlinkat(p.fd, backup, unix.AT_REMOVEDIR)
			removeTree(p.proc(tmp))
			return &os.LinkError{Op: "rename", Old: p.path(p.base), New: p.path(backup), Err: err}
		}
		if err := p.renameNoReplace(tmp, p.base); err != nil {
			err = &os.LinkError{Op: "rename", Old: p.path(tmp), New: p.path(p.base), Err: err}
			if rerr := unix.Renameat(p.fd, backup, p.fd, p.base); rerr != nil {
				return fmt.Errorf("%w; putting the previous tree back failed too (%v): it is at %s, the new one at %s", err, rerr, p.path(backup), p.path(tmp))
			}
			removeTree(p.proc(tmp))
			return err
		}
		old = backup
	}
	if err := p.sync(); err != nil {
		return fmt.Errorf("the new tree is in place but its rename may not be durable (%w); the previous tree is kept at %s", err, p.path(old))
	}
	if err := removeTree(p.proc(old)); err != nil {
		return &CleanupError{Path: p.path(old), Err: renamePaths(err, strings.TrimSuffix(p.proc(""), "/"), p.dir)}
	}
	return nil
}

// renameNoReplace renames the entry from of p to to, also of p, unless to
// exists. Where the file system cannot say so (RENAME_NOREPLACE), it is
// rename(2), which still does not replace a directory that is not empty.
func (p *parentDir) renameNoReplace(from, to string) error {
	err := unix.Renameat2(p.fd, from, p.fd, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		err = unix.Renameat(p.fd, from, p.fd, to)
	}
	return err
}

// sync fsyncs p, making the renames in it durable.
func (p *parentDir) sync() error {
	if err := unix.Fsync(p.fd); err != nil {
		return &iofs.PathError{Op: "fsync", Path: p.dir, Err: err}
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
