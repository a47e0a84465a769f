package emul

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// Extended attributes, as tmpfs keeps them (simple_xattr): the "user.",
// "trusted." and "security." namespaces, names up to 255 bytes, values up
// to 64 KiB, listed in name order. ramfs stores them on the inode (freed
// with it, charged to the mount's capacity) and sets ctime on a change;
// the namespace and permission rules of xattr_permission are here.

type xattrOp int

const (
	xSet xattrOp = iota
	xGet
	xList
	xRemove
)

// xattrCheck follows xattr_permission for name on inode n.
func (k *Kernel) xattrCheck(p *Process, m *Mount, n node, name string, write bool) syscall.Errno {
	if len(name) == 0 || len(name) > ramfs.XattrNameMax {
		return syscall.ERANGE
	}
	switch {
	case strings.HasPrefix(name, "user."):
		if n.typ() != syscall.S_IFREG && !n.isDir() {
			if write {
				return syscall.EPERM
			}
			return syscall.ENODATA
		}
		want := mayRead
		if write {
			want = mayWrite
		}
		return k.permLocked(p, m, n, want)
	case strings.HasPrefix(name, "trusted."):
		if p.Uid != 0 {
			if write {
				return syscall.EPERM
			}
			return syscall.ENODATA
		}
		return 0
	case strings.HasPrefix(name, "security."):
		return 0
	}
	return syscall.EOPNOTSUPP
}

// xattrDo runs one xattr operation on l. a are the remaining syscall
// arguments after the path or fd: name, value, size, flags (set); name,
// value, size (get); list, size (list); name (remove).
//
// An entry of an overlay's lower layer alone has no extended attributes
// (those of the host file are not read); setting one copies it up, and the
// copy starts without any.
func (k *Kernel) xattrDo(c *Call, l loc, op xattrOp, a []uint64) Result {
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	p := c.Proc
	if op == xList {
		var names []string
		if l.ino != nil {
			names = l.m.FS.ListXattr(l.ino)
		}
		var b []byte
		for _, nm := range names {
			if strings.HasPrefix(nm, "trusted.") && p.Uid != 0 {
				continue
			}
			b = append(append(b, nm...), 0)
		}
		size := a[1]
		if size == 0 {
			return ret(int64(len(b)))
		}
		if uint64(len(b)) > size {
			return fail(syscall.ERANGE)
		}
		return retE(int64(len(b)), writeFull(c.Mem, b, a[0]))
	}
	name, e := c.readPath(a[0], true)
	if e == syscall.ENAMETOOLONG {
		e = syscall.ERANGE
	}
	if e != 0 {
		return fail(e)
	}
	if e := k.xattrCheck(p, l.m, l.node(), name, op != xGet); e != 0 {
		return fail(e)
	}
	switch op {
	case xGet:
		if l.ino == nil {
			return fail(syscall.ENODATA)
		}
		v, err := l.m.FS.GetXattr(l.ino, name)
		if err != nil {
			return fail(Errno(err))
		}
		size := a[2]
		if size == 0 {
			return ret(int64(len(v)))
		}
		if uint64(len(v)) > size {
			return fail(syscall.ERANGE)
		}
		return retE(int64(len(v)), writeFull(c.Mem, v, a[1]))
	case xRemove:
		if l.ino == nil {
			return fail(syscall.ENODATA)
		}
		return retErr(0, l.m.FS.RemoveXattr(l.ino, name))
	}
	size, flags := a[2], a[3]
	if flags&^(ramfs.XattrCreate|ramfs.XattrReplace) != 0 {
		return fail(syscall.EINVAL)
	}
	if size > ramfs.XattrSizeMax {
		return fail(syscall.E2BIG)
	}
	v := make([]byte, size)
	if e := readFull(c.Mem, v, a[1]); e != 0 {
		return fail(e)
	}
	if l.ino == nil {
		// A lower-only entry has no attributes: XATTR_REPLACE fails
		// before anything is copied up.
		if flags&ramfs.XattrReplace != 0 {
			return fail(syscall.ENODATA)
		}
		if e := k.copyUpLocked(&l, true); e != 0 {
			return fail(e)
		}
	}
	return retErr(0, l.m.FS.SetXattr(l.ino, name, v, int(flags)))
}

func xattrOpOf(nr int) xattrOp {
	switch nr {
	case unix.SYS_SETXATTR, unix.SYS_LSETXATTR, unix.SYS_FSETXATTR, sysSetxattrat:
		return xSet
	case unix.SYS_GETXATTR, unix.SYS_LGETXATTR, unix.SYS_FGETXATTR, sysGetxattrat:
		return xGet
	case unix.SYS_LISTXATTR, unix.SYS_LLISTXATTR, unix.SYS_FLISTXATTR, sysListxattrat:
		return xList
	}
	return xRemove
}

// XattrFollow is setxattr, getxattr, listxattr and removexattr(2).
func (k *Kernel) XattrFollow(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], true, false)
	if done {
		return r
	}
	return k.xattrDo(c, l, xattrOpOf(c.Nr), c.Args[1:])
}

// XattrNofollow is the l* variants: a symlink itself.
func (k *Kernel) XattrNofollow(c *Call) Result {
	l, r, done := k.target(c, atFDCWD, c.Args[0], false, false)
	if done {
		return r
	}
	return k.xattrDo(c, l, xattrOpOf(c.Nr), c.Args[1:])
}

// XattrFD is the f* variants.
func (k *Kernel) XattrFD(c *Call) Result {
	f := k.identLocked(c.Proc, fdArg(c.Args[0]))
	if f == nil {
		if op := xattrOpOf(c.Nr); op == xSet || op == xRemove {
			l, r, done := k.fdLocMod(c, fdArg(c.Args[0]))
			if done {
				return r
			}
			return k.xattrDo(c, l, op, c.Args[1:])
		}
		return cont()
	}
	if f.flags&oPath != 0 {
		return fail(syscall.EBADF)
	}
	return k.xattrDo(c, loc{m: f.m, ino: f.ino}, xattrOpOf(c.Nr), c.Args[1:])
}

// XattrAt is setxattrat, getxattrat, listxattrat and removexattrat (Linux
// 6.13): (dirfd, path, at_flags, ...) with struct xattr_args {value, size,
// flags} for set and get.
func (k *Kernel) XattrAt(c *Call) Result {
	flags := int(c.Args[2])
	if flags&^(atSymlinkNofollow|atEmptyPath) != 0 {
		return fail(syscall.EINVAL)
	}
	op := xattrOpOf(c.Nr)
	targ := k.target
	if op == xSet || op == xRemove {
		targ = k.targetMod
	}
	l, r, done := targ(c, fdArg(c.Args[0]), c.Args[1], flags&atSymlinkNofollow == 0, flags&atEmptyPath != 0)
	if done {
		return r
	}
	switch op {
	case xSet, xGet:
		if c.Args[5] < 16 {
			return fail(syscall.EINVAL)
		}
		var b [16]byte
		if e := readFull(c.Mem, b[:], c.Args[4]); e != 0 {
			return fail(e)
		}
		val, size, fl := le.Uint64(b[:]), uint64(le.Uint32(b[8:])), uint64(le.Uint32(b[12:]))
		if op == xGet && fl != 0 {
			return fail(syscall.EINVAL)
		}
		return k.xattrDo(c, l, op, []uint64{c.Args[3], val, size, fl})
	case xList:
		return k.xattrDo(c, l, op, []uint64{c.Args[3], c.Args[4]})
	}
	return k.xattrDo(c, l, op, []uint64{c.Args[3]})
}
