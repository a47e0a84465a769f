package persist

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	tar "fsshim/persist/internal/tarfmt"
	"fsshim/ramfs"
	"fsshim/ramfs/hostcopy"
)

// SaveTar writes the tree under root to a tar archive at path, gzipped when
// gz is true or the name ends in .tar.gz or .tgz. It is atomic: the archive
// is written to a temporary file in the same directory
// (path+".fsshim-tmp-NNNN"), fsynced, renamed over path, and the directory
// is fsynced; on an error the previous file at path is left as it was and
// the temporary file is removed. A new archive is created with mode 0666
// less the umask; one that replaces a file keeps that file's mode (and, as
// root, its owner). If path is a symlink, the file it points to is replaced.
//
// The archive is in PAX format (times with nanoseconds, large ids). Its
// first entry is "./", the root itself; then every entry of the tree,
// depth-first, the entries of each directory sorted by name, so the same
// tree always gives the same bytes (gzip output too: its header carries no
// time or name). Entries: directories (named with a trailing '/'), regular
// files, symlinks, hard links (TypeLink for the second and later names of
// an inode, pointing at the first), FIFOs, character and block devices;
// each with its permission bits, uid, gid, mtime and atime (symlinks
// without atime: reading their target changes it, and the archive is to
// depend only on the tree), extended attributes as SCHILY.xattr.NAME PAX
// records (on the first name of a hard-linked inode), and no user or group
// names. Sockets are skipped. An attribute whose name holds '=' cannot be
// a PAX record: it is left out and the save, otherwise complete, returns
// an *XattrError (unwrapped). Holes are stored as zeros: tarfmt writes no
// sparse entries.
func SaveTar(fs *ramfs.FS, root *ramfs.Inode, path string, gz bool) error {
	return saveTar(fs, root, path, gz, nil)
}

// saveTar is SaveTar reading from src, refusing a destination that guard
// protects. As in saveDir, the parent directory is opened once and checked,
// and the temporary file and the rename are relative to it.
func saveTar(src source, root *ramfs.Inode, path string, gz bool, guard Guard) error {
	skipped, err := saveTarSkipping(src, root, path, gz, guard)
	if err == nil && len(skipped) > 0 {
		// Saved; only these attributes are missing.
		return &XattrError{Dest: path, Skipped: skipped}
	}
	return err
}

