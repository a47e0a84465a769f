package ramfs

import (
	"io"
	iofs "io/fs"
	"slices"
	"strings"
	"syscall"
	"time"
)

// FS returns a read-only io/fs view of the file system. Paths are resolved
// from the root and symlinks are followed (an absolute target starts at the
// root). Open files hold a reference (Ref) until closed, so a file removed
// while open stays readable. Errors are *fs.PathError wrapping the errno, so
// errors.Is(err, fs.ErrNotExist) works. The view implements fs.ReadDirFS,
// fs.ReadFileFS, fs.StatFS and fs.ReadLinkFS; files implement io.ReaderAt
// and io.Seeker. Reading through it applies the relatime rule like reads
// through the FS methods.
func (fs *FS) FS() iofs.FS { return ioFS{fs} }

type ioFS struct{ fs *FS }

var (
	_ iofs.ReadDirFS   = ioFS{}
	_ iofs.ReadFileFS  = ioFS{}
	_ iofs.StatFS      = ioFS{}
	_ iofs.ReadLinkFS  = ioFS{}
	_ io.ReaderAt      = (*ioFile)(nil)
	_ io.Seeker        = (*ioFile)(nil)
	_ iofs.ReadDirFile = (*ioDir)(nil)
)

// resolve walks an io/fs path and takes a reference if ref is set.
func (v ioFS) resolve(op, name string, follow, ref bool) (*Inode, error) {
	if !iofs.ValidPath(name) {
		return nil, &iofs.PathError{Op: op, Path: name, Err: iofs.ErrInvalid}
	}
	n, err := v.fs.walk(name, follow, ref)
	if err != nil {
		return nil, &iofs.PathError{Op: op, Path: name, Err: err}
	}
	return n, nil
}

func baseName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func (v ioFS) Open(name string) (iofs.File, error) {
	n, err := v.resolve("open", name, true, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return &ioDir{fs: v.fs, n: n, name: name, pos: 2}, nil
	}
	return &ioFile{fs: v.fs, n: n, name: name}, nil
}

func (v ioFS) Stat(name string) (iofs.FileInfo, error) {
	n, err := v.resolve("stat", name, true, false)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: baseName(name), a: v.fs.Getattr(n)}, nil
}

func (v ioFS) Lstat(name string) (iofs.FileInfo, error) {
	n, err := v.resolve("lstat", name, false, false)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: baseName(name), a: v.fs.Getattr(n)}, nil
}

