package persist

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"syscall"

	"fsshim/ramfs"
)

// entry is one name in the saved tree.
type entry struct {
	rel    string // slash-separated path relative to the root; "." for the root
	n      *ramfs.Inode
	a      ramfs.Attr // taken before anything was read from n
	target string     // symlink target
	// first is the rel of the first name of the same inode in walk order,
	// for the second and later names of a non-directory; "" otherwise.
	first string
}

func (e *entry) typ() uint32 { return e.a.Mode & syscall.S_IFMT }

// walker visits a tree depth-first, the entries of each directory sorted by
// name (bytewise), so the order depends only on the tree.
type walker struct {
	src source
	// keep says which file types are visited; the others are skipped with
	// all their names.
	keep func(typ uint32) bool
	// pre is called for every kept entry, directories before their entries.
	pre func(e *entry) error
	// post, if set, is called for each directory after its entries.
	post  func(e *entry) error
	links map[uint64]string // inode number -> rel of its first name
}

func (w *walker) walk(root *ramfs.Inode) error {
	w.links = make(map[uint64]string)
	e := &entry{rel: ".", n: root, a: w.src.Getattr(root)}
	if e.typ() != syscall.S_IFDIR {
		return &fs.PathError{Op: "save", Path: ".", Err: syscall.ENOTDIR}
	}
	return w.dir(e)
}

func (w *walker) dir(e *entry) error {
	if err := w.pre(e); err != nil {
		return err
	}
	var names []string
	err := w.src.ReadDirNoatime(e.n, 2, func(name string, _ uint64, _ uint8, _ int64) bool {
		names = append(names, name)
		return true
	})
	if err != nil {
		return &fs.PathError{Op: "readdir", Path: e.rel, Err: err}
	}
	slices.Sort(names)
	for _, name := range names {
		rel := path.Join(e.rel, name)
		n, err := w.src.Lookup(e.n, name)
		if errors.Is(err, syscall.ENOENT) {
			continue // removed meanwhile
		}
		if err != nil {
			return &fs.PathError{Op: "lookup", Path: rel, Err: err}
		}
		c := &entry{rel: rel, n: n, a: w.src.Getattr(n)}
		if !w.keep(c.typ()) {
			continue
		}
		if c.typ() == syscall.S_IFDIR {
			if err := w.dir(c); err != nil {
				return err
			}
			continue
		}
		if c.a.Nlink > 1 {
			if first, ok := w.links[c.a.Ino]; ok {
				c.first = first
			} else {
				w.links[c.a.Ino] = rel
			}
		}
		if c.typ() == syscall.S_IFLNK && c.first == "" {
			if c.target, err = w.src.Readlink(n); err != nil {
				return &fs.PathError{Op: "readlink", Path: rel, Err: err}
			}
		}
		if err := w.pre(c); err != nil {
			return err
		}
	}
	if w.post != nil {
		return w.post(e)
	}
	return nil
}

// readData calls fn for each data range of the regular file e, in order,
// skipping the holes of the FS (SEEK_DATA/SEEK_HOLE). buf is the buffer
// handed to fn, which must not keep it; fn is called with at most len(buf)
// bytes at a time. Data past e.a.Size is not read; a file that shrank
// meanwhile gives fewer bytes.
func readData(src source, e *entry, buf []byte, fn func(p []byte, off int64) error) error {
	size := e.a.Size
	for off := int64(0); off < size; {
		start, err := src.SeekData(e.n, off)
		if errors.Is(err, syscall.ENXIO) {
			return nil // no data past off (or the file shrank)
		}
		if err != nil {
			return &fs.PathError{Op: "seek", Path: e.rel, Err: err}
		}
		if start >= size {
			return nil // the rest is past the size taken at the start
		}
		end, err := src.SeekHole(e.n, start)
		if errors.Is(err, syscall.ENXIO) {
			return nil // shrank meanwhile
		}
		if err != nil {
			return &fs.PathError{Op: "seek", Path: e.rel, Err: err}
		}
		end = min(end, size)
		for start < end {
			k, err := src.ReadAtNoatime(e.n, buf[:min(int64(len(buf)), end-start)], start)
			if err != nil {
				return &fs.PathError{Op: "read", Path: e.rel, Err: err}
			}
			if k == 0 {
				return nil // shrank meanwhile
			}
			if err := fn(buf[:k], start); err != nil {
				return err
			}
			start += int64(k)
		}
		off = end
	}
	return nil
}
