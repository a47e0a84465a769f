package emul

import (
	"io"
	"path"
	"syscall"

	"fsshim/ramfs"
)

// Copy-up (fs/overlayfs/copy_up.c): an entry of the lower layer gets an
// upper copy before anything changes it.

// upperDir returns the upper inode of directory n, copying it (and its
// missing parents) up when it is in the lower layer alone.
func (ov *overlay) upperDir(n node) (*ramfs.Inode, syscall.Errno) {
	if n.ino != nil {
		return n.ino, 0
	}
	if n.lo == nil {
		return nil, syscall.ENOENT
	}
	return ov.upperAt(n.lo.rel)
}

// upperAt returns the upper directory merged with lower directory rel,
// copying it and its missing parents up (ovl_copy_up's walk of the
// parents).
func (ov *overlay) upperAt(rel string) (*ramfs.Inode, syscall.Errno) {
	if d := ov.byRel[rel]; d != nil {
		return d, 0
	}
	if rel == "." {
		return ov.fs.Root(), 0
	}
	parent, e := ov.upperAt(path.Dir(rel))
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
	if n, err := ov.fs.Lookup(parent, name); err == nil {
		// Cannot happen: a name the upper layer has is never looked
		// up below. Use it rather than fail if it is a directory.
		if !isDir(n) || isWhiteout(ov.fs, n) {
			return nil, syscall.ENOENT
		}
		return n, 0
	}
	return ov.copyUpEntry(parent, name, &lowRef{rel: rel, a: a}, false)
}

// copyUp is layer.copyUp: copyUpLoc on a copy of l.
func (ov *overlay) copyUp(l loc, data bool) (loc, syscall.Errno) {
	e := ov.copyUpLoc(&l, data)
	return l, e
}

// copyUpLoc gives the lower-only entry l names an upper copy (with its
// data when data is set, else empty: it is about to be truncated) and
// makes l name it.
func (ov *overlay) copyUpLoc(l *loc, data bool) syscall.Errno {
	if l.ino != nil || l.ov.lo == nil {
		return 0
	}
	lo := l.ov.lo
	var n, dir *ramfs.Inode
	var e syscall.Errno
	if lo.typ() == syscall.S_IFDIR {
		n, e = ov.upperAt(lo.rel)
		if e == 0 && l.name != "" {
			dir, e = ov.upperDir(l.parent())
		}
	} else {
		dir, e = ov.upperDir(l.parent())
		if e == 0 {
			n, e = ov.copyUpEntry(dir, l.name, lo, data)
		}
	}
	if e != 0 {
		return e
	}
	l.ino, l.ov.lo = n, nil
	if l.name != "" {
		l.dir, l.ov.dlo = dir, nil
	}
	return 0
}

// copyUpEntry makes name in upper directory dir a copy of lower entry lo
// (ovl_copy_up_one), restoring dir's times afterwards.
func (ov *overlay) copyUpEntry(dir *ramfs.Inode, name string, lo *lowRef, data bool) (*ramfs.Inode, syscall.Errno) {
	fs := ov.fs
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
			if err = ov.copyData(lo, n); err != nil {
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

// copyData copies the data of lower file lo into upper file n, leaving
// aligned blocks of zeros as holes.
func (ov *overlay) copyData(lo *lowRef, n *ramfs.Inode) error {
	f, err := ov.lower.Open(lo.rel, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if ov.buf == nil {
		ov.buf = make([]byte, 1<<20)
	}
	buf := ov.buf
	var off int64
	for {
		got, err := f.ReadAt(buf, off)
		if got > 0 {
			if werr := writeNonZero(ov.fs, n, buf[:got], off); werr != nil {
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
	return ov.fs.Truncate(n, off)
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

// prepareCreate readies the name l for a new entry: its parent gets an
// upper copy, and a whiteout in its place is removed.
func (ov *overlay) prepareCreate(l loc) (_ loc, undo func(), e syscall.Errno) {
	undo = func() {}
	if l.dir, e = ov.upperDir(l.parent()); e != 0 {
		return l, undo, e
	}
	l.ov.dlo = nil
	if !l.ov.wh {
		return l, undo, 0
	}
	fs, dir, name := ov.fs, l.dir, l.name
	if err := fs.Unlink(dir, name); err != nil {
		return l, undo, Errno(err)
	}
	return l, func() { fs.Mknod(dir, name, syscall.S_IFCHR, 0, 0, 0) }, 0
}

// openNode opens an entry of the lower layer that the upper layer lacks:
// a non-directory opened for reading (or O_PATH) is the host file itself
// when the transport can install it (hostFDs); anything else is copied up
// first (without its data when O_TRUNC is about to empty it) and opened as
// an upper file (done false).
func (ov *overlay) openNode(l loc, flags int, hostFDs bool) (_ loc, r Result, done bool) {
	if l.ino != nil {
		return l, Result{}, false
	}
	typ := l.ov.lo.typ()
	readOnly := flags&oPath != 0 || (flags&oAccmode == syscall.O_RDONLY && flags&syscall.O_TRUNC == 0)
	if hostFDs && typ != syscall.S_IFDIR && readOnly && (typ == syscall.S_IFREG || flags&oPath != 0) {
		hf := flags & (syscall.O_NONBLOCK | syscall.O_APPEND | syscall.O_DIRECT | syscall.O_NOATIME | syscall.O_DSYNC | syscall.O_SYNC | syscall.O_NOCTTY)
		if flags&oPath != 0 {
			hf = oPath
		}
		lf, err := ov.lower.Open(l.ov.lo.rel, hf)
		if err != nil {
			return l, errResult(err), true
		}
		return l, Result{Action: InstallHostFD, Host: lf, FDFlags: flags & syscall.O_CLOEXEC, SetFD: -1}, true
	}
	data := !(typ == syscall.S_IFREG && flags&syscall.O_TRUNC != 0 && flags&oPath == 0)
	if e := ov.copyUpLoc(&l, data); e != 0 {
		return l, fail(e), true
	}
	return l, Result{}, false
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
	ov, ok := m.layer.(*overlay)
	if !ok {
		return nil
	}
	links := map[ident]*ramfs.Inode{}
	if e := ov.copyUpTree(m.FS.Root(), links); e != 0 {
		return e
	}
	return nil
}

func (ov *overlay) copyUpTree(d *ramfs.Inode, links map[ident]*ramfs.Inode) syscall.Errno {
	fs := ov.fs
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
				n, ce := ov.copyUpEntry(d, e.Name, lo, true)
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
		if e := ov.copyUpTree(sd, links); e != 0 {
			return e
		}
	}
	ov.clearWhiteouts(d)
	at, mt := da.Atime, da.Mtime
	fs.SetTimes(d, &at, &mt)
	if rel, ok := ov.merged[d]; ok {
		delete(ov.merged, d)
		delete(ov.byRel, rel)
	}
	return 0
}
