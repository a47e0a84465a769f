package emul

// Overlay mounts (fsshim --overlay PATH): a host directory is the read-only
// lower layer and the mount's ramfs the upper layer, as overlayfs
// (fs/overlayfs) stacks them:
//
//   - Lookups look in the upper directory first; a whiteout there (a
//     character device 0:0, as overlayfs and RENAME_WHITEOUT make) hides
//     the name; a name the upper directory lacks is looked up in the lower
//     directory at the same path, when the upper one is merged with it.
//   - Reads of a file that exists only in the lower layer fall through:
//     with a transport that can install host fds (Kernel.HostFDs, the
//     unotify supervisor) an open for reading is answered InstallHostFD
//     with the real host file, so no data is copied. Other transports copy
//     the file up on open.
//   - Anything that changes a lower entry copies it up first (ovl_copy_up):
//     data, mode, owner and times (symlinks as symlinks) go to a new upper
//     entry, and the missing upper parent directories are made with the
//     lower ones' modes, owners and times. A copy-up is invisible: the
//     parent's times are put back, and stat keeps reporting the lower inode
//     number (and device) for a copied-up file with one link.
//   - A directory is copied up lazily, when something is made in it, or
//     when it is opened or becomes a working directory (an open directory
//     is always an upper inode here, so the fd-based calls need no lower
//     case).
//   - Removing or renaming away a name the lower layer has leaves a
//     whiteout. rmdir of a merged directory is ENOTEMPTY while its merged
//     view has entries; otherwise the upper directory (if any) goes and a
//     whiteout takes its place. A directory made where a whiteout is, or
//     renamed over a lower directory, is opaque: emul keeps the set of
//     merged upper directories (with their lower paths), and an upper
//     directory not in it hides everything below it in the lower layer.
//   - rename of a directory that has lower entries answers EXDEV, as
//     overlayfs without redirect_dir does; mv(1) then copies and removes.
//     Files move across layers (copy-up, rename in the upper, whiteout at
//     the old name).
//   - getdents of a directory in an overlay mount lists a snapshot, taken
//     at the first getdents after open or lseek to 0: the upper entries,
//     then the lower entries neither shadowed nor whited out. Positions are
//     indices into the snapshot.
//
// stat of a lower entry comes from Lower.Lstat. A non-directory keeps its
// host st_dev and st_ino, so that stat of the path and fstat of the host
// fd an open got agree (cp(1) compares them), and no number can collide
// with a ramfs inode's (those are on the mount's own device). A directory
// is on the mount's device with a number of its own above 2^40, stable
// across its copy-up; its st_nlink and st_size are those of its merged
// view, as tmpfs would give them.
//
// The lower layer is taken not to change while fsshim runs (overlayfs says
// the same): listings of lower directories are cached. emul makes no host
// syscall for the lower layer: the Lower interface does (package lowerfs).

import (
	"io"
	"path"
	"strconv"
	"strings"
	"syscall"

	"fsshim/ramfs"
)

// Lower is the read-only lower layer of an overlay mount. Paths are
// relative to its root: "." is the root, "a/b" below it; they are clean
// and never have a symlink before their last component, which is never
// followed. Errors are syscall.Errno values.
type Lower interface {
	// Lstat describes the entry at rel, not following a symlink.
	Lstat(rel string) (LowerAttr, error)
	// ReadDir lists the directory rel, without "." and "..", each entry
	// with its type (DT_*, never DT_UNKNOWN).
	ReadDir(rel string) ([]LowerEntry, error)
	// Readlink returns the target of the symlink rel.
	Readlink(rel string) (string, error)
	// Open opens rel read-only with the given extra open(2) flags
	// (O_NONBLOCK, O_NOATIME...; or O_PATH alone, which also opens a
	// symlink itself). The caller closes the file.
	Open(rel string, flags int) (LowerFile, error)
}

// LowerAttr is what Lower.Lstat reports: the ramfs.Attr fields (Rdev in
// the kernel's new_encode_dev form, as stat(2) gives it) and the device the
// entry is on.
type LowerAttr struct {
	ramfs.Attr
	DevMajor, DevMinor uint32
}

// LowerEntry is one name of a lower directory.
type LowerEntry struct {
	Name string
	Ino  uint64
	Type uint8 // DT_*
}