// saveTarSkipping is saveTar returning the attributes it left out.
func saveTarSkipping(src source, root *ramfs.Inode, path string, gz bool, guard Guard) (skipped []SkippedXattr, err error) {
	gz = gz || strings.HasSuffix(path, ".tar.gz") || strings.HasSuffix(path, ".tgz")
	dst, _, err := destination(path, false)
	if err != nil {
		return nil, fmt.Errorf("persist: save %s: %w", path, err)
	}
	at, exists, err := openParent(dst, false, guard, path)
	if err != nil {
		return nil, fmt.Errorf("persist: save %s: %w", path, err)
	}
	defer at.close()
	f, tmp, err := at.createTemp(at.base + ".fsshim-tmp-")
	if err != nil {
		return nil, fmt.Errorf("persist: save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(at.fd, tmp, 0)
			err = fmt.Errorf("persist: save %s: %w", path, err)
		}
	}()
	if skipped, err = writeTar(src, root, f, gz); err != nil {
		return nil, err
	}
	if exists {
		if err := keepOwnerMode(f, at, dst); err != nil {
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := unix.Renameat(at.fd, tmp, at.fd, at.base); err != nil {
		return nil, &os.LinkError{Op: "rename", Old: f.Name(), New: dst, Err: err}
	}
	if err := at.sync(); err != nil {
		// The archive is in place; only its durability is in doubt.
		return nil, fmt.Errorf("fsync of the directory after the rename: %w", err)
	}
	return skipped, nil
}

// createTemp creates a new file in p named prefix plus a random number,
// with mode 0666 less the umask (os.CreateTemp would use 0600). The file's
// Name is its path, for messages.
func (p *parentDir) createTemp(prefix string) (*os.File, string, error) {
	for range 10000 {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		fd, err := unix.Openat(p.fd, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o666)
		if err == nil {
			return os.NewFile(uintptr(fd), p.path(name)), name, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return nil, "", &iofs.PathError{Op: "open", Path: p.path(name), Err: err}
		}
	}
	return nil, "", &iofs.PathError{Op: "createtemp", Path: p.path(prefix + "*"), Err: iofs.ErrExist}
}

// keepOwnerMode gives f the mode of the file dst, the entry p.base of p,
// and its owner when running as root.
func keepOwnerMode(f *os.File, p *parentDir, dst string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(p.fd, p.base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &iofs.PathError{Op: "stat", Path: dst, Err: err}
	}
	if os.Geteuid() == 0 {
		if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(int(f.Fd()), st.Mode&0o7777); err != nil {
		return &iofs.PathError{Op: "fchmod", Path: f.Name(), Err: err}
	}
	return nil
}

// writeTar writes the archive of the tree under root to w. It returns the
// extended attributes it could not store.
func writeTar(src source, root *ramfs.Inode, w io.Writer, gz bool) ([]SkippedXattr, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	out := io.Writer(bw)
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(bw)
		out = zw
	}
	tw := tar.NewWriter(out)
	t := &tarWriter{src: src, tw: tw, buf: make([]byte, bufSize)}
	wk := &walker{
		src:  src,
		keep: func(typ uint32) bool { return typ != syscall.S_IFSOCK },
		pre:  t.entry,
	}
	if err := wk.walk(root); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	return t.skipped, bw.Flush()
}

type tarWriter struct {
	src     source
	tw      *tar.Writer
	buf     []byte
	skipped []SkippedXattr
}

func (t *tarWriter) entry(e *entry) error {
	a := e.a
	h := &tar.Header{
		Name:       e.rel,
		Mode:       int64(a.Mode & 0o7777),
		Uid:        int(a.Uid),
		Gid:        int(a.Gid),
		ModTime:    a.Mtime,
		AccessTime: a.Atime,
	}
	switch {
	case e.first != "":
		h.Typeflag, h.Linkname = tar.TypeLink, e.first
	case e.typ() == syscall.S_IFDIR:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case e.typ() == syscall.S_IFREG:
		h.Typeflag, h.Size = tar.TypeReg, a.Size
	case e.typ() == syscall.S_IFLNK:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.target
		// Reading the target updated the atime (ramfs has no Readlink
		// that does not); storing it would make every save differ.
		h.AccessTime = time.Time{}
	case e.typ() == syscall.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	case e.typ() == syscall.S_IFCHR, e.typ() == syscall.S_IFBLK:
		h.Typeflag = tar.TypeChar
		if e.typ() == syscall.S_IFBLK {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(unix.Major(a.Rdev)), int64(unix.Minor(a.Rdev))
	default:
		return nil
	}
	if e.first == "" {
		if err := t.xattrs(e, h); err != nil {
			return err
		}
	}
	if err := t.tw.WriteHeader(h); err != nil {
		return &iofs.PathError{Op: "tar", Path: e.rel, Err: err}
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	// Data ranges as they are; holes, and the tail of a file that shrank
	// meanwhile, as zeros: the entry must have exactly h.Size bytes.
	done := int64(0)
	zeroFill := func(to int64) error {
		for done < to {
			k, err := t.tw.Write(zeros[:min(int64(len(zeros)), to-done)])
			if err != nil {
				return &iofs.PathError{Op: "tar", Path: e.rel, Err: err}
			}
			done += int64(k)
		}
		return nil
	}
	err := readData(t.src, e, t.buf, func(p []byte, off int64) error {
		if err := zeroFill(off); err != nil {
			return err
		}
		k, err := t.tw.Write(p)
		done += int64(k)
		if err != nil {
			return &iofs.PathError{Op: "tar", Path: e.rel, Err: err}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return zeroFill(h.Size)
}

// xattrs adds the extended attributes of e to h as SCHILY.xattr records.
func (t *tarWriter) xattrs(e *entry, h *tar.Header) error {
	xs, err := readXattrs(t.src, e)
	if err != nil {
		return err
	}
	for _, x := range xs {
		if strings.Contains(x.name, "=") {
			t.skipped = append(t.skipped, SkippedXattr{Path: e.rel, Name: x.name, Err: errXattrName})
			continue
		}
		if h.PAXRecords == nil {
			h.PAXRecords = make(map[string]string)
		}
		h.PAXRecords[paxXattr+x.name] = string(x.value)
	}
	return nil
}

// paxXattr prefixes the PAX record of an extended attribute.
const paxXattr = "SCHILY.xattr."

// LoadTar adds the entries of the tar archive at path (plain or gzipped,
// told by its first bytes) to the tree under root: directories, regular
// files, symlinks, hard links, FIFOs, character and block devices, with
// their permission bits, uid, gid, mtime and atime (the mtime when the
// archive has no atime) and the extended attributes of SCHILY.xattr.NAME
// PAX records in the user., trusted. and security. namespaces (others are
// ignored; a value or name beyond Linux's limits is an error). Directories missing from the archive are made with
// mode 0755 and the entry's owner. An entry whose name exists already
// replaces it, except that a directory is replaced only by a directory
// (whose attributes it takes). Aligned 4096-byte blocks of zeros are left
// as holes, so they take no capacity.
//
// Entries that would land outside root are refused, naming the entry: an
// absolute name, a ".." component, a path through a symlink, or a hard link
// to such a name. PAX global headers are ignored; other entry types
// (GNU volume labels, for example) are refused.
//
// LoadTar stops at the first error, leaving what it loaded so far; the
// error wraps the FS's errno (errors.Is(err, syscall.ENOSPC) when the FS
// is full).
func LoadTar(fs *ramfs.FS, root *ramfs.Inode, path string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("persist: load %s: %w", path, err)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("a %v is not an archive file", st.Mode().Type())
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, err := br.Peek(2)
	if len(magic) == 0 {
		if err == io.EOF {
			return errors.New("empty file, not a tar archive")
		}
		return err
	}
	r := io.Reader(br)
	var zr *gzip.Reader
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if zr, err = gzip.NewReader(br); err != nil {
			return fmt.Errorf("bad gzip stream: %w", err)
		}
		r = zr
	}
	l := &loader{fs: fs, root: root, buf: make([]byte, bufSize)}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not a readable tar archive: %w", err)
		}
		if err := l.entry(h, tr); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	}
	if zr != nil {
		// Read to the end of the gzip stream, which checks its CRC.
		if _, err := io.Copy(io.Discard, zr); err != nil {
			return fmt.Errorf("bad gzip stream: %w", err)
		}
	}
	// Directory times last: the entries made in them changed their mtime.
	for i := len(l.dirs) - 1; i >= 0; i-- {
		d := l.dirs[i]
		if err := l.attrs(d.n, d.h); err != nil {
			return fmt.Errorf("entry %q: %w", d.h.Name, err)
		}
	}
	return nil
}

// ErrEscape is wrapped by the errors of LoadTar for entries that would land
// outside the root.
var ErrEscape = errors.New("refused: it leads out of the root")

type loader struct {
	fs   *ramfs.FS
	root *ramfs.Inode
	buf  []byte
	dirs []loadedDir
}

type loadedDir struct {
	n *ramfs.Inode
	h *tar.Header
}

// cleanName checks that an entry name stays under the root and returns it
// cleaned ("." for the root itself).
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty name")
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("%w: absolute name %q", ErrEscape, name)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: %q has a \"..\" component", ErrEscape, name)
		}
	}
	return path.Clean(name), nil
}

