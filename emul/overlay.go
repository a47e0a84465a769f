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
//
// An overlay is a layer (layer.go): the handlers and the path walk see the
// same interface as on a plain ramfs mount. This file holds the lookups
// and listings; overlay_copyup.go the copy-up, overlay_rename.go the
// removals and renames, overlay_hostfd.go the host fds on lower files.

import (
	"path"
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

// overlay is the layer of one overlay mount. Guarded by Kernel.mu.
//
// Preconditions (every method, in every overlay*.go file): Kernel.mu is
// held.
type overlay struct {
	fs    *ramfs.FS // the upper layer
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

var _ layer = (*overlay)(nil)

func newOverlay(m *Mount) *overlay {
	ov := &overlay{
		fs:      m.FS,
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

// lowPath is the lower path of directory n ("" when it has none: an
// opaque or purely upper directory).
func (ov *overlay) lowPath(n node) string {
	if n.ino != nil {
		return ov.merged[n.ino]
	}
	if n.lo != nil {
		return n.lo.rel
	}
	return ""
}

// lookup is ovl_lookup: the upper directory first, where a whiteout hides
// the name; then, when the directory is merged with a lower one, the
// lower directory.
func (ov *overlay) lookup(dir node, name string) (node, bool, error) {
	if dir.ino != nil {
		n, err := ov.fs.Lookup(dir.ino, name)
		if err == nil {
			if isWhiteout(ov.fs, n) {
				return node{}, true, syscall.ENOENT
			}
			return node{ino: n}, false, nil
		}
		if err != syscall.ENOENT {
			return node{}, false, err
		}
	}
	low := ov.lowPath(dir)
	if low == "" {
		return node{}, false, syscall.ENOENT
	}
	lo, err := ov.lookupLower(low, name)
	if err != nil {
		return node{}, false, err
	}
	return node{lo: lo}, false, nil
}

// parent is ".." of dir: the upper parent of an upper directory; for a
// lower-only directory the upper directory merged with the lower parent,
// or the lower parent alone.
func (ov *overlay) parent(dir node) (node, error) {
	if dir.ino != nil {
		return node{ino: ov.fs.Parent(dir.ino)}, nil
	}
	rel := path.Dir(dir.lo.rel)
	if d := ov.byRel[rel]; d != nil {
		return node{ino: d}, nil
	}
	a, err := ov.lower.Lstat(rel)
	if err != nil {
		return node{}, err
	}
	return node{lo: &lowRef{rel: rel, a: a}}, nil
}

func (ov *overlay) readlink(n node) (string, error) {
	if n.ino != nil {
		return ov.fs.Readlink(n.ino)
	}
	if n.lo.typ() != syscall.S_IFLNK {
		return "", syscall.EINVAL
	}
	return ov.lower.Readlink(n.lo.rel)
}

func (ov *overlay) attr(n node) ramfs.Attr {
	if n.ino != nil {
		return ov.fs.Getattr(n.ino)
	}
	return n.lo.a.Attr
}

// stat is ovl_getattr: an upper inode copied up from the lower layer keeps
// the lower identity; a lower non-directory is on its host device; a
// directory counts its merged view.
func (ov *overlay) stat(n node, maj, min uint32, cmtime bool) (a ramfs.Attr, _, _ uint32) {
	if n.ino != nil {
		a = ov.fs.Stat(n.ino, cmtime)
		if o, ok := ov.origin[a.Ino]; ok {
			a.Ino = o.ino
			if o.host {
				maj, min = o.maj, o.min
			}
		}
		if isDir(n.ino) {
			ov.dirCounts(n, &a)
		}
		return a, maj, min
	}
	a = n.lo.a.Attr
	if n.lo.typ() != syscall.S_IFDIR {
		return a, n.lo.a.DevMajor, n.lo.a.DevMinor
	}
	a.Ino = ov.dirInoOf(n.lo.rel)
	a.Blocks, a.Blksize = 0, 4096
	ov.dirCounts(n, &a)
	return a, maj, min
}

// dirCounts sets a directory's link count and size from its merged view,
// as tmpfs counts them (2 plus a link per subdirectory; 20 bytes per entry
// and 40 more).
func (ov *overlay) dirCounts(n node, a *ramfs.Attr) {
	if ov.lowPath(n) == "" {
		return // the ramfs's own counts are right (whiteouts aside)
	}
	ents := ov.mergedList(n)
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

// dent is one entry of a directory listing.
type dent struct {
	name string
	ino  uint64
	typ  uint8
}

// mergedList lists directory n (without "." and ".."): the upper entries
// but whiteouts, then the lower entries the upper directory neither has
// nor hides.
func (ov *overlay) mergedList(n node) []dent {
	fs := ov.fs
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
	low := ov.lowPath(n)
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

// empty reports whether directory n lists nothing.
func (ov *overlay) empty(n node) bool { return len(ov.mergedList(n)) == 0 }

// readDir serves getdents from a snapshot of the merged listing (".",
// "..", then mergedList), taken at position 0; positions are indices into
// it.
func (ov *overlay) readDir(f *File, noatime bool, fn func(string, uint64, uint8, int64) bool) error {
	if f.off == 0 || f.dents == nil {
		self := ov.mapIno(f.ino.Ino())
		parent := ov.mapIno(ov.fs.Parent(f.ino).Ino())
		f.dents = append([]dent{{".", self, dtDir}, {"..", parent, dtDir}}, ov.mergedList(node{ino: f.ino})...)
	}
	if !noatime {
		ov.fs.Touch(f.ino, true)
	}
	for pos := f.off; pos >= 0 && pos < int64(len(f.dents)); pos++ {
		d := f.dents[pos]
		if !fn(d.name, d.ino, d.typ, pos+1) {
			break
		}
	}
	return nil
}
