package emul

import (
	"syscall"

	"fsshim/ramfs"
)

// A mount presents one tree to the syscall handlers, whatever holds it: a
// plain ramfs (ramLayer, below) or a host directory under a ramfs
// (overlay, overlay.go). Handlers look entries up, check them and change
// them through the mount's layer and never ask which kind it is; the path
// walk (walk.go) takes each step in a mount through layer.lookup and
// layer.parent. Permission rules (perm.go) are the same for every layer.
//
// An entry is a node. Changes land in the mount's ramfs (Mount.FS): before
// a handler changes an entry it asks the layer to ready it (copyUp,
// prepareCreate), after which the loc's ino and dir are ramfs inodes that
// Mount.FS's methods take. Open files (File) always hold ramfs inodes.
//
// Every method: Preconditions: Kernel.mu is held.
type layer interface {
	// lookup returns the entry name of directory dir (the file system's
	// ->lookup, reached from fs/namei.c:lookup_slow). It fails with
	// ENOENT when there is none; whiteout then says that the name hides
	// an entry of a lower layer (a creation must remove the whiteout).
	lookup(dir node, name string) (n node, whiteout bool, err error)
	// parent returns ".." of directory dir, which is not the root.
	parent(dir node) (node, error)
	// readlink returns the target of symlink n.
	readlink(n node) (string, error)
	// attr returns n's attributes as the permission checks see them.
	attr(n node) ramfs.Attr
	// stat returns what stat(2) reports for n: its attributes and the
	// device it is on, given the mount's own device maj:min. cmtime says
	// the caller asked for mtime or ctime (ramfs.FS.Stat).
	stat(n node, maj, min uint32, cmtime bool) (ramfs.Attr, uint32, uint32)
	// readDir lists open directory f from position f.off on (for
	// getdents), calling fn with each entry and the position after it
	// until fn returns false.
	readDir(f *File, noatime bool, fn func(name string, ino uint64, typ uint8, next int64) bool) error

	// copyUp makes l's entry a ramfs inode (ovl_copy_up), with its data
	// when data is set (else empty: it is about to be truncated), and
	// returns l naming it. (The changing methods take and return a loc
	// by value: a pointer passed through an interface would move every
	// caller's loc to the heap. Kernel.copyUpLocked and the like take
	// the pointer.)
	copyUp(l loc, data bool) (loc, syscall.Errno)
	// upperDir returns the ramfs inode of directory n, copying it up.
	upperDir(n node) (*ramfs.Inode, syscall.Errno)
	// prepareCreate readies the absent name l for a new entry: l.dir
	// becomes a ramfs directory and a whiteout there goes. undo puts the
	// whiteout back when the creation then fails.
	prepareCreate(l loc) (_ loc, undo func(), e syscall.Errno)
	// unlink removes the non-directory l names; rmdir the directory,
	// ENOTEMPTY unless it lists nothing. The caller has checked the
	// permissions (may_delete).
	unlink(l loc) syscall.Errno
	rmdir(l loc) syscall.Errno
	// rename moves ol's entry to nl's name (the file system's ->rename),
	// after renameCommon's checks; flags are RENAME_NOREPLACE or
	// RENAME_EXCHANGE.
	rename(ol, nl loc, flags uint32) syscall.Errno
	// openNode prepares an open of the existing entry l after
	// openCommon's checks: done with r the answer when the entry is
	// opened as something other than a ramfs inode (an overlay's host
	// file); otherwise the returned loc's ino is the inode to open.
	openNode(l loc, flags int, hostFDs bool) (_ loc, r Result, done bool)
}

// node is an existing entry of a mount: a ramfs inode, or in an overlay
// an entry of the lower layer alone (lo). Only the layers look at lo.
type node struct {
	ino *ramfs.Inode
	lo  *lowRef
}

// upper is the node of a ramfs inode.
func upper(n *ramfs.Inode) node { return node{ino: n} }

func (n node) ok() bool { return n.ino != nil || n.lo != nil }

func (n node) mode() uint32 {
	if n.ino != nil {
		return n.ino.Mode()
	}
	return n.lo.a.Mode
}

