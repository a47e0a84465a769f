package emul

import (
	"syscall"

	"fsshim/ramfs"
)

const (
	mayExec  = 1
	mayWrite = 2
	mayRead  = 4
)

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

// permLocked checks want (mayRead|mayWrite|mayExec) against the inode's
// mode for the process's fs credentials, with root's overrides as in
// generic_permission: root may read and write anything and execute a file
// that has at least one execute bit.
// Supplementary groups are not consulted yet.
func (k *Kernel) permLocked(p *Process, m *Mount, n *ramfs.Inode, want int) syscall.Errno {
	if want == 0 {
		return 0
	}
	mode := n.Mode()
	if p.Uid == 0 {
		if want&mayExec != 0 && mode&syscall.S_IFMT != syscall.S_IFDIR && mode&0o111 == 0 {
			return syscall.EACCES
		}
		return 0
	}
	a := mode & 0o7777
	var bits uint32
	attr := m.FS.Getattr(n)
	switch {
	case attr.Uid == p.Uid:
		bits = (a >> 6) & 7
	case attr.Gid == p.Gid:
		bits = (a >> 3) & 7
	default:
		bits = a & 7
	}
	if uint32(want)&^bits != 0 {
		return syscall.EACCES
	}
	return 0
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
