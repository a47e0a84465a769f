package emul

import (
	"strings"
	"syscall"
)

// Calls that change a file through an fd emul did not emulate reach the
// host kernel, except when the fd is a host file under an overlay mount
// (hostLowerLocked): then they change the overlay's entry, and the host
// file is left alone.

// overlayAt returns the overlay at or above host path hp, with its mount
// and hp's path in its lower layer.
func (k *Kernel) overlayAt(hp string) (*Mount, *overlay, string) {
	for _, m := range k.mounts {
		ov, ok := m.layer.(*overlay)
		if !ok {
			continue
		}
		if hp == m.Path {
			return m, ov, "."
		}
		if rest, ok := strings.CutPrefix(hp, m.Path+"/"); ok {
			return m, ov, rest
		}
	}
	return nil, nil, ""
}

// hostFile reports whether the entry l names in the overlay is still the
// lower file rel (not replaced, removed or renamed since): the same lower
// entry, the upper directory merged with it, or its copy-up.
func (ov *overlay) hostFile(l loc, rel string) bool {
	switch {
	case l.ov.lo != nil:
		return l.ov.lo.rel == rel
	case l.ino != nil && isDir(l.ino):
		return ov.merged[l.ino] == rel
	case l.ino != nil:
		o, has := ov.origin[l.ino.Ino()]
		a, err := ov.lower.Lstat(rel)
		return has && err == nil && o.host && o.ino == a.Ino && o.maj == a.DevMajor && o.min == a.DevMinor
	}
	return false
}

// hostLowerLocked handles an fd emul did not emulate in a call that would
// change its file: when the fd is a host file under an overlay mount (a
// lower file an open got with InstallHostFD, or one the program inherited)
// the call must change the overlay's entry for it, never the host file. ok
// is false for any other fd (the host kernel does the call); otherwise l
// is the entry, or e the answer (EROFS when the overlay no longer shows
// that file at its path).
//
// Preconditions: k.mu is held.
func (k *Kernel) hostLowerLocked(p *Process, fd int) (l loc, e syscall.Errno, ok bool) {
	if !k.overlays || fd < 0 {
		return loc{}, 0, false
	}
	hp, err := k.host.FDPath(p.Tgid, fd)
	if err != nil {
		return loc{}, 0, false
	}
	m, ov, rel := k.overlayAt(hp)
	if m == nil {
		return loc{}, 0, false
	}
	l, e = k.walkLocked(p, atFDCWD, hp, lastNoFollow)
	if e != 0 || l.host || l.m != m || !ov.hostFile(l, rel) {
		return loc{}, syscall.EROFS, true
	}
	return l, 0, true
}

// procLowerLocked is the walk's view of a /proc/PID/fd/N link (also
// /dev/fd/N, /dev/stdin, /dev/stdout, /dev/stderr) to an fd emul did not
// emulate: when the fd is a host file under an overlay mount, not open
// for writing, the link names the overlay's entry at the file's path (so
// an open for writing copies up instead of reopening the host file).
func (k *Kernel) procLowerLocked(p *Process, hp string) (string, bool) {
	l, ok := parseMagic(hp)
	if !ok || l.what != "fd" {
		return "", false
	}
	q := k.magicProcLocked(p, l)
	if q == nil {
		return "", false
	}
	tgid, fd := q.Tgid, l.fd
	if k.identLocked(q, fd) != nil {
		return "", false // an emulated fd: procFDLocked's
	}
	target, err := k.host.FDPath(tgid, fd)
	if err != nil {
		return "", false
	}
	if m, _, _ := k.overlayAt(target); m == nil {
		return "", false
	}
	if am, ok := k.host.(FDAccModer); ok {
		if acc, err := am.FDAccMode(tgid, fd); err != nil || acc != syscall.O_RDONLY {
			return "", false
		}
	}
	return target, true
}

// fdLocMod is fdLoc for a call that changes the file.
//
// Preconditions: k.mu is held.
func (k *Kernel) fdLocMod(c *Call, fd int) (loc, Result, bool) {
	p := c.Proc
	l, r, done := k.fdLoc(c, fd)
	if done && r.Action == Continue && fd != atFDCWD {
		if hl, e, ok := k.hostLowerLocked(p, fd); ok {
			if e != 0 {
				return loc{}, fail(e), true
			}
			return hl, Result{}, false
		}
	}
	return l, r, done
}

// targetMod is target for a call that changes the file.
//
// Preconditions: k.mu is held.
func (k *Kernel) targetMod(c *Call, dirfd int, addr uint64, follow, emptyOK bool) (loc, Result, bool) {
	if emptyOK && k.overlays {
		name := ""
		if addr != 0 {
			var e syscall.Errno
			if name, e = c.readPath(addr, true); e != 0 {
				return loc{}, fail(e), true
			}
		}
		if name == "" {
			return k.fdLocMod(c, dirfd)
		}
	}
	return k.target(c, dirfd, addr, follow, emptyOK)
}