func (n node) typ() uint32 { return n.mode() & syscall.S_IFMT }

func (n node) isDir() bool { return n.typ() == syscall.S_IFDIR }

// same reports whether a and b are the same entry.
func (n node) same(b node) bool {
	if n.ino != nil || b.ino != nil {
		return n.ino == b.ino
	}
	return n.lo != nil && b.lo != nil && n.lo.rel == b.lo.rel
}

// attrOf returns n's attributes as permission checks see them.
//
// Preconditions: k.mu is held.
func (k *Kernel) attrOf(m *Mount, n node) ramfs.Attr { return m.layer.attr(n) }

// statOfLocked returns what stat reports for n: its attributes and the
// device it is on. cmtime says the caller asked for mtime or ctime.
//
// Preconditions: k.mu is held.
func (k *Kernel) statOfLocked(m *Mount, n node, cmtime bool) (ramfs.Attr, uint32, uint32) {
	maj, min := k.devOf(m)
	return m.layer.stat(n, maj, min, cmtime)
}

// ramLayer is a plain ramfs mount: every entry is a ramfs inode. Its
// methods call ramfs, which takes its own lock inside them.
//
// Preconditions (every method): Kernel.mu is held.
type ramLayer struct{ fs *ramfs.FS }

var _ layer = ramLayer{}

func (r ramLayer) lookup(dir node, name string) (node, bool, error) {
	n, err := r.fs.Lookup(dir.ino, name)
	return node{ino: n}, false, err
}

func (r ramLayer) parent(dir node) (node, error) { return node{ino: r.fs.Parent(dir.ino)}, nil }

func (r ramLayer) readlink(n node) (string, error) { return r.fs.Readlink(n.ino) }

func (r ramLayer) attr(n node) ramfs.Attr { return r.fs.GetattrOwner(n.ino) } // no size or times: no Store call

func (r ramLayer) stat(n node, maj, min uint32, cmtime bool) (ramfs.Attr, uint32, uint32) {
	return r.fs.Stat(n.ino, cmtime), maj, min
}

func (r ramLayer) readDir(f *File, noatime bool, fn func(string, uint64, uint8, int64) bool) error {
	if noatime {
		return r.fs.ReadDirNoatime(f.ino, f.off, fn)
	}
	return r.fs.ReadDir(f.ino, f.off, fn)
}

func (ramLayer) copyUp(l loc, _ bool) (loc, syscall.Errno) { return l, 0 }

func (ramLayer) upperDir(n node) (*ramfs.Inode, syscall.Errno) { return n.ino, 0 }

func (ramLayer) prepareCreate(l loc) (loc, func(), syscall.Errno) { return l, func() {}, 0 }

func (r ramLayer) unlink(l loc) syscall.Errno { return Errno(r.fs.Unlink(l.dir, l.name)) }

func (r ramLayer) rmdir(l loc) syscall.Errno { return Errno(r.fs.Rmdir(l.dir, l.name)) }

func (r ramLayer) rename(ol, nl loc, flags uint32) syscall.Errno {
	return Errno(r.fs.Rename(ol.dir, ol.name, nl.dir, nl.name, flags))
}

func (ramLayer) openNode(l loc, _ int, _ bool) (loc, Result, bool) { return l, Result{}, false }

// copyUpLocked is l's layer's copyUp, updating l.
//
// Preconditions: k.mu is held.
func (k *Kernel) copyUpLocked(l *loc, data bool) syscall.Errno {
	n, e := l.m.layer.copyUp(*l, data)
	*l = n
	return e
}

// prepareCreateLocked is l's layer's prepareCreate, updating l.
//
// Preconditions: k.mu is held.
func (k *Kernel) prepareCreateLocked(l *loc) (undo func(), e syscall.Errno) {
	n, undo, e := l.m.layer.prepareCreate(*l)
	*l = n
	return undo, e
}

// openNodeLocked is l's layer's openNode, updating l.
//
// Preconditions: k.mu is held.
func (k *Kernel) openNodeLocked(l *loc, flags int) (Result, bool) {
	n, r, done := l.m.layer.openNode(*l, flags, k.HostFDs)
	*l = n
	return r, done
}
