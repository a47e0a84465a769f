package emul

import (
	"bytes"
	"syscall"

	"fsshim/ramfs"
)

// The fast walk. Most paths a program names are plain: absolute and into a
// mount, or relative to a working directory or dirfd in one, with no ".",
// "..", empty component, symlink to follow or magic link on the way.
// walkFastLocked walks those over the path's bytes, one hash lookup per
// component, and makes no string on the way (the name of an entry found
// is the ramfs's own; the absolute path is joined only when a caller asks
// for it, loc.absPath). Anything else it hands back untouched, and the
// resolver (walk.go) walks the path from the start, as fs/namei.c drops
// from its RCU walk to the ref walk when the fast one cannot go on.

// walkPathLocked resolves path b for c's process, as walkLocked does: by
// the fast walk when it can, else by the resolver. b stays the caller's;
// the loc refers to it until the call returns. A shared call (shared.go)
// takes the fast walk or gives up (errExclusive).
//
// Preconditions: k.mu is held.
func (k *Kernel) walkPathLocked(c *Call, dirfd int, b []byte, fl walkFlags) (loc, syscall.Errno) {
	if l, e, ok := k.walkFastLocked(c, dirfd, b, fl); ok {
		return l, e
	}
	if c.shared {
		return loc{}, errExclusive
	}
	return k.walkLocked(c.Proc, dirfd, string(b), fl&^holdLast)
}

// walkFastLocked walks b if it is a plain path (see above) that ends in a
// plain ramfs mount (an overlay's lookups are the resolver's); ok is false
// when it is not, and the caller walks b with the resolver. The answer,
// when ok, is the resolver's for the same path.
//
// Preconditions: k.mu is held.
func (k *Kernel) walkFastLocked(call *Call, dirfd int, b []byte, fl walkFlags) (l loc, e syscall.Errno, ok bool) {
	p := call.Proc
	if fl&^(followLast|lastNoFollow|holdLast) != 0 || len(b) == 0 {
		return loc{}, 0, false
	}
	rest := b
	for len(rest) > 0 && rest[len(rest)-1] == '/' {
		rest = rest[:len(rest)-1]
	}
	slash := len(rest) < len(b)
	var m *Mount
	var dir *ramfs.Inode
	var absDir, rel []byte
	if b[0] == '/' {
		// The host components up to the mount path, as hostStep takes
		// them: lexically, entering the first mount path met. Magic
		// links are on the host under /proc and /dev.
		if hasPrefix(rest, "/proc/") || hasPrefix(rest, "/dev/fd/") || hasPrefix(rest, "/dev/std") {
			return loc{}, 0, false
		}
		for _, x := range k.mounts {
			if x.Path != "/" && hasPrefix(rest, x.Path) && len(rest) > len(x.Path) && rest[len(x.Path)] == '/' {
				m = x
				break
			}
		}
		if m == nil {
			return loc{}, 0, false
		}
		dir, rel = m.FS.Root(), rest
		rest = rest[len(m.Path)+1:]
	} else {
		var f *File
		if dirfd == atFDCWD {
			f = p.fs.cwd
		} else {
			f = k.identGet(call, dirfd)
		}
		if f == nil {
			return loc{}, 0, false
		}
		if !isDir(f.ino) {
			return loc{}, syscall.ENOTDIR, true
		}
		m, dir, absDir, rel = f.m, f.ino, f.path, rest
	}
	if m.Lower != nil || len(rest) == 0 {
		return loc{}, 0, false
	}
	up := upper(dir)
	for {
		i := bytes.IndexByte(rest, '/')
		c, last := rest, i < 0
		if !last {
			c, rest = rest[:i], rest[i+1:]
		}
		if len(c) == 0 || c[0] == '.' && (len(c) == 1 || len(c) == 2 && c[1] == '.') {
			return loc{}, 0, false
		}
		if e := k.permLocked(p, m, up, mayExec); e != 0 {
			return loc{}, e, true
		}
		if len(c) > ramfs.NameMax {
			return loc{}, syscall.ENAMETOOLONG, true
		}
		var child *ramfs.Inode
		var name string
		var err error
		hold := last && fl&holdLast != 0 && call.shared && call.heldIno == nil
		if hold {
			child, name, err = m.FS.LookupNameRef(dir, c)
		} else {
			child, name, err = m.FS.LookupName(dir, c)
		}
		if err != nil {
			e := Errno(err)
			if e == syscall.ENOENT && last {
				// A negative result: the name a creating call makes.
				return loc{m: m, dir: dir, name: string(c), absDir: absDir, absRel: rel, slash: slash}, 0, true
			}
			return loc{}, e, true
		}
		if hold {
			call.heldIno, call.heldFS = child, m.FS
		}
		typ := child.Mode() & syscall.S_IFMT
		if typ == syscall.S_IFLNK && (!last || fl&followLast != 0 || slash && fl&lastNoFollow == 0) {
			return loc{}, 0, false // pickLink's
		}
		if last {
			return loc{m: m, dir: dir, name: name, ino: child, absDir: absDir, absRel: rel, slash: slash}, 0, true
		}
		if typ != syscall.S_IFDIR {
			return loc{}, syscall.ENOTDIR, true
		}
		dir, up = child, upper(child)
	}
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }
