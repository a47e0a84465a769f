package emul

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The calls in this file take a path or an fd that may name a file in a
// mount, but no ramfs can serve them: they attach kernel objects (a mount,
// an accounting file, a swap area, a watch, a handle) to an inode the
// kernel would find on the host, in the directory the mount hides. For a
// path outside every mount they answer "continue"; for a path in a mount
// they answer the errno a file system that cannot do the operation gives
// (each handler says which), so the host directory behind a mount is never
// reached. Calls that would clone or move a host tree holding such a
// directory (open_tree with OPEN_TREE_CLONE, mount --bind/--move,
// move_mount, chroot) are refused for it too, since the kernel would then
// reach that directory under a path fsshim does not know.
//
// policy/rules.go routes them; policy/coverage_test.go keeps the list of
// what is routed, refused and denied complete.

// reach says where a path (or an fd) lands.
type reach int

const (
	reachHost  reach = iota // a host file from which no mount can be reached
	reachAbove              // a host directory at or above a mount, or unknown
	reachIn                 // a file in a mount, or an emulated fd
)

// locate resolves (dirfd, addr) as the call would: with empty set an
// empty path (or, for fanotify_mark, a NULL one) names dirfd itself.
func (k *Kernel) locate(c *Call, dirfd int, addr uint64, empty, follow bool) (loc, reach, syscall.Errno) {
	var name string
	if !(empty && addr == 0) {
		var e syscall.Errno
		name, e = c.readPath(addr, empty)
		if e != 0 {
			return loc{}, 0, e
		}
	}
	if name == "" && empty {
		var f *File
		if dirfd == atFDCWD {
			f = c.Proc.fs.cwd
		} else {
			f = k.identLocked(c.Proc, dirfd)
		}
		if f != nil {
			return loc{m: f.m, ino: f.ino, absDir: f.path}, reachIn, 0
		}
		st, e := k.startLocked(c.Proc, dirfd)
		if e != 0 {
			return loc{}, 0, e
		}
		if !st.host {
			return loc{m: st.m, ino: st.dir.ino, abs: st.abs}, reachIn, 0
		}
		return loc{host: true, hostPath: st.hostPath}, k.hostReach(st.hostPath), 0
	}
	var fl walkFlags
	if follow {
		fl = followLast
	}
	l, e := k.walkLocked(c.Proc, dirfd, name, fl)
	if e != 0 {
		return loc{}, 0, e
	}
	if l.host {
		if l.redirected {
			// The walk left a mount: the kernel would resolve
			// the string from elsewhere, maybe into the host
			// directory behind the mount.
			return l, reachIn, 0
		}
		return l, k.hostReach(l.hostPath), 0
	}
	return l, reachIn, 0
}

// hostReach classifies a host path: reachAbove when a mount lies at or
// below it (or the path is unknown), reachHost otherwise. Non-paths that
// /proc reports for fds ("pipe:[N]", "anon_inode:...") are reachHost.
func (k *Kernel) hostReach(hp string) reach {
	if hp == "" {
		return reachAbove
	}
	if !strings.HasPrefix(hp, "/") {
		return reachHost
	}
	if k.mayReachMount(cleanAbs(hp)) {
		return reachAbove
	}
	return reachHost
}

// refuseIn answers errno for an existing file in a mount (ENOENT or
// ENOTDIR first, as the lookup would), and with above also for a host
// directory a mount lies under. done is false when the call may continue.
func (k *Kernel) refuseIn(c *Call, dirfd int, addr uint64, empty, follow, above bool, errno syscall.Errno) (Result, bool) {
	l, where, e := k.locate(c, dirfd, addr, empty, follow)
	if e != 0 {
		return fail(e), true
	}
	switch where {
	case reachIn:
		if !l.host {
			if e := mustExist(&l); e != 0 {
				return fail(e), true
			}
		}
		return fail(errno), true
	case reachAbove:
		if above {
			return fail(errno), true
		}
	}
	return Result{}, false
}