// dir returns the directory rel (cleaned, "." for the root), making
// missing directories with mode 0755 and owner uid, gid when mk is set.
// It follows no symlink: one on the way is refused with ErrEscape.
func (l *loader) dir(rel string, mk bool, uid, gid uint32) (*ramfs.Inode, error) {
	d := l.root
	if rel == "." {
		return d, nil
	}
	for i, c := range strings.Split(rel, "/") {
		n, err := l.fs.Lookup(d, c)
		if errors.Is(err, syscall.ENOENT) && mk {
			n, err = l.fs.Mkdir(d, c, 0o755, uid, gid)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", prefix(rel, i), err)
		}
		switch l.fs.Getattr(n).Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
		case syscall.S_IFLNK:
			return nil, fmt.Errorf("%w: %q is a symlink", ErrEscape, prefix(rel, i))
		default:
			return nil, fmt.Errorf("%q: %w", prefix(rel, i), syscall.ENOTDIR)
		}
		d = n
	}
	return d, nil
}

// prefix returns the first i+1 components of the slash path p.
func prefix(p string, i int) string {
	parts := strings.SplitN(p, "/", i+2)
	return strings.Join(parts[:min(i+1, len(parts))], "/")
}

func (l *loader) entry(h *tar.Header, r io.Reader) error {
	switch h.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo, tar.TypeChar, tar.TypeBlock:
	default:
		return fmt.Errorf("unsupported entry type %q", h.Typeflag)
	}
	name, err := cleanName(h.Name)
	if err != nil {
		return err
	}
	uid, gid := uint32(h.Uid), uint32(h.Gid)
	mode := uint32(h.Mode) & 0o7777
	if name == "." {
		if h.Typeflag != tar.TypeDir {
			return errors.New("the root entry is not a directory")
		}
		l.dirs = append(l.dirs, loadedDir{l.root, h})
		return nil
	}
	parentRel, base := path.Split(name)
	parent, err := l.dir(path.Clean(parentRel), true, uid, gid)
	if err != nil {
		return err
	}
	// An existing name: a directory stays (for a directory entry) or
	// refuses; anything else is replaced.
	if old, err := l.fs.Lookup(parent, base); err == nil {
		isDir := l.fs.Getattr(old).Mode&syscall.S_IFMT == syscall.S_IFDIR
		switch {
		case isDir && h.Typeflag == tar.TypeDir:
			l.dirs = append(l.dirs, loadedDir{old, h})
			return nil
		case isDir:
			return fmt.Errorf("a directory of that name exists: %w", syscall.EEXIST)
		}
		if err := l.fs.Unlink(parent, base); err != nil {
			return fmt.Errorf("unlink the existing file: %w", err)
		}
	}
	var n *ramfs.Inode
	switch h.Typeflag {
	case tar.TypeDir:
		n, err = l.fs.Mkdir(parent, base, mode, uid, gid)
		if err == nil {
			l.dirs = append(l.dirs, loadedDir{n, h})
			return nil
		}
	case tar.TypeReg:
		if n, err = l.fs.Create(parent, base, mode, uid, gid); err == nil {
			err = l.data(n, r)
		}
	case tar.TypeSymlink:
		n, err = l.fs.Symlink(parent, base, h.Linkname, uid, gid)
	case tar.TypeLink:
		// The attributes belong to the inode, which the first name
		// brought; records on a link entry (some archivers repeat them)
		// are not applied again.
		return l.link(parent, base, h.Linkname)
	case tar.TypeFifo:
		n, err = l.fs.Mknod(parent, base, syscall.S_IFIFO|mode, 0, uid, gid)
	case tar.TypeChar, tar.TypeBlock:
		typ := uint32(syscall.S_IFCHR)
		if h.Typeflag == tar.TypeBlock {
			typ = syscall.S_IFBLK
		}
		rdev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
		n, err = l.fs.Mknod(parent, base, typ|mode, rdev, uid, gid)
	}
	if err != nil {
		return err
	}
	return l.attrs(n, h)
}