func (v ioFS) ReadLink(name string) (string, error) {
	n, err := v.resolve("readlink", name, false, false)
	if err != nil {
		return "", err
	}
	t, err := v.fs.Readlink(n)
	if err != nil {
		return "", &iofs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return t, nil
}

func (v ioFS) ReadFile(name string) ([]byte, error) {
	n, err := v.resolve("readfile", name, true, true)
	if err != nil {
		return nil, err
	}
	defer v.fs.Unref(n)
	size := v.fs.Getattr(n).Size
	buf := make([]byte, size)
	k, err := v.fs.ReadAt(n, buf, 0)
	if err != nil {
		return nil, &iofs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return buf[:k], nil
}

func (v ioFS) ReadDir(name string) ([]iofs.DirEntry, error) {
	f, err := v.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, ok := f.(*ioDir)
	if !ok {
		return nil, &iofs.PathError{Op: "readdir", Path: name, Err: syscall.ENOTDIR}
	}
	list, err := d.ReadDir(-1)
	slices.SortFunc(list, func(a, b iofs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return list, err
}

// ioFile is an open non-directory.
type ioFile struct {
	fs     *FS
	n      *Inode
	name   string
	off    int64
	closed bool
}

func (f *ioFile) Stat() (iofs.FileInfo, error) {
	if f.closed {
		return nil, &iofs.PathError{Op: "stat", Path: f.name, Err: iofs.ErrClosed}
	}
	return &fileInfo{name: baseName(f.name), a: f.fs.Getattr(f.n)}, nil
}

func (f *ioFile) Read(p []byte) (int, error) {
	k, err := f.ReadAt(p, f.off)
	f.off += int64(k)
	if err == io.EOF && k > 0 {
		err = nil
	}
	return k, err
}

func (f *ioFile) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, &iofs.PathError{Op: "read", Path: f.name, Err: iofs.ErrClosed}
	}
	k, err := f.fs.ReadAt(f.n, p, off)
	if err != nil {
		return k, &iofs.PathError{Op: "read", Path: f.name, Err: err}
	}
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

func (f *ioFile) Seek(offset int64, whence int) (int64, error) {
	if f.closed {
		return 0, &iofs.PathError{Op: "seek", Path: f.name, Err: iofs.ErrClosed}
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.fs.Getattr(f.n).Size
	default:
		return 0, &iofs.PathError{Op: "seek", Path: f.name, Err: syscall.EINVAL}
	}
	if offset < 0 {
		return 0, &iofs.PathError{Op: "seek", Path: f.name, Err: syscall.EINVAL}
	}
	f.off = offset
	return offset, nil
}

func (f *ioFile) Close() error {
	if f.closed {
		return &iofs.PathError{Op: "close", Path: f.name, Err: iofs.ErrClosed}
	}
	f.closed = true
	f.fs.Unref(f.n)
	return nil
}

// ioDir is an open directory.
type ioDir struct {
	fs     *FS
	n      *Inode
	name   string
	pos    int64
	closed bool
}

func (d *ioDir) Stat() (iofs.FileInfo, error) {
	if d.closed {
		return nil, &iofs.PathError{Op: "stat", Path: d.name, Err: iofs.ErrClosed}
	}
	return &fileInfo{name: baseName(d.name), a: d.fs.Getattr(d.n)}, nil
}

func (d *ioDir) Read([]byte) (int, error) {
	return 0, &iofs.PathError{Op: "read", Path: d.name, Err: syscall.EISDIR}
}

func (d *ioDir) Close() error {
	if d.closed {
		return &iofs.PathError{Op: "close", Path: d.name, Err: iofs.ErrClosed}
	}
	d.closed = true
	d.fs.Unref(d.n)
	return nil
}

// ReadDir lists entries in creation order; count <= 0 lists all the rest.
func (d *ioDir) ReadDir(count int) ([]iofs.DirEntry, error) {
	if d.closed {
		return nil, &iofs.PathError{Op: "readdir", Path: d.name, Err: iofs.ErrClosed}
	}
	var list []iofs.DirEntry
	err := d.fs.ReadDir(d.n, d.pos, func(name string, _ uint64, typ uint8, next int64) bool {
		if isDot(name) {
			return true
		}
		list = append(list, &dirEntry{fs: d.fs, dir: d.n, name: name, typ: typ})
		d.pos = next
		return count <= 0 || len(list) < count
	})
	if err != nil {
		return list, &iofs.PathError{Op: "readdir", Path: d.name, Err: err}
	}
	if count > 0 && len(list) == 0 {
		return nil, io.EOF
	}
	return list, nil
}

// dirEntry is an entry listed by ioDir.ReadDir; Info looks it up again.
type dirEntry struct {
	fs   *FS
	dir  *Inode
	name string
	typ  uint8
}

func (e *dirEntry) Name() string        { return e.name }
func (e *dirEntry) IsDir() bool         { return e.typ == dtDir }
func (e *dirEntry) Type() iofs.FileMode { return fileMode(dtToMode(e.typ)).Type() }
func (e *dirEntry) String() string      { return iofs.FormatDirEntry(e) }

func (e *dirEntry) Info() (iofs.FileInfo, error) {
	n, err := e.fs.Lookup(e.dir, e.name)
	if err != nil {
		return nil, &iofs.PathError{Op: "stat", Path: e.name, Err: err}
	}
	return &fileInfo{name: e.name, a: e.fs.Getattr(n)}, nil
}

func dtToMode(typ uint8) uint32 {
	switch typ {
	case dtReg:
		return sIFREG
	case dtDir:
		return sIFDIR
	case dtLnk:
		return sIFLNK
	case dtFIFO:
		return sIFIFO
	case dtSock:
		return sIFSOCK
	case dtChr:
		return sIFCHR
	case dtBlk:
		return sIFBLK
	}
	return 0
}

// fileInfo is the fs.FileInfo of an inode; Sys returns its Attr.
type fileInfo struct {
	name string
	a    Attr
}

func (fi *fileInfo) Name() string        { return fi.name }
func (fi *fileInfo) Size() int64         { return fi.a.Size }
func (fi *fileInfo) Mode() iofs.FileMode { return fileMode(fi.a.Mode) }
func (fi *fileInfo) ModTime() time.Time  { return fi.a.Mtime }
func (fi *fileInfo) IsDir() bool         { return fi.a.Mode&sIFMT == sIFDIR }
func (fi *fileInfo) Sys() any            { return fi.a }
func (fi *fileInfo) String() string      { return iofs.FormatFileInfo(fi) }

// fileMode converts a Linux mode to an fs.FileMode.
func fileMode(m uint32) iofs.FileMode {
	fm := iofs.FileMode(m & 0o777)
	switch m & sIFMT {
	case sIFDIR:
		fm |= iofs.ModeDir
	case sIFLNK:
		fm |= iofs.ModeSymlink
	case sIFIFO:
		fm |= iofs.ModeNamedPipe
	case sIFSOCK:
		fm |= iofs.ModeSocket
	case sIFCHR:
		fm |= iofs.ModeDevice | iofs.ModeCharDevice
	case sIFBLK:
		fm |= iofs.ModeDevice
	}
	if m&sISUID != 0 {
		fm |= iofs.ModeSetuid
	}
	if m&sISGID != 0 {
		fm |= iofs.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= iofs.ModeSticky
	}
	return fm
}