// privileged picks the errno of a call that needs a capability: EPERM for
// a caller without it (the kernel checks that first), else e.
func privileged(c *Call, e syscall.Errno) syscall.Errno {
	if c.Proc.Uid != 0 {
		return syscall.EPERM
	}
	return e
}

func orCont(r Result, done bool) Result {
	if done {
		return r
	}
	return cont()
}

// Acct follows acct(2). Accounting records would be appended to the host
// file behind the mount, so a file in a mount is refused with EPERM (what
// a caller without CAP_SYS_PACCT gets). acct(NULL) turns accounting off.
func (k *Kernel) Acct(c *Call) Result {
	if c.Args[0] == 0 {
		return cont()
	}
	return orCont(k.refuseIn(c, atFDCWD, c.Args[0], false, true, false, syscall.EPERM))
}

// Mount flags (include/uapi/linux/mount.h).
const (
	msBind = 0x1000
	msMove = 0x2000
)

// Mount follows mount(2). A mount on a directory in a mount, a bind or
// move of a tree that holds a mount (the host directory behind it would
// appear elsewhere) and a source or option naming a file in a mount are
// refused with EPERM; anything else is the host's.
func (k *Kernel) Mount(c *Call) Result {
	src, tgt, flags, data := c.Args[0], c.Args[1], c.Args[3], c.Args[4]
	if r, done := k.refuseIn(c, atFDCWD, tgt, false, true, false, syscall.EPERM); done {
		return r
	}
	if src != 0 {
		if flags&(msBind|msMove) != 0 {
			if r, done := k.refuseIn(c, atFDCWD, src, false, true, true, syscall.EPERM); done {
				return r
			}
		} else if k.namesMountFile(c, src) {
			return fail(syscall.EPERM)
		}
	}
	if data != 0 && flags&(msBind|msMove) == 0 {
		if s, e := c.readPath(data, true); e == 0 {
			for _, opt := range strings.Split(s, ",") {
				_, v, ok := strings.Cut(opt, "=")
				if ok && k.stringNamesMountFile(c, v) {
					return fail(syscall.EPERM)
				}
			}
		}
	}
	return cont()
}

// namesMountFile reports whether the string at addr names an existing
// file in a mount (a device or directory a file system would be mounted
// from). Strings that are no path ("tmpfs", "none") do not.
func (k *Kernel) namesMountFile(c *Call, addr uint64) bool {
	s, e := c.readPath(addr, true)
	return e == 0 && k.stringNamesMountFile(c, s)
}

// stringNamesMountFile is namesMountFile for a string: every ':'-separated
// element is tried (overlayfs' lowerdir=a:b).
func (k *Kernel) stringNamesMountFile(c *Call, s string) bool {
	for _, p := range strings.Split(s, ":") {
		if p == "" {
			continue
		}
		l, e := k.walkLocked(c.Proc, atFDCWD, p, followLast)
		if e != 0 {
			continue
		}
		if l.host && l.redirected || !l.host && l.node().ok() {
			return true
		}
	}
	return false
}

// Umount2 follows umount2(2): nothing is mounted on a directory in a
// mount, so EINVAL (EPERM without CAP_SYS_ADMIN).
func (k *Kernel) Umount2(c *Call) Result {
	follow := c.Args[1]&0x8 == 0 // UMOUNT_NOFOLLOW
	return orCont(k.refuseIn(c, atFDCWD, c.Args[0], false, follow, false, privileged(c, syscall.EINVAL)))
}

// Swap follows swapon(2) and swapoff(2): a ramfs file cannot back a swap
// area (tmpfs has no swap_activate) and none is active on it: EINVAL
// (EPERM without CAP_SYS_ADMIN).
func (k *Kernel) Swap(c *Call) Result {
	return orCont(k.refuseIn(c, atFDCWD, c.Args[0], false, true, false, privileged(c, syscall.EINVAL)))
}

// Quota commands (include/uapi/linux/quota.h): QCMD(cmd, type) is
// cmd<<8 | type, and Q_QUOTAON's addr is the path of the quota file.
const qQuotaon = 0x800002