// LowerFile is an open lower file.
type LowerFile interface {
	// ReadAt follows io.ReaderAt.
	ReadAt(p []byte, off int64) (int, error)
	Close() error
	// Fd is the host fd, valid until Close (for a transport to give the
	// target with InstallHostFD).
	Fd() uintptr
}

// FDAccModer is implemented by a Host that can tell the access mode
// (O_ACCMODE bits) of a target's fd. For a host fd on a file under an
// overlay, emul reopens /proc/PID/fd/N through the overlay unless the fd
// was opened for writing (a redirection of the program's output that its
// user made on purpose).
type FDAccModer interface {
	FDAccMode(tgid, fd int) (int, error)
}

// DT_* values (include/linux/fs_types.h).
const (
	dtChr = 2
	dtDir = 4
)

// dirInoBase is where the inode numbers of lower directories start: far
// above any ramfs inode number.
const dirInoBase = 1 << 40

// lowRef is an entry of the lower layer.
type lowRef struct {
	rel string
	a   LowerAttr
}

func (lo *lowRef) typ() uint32 { return lo.a.Mode & syscall.S_IFMT }

// lowDir is a cached listing of a lower directory.
type lowDir struct {
	ents   []LowerEntry
	byName map[string]int
}

// ident is the identity stat reports for an upper inode copied up from the
// lower layer.
type ident struct {
	host     bool // on the lower entry's own device (else the mount's)
	maj, min uint32
	ino      uint64
}

// overlay is emul's state of one overlay mount. Guarded by Kernel.mu.
type overlay struct {
	lower Lower
	// merged holds the upper directories merged with a lower directory,
	// with its path; byRel is the other way round. A merged directory
	// cannot be renamed, so the path stays right. An upper directory not
	// in merged is opaque (or has no lower directory below it).
	merged map[*ramfs.Inode]string
	byRel  map[string]*ramfs.Inode
	// origin gives copied-up inodes (by ramfs inode number, never
	// reused) the identity of the lower entry.
	origin map[uint64]ident
	// dirIno numbers lower directories, by path.
	dirIno  map[string]uint64
	nextIno uint64
	dirs    map[string]*lowDir
	tmpSeq  uint64
	buf     []byte
}

func newOverlay(m *Mount) *overlay {
	ov := &overlay{
		lower:   m.Lower,
		merged:  map[*ramfs.Inode]string{},
		byRel:   map[string]*ramfs.Inode{},
		origin:  map[uint64]ident{},
		dirIno:  map[string]uint64{},
		nextIno: dirInoBase,
		dirs:    map[string]*lowDir{},
	}
	root := m.FS.Root()
	ov.merged[root] = "."
	ov.byRel["."] = root
	return ov
}