// link makes base in parent a hard link to the earlier entry target.
func (l *loader) link(parent *ramfs.Inode, base, target string) error {
	t, err := cleanName(target)
	if err != nil {
		return fmt.Errorf("link target: %w", err)
	}
	tdir, tbase := path.Split(t)
	d, err := l.dir(path.Clean(tdir), false, 0, 0)
	if err != nil {
		return fmt.Errorf("link target %q: %w", target, err)
	}
	n, err := l.fs.Lookup(d, tbase)
	if err != nil {
		return fmt.Errorf("link target %q: %w", target, err)
	}
	if err := l.fs.Link(parent, base, n); err != nil {
		return fmt.Errorf("link to %q: %w", target, err)
	}
	return nil
}

// xattrs sets the extended attributes of h's PAX records on n, in name
// order so that the first error does not depend on map order.
func (l *loader) xattrs(n *ramfs.Inode, h *tar.Header) error {
	var names []string
	for k := range h.PAXRecords {
		if name, ok := strings.CutPrefix(k, paxXattr); ok && hostcopy.XattrServed(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if err := l.fs.SetXattr(n, name, []byte(h.PAXRecords[paxXattr+name]), 0); err != nil {
			return fmt.Errorf("setxattr %s: %w", name, err)
		}
	}
	return nil
}

// data copies an entry's data into n, leaving zero blocks as holes.
func (l *loader) data(n *ramfs.Inode, r io.Reader) error {
	write := func(p []byte, off int64) error {
		for len(p) > 0 {
			k, err := l.fs.WriteAt(n, p, off)
			if err != nil {
				return fmt.Errorf("write: %w", err)
			}
			p, off = p[k:], off+int64(k)
		}
		return nil
	}
	var off int64
	for {
		// Fill the buffer, so that zero blocks are seen whole; a short
		// ReadFull would not tell the end of the data from a truncated
		// archive (both are io.ErrUnexpectedEOF).
		k := 0
		var err error
		for k < len(l.buf) && err == nil {
			var m int
			m, err = r.Read(l.buf[k:])
			k += m
		}
		if werr := writeSparse(l.buf[:k], off, write); werr != nil {
			return werr
		}
		off += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return l.fs.Truncate(n, off)
}

// attrs sets owner, extended attributes, mode (not of symlinks) and times;
// the owner first, as Chown clears setuid and setgid.
func (l *loader) attrs(n *ramfs.Inode, h *tar.Header) error {
	if err := l.fs.Chown(n, int64(uint32(h.Uid)), int64(uint32(h.Gid))); err != nil {
		return err
	}
	if err := l.xattrs(n, h); err != nil {
		return err
	}
	if h.Typeflag != tar.TypeSymlink {
		if err := l.fs.Chmod(n, uint32(h.Mode)&0o7777); err != nil {
			return err
		}
	}
	mtime := h.ModTime
	atime := h.AccessTime
	if atime.IsZero() {
		atime = mtime
	}
	return l.fs.SetTimes(n, &atime, &mtime)
}