// Quotactl follows quotactl(2): a file in a mount is no block device
// (ENOTBLK), and a quota file in a mount is on another file system than
// any device (EXDEV, as dquot_quota_on says).
func (k *Kernel) Quotactl(c *Call) Result {
	if c.Args[1] != 0 {
		if r, done := k.refuseIn(c, atFDCWD, c.Args[1], false, true, false, syscall.ENOTBLK); done {
			return r
		}
	}
	return k.quotaFile(c, uint32(c.Args[0]), c.Args[3])
}

func (k *Kernel) quotaFile(c *Call, cmd uint32, addr uint64) Result {
	if cmd>>8 == qQuotaon && addr != 0 {
		return orCont(k.refuseIn(c, atFDCWD, addr, false, true, false, syscall.EXDEV))
	}
	return cont()
}

// QuotactlFd follows quotactl_fd(2): the ramfs keeps no quotas, so an
// emulated fd gets ENOSYS (tmpfs mounted without quota has no quota
// operations either); a host fd with a quota file in a mount gets EXDEV.
func (k *Kernel) QuotactlFd(c *Call) Result {
	if k.identLocked(c.Proc, fdArg(c.Args[0])) != nil {
		return fail(syscall.ENOSYS)
	}
	return k.quotaFile(c, uint32(c.Args[1]), c.Args[3])
}

// fanotify_mark flags (include/uapi/linux/fanotify.h).
const (
	fanMarkDontFollow = 0x04
	fanMarkFlush      = 0x80
)

// FanotifyMark follows fanotify_mark(2): no event is ever reported for a
// ramfs file (the kernel does not see the calls), so a mark on one would
// watch the hidden host directory instead: EOPNOTSUPP, as for
// inotify_add_watch. A NULL path marks dirfd itself.
func (k *Kernel) FanotifyMark(c *Call) Result {
	flags := c.Args[1]
	if flags&fanMarkFlush != 0 {
		return cont()
	}
	dirfd, addr := fdArg(c.Args[3]), c.Args[4]
	return orCont(k.refuseIn(c, dirfd, addr, addr == 0, flags&fanMarkDontFollow == 0, false, syscall.EOPNOTSUPP))
}

// open_tree and move_mount flags (include/uapi/linux/mount.h).
const (
	openTreeClone     = 0x1
	moveMountFSymlink = 0x01
	moveMountFEmpty   = 0x04
	moveMountTSymlink = 0x10
	moveMountTEmpty   = 0x40
)

// OpenTree follows open_tree(2) and open_tree_attr(2). The ramfs is no
// kernel mount: a path or fd in a mount answers EOPNOTSUPP (a clone of
// one EPERM without CAP_SYS_ADMIN, as the kernel checks that first). A clone
// (OPEN_TREE_CLONE) of a host tree that holds a mount answers EPERM: the
// detached copy would hold the hidden host directory, and paths relative
// to it name no place fsshim can check.
func (k *Kernel) OpenTree(c *Call) Result {
	flags := c.Args[2]
	empty := flags&atEmptyPath != 0
	follow := flags&atSymlinkNofollow == 0
	l, where, e := k.locate(c, fdArg(c.Args[0]), c.Args[1], empty, follow)
	switch {
	case e != 0:
		return fail(e)
	case where == reachIn:
		if !l.host {
			if e := mustExist(&l); e != 0 {
				return fail(e)
			}
		}
		if flags&openTreeClone != 0 {
			return fail(privileged(c, syscall.EOPNOTSUPP))
		}
		return fail(syscall.EOPNOTSUPP)
	case where == reachAbove && flags&openTreeClone != 0:
		return fail(syscall.EPERM)
	}
	return cont()
}

// MoveMount follows move_mount(2): moving a tree that holds a mount, or
// moving anything onto a directory in a mount, answers EPERM. A detached
// tree named by an fd (MOVE_MOUNT_F_EMPTY_PATH) is one open_tree or
// fsmount made, which hold no mount (OpenTree and Fsconfig see to it).
func (k *Kernel) MoveMount(c *Call) Result {
	flags := c.Args[4]
	fromEmpty := flags&moveMountFEmpty != 0
	if !(fromEmpty && c.Args[1] != 0 && k.isEmptyString(c, c.Args[1]) && k.identLocked(c.Proc, fdArg(c.Args[0])) == nil) {
		if r, done := k.refuseIn(c, fdArg(c.Args[0]), c.Args[1], fromEmpty, flags&moveMountFSymlink != 0, true, syscall.EPERM); done {
			return r
		}
	}
	return orCont(k.refuseIn(c, fdArg(c.Args[2]), c.Args[3], flags&moveMountTEmpty != 0, flags&moveMountTSymlink != 0, false, syscall.EPERM))
}