// joinRel is path.Join for a lower directory path and a name.
func joinRel(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// list returns the cached listing of the lower directory rel.
func (ov *overlay) list(rel string) (*lowDir, error) {
	if d := ov.dirs[rel]; d != nil {
		return d, nil
	}
	ents, err := ov.lower.ReadDir(rel)
	if err != nil {
		return nil, err
	}
	d := &lowDir{ents: ents, byName: make(map[string]int, len(ents))}
	for i, e := range ents {
		d.byName[e.Name] = i
	}
	ov.dirs[rel] = d
	return d, nil
}

// lookupLower looks name up in the lower directory dir.
func (ov *overlay) lookupLower(dir, name string) (*lowRef, error) {
	if d, err := ov.list(dir); err == nil {
		if _, ok := d.byName[name]; !ok {
			return nil, syscall.ENOENT
		}
	}
	// Without a listing (a directory that may be searched but not
	// read), Lstat alone decides.
	rel := joinRel(dir, name)
	a, err := ov.lower.Lstat(rel)
	if err != nil {
		return nil, err
	}
	return &lowRef{rel: rel, a: a}, nil
}

// has reports whether the lower directory dir ("" = none) has name.
func (ov *overlay) has(dir, name string) bool {
	if dir == "" {
		return false
	}
	_, err := ov.lookupLower(dir, name)
	return err == nil
}

func (ov *overlay) dirInoOf(rel string) uint64 {
	if n, ok := ov.dirIno[rel]; ok {
		return n
	}
	ov.nextIno++
	ov.dirIno[rel] = ov.nextIno
	return ov.nextIno
}

// mapIno is the inode number stat reports for upper inode number ino.
func (ov *overlay) mapIno(ino uint64) uint64 {
	if o, ok := ov.origin[ino]; ok {
		return o.ino
	}
	return ino
}

// isWhiteout reports whether n is a whiteout (a character device 0:0).
func isWhiteout(fs *ramfs.FS, n *ramfs.Inode) bool {
	return n.Mode()&syscall.S_IFMT == syscall.S_IFCHR && fs.Getattr(n).Rdev == 0
}

// node is an existing entry of a mount: an upper (ramfs) inode, or in an
// overlay an entry of the lower layer alone.
type node struct {
	ino *ramfs.Inode
	lo  *lowRef
}

func (n node) ok() bool { return n.ino != nil || n.lo != nil }

func (n node) mode() uint32 {
	if n.ino != nil {
		return n.ino.Mode()
	}
	return n.lo.a.Mode
}

func (n node) typ() uint32 { return n.mode() & syscall.S_IFMT }

func (n node) isDir() bool { return n.typ() == syscall.S_IFDIR }

// attrOf returns n's attributes as permission checks see them.
func (k *Kernel) attrOf(m *Mount, n node) ramfs.Attr {
	if n.ino != nil {
		return m.FS.GetattrOwner(n.ino) // no size or times: no Store call
	}
	return n.lo.a.Attr
}

// node is the entry l names; parent is the directory that holds it.
func (l loc) node() node   { return node{ino: l.ino, lo: l.lo} }
func (l loc) parent() node { return node{ino: l.dir, lo: l.dlo} }

// lowPath is the lower path of directory n ("" when it has none: a plain
// mount, an opaque or purely upper directory).
func (m *Mount) lowPath(n node) string {
	if m.ov == nil {
		return ""
	}
	if n.ino != nil {
		return m.ov.merged[n.ino]
	}
	if n.lo != nil {
		return n.lo.rel
	}
	return ""
}

// lookupLocked looks name up in the directory of st: its upper inode, or
// in an overlay a lower-only entry. When neither exists the error is
// ENOENT and wh tells whether a whiteout hides a lower entry.
func (k *Kernel) lookupLocked(st *walkState, name string) (n *ramfs.Inode, lo *lowRef, wh bool, err error) {
	m := st.m
	if st.d != nil {
		n, err = m.FS.Lookup(st.d, name)
		if m.ov == nil {
			return n, nil, false, err
		}
		if err == nil {
			if isWhiteout(m.FS, n) {
				return nil, nil, true, syscall.ENOENT
			}
			return n, nil, false, nil
		}
		if err != syscall.ENOENT {
			return nil, nil, false, err
		}
	}
	low := m.lowPath(node{ino: st.d, lo: st.lo})
	if low == "" {
		return nil, nil, false, syscall.ENOENT
	}
	lo, err = m.ov.lookupLower(low, name)
	if err != nil {
		return nil, nil, false, err
	}
	return nil, lo, false, nil
}

// lowerParentLocked is ".." of a lower-only directory: the upper directory
// merged with the lower parent, or the lower parent alone.
func (k *Kernel) lowerParentLocked(st walkState) (walkState, syscall.Errno) {
	rel := path.Dir(st.lo.rel)
	st.abs = path.Dir(st.abs)
	if d := st.m.ov.byRel[rel]; d != nil {
		st.d, st.lo = d, nil
		return st, 0
	}
	a, err := st.m.ov.lower.Lstat(rel)
	if err != nil {
		return walkState{}, Errno(err)
	}
	st.lo = &lowRef{rel: rel, a: a}
	return st, 0
}

// upperDirLocked returns the upper inode of directory n, copying it (and
// its missing parents) up when it is in the lower layer alone.
func (k *Kernel) upperDirLocked(m *Mount, n node) (*ramfs.Inode, syscall.Errno) {
	if n.ino != nil {
		return n.ino, 0
	}
	if n.lo == nil {
		return nil, syscall.ENOENT
	}
	return k.upperAtLocked(m, n.lo.rel)
}

// upperAtLocked returns the upper directory merged with lower directory
// rel, copying it and its missing parents up.
func (k *Kernel) upperAtLocked(m *Mount, rel string) (*ramfs.Inode, syscall.Errno) {
	ov := m.ov
	if d := ov.byRel[rel]; d != nil {
		return d, 0
	}
	if rel == "." {
		return m.FS.Root(), 0
	}
	parent, e := k.upperAtLocked(m, path.Dir(rel))
	if e != 0 {
		return nil, e
	}
	a, err := ov.lower.Lstat(rel)
	if err != nil {
		return nil, Errno(err)
	}
	if a.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil, syscall.ENOTDIR
	}
	name := path.Base(rel)
	if n, err := m.FS.Lookup(parent, name); err == nil {
		// Cannot happen: a name the upper layer has is never looked
		// up below. Use it rather than fail if it is a directory.
		if !isDir(n) || isWhiteout(m.FS, n) {
			return nil, syscall.ENOENT
		}
		return n, 0
	}
	return k.copyUpEntryLocked(m, parent, name, &lowRef{rel: rel, a: a}, false)
}

