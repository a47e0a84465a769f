package emul

import "syscall"

// Calls that change a file through an fd emul did not emulate reach the
// host kernel, except when the fd is a host file under an overlay mount
// (hostLowerLocked): then they change the overlay's entry, and the host
// file is left alone.

// fdLocMod is fdLoc for a call that changes the file.
func (k *Kernel) fdLocMod(p *Process, fd int) (loc, Result, bool) {
	l, r, done := k.fdLoc(p, fd)
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
func (k *Kernel) targetMod(c *Call, dirfd int, addr uint64, follow, emptyOK bool) (loc, Result, bool) {
	if emptyOK && k.overlays {
		name := ""
		if addr != 0 {
			var e syscall.Errno
			if name, e = readPath(c.Mem, addr, true); e != 0 {
				return loc{}, fail(e), true
			}
		}
		if name == "" {
			return k.fdLocMod(c.Proc, dirfd)
		}
	}
	return k.target(c, dirfd, addr, follow, emptyOK)
}
