package emul

import (
	"syscall"

	"fsshim/ramfs"
)

// chownRules decides a chown of a file with attributes a to (uid, gid),
// each -1 for "unchanged", by p, as chown_common, notify_change and
// setattr_prepare do in Linux, and returns the mode bits the call clears.
//
//   - Changing the owner needs CAP_CHOWN, unless the caller owns the file
//     and "changes" it to itself (chown_ok); changing the group needs
//     ownership and a group the caller is in, or the file's own group
//     (chgrp_ok).
//   - On a non-directory, set-user-ID is always cleared, and set-group-ID
//     when group-execute is set or the caller is outside the file's group
//     without CAP_FSETID (ATTR_KILL_SUID, setattr_should_drop_sgid). Such a
//     clearing is a mode change: it needs ownership (inode_owner_or_capable),
//     and drops set-group-ID as well when the caller is outside the new
//     group.
//   - Anything else is allowed: chown(path, -1, -1) of a file without those
//     bits succeeds for anyone and sets its ctime, as on tmpfs.
//
// A caller with fsuid 0 holds CAP_CHOWN, CAP_FOWNER and CAP_FSETID (see
// perm.go).
func chownRules(p *Process, a ramfs.Attr, uid, gid int64) (clear uint32, e syscall.Errno) {
	root := p.Uid == 0
	owner := root || a.Uid == p.Uid
	if uid != -1 && !root && !(a.Uid == p.Uid && uint32(uid) == a.Uid) {
		return 0, syscall.EPERM
	}
	if gid != -1 && !root && !(a.Uid == p.Uid && (uint32(gid) == a.Gid || p.inGroup(uint32(gid)))) {
		return 0, syscall.EPERM
	}
	mode := a.Mode
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		return 0, 0
	}
	if mode&syscall.S_ISUID != 0 {
		clear |= syscall.S_ISUID
	}
	if mode&syscall.S_ISGID != 0 && (mode&0o010 != 0 || !(root || p.inGroup(a.Gid))) {
		clear |= syscall.S_ISGID
	}
	if clear == 0 {
		return 0, 0
	}
	if !owner {
		return 0, syscall.EPERM
	}
	newGid := a.Gid
	if gid != -1 {
		newGid = uint32(gid)
	}
	if mode&syscall.S_ISGID != 0 && !(root || p.inGroup(newGid)) {
		clear |= syscall.S_ISGID
	}
	return clear, 0
}