// copyUpLocked gives the lower-only entry l names an upper copy (with its
// data when data is set, else empty: it is about to be truncated) and
// makes l name it.
func (k *Kernel) copyUpLocked(l *loc, data bool) syscall.Errno {
	if l.ino != nil || l.lo == nil {
		return 0
	}
	var n, dir *ramfs.Inode
	var e syscall.Errno
	if l.lo.typ() == syscall.S_IFDIR {
		n, e = k.upperAtLocked(l.m, l.lo.rel)
		if e == 0 && l.name != "" {
			dir, e = k.upperDirLocked(l.m, l.parent())
		}
	} else {
		dir, e = k.upperDirLocked(l.m, l.parent())
		if e == 0 {
			n, e = k.copyUpEntryLocked(l.m, dir, l.name, l.lo, data)
		}
	}
	if e != 0 {
		return e
	}
	l.ino, l.lo = n, nil
	if l.name != "" {
		l.dir, l.dlo = dir, nil
	}
	return 0
}

// copyUpEntryLocked makes name in upper directory dir a copy of lower
// entry lo (ovl_copy_up_one), restoring dir's times afterwards.
func (k *Kernel) copyUpEntryLocked(m *Mount, dir *ramfs.Inode, name string, lo *lowRef, data bool) (*ramfs.Inode, syscall.Errno) {
	fs, ov := m.FS, m.ov
	pa := fs.Getattr(dir)
	a := lo.a
	perm := a.Mode & 0o7777
	var n *ramfs.Inode
	var err error
	switch lo.typ() {
	case syscall.S_IFDIR:
		n, err = fs.Mkdir(dir, name, perm, a.Uid, a.Gid)
	case syscall.S_IFREG:
		n, err = fs.Create(dir, name, perm, a.Uid, a.Gid)
		if err == nil && data {
			if err = k.copyDataLocked(m, lo, n); err != nil {
				fs.Unlink(dir, name)
			}
		}
	case syscall.S_IFLNK:
		var target string
		if target, err = ov.lower.Readlink(lo.rel); err == nil {
			n, err = fs.Symlink(dir, name, target, a.Uid, a.Gid)
		}
	default:
		n, err = fs.Mknod(dir, name, a.Mode&(syscall.S_IFMT|0o7777), a.Rdev, a.Uid, a.Gid)
	}
	if err != nil {
		return nil, Errno(err)
	}
	// Owner first (a set-group-ID parent gave its group; chown drops
	// set-user-ID), then the exact mode, then the times.
	fs.Chown(n, int64(a.Uid), int64(a.Gid))
	if lo.typ() != syscall.S_IFLNK {
		fs.Chmod(n, perm)
	}
	at, mt := a.Atime, a.Mtime
	fs.SetTimes(n, &at, &mt)
	pat, pmt := pa.Atime, pa.Mtime
	fs.SetTimes(dir, &pat, &pmt)
	switch {
	case lo.typ() == syscall.S_IFDIR:
		ov.merged[n] = lo.rel
		ov.byRel[lo.rel] = n
		ov.origin[n.Ino()] = ident{ino: ov.dirInoOf(lo.rel)}
	case a.Nlink == 1:
		// A copy of one of several hard links is a file of its own
		// (overlayfs without index=on breaks the link too): it must
		// not share the others' number.
		ov.origin[n.Ino()] = ident{host: true, maj: a.DevMajor, min: a.DevMinor, ino: a.Ino}
	}
	return n, 0
}

