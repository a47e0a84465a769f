// Package persist keeps the data of a ramfs mount beyond the life of fsshim:
// it saves a tree to a host directory (SaveDir) or to a tar archive
// (SaveTar), and preloads a tree from either (Load, LoadTar).
//
// Saves are atomic: the new copy is built beside the destination under a
// temporary name, fsynced, and renamed into place, so a failed save (or a
// crash) leaves the previous copy as it was. Loads are not: a failed load
// leaves what was loaded so far in the FS.
//
// Kept: directories, regular files (holes stay holes), symlinks, hard links,
// FIFOs, permission bits (setuid, setgid, sticky included), owners, atime
// and mtime, extended attributes (as far as the destination takes them;
// see XattrError). Tar archives also keep character and block devices; host
// directories do not get them (creating device nodes on the host from what
// a traced program made would be a door out of the sandbox). Sockets are
// skipped everywhere. ctime and birth time cannot be set and are not kept.
//
// Saving reads the FS without changing its atimes, except that of symlinks
// (ramfs.FS.Readlink applies the relatime rule); the saved atime is the one
// from before. A save while a program writes to the FS copies each file as
// it is when it is reached, so the copy is per-file consistent, not a
// snapshot of the whole tree.
package persist

import (
	"fmt"
	"os"

	"fsshim/ramfs"
	"fsshim/ramfs/hostcopy"
)

// Load preloads the tree of source into root: a directory is copied with
// hostcopy.CopyIn, a regular file is read as a tar archive (LoadTar).
func Load(fs *ramfs.FS, root *ramfs.Inode, source string) error {
	st, err := os.Stat(source)
	if err != nil {
		return fmt.Errorf("persist: load: %w", err)
	}
	switch {
	case st.IsDir():
		if err := hostcopy.CopyIn(fs, root, source); err != nil {
			return fmt.Errorf("persist: load %s: %w", source, err)
		}
		return nil
	case st.Mode().IsRegular():
		return LoadTar(fs, root, source)
	}
	return fmt.Errorf("persist: load %s: a %v is neither a directory nor an archive file", source, st.Mode().Type())
}

// CleanupError is returned by SaveDir when the new tree is in place but the
// previous one, moved aside under Path, could not be removed. The save
// itself succeeded.
type CleanupError struct {
	Path string
	Err  error
}

func (e *CleanupError) Error() string {
	return fmt.Sprintf("persist: saved, but the previous tree left at %s could not be removed: %v", e.Path, e.Err)
}

func (e *CleanupError) Unwrap() error { return e.Err }

// source is the part of *ramfs.FS a save reads through. Tests wrap it to
// make reads fail half-way.
type source interface {
	ReadDirNoatime(dir *ramfs.Inode, pos int64, fn func(name string, ino uint64, typ uint8, next int64) bool) error
	Lookup(dir *ramfs.Inode, name string) (*ramfs.Inode, error)
	Getattr(n *ramfs.Inode) ramfs.Attr
	Readlink(n *ramfs.Inode) (string, error)
	SeekData(n *ramfs.Inode, off int64) (int64, error)
	SeekHole(n *ramfs.Inode, off int64) (int64, error)
	ReadAtNoatime(n *ramfs.Inode, p []byte, off int64) (int, error)
	ListXattr(n *ramfs.Inode) []string
	GetXattr(n *ramfs.Inode, name string) ([]byte, error)
}

var _ source = (*ramfs.FS)(nil)

// blockSize is the unit of hole detection: an aligned run of this many zero
// bytes is not written (the page size of ramfs and of the host).
const blockSize = 4096

// bufSize is the size of copy buffers; a multiple of blockSize.
const bufSize = 256 << 10

// zeros is read-only: a source of zero bytes.
var zeros [bufSize]byte

// writeSparse writes buf, which belongs at file offset off, with write,
// leaving out every blockSize-aligned block of buf that is all zeros. The
// file must read as zeros where nothing is written (a new file, extended by
// truncate afterwards).
func writeSparse(buf []byte, off int64, write func(p []byte, off int64) error) error {
	// blockEnd returns the end of the aligned block that holds buf[i].
	blockEnd := func(i int) int {
		return min(len(buf), i+blockSize-int((off+int64(i))%blockSize))
	}
	for i := 0; i < len(buf); {
		e := blockEnd(i)
		if isZero(buf[i:e]) {
			i = e
			continue
		}
		j := e
		for j < len(buf) {
			e := blockEnd(j)
			if isZero(buf[j:e]) {
				break
			}
			j = e
		}
		if err := write(buf[i:j], off+int64(i)); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func isZero(b []byte) bool {
	return string(b) == string(zeros[:len(b)])
}