func (k *Kernel) isEmptyString(c *Call, addr uint64) bool {
	s, e := c.readPath(addr, true)
	return e == 0 && s == ""
}

// MountSetattr follows mount_setattr(2): the ramfs is no kernel mount,
// and the kernel would change the attributes of the host mount under the
// hidden directory instead: EPERM for a path or fd in a mount.
func (k *Kernel) MountSetattr(c *Call) Result {
	flags := c.Args[2]
	return orCont(k.refuseIn(c, fdArg(c.Args[0]), c.Args[1], flags&atEmptyPath != 0, flags&atSymlinkNofollow == 0, false, syscall.EPERM))
}

// fspick flags (include/uapi/linux/mount.h).
const (
	fspickSymlinkNofollow = 0x2
	fspickEmptyPath       = 0x8
)

// Fspick follows fspick(2): the superblock the kernel would pick for a
// path in a mount is the host's under the hidden directory: EPERM.
func (k *Kernel) Fspick(c *Call) Result {
	flags := c.Args[2]
	return orCont(k.refuseIn(c, fdArg(c.Args[0]), c.Args[1], flags&fspickEmptyPath != 0, flags&fspickSymlinkNofollow == 0, false, syscall.EPERM))
}

// fsconfig commands (include/uapi/linux/mount.h).
const (
	fsconfigSetString    = 1
	fsconfigSetPath      = 3
	fsconfigSetPathEmpty = 4
	fsconfigSetFD        = 5
)

// Fsconfig follows fsconfig(2): a parameter naming a file in a mount (a
// path, an fd, or a string such as source= or upperdir= that is one)
// answers EPERM, since the new file system would be built on the host
// file behind the mount.
func (k *Kernel) Fsconfig(c *Call) Result {
	cmd, value, aux := c.Args[1], c.Args[3], c.Args[4]
	switch cmd {
	case fsconfigSetString:
		if value != 0 && k.namesMountFile(c, value) {
			return fail(syscall.EPERM)
		}
	case fsconfigSetPath, fsconfigSetPathEmpty:
		return orCont(k.refuseIn(c, fdArg(aux), value, cmd == fsconfigSetPathEmpty, true, false, syscall.EPERM))
	case fsconfigSetFD:
		if k.identLocked(c.Proc, fdArg(aux)) != nil {
			return fail(syscall.EPERM)
		}
	}
	return cont()
}

// Chroot follows chroot(2): a root in a mount answers EOPNOTSUPP (fsshim
// resolves paths from the host's root; EPERM without CAP_SYS_CHROOT), and a host directory that holds a
// mount (other than "/") EPERM: from the new root the kernel would reach
// the hidden host directory by paths fsshim takes for host paths.
func (k *Kernel) Chroot(c *Call) Result {
	l, where, e := k.locate(c, atFDCWD, c.Args[0], false, true)
	switch {
	case e != 0:
		return fail(e)
	case where == reachIn:
		if !l.host {
			if e := mustExist(&l); e != 0 {
				return fail(e)
			}
		}
		return fail(privileged(c, syscall.EOPNOTSUPP))
	case where == reachAbove && cleanAbs(l.hostPath) != "/":
		return fail(syscall.EPERM)
	}
	return cont()
}

// NameToHandleAt follows name_to_handle_at(2): a file in a mount answers
// EOPNOTSUPP, as on a file system without export operations (a handle of
// the host file behind it would let open_by_handle_at reach it; that call
// is denied by the filter anyway).
func (k *Kernel) NameToHandleAt(c *Call) Result {
	flags := c.Args[4]
	return orCont(k.refuseIn(c, fdArg(c.Args[0]), c.Args[1], flags&atEmptyPath != 0, flags&atSymlinkFollow != 0, false, syscall.EOPNOTSUPP))
}