// copyDataLocked copies the data of lower file lo into upper file n,
// leaving aligned blocks of zeros as holes.
func (k *Kernel) copyDataLocked(m *Mount, lo *lowRef, n *ramfs.Inode) error {
	f, err := m.ov.lower.Open(lo.rel, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if m.ov.buf == nil {
		m.ov.buf = make([]byte, 1<<20)
	}
	buf := m.ov.buf
	var off int64
	for {
		got, err := f.ReadAt(buf, off)
		if got > 0 {
			if werr := writeNonZero(m.FS, n, buf[:got], off); werr != nil {
				return werr
			}
			off += int64(got)
		}
		if err == io.EOF || got == 0 {
			break
		}
		if err != nil {
			return err
		}
	}
	return m.FS.Truncate(n, off)
}

// writeNonZero writes p at off into n, skipping 4096-byte aligned blocks
// of zeros.
func writeNonZero(fs *ramfs.FS, n *ramfs.Inode, p []byte, off int64) error {
	const bs = 4096
	for i := 0; i < len(p); {
		end := min(len(p), i+bs-int((off+int64(i))%bs))
		if allZero(p[i:end]) {
			i = end
			continue
		}
		j := end
		for j < len(p) {
			e := min(len(p), j+bs-int((off+int64(j))%bs))
			if allZero(p[j:e]) {
				break
			}
			j = e
		}
		if _, err := fs.WriteAt(n, p[i:j], off+int64(i)); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// materializeLocked is copyUpLocked for a call that changes the entry l
// names (chmod, truncate, xattrs...): a no-op outside overlays.
func (k *Kernel) materializeLocked(l *loc, data bool) syscall.Errno {
	if l.m.ov == nil {
		return 0
	}
	return k.copyUpLocked(l, data)
}

// prepareCreateLocked readies the name l for a new entry in an overlay:
// its parent gets an upper copy, and a whiteout in its place is removed.
// undo puts the whiteout back when the creation then fails.
func (k *Kernel) prepareCreateLocked(l *loc) (undo func(), e syscall.Errno) {
	undo = func() {}
	if l.m.ov == nil {
		return undo, 0
	}
	if l.dir, e = k.upperDirLocked(l.m, l.parent()); e != 0 {
		return undo, e
	}
	l.dlo = nil
	if !l.wh {
		return undo, 0
	}
	fs, dir, name := l.m.FS, l.dir, l.name
	if err := fs.Unlink(dir, name); err != nil {
		return undo, Errno(err)
	}
	return func() { fs.Mknod(dir, name, syscall.S_IFCHR, 0, 0, 0) }, 0
}

// tmpNameLocked returns a name dir does not have, for an entry on its way
// out.
func (k *Kernel) tmpNameLocked(m *Mount, dir *ramfs.Inode) string {
	for {
		m.ov.tmpSeq++
		name := ".fsshim-gone-" + strconv.FormatUint(m.ov.tmpSeq, 10)
		if _, err := m.FS.Lookup(dir, name); err != nil {
			return name
		}
	}
}

// removeLocked removes the existing entry l names (unlink, or rmdir when
// dir) from an overlay, leaving a whiteout when the lower layer has the
// name. The caller has checked permissions and, for a directory, that its
// merged view is empty.
func (k *Kernel) removeLocked(l loc, dir bool) syscall.Errno {
	m := l.m
	fs, ov := m.FS, m.ov
	needWh := ov.has(m.lowPath(l.parent()), l.name)
	if l.ino == nil {
		// Only in the lower layer: a whiteout is all it takes.
		d, e := k.upperDirLocked(m, l.parent())
		if e != 0 {
			return e
		}
		_, err := fs.Mknod(d, l.name, syscall.S_IFCHR, 0, 0, 0)
		return Errno(err)
	}
	name := l.name
	if needWh {
		// Move the entry aside leaving the whiteout in one step, so
		// that a full ramfs fails the call before anything changed.
		name = k.tmpNameLocked(m, l.dir)
		if err := fs.Rename(l.dir, l.name, l.dir, name, ramfs.RenameWhiteout); err != nil {
			return Errno(err)
		}
	}
	if !dir {
		return Errno(fs.Unlink(l.dir, name))
	}
	k.clearWhiteoutsLocked(m, l.ino)
	if rel, ok := ov.merged[l.ino]; ok {
		delete(ov.merged, l.ino)
		delete(ov.byRel, rel)
	}
	return Errno(fs.Rmdir(l.dir, name))
}

// clearWhiteoutsLocked removes the whiteouts of upper directory d (before
// d itself goes: they hid lower entries below it).
func (k *Kernel) clearWhiteoutsLocked(m *Mount, d *ramfs.Inode) {
	fs := m.FS
	var names []string
	fs.ReadDirNoatime(d, 2, func(name string, _ uint64, typ uint8, _ int64) bool {
		if typ == dtChr {
			names = append(names, name)
		}
		return true
	})
	for _, name := range names {
		if n, err := fs.Lookup(d, name); err == nil && isWhiteout(fs, n) {
			fs.Unlink(d, name)
		}
	}
}

// dent is one entry of a directory listing.
type dent struct {
	name string
	ino  uint64
	typ  uint8
}

// mergedLocked lists directory n of an overlay mount (without "." and
// ".."): the upper entries but whiteouts, then the lower entries the upper
// directory neither has nor hides.
func (k *Kernel) mergedLocked(m *Mount, n node) []dent {
	fs, ov := m.FS, m.ov
	var out []dent
	var upper map[string]bool
	if n.ino != nil {
		upper = map[string]bool{}
		fs.ReadDirNoatime(n.ino, 2, func(name string, ino uint64, typ uint8, _ int64) bool {
			upper[name] = true
			if typ == dtChr {
				if c, err := fs.Lookup(n.ino, name); err == nil && isWhiteout(fs, c) {
					return true
				}
			}
			out = append(out, dent{name: name, ino: ov.mapIno(ino), typ: typ})
			return true
		})
	}
	low := m.lowPath(n)
	if low == "" {
		return out
	}
	d, err := ov.list(low)
	if err != nil {
		return out
	}
	for _, e := range d.ents {
		if upper[e.Name] {
			continue
		}
		ino := e.Ino
		if e.Type == dtDir {
			ino = ov.dirInoOf(joinRel(low, e.Name))
		}
		out = append(out, dent{name: e.Name, ino: ino, typ: e.Type})
	}
	return out
}

// mergedEmptyLocked reports whether directory n lists nothing.
func (k *Kernel) mergedEmptyLocked(m *Mount, n node) bool {
	if m.ov == nil {
		return m.FS.Entries(n.ino) == 0
	}
	return len(k.mergedLocked(m, n)) == 0
}

// statOfLocked returns what stat reports for n: its attributes and the
// device it is on.
func (k *Kernel) statOfLocked(m *Mount, n node) (a ramfs.Attr, maj, min uint32) {
	maj, min = k.devOf(m)
	ov := m.ov
	if n.ino != nil {
		a = m.FS.Getattr(n.ino)
		if ov == nil {
			return a, maj, min
		}
		if o, ok := ov.origin[a.Ino]; ok {
			a.Ino = o.ino
			if o.host {
				maj, min = o.maj, o.min
			}
		}
		if isDir(n.ino) {
			k.dirCountsLocked(m, n, &a)
		}
		return a, maj, min
	}
	a = n.lo.a.Attr
	if n.lo.typ() != syscall.S_IFDIR {
		return a, n.lo.a.DevMajor, n.lo.a.DevMinor
	}
	a.Ino = ov.dirInoOf(n.lo.rel)
	a.Blocks, a.Blksize = 0, 4096
	k.dirCountsLocked(m, n, &a)
	return a, maj, min
}

// dirCountsLocked sets a directory's link count and size from its merged
// view, as tmpfs counts them (2 plus a link per subdirectory; 20 bytes per
// entry and 40 more).
func (k *Kernel) dirCountsLocked(m *Mount, n node, a *ramfs.Attr) {
	if m.lowPath(n) == "" {
		return // the ramfs's own counts are right (whiteouts aside)
	}
	ents := k.mergedLocked(m, n)
	sub := 0
	for _, e := range ents {
		if e.typ == dtDir {
			sub++
		}
	}
	if a.Nlink > 0 {
		a.Nlink = uint32(2 + sub)
	}
	a.Size = int64(20 * (2 + len(ents)))
}

// dirSnapshotLocked lists an open directory of an overlay mount for
// getdents: ".", "..", then the merged entries.
func (k *Kernel) dirSnapshotLocked(f *File) []dent {
	fs, ov := f.m.FS, f.m.ov
	self := ov.mapIno(f.ino.Ino())
	parent := ov.mapIno(fs.Parent(f.ino).Ino())
	out := []dent{{".", self, dtDir}, {"..", parent, dtDir}}
	return append(out, k.mergedLocked(f.m, node{ino: f.ino})...)
}

// hasLowerDir reports whether directory n has entries in the lower layer
// below it (it cannot be renamed: EXDEV).
func (m *Mount) hasLowerDir(n node) bool {
	return m.ov != nil && n.ok() && n.isDir() && m.lowPath(n) != ""
}

// overlayAt returns the overlay mount at or above host path hp, and hp's
// path in its lower layer.
func (k *Kernel) overlayAt(hp string) (*Mount, string) {
	for _, m := range k.mounts {
		if m.ov == nil {
			continue
		}
		if hp == m.Path {
			return m, "."
		}
		if rest, ok := strings.CutPrefix(hp, m.Path+"/"); ok {
			return m, rest
		}
	}
	return nil, ""
}

// hostLowerLocked handles an fd emul did not emulate in a call that would
// change its file: when the fd is a host file under an overlay mount (a
// lower file an open got with InstallHostFD, or one the program inherited)
// the call must change the overlay's entry for it, never the host file. ok
// is false for any other fd (the host kernel does the call); otherwise l
// is the entry, or e the answer (EROFS when the overlay no longer shows
// that file at its path).
func (k *Kernel) hostLowerLocked(p *Process, fd int) (l loc, e syscall.Errno, ok bool) {
	if !k.overlays || fd < 0 {
		return loc{}, 0, false
	}
	hp, err := k.host.FDPath(p.Tgid, fd)
	if err != nil {
		return loc{}, 0, false
	}
	m, rel := k.overlayAt(hp)
	if m == nil {
		return loc{}, 0, false
	}
	l, e = k.walkLocked(p, atFDCWD, hp, lastNoFollow)
	if e != 0 || l.host || l.m != m {
		return loc{}, syscall.EROFS, true
	}
	switch {
	case l.lo != nil:
		if l.lo.rel == rel {
			return l, 0, true
		}
	case l.ino != nil && isDir(l.ino):
		if m.ov.merged[l.ino] == rel {
			return l, 0, true
		}
	case l.ino != nil:
		o, has := m.ov.origin[l.ino.Ino()]
		if a, err := m.ov.lower.Lstat(rel); has && err == nil && o.host && o.ino == a.Ino && o.maj == a.DevMajor && o.min == a.DevMinor {
			return l, 0, true
		}
	}
	return loc{}, syscall.EROFS, true
}

// procLowerLocked is the walk's view of a /proc/PID/fd/N link (also
// /dev/fd/N, /dev/stdin, /dev/stdout, /dev/stderr) to an fd emul did not
// emulate: when the fd is a host file under an overlay mount, not open
// for writing, the link names the overlay's entry at the file's path (so
// an open for writing copies up instead of reopening the host file).
func (k *Kernel) procLowerLocked(p *Process, hp string) (string, bool) {
	tgid, fd, ok := parseFDLink(hp)
	if !ok {
		return "", false
	}
	q := p
	if tgid != 0 {
		if q = k.seenByLocked(p, tgid); q == nil {
			return "", false // not a process of the program's
		}
	}
	tgid = q.Tgid
	if k.identLocked(q, fd) != nil {
		return "", false // an emulated fd: procFDLocked's
	}
	target, err := k.host.FDPath(tgid, fd)
	if err != nil {
		return "", false
	}
	if m, _ := k.overlayAt(target); m == nil {
		return "", false
	}
	if am, ok := k.host.(FDAccModer); ok {
		if acc, err := am.FDAccMode(tgid, fd); err != nil || acc != syscall.O_RDONLY {
			return "", false
		}
	}
	return target, true
}

// parseFDLink reads /proc/PID/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N,
// /proc/PID/task/TID/fd/N, /dev/fd/N and /dev/std{in,out,err}; tgid 0 means
// the caller.
func parseFDLink(hp string) (tgid, fd int, ok bool) {
	switch hp {
	case "/dev/stdin":
		return 0, 0, true
	case "/dev/stdout":
		return 0, 1, true
	case "/dev/stderr":
		return 0, 2, true
	}
	var num string
	if rest, found := strings.CutPrefix(hp, "/dev/fd/"); found {
		num = rest
	} else {
		rest, found := strings.CutPrefix(hp, "/proc/")
		if !found {
			return 0, 0, false
		}
		who, rest, found := strings.Cut(rest, "/")
		if !found {
			return 0, 0, false
		}
		if t, r, found := strings.Cut(rest, "/"); found && t == "task" {
			_, rest, _ = strings.Cut(r, "/")
		}
		if num, found = strings.CutPrefix(rest, "fd/"); !found {
			return 0, 0, false
		}
		if who != "self" && who != "thread-self" {
			pid, err := strconv.Atoi(who)
			if err != nil || pid <= 0 {
				return 0, 0, false
			}
			tgid = pid
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return tgid, n, true
}

// CopyUpAll makes the upper layer of overlay mount m hold its whole merged
// view, so that saving the ramfs saves what the program saw: every entry
// of the lower layer that is neither shadowed nor whited out is copied up
// (hard links among them stay links), and the whiteouts go. Call it once
// the program has ended; it is a no-op for other mounts. It fails with
// ENOSPC when the merged view does not fit in the ramfs.
func (k *Kernel) CopyUpAll(m *Mount) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if m.ov == nil {
		return nil
	}
	links := map[ident]*ramfs.Inode{}
	if e := k.copyUpTreeLocked(m, m.FS.Root(), links); e != 0 {
		return e
	}
	return nil
}

func (k *Kernel) copyUpTreeLocked(m *Mount, d *ramfs.Inode, links map[ident]*ramfs.Inode) syscall.Errno {
	fs, ov := m.FS, m.ov
	da := fs.Getattr(d)
	if low := ov.merged[d]; low != "" {
		if ld, err := ov.list(low); err == nil {
			for _, e := range ld.ents {
				if _, err := fs.Lookup(d, e.Name); err == nil {
					continue // shadowed or whited out
				}
				lo, err := ov.lookupLower(low, e.Name)
				if err != nil {
					continue
				}
				id := ident{maj: lo.a.DevMajor, min: lo.a.DevMinor, ino: lo.a.Ino}
				if first := links[id]; first != nil && lo.typ() != syscall.S_IFDIR {
					if err := fs.Link(d, e.Name, first); err != nil {
						return Errno(err)
					}
					continue
				}
				n, ce := k.copyUpEntryLocked(m, d, e.Name, lo, true)
				if ce != 0 {
					return ce
				}
				if lo.typ() != syscall.S_IFDIR && lo.a.Nlink > 1 {
					links[id] = n
				}
			}
		} else {
			return Errno(err)
		}
	}
	var subdirs []*ramfs.Inode
	fs.ReadDirNoatime(d, 2, func(name string, _ uint64, typ uint8, _ int64) bool {
		if typ == dtDir {
			if n, err := fs.Lookup(d, name); err == nil {
				subdirs = append(subdirs, n)
			}
		}
		return true
	})
	for _, sd := range subdirs {
		if e := k.copyUpTreeLocked(m, sd, links); e != 0 {
			return e
		}
	}
	k.clearWhiteoutsLocked(m, d)
	at, mt := da.Atime, da.Mtime
	fs.SetTimes(d, &at, &mt)
	if rel, ok := ov.merged[d]; ok {
		delete(ov.merged, d)
		delete(ov.byRel, rel)
	}
	return 0
}
