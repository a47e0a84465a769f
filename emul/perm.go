package emul

import (
	"slices"
	"syscall"

	"fsshim/ramfs"
)

// Permission checks against the calling process's credentials, as
// generic_permission, may_create, may_delete and friends do. A caller with
// fsuid 0 is taken to hold the capabilities root has (CAP_DAC_OVERRIDE,
// CAP_FOWNER, CAP_CHOWN, CAP_FSETID); others hold none.

const (
	mayExec  = 1
	mayWrite = 2
	mayRead  = 4
)

// Creds are the ids a process acts with (from /proc/PID/status).
type Creds struct {
	Uid, Gid   uint32 // fsuid, fsgid: file access and new files' owner
	Ruid, Rgid uint32 // real ids, for access(2) without AT_EACCESS
	Groups     []uint32
}

func isReg(n *ramfs.Inode) bool { return n.Mode()&syscall.S_IFMT == syscall.S_IFREG }

// accessFor maps open flags to the access they need (ACC_MODE plus
// O_TRUNC's write), as build_open_flags does.
func accessFor(flags int) int {
	if flags&oPath != 0 {
		return 0
	}
	var a int
	switch flags & oAccmode {
	case syscall.O_RDONLY:
		a = mayRead
	case syscall.O_WRONLY:
		a = mayWrite
	default:
		a = mayRead | mayWrite
	}
	if flags&syscall.O_TRUNC != 0 {
		a |= mayWrite
	}
	return a
}

// inGroup reports whether gid is the process's fsgid or one of its
// supplementary groups (in_group_p).
func (p *Process) inGroup(gid uint32) bool {
	return p.Gid == gid || slices.Contains(p.Groups, gid)
}

// permLocked checks want (mayRead|mayWrite|mayExec) against entry n's mode
// for the process's fs credentials (generic_permission): root may read and
// write anything, search any directory, and execute a file that has at
// least one execute bit.
//
// Preconditions: k.mu is held (also for the helpers below).
func (k *Kernel) permLocked(p *Process, m *Mount, n node, want int) syscall.Errno {
	return k.permAs(p.Uid, p, m, n, want)
}

// permAs is permLocked for fsuid uid (access(2) checks with the real uid).
func (k *Kernel) permAs(uid uint32, p *Process, m *Mount, n node, want int) syscall.Errno {
	if want == 0 || uid == 0 {
		return modePermits(uid, p, n.mode(), 0, 0, want)
	}
	a := k.attrOf(m, n)
	return modePermits(uid, p, a.Mode, a.Uid, a.Gid, want)
}

// modePermits is generic_permission for a file of the given mode, owner
// and group, and fsuid uid with p's groups.
func modePermits(uid uint32, p *Process, mode, owner, group uint32, want int) syscall.Errno {
	if want == 0 {
		return 0
	}
	if uid == 0 {
		if want&mayExec != 0 && mode&syscall.S_IFMT != syscall.S_IFDIR && mode&0o111 == 0 {
			return syscall.EACCES
		}
		return 0
	}
	var bits uint32
	switch {
	case owner == uid:
		bits = (mode >> 6) & 7
	case p.inGroup(group):
		bits = (mode >> 3) & 7
	default:
		bits = mode & 7
	}
	if uint32(want)&^bits != 0 {
		return syscall.EACCES
	}
	return 0
}

// isOwnerLocked reports whether the process owns entry n or may act as if
// it did (inode_owner_or_capable).
func (k *Kernel) isOwnerLocked(p *Process, m *Mount, n node) bool {
	return p.Uid == 0 || k.attrOf(m, n).Uid == p.Uid
}

// mayCreateLocked: write and search permission on the directory
// (may_create); ENOENT in a removed directory.
func (k *Kernel) mayCreateLocked(p *Process, m *Mount, dir node) syscall.Errno {
	if dir.ino != nil && m.FS.Getattr(dir.ino).Nlink == 0 {
		return syscall.ENOENT
	}
	return k.permLocked(p, m, dir, mayWrite|mayExec)
}

// stickyLocked reports whether the sticky-bit rule of mayDeleteLocked
// applies to p in dir: the answer then depends on the owner of the
// victim, not on the directory alone.
func (k *Kernel) stickyLocked(p *Process, dir node) bool {
	return p.Uid != 0 && dir.mode()&syscall.S_ISVTX != 0
}

// mayDeleteLocked: write and search permission on the directory, and the
// sticky-bit rule: in a sticky directory only the owner of the file or of
// the directory (or root) may remove or rename it (may_delete).
func (k *Kernel) mayDeleteLocked(p *Process, m *Mount, dir, victim node) syscall.Errno {
	if e := k.permLocked(p, m, dir, mayWrite|mayExec); e != 0 {
		return e
	}
	if p.Uid != 0 && dir.mode()&syscall.S_ISVTX != 0 {
		if k.attrOf(m, victim).Uid != p.Uid && k.attrOf(m, dir).Uid != p.Uid {
			return syscall.EPERM
		}
	}
	return 0
}

// mayLinkLocked is may_linkat under fs.protected_hardlinks=1: a caller that
// does not own the file may link it only if it is a regular file, not
// set-user-ID, not set-group-ID with group execute, and the caller may
// read and write it.
func (k *Kernel) mayLinkLocked(p *Process, m *Mount, n node) syscall.Errno {
	if k.isOwnerLocked(p, m, n) {
		return 0
	}
	mode := n.mode()
	if n.typ() == syscall.S_IFREG && mode&syscall.S_ISUID == 0 && mode&(syscall.S_ISGID|0o010) != syscall.S_ISGID|0o010 &&
		k.permLocked(p, m, n, mayRead|mayWrite) == 0 {
		return 0
	}
	return syscall.EPERM
}

// killPrivLocked clears set-user-ID, and set-group-ID when group execute is
// set, after a write or truncate by a caller without CAP_FSETID
// (file_remove_privs).
func (k *Kernel) killPrivLocked(p *Process, m *Mount, n *ramfs.Inode) {
	if p.Uid == 0 || !isReg(n) {
		return
	}
	mode := n.Mode() & 0o7777
	nm := mode &^ syscall.S_ISUID
	if mode&0o010 != 0 {
		nm &^= syscall.S_ISGID
	}
	if nm != mode {
		m.FS.Chmod(n, nm)
	}
}

// ownerLocked returns the uid and gid a new inode in l.dir gets: the
// caller's, or the directory's group when it is set-group-ID.
func (k *Kernel) ownerLocked(p *Process, l loc) (uint32, uint32) {
	gid := p.Gid
	if l.dir != nil {
		a := l.m.FS.Getattr(l.dir)
		if a.Mode&syscall.S_ISGID != 0 {
			gid = a.Gid
		}
	}
	return p.Uid, gid
}