const inDontFollow = 0x02000000 // IN_DONT_FOLLOW

// InotifyAddWatch follows inotify_add_watch(2): a watch on a ramfs file
// would never see an event (the kernel does not see the calls that change
// it) and would watch the hidden host directory instead, so a file in a
// mount answers EOPNOTSUPP; programs such as tail -f fall back to polling.
func (k *Kernel) InotifyAddWatch(c *Call) Result {
	return orCont(k.refuseIn(c, atFDCWD, c.Args[1], false, c.Args[2]&inDontFollow == 0, false, syscall.EOPNOTSUPP))
}

// FDRefused answers EOPNOTSUPP when the fd in arg0 is emulated and lets
// the host run the call otherwise: finit_module and kexec_file_load,
// which would read the placeholder rather than the ramfs file. Both check
// the caller's capability first (EPERM).
func (k *Kernel) FDRefused(c *Call) Result {
	if k.identLocked(c.Proc, fdArg(c.Args[0])) != nil {
		return fail(privileged(c, syscall.EOPNOTSUPP))
	}
	if c.Nr == unix.SYS_KEXEC_FILE_LOAD && k.identLocked(c.Proc, fdArg(c.Args[1])) != nil && c.Args[3]&0x4 == 0 { // KEXEC_FILE_NO_INITRAMFS
		return fail(privileged(c, syscall.EOPNOTSUPP))
	}
	return cont()
}

const landlockRulePathBeneath = 1

// LandlockAddRule follows landlock_add_rule(2): Landlock cannot restrict
// calls fsshim answers, so a rule whose parent_fd is emulated would be a
// rule on the placeholder, not on the ramfs directory: EOPNOTSUPP.
func (k *Kernel) LandlockAddRule(c *Call) Result {
	if c.Args[1] != landlockRulePathBeneath || c.Args[2] == 0 {
		return cont()
	}
	var b [12]byte // struct landlock_path_beneath_attr (packed)
	if e := readFull(c.Mem, b[:], c.Args[2]); e != 0 {
		return cont() // the kernel answers EFAULT
	}
	if k.identLocked(c.Proc, int(int32(le.Uint32(b[8:])))) != nil {
		return fail(syscall.EOPNOTSUPP)
	}
	return cont()
}

// bpf commands and flags (include/uapi/linux/bpf.h).
const (
	bpfObjPin  = 6
	bpfObjGet  = 7
	bpfFPathFD = 1 << 14
)

// Bpf follows bpf(2) for BPF_OBJ_PIN and BPF_OBJ_GET, the commands that
// take a path: a path in a mount is not on a bpffs, which the kernel
// answers EPERM. Every other command is the host's.
func (k *Kernel) Bpf(c *Call) Result {
	if c.Args[0] != bpfObjPin && c.Args[0] != bpfObjGet {
		return cont()
	}
	var b [20]byte // pathname u64, bpf_fd u32, file_flags u32, path_fd s32
	n := min(int(c.Args[2]), len(b))
	if n < 8 {
		return cont()
	}
	if e := readFull(c.Mem, b[:n], c.Args[1]); e != 0 {
		return cont()
	}
	dirfd := atFDCWD
	if n >= 20 && le.Uint32(b[12:])&bpfFPathFD != 0 {
		dirfd = int(int32(le.Uint32(b[16:])))
	}
	l, where, e := k.locate(c, dirfd, le.Uint64(b[:]), false, true)
	switch {
	case e != 0:
		return fail(e)
	case where != reachIn:
		return cont()
	case c.Args[0] == bpfObjGet && !l.host:
		if e := mustExist(&l); e != 0 {
			return fail(e)
		}
	}
	return fail(syscall.EPERM)
}

// fileAttrSizeVer0 is FILE_ATTR_SIZE_VER0: struct file_attr { u64
// fa_xflags; u32 fa_extsize, fa_nextents, fa_projid, fa_cowextsize }.
const fileAttrSizeVer0 = 24

// fileAttrArgs checks what file_getattr and file_setattr check before the
// lookup: the flags, and the size of struct file_attr.
func fileAttrArgs(c *Call) (empty, follow bool, size int, e syscall.Errno) {
	flags, usize := c.Args[4], c.Args[3]
	if flags&^uint64(atSymlinkNofollow|atEmptyPath) != 0 {
		return false, false, 0, syscall.EINVAL
	}
	if usize > pageSize {
		return false, false, 0, syscall.E2BIG
	}
	if usize < fileAttrSizeVer0 {
		return false, false, 0, syscall.EINVAL
	}
	return flags&atEmptyPath != 0, flags&atSymlinkNofollow == 0, int(usize), 0
}

// fileAttrTarget resolves the file of file_getattr/file_setattr: done with
// continue for a host file, with an errno for a missing one, and with
// EOPNOTSUPP for a file that is neither regular nor a directory (the ramfs
// keeps inode flags for none, as the FS_IOC_GETFLAGS ioctl answers).
func (k *Kernel) fileAttrTarget(c *Call, empty, follow bool) (loc, Result, bool) {
	l, where, e := k.locate(c, fdArg(c.Args[0]), c.Args[1], empty, follow)
	switch {
	case e != 0:
		return l, fail(e), true
	case where != reachIn:
		return l, cont(), true
	case l.host:
		return l, k.hostResult(c, l), true
	}
	if e := mustExist(&l); e != 0 {
		return l, fail(e), true
	}
	if t := l.node().typ(); t != syscall.S_IFREG && t != syscall.S_IFDIR {
		return l, fail(syscall.EOPNOTSUPP), true
	}
	return l, Result{}, false
}

// FileGetattr follows file_getattr(2) (Linux 6.17): a ramfs file has no
// inode flags, extent size or project id, so every field is zero, as
// FS_IOC_GETFLAGS answers 0 for it.
func (k *Kernel) FileGetattr(c *Call) Result {
	empty, follow, size, e := fileAttrArgs(c)
	if e != 0 {
		return fail(e)
	}
	if _, r, done := k.fileAttrTarget(c, empty, follow); done {
		return r
	}
	b := make([]byte, size) // copy_struct_to_user zeroes the tail
	return retE(0, writeFull(c.Mem, b, c.Args[2]))
}

// FileSetattr follows file_setattr(2) (Linux 6.17): a caller who does not
// own the file gets EPERM; clearing everything succeeds and setting any
// flag (FS_XFLAG_NODUMP, ...) or extent size or project id answers
// EOPNOTSUPP, as FS_IOC_SETFLAGS does for the ramfs. The host file behind
// the mount is never touched.
func (k *Kernel) FileSetattr(c *Call) Result {
	empty, follow, size, e := fileAttrArgs(c)
	if e != 0 {
		return fail(e)
	}
	b := make([]byte, size)
	if e := readFull(c.Mem, b, c.Args[2]); e != 0 {
		return fail(e)
	}
	if !allZero(b[fileAttrSizeVer0:]) {
		return fail(syscall.E2BIG) // copy_struct_from_user: unknown fields set
	}
	if le.Uint64(b[:])&^uint64(fsXflagsKnown) != 0 {
		return fail(syscall.EINVAL) // file_attr_to_fileattr
	}
	l, r, done := k.fileAttrTarget(c, empty, follow)
	if done {
		return r
	}
	if !k.isOwnerLocked(c.Proc, l.m, l.node()) {
		return fail(syscall.EPERM)
	}
	if !allZero(b[:fileAttrSizeVer0]) {
		return fail(syscall.EOPNOTSUPP)
	}
	return ret(0)
}

// fsXflagsKnown is FS_XFLAGS_MASK (include/linux/fileattr.h, 6.17): the
// fa_xflags bits file_setattr accepts at all, FS_XFLAG_REALTIME (0x1)
// through FS_XFLAG_COWEXTSIZE (0x10000) and FS_XFLAG_HASATTR.
const fsXflagsKnown = 0x0001ffff&^0x4 | 0x80000000
