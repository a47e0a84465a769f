package emul

import (
	"path"
	"strconv"
	"strings"
	"syscall"

	"fsshim/ramfs"
)

const maxSymlinks = 40 // Linux MAXSYMLINKS

// loc is the result of a path walk.
type loc struct {
	// host is set when the path lies outside every mount; hostPath is its
	// lexically resolved absolute path ("" when unknown). redirected says
	// the walk passed through a mount (a symlink or ".." led back out), so
	// the host kernel would resolve the original string differently.
	host       bool
	hostPath   string
	redirected bool

	m *Mount
	// dir holds the last component; name is that component ("" when the
	// path named a directory itself: a mount root, ".", ".." or a dirfd).
	dir  *ramfs.Inode
	name string
	// ino is the inode named, nil if the last component does not exist.
	ino *ramfs.Inode
	// In an overlay mount (overlay.go): lo is the entry named when it is
	// in the lower layer alone (ino is nil then), dlo the directory
	// holding it when that is (dir is nil then), and wh says that a
	// whiteout hides a lower entry of the name that does not exist.
	lo, dlo *lowRef
	wh      bool
	// abs is the absolute path of the result.
	abs string
	// slash: the path ended in "/" (the result must be a directory).
	slash bool
}

type walkFlags int

const (
	followLast walkFlags = 1 << iota // follow a symlink in the last component
	noSymlinks                       // RESOLVE_NO_SYMLINKS
	beneath                          // RESOLVE_BENEATH / RESOLVE_IN_ROOT-ish: no escape from the start dir
	noXdev                           // RESOLVE_NO_XDEV
	inRoot                           // RESOLVE_IN_ROOT: "/" and ".." stop at the start dir
	// lastNoFollow: the call works on the last component itself
	// (unlink, rmdir, rename, mkdir, link's new name): a trailing slash
	// does not make the walk follow a final symlink.
	lastNoFollow
	noMagiclinks // RESOLVE_NO_MAGICLINKS
)

// walkState is where a walk currently is.
type walkState struct {
	host     bool
	hostPath string
	m        *Mount
	d        *ramfs.Inode
	// lo is the directory when it is in an overlay's lower layer alone
	// (d is nil then).
	lo  *lowRef
	abs string
}

// startLocked returns the state a relative path starts from.
func (k *Kernel) startLocked(p *Process, dirfd int) (walkState, syscall.Errno) {
	if dirfd == atFDCWD {
		if p.fs.cwd != nil {
			return walkState{m: p.fs.cwd.m, d: p.fs.cwd.ino, abs: p.fs.cwd.path}, 0
		}
		if p.fs.hostCwd == "" {
			cwd, err := k.host.Cwd(p.Tgid)
			if err != nil {
				return walkState{host: true}, 0 // unknown: let the kernel decide
			}
			p.fs.hostCwd = cwd
			// A program started inside a mount (fsshim's default
			// mount is its working directory) works there: from now
			// on its working directory is the ramfs one.
			if st, in, e := k.hostToRamLocked(p, cwd); in {
				if e != 0 {
					return walkState{}, e
				}
				p.fs.cwd = k.newFileLocked(st.m, st.d, oPath, st.abs)
				return st, 0
			}
		}
		return walkState{host: true, hostPath: p.fs.hostCwd}, 0
	}
	if f := k.identLocked(p, dirfd); f != nil {
		if f.ino.Mode()&syscall.S_IFMT != syscall.S_IFDIR {
			return walkState{}, syscall.ENOTDIR
		}
		return walkState{m: f.m, d: f.ino, abs: f.path}, 0
	}
	// The cache holds while every change to the fd table is one of the
	// process's own routed calls (see FDOracle): not while an exec may
	// have closed the fd, nor when another process shares the table.
	cacheable := len(p.execBy) == 0 && !p.SharedFDs
	hp, ok := p.hostDirs[dirfd]
	if !ok || !cacheable {
		var err error
		hp, err = k.host.FDPath(p.Tgid, dirfd)
		if err != nil {
			hp = ""
		}
		if cacheable {
			if p.hostDirs == nil {
				p.hostDirs = map[int]string{}
			}
			p.hostDirs[dirfd] = hp
		}
	}
	if hp != "" {
		// A host directory opened before fsshim started, at or below a
		// mount path, names the ramfs directory there.
		if st, in, e := k.hostToRamLocked(p, hp); in {
			return st, e
		}
	}
	return walkState{host: true, hostPath: hp}, 0
}

// walkLocked resolves name relative to dirfd for process p, the way Linux's
// path_lookupat/path_openat does, switching between the host's namespace
// (handled lexically) and the ramfs mounts.
func (k *Kernel) walkLocked(p *Process, dirfd int, name string, fl walkFlags) (loc, syscall.Errno) {
	var st walkState
	if strings.HasPrefix(name, "/") && fl&inRoot == 0 {
		if fl&beneath != 0 {
			return loc{}, syscall.EXDEV
		}
		st = walkState{host: true, hostPath: "/"}
	} else {
		var e syscall.Errno
		st, e = k.startLocked(p, dirfd)
		if e != 0 {
			return loc{}, e
		}
		if st.host && st.hostPath == "" {
			return loc{host: true}, 0
		}
	}
	startIno := st.d
	root := st
	// kernelAgrees reports whether the kernel, given the same relative
	// string, starts where this walk started: true for absolute paths and
	// host starts; for a start in a mount only when it is the working
	// directory and the kernel's own working directory is the same path
	// (a program started there). A ramfs dirfd is a placeholder file to
	// the kernel, so never.
	kernelAgrees := func() bool {
		if strings.HasPrefix(name, "/") && fl&inRoot == 0 || root.host {
			return true
		}
		if dirfd != atFDCWD || p.fs.cwd == nil {
			return false
		}
		if p.fs.hostCwd == "" {
			if cwd, err := k.host.Cwd(p.Tgid); err == nil {
				p.fs.hostCwd = cwd
			}
		}
		return p.fs.hostCwd == p.fs.cwd.path
	}
	slash := strings.HasSuffix(name, "/")
	comps := splitPath(name)
	redirected := false
	viaLink := false
	links := 0
	var res loc
	res.slash = slash

	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		last := len(comps) == 0
		if st.host {
			switch c {
			case ".":
			case "..":
				st.hostPath = path.Dir(st.hostPath)
				if m := k.mountAt(st.hostPath); m != nil {
					if fl&noXdev != 0 {
						return loc{}, syscall.EXDEV
					}
					st = walkState{m: m, d: m.FS.Root(), abs: st.hostPath}
				}
			default:
				np := path.Join(st.hostPath, c)
				if f := k.procFDLocked(p, np); f != nil && (!last || fl&followLast != 0 || slash) {
					// A /proc/PID/fd/N magic link to an emulated
					// file jumps to the file itself.
					if fl&(noMagiclinks|noSymlinks) != 0 {
						return loc{}, syscall.ELOOP
					}
					if last {
						return loc{m: f.m, ino: f.ino, abs: f.path, slash: slash}, 0
					}
					if !isDir(f.ino) {
						return loc{}, syscall.ENOTDIR
					}
					st = walkState{m: f.m, d: f.ino, abs: f.path}
					continue
				}
				if k.overlays && (!last || fl&followLast != 0 || slash) {
					if hp, ok := k.procLowerLocked(p, np); ok {
						// A link to a host file under an
						// overlay names the overlay's entry.
						comps = append(splitPath(hp), comps...)
						st = walkState{host: true, hostPath: "/"}
						continue
					}
				}
				if !last || fl&followLast != 0 || (slash && fl&lastNoFollow == 0) {
					// /proc/PID/root, cwd and fd/N are jumps to
					// the process's root, working directory or
					// open directory (nd_jump_link), not names.
					if to, agrees, ok, e := k.procJumpLocked(p, np, fl); e != 0 {
						return loc{}, e
					} else if ok {
						st = to
						viaLink = viaLink || !agrees
						continue
					}
				}
				if m := k.mountAt(np); m != nil {
					if fl&noXdev != 0 {
						return loc{}, syscall.EXDEV
					}
					st = walkState{m: m, d: m.FS.Root(), abs: np}
				} else {
					st.hostPath = np
				}
			}
			continue
		}
		fs := st.m.FS
		// Every component needs search permission on the directory it
		// is looked up in (may_lookup).
		if e := k.permNodeLocked(p, st.m, node{ino: st.d, lo: st.lo}, mayExec); e != 0 {
			return loc{}, e
		}
		switch c {
		case ".":
			continue
		case "..":
			if fl&inRoot != 0 && st.d != nil && st.d == startIno {
				continue
			}
			if fl&beneath != 0 && st.d != nil && st.d == startIno {
				return loc{}, syscall.EXDEV
			}
			if st.d == nil {
				// A directory of an overlay's lower layer alone.
				var e syscall.Errno
				if st, e = k.lowerParentLocked(st); e != 0 {
					return loc{}, e
				}
				continue
			}
			if st.d == fs.Root() {
				if fl&noXdev != 0 {
					return loc{}, syscall.EXDEV
				}
				st = walkState{host: true, hostPath: path.Dir(st.m.Path)}
				// ".." written in the path itself leads where the
				// kernel's own walk would, if the kernel started
				// where this walk did; one that came from a ramfs
				// symlink does not.
				redirected = redirected || viaLink || !kernelAgrees()
			} else {
				st.d = fs.Parent(st.d)
				st.abs = path.Dir(st.abs)
			}
			continue
		}
		if len(c) > 255 {
			return loc{}, syscall.ENAMETOOLONG
		}
		child, lo, wh, err := k.lookupLocked(&st, c)
		if err != nil {
			e := Errno(err)
			if e == syscall.ENOENT && last {
				return loc{m: st.m, dir: st.d, dlo: st.lo, name: c, wh: wh, abs: path.Join(st.abs, c), slash: slash}, 0
			}
			return loc{}, e
		}
		mode := node{ino: child, lo: lo}.typ()
		if mode == syscall.S_IFLNK && (!last || fl&followLast != 0 || (slash && fl&lastNoFollow == 0)) {
			if fl&noSymlinks != 0 {
				return loc{}, syscall.ELOOP
			}
			links++
			if links > maxSymlinks {
				return loc{}, syscall.ELOOP
			}
			viaLink = true
			var target string
			if child != nil {
				target, err = fs.Readlink(child)
			} else {
				target, err = st.m.ov.lower.Readlink(lo.rel)
			}
			if err != nil {
				return loc{}, Errno(err)
			}
			if last && strings.HasSuffix(target, "/") {
				// A final symlink whose target ends in "/" must
				// name a directory, like a trailing slash.
				slash = true
			}
			if strings.HasPrefix(target, "/") {
				switch {
				case fl&inRoot != 0:
					st = root
				case fl&beneath != 0:
					return loc{}, syscall.EXDEV
				default:
					st = walkState{host: true, hostPath: "/"}
					redirected = true
				}
			}
			comps = append(splitPath(target), comps...)
			continue
		}
		if last {
			return loc{m: st.m, dir: st.d, dlo: st.lo, name: c, ino: child, lo: lo, abs: path.Join(st.abs, c), slash: slash}, 0
		}
		if mode != syscall.S_IFDIR {
			return loc{}, syscall.ENOTDIR
		}
		st.d, st.lo = child, lo
		st.abs = path.Join(st.abs, c)
	}
	if st.host {
		return loc{host: true, hostPath: st.hostPath, redirected: redirected}, 0
	}
	return loc{m: st.m, ino: st.d, lo: st.lo, abs: st.abs, slash: slash}, 0
}

func splitPath(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// isDir reports whether the inode is a directory.
func isDir(n *ramfs.Inode) bool { return n.Mode()&syscall.S_IFMT == syscall.S_IFDIR }

// procFDLocked returns the emulated file behind a /proc/self/fd/N,
// /proc/thread-self/fd/N or /proc/PID/fd/N (PID a known process) path, or
// /dev/fd/N, /dev/stdin, /dev/stdout, /dev/stderr (links to those), or nil.
func (k *Kernel) procFDLocked(p *Process, hp string) *File {
	tgid, fd, ok := parseFDLink(hp)
	if !ok {
		return nil
	}
	q := p
	if tgid != 0 {
		if q = k.seenByLocked(p, tgid); q == nil {
			return nil
		}
	}
	return k.identLocked(q, fd)
}

// hostToRamLocked maps a host path at or below a mount path to the ramfs
// directory it names there. in is false when hp is outside every mount.
func (k *Kernel) hostToRamLocked(p *Process, hp string) (walkState, bool, syscall.Errno) {
	for _, m := range k.mounts {
		if hp != m.Path && !strings.HasPrefix(hp, m.Path+"/") {
			continue
		}
		st := walkState{m: m, d: m.FS.Root(), abs: m.Path}
		for _, c := range splitPath(strings.TrimPrefix(hp, m.Path)) {
			if e := k.permLocked(p, m, st.d, mayExec); e != 0 {
				return st, true, e
			}
			n, lo, _, err := k.lookupLocked(&st, c)
			if err != nil {
				return st, true, Errno(err)
			}
			if n == nil {
				// In an overlay's lower layer alone: a working
				// directory or dirfd is an upper directory.
				if lo.typ() != syscall.S_IFDIR {
					return st, true, syscall.ENOTDIR
				}
				var e syscall.Errno
				if n, e = k.upperAtLocked(m, lo.rel); e != 0 {
					return st, true, e
				}
			}
			if !isDir(n) {
				return st, true, syscall.ENOTDIR
			}
			st.d, st.abs = n, path.Join(st.abs, c)
		}
		return st, true, 0
	}
	return walkState{}, false, 0
}

// procJumpLocked returns where a followed /proc/PID/root, /proc/PID/cwd or
// /proc/PID/fd/N (also self, thread-self and task/TID; PID a process of
// the program) leads, the way proc_root_link, proc_cwd_link and
// proc_fd_link do: "/" (fsshim's processes are never chrooted in the
// emulated view), the working directory, or the host directory an fd not
// emulated holds. ok is false when hp is no such link or its target cannot
// be named (the kernel decides then). agrees is false when ".." above a
// mount from the target would lead the kernel elsewhere than this walk (an
// emulated working directory the kernel's own is not).
func (k *Kernel) procJumpLocked(p *Process, hp string, fl walkFlags) (st walkState, agrees, ok bool, e syscall.Errno) {
	tgid, what, fd, isLink := parseProcLink(hp)
	if !isLink {
		return walkState{}, false, false, 0
	}
	q := p
	if tgid != 0 {
		if q = k.seenByLocked(p, tgid); q == nil {
			return walkState{}, false, false, 0 // not a process of the program's
		}
	}
	if q != p && p.Uid != 0 && (q.Uid != p.Uid || q.Ruid != p.Uid) {
		// ptrace_may_access would refuse: the kernel answers.
		return walkState{}, false, false, 0
	}
	switch what {
	case "root":
		st = walkState{host: true, hostPath: "/"}
		agrees = true
	case "cwd":
		if q.fs.cwd != nil {
			st = walkState{m: q.fs.cwd.m, d: q.fs.cwd.ino, abs: q.fs.cwd.path}
			if q.fs.hostCwd == "" {
				if cwd, err := k.host.Cwd(q.Tgid); err == nil {
					q.fs.hostCwd = cwd
				}
			}
			agrees = q.fs.hostCwd == q.fs.cwd.path
			break
		}
		cwd := q.fs.hostCwd
		if cwd == "" {
			var err error
			if cwd, err = k.host.Cwd(q.Tgid); err != nil || !strings.HasPrefix(cwd, "/") {
				return walkState{}, false, false, 0
			}
		}
		st, agrees = walkState{host: true, hostPath: cwd}, true
		if rs, in, e := k.hostToRamLocked(q, cwd); in {
			if e != 0 {
				return walkState{}, false, false, 0
			}
			st = rs
		}
	case "fd":
		hd, err := k.host.FDPath(q.Tgid, fd)
		if err != nil || !strings.HasPrefix(hd, "/") || strings.HasSuffix(hd, " (deleted)") {
			return walkState{}, false, false, 0
		}
		st, agrees = walkState{host: true, hostPath: hd}, true
		if rs, in, e := k.hostToRamLocked(q, hd); in {
			if e != 0 {
				return walkState{}, false, false, 0
			}
			st = rs
		}
	}
	// nd_jump_link: no magic links with RESOLVE_NO_MAGICLINKS (or
	// RESOLVE_NO_SYMLINKS: pick_link refuses every link), no jumps in a
	// scoped lookup, none to another mount with RESOLVE_NO_XDEV.
	switch {
	case fl&(noMagiclinks|noSymlinks) != 0:
		return walkState{}, false, false, syscall.ELOOP
	case fl&(beneath|inRoot|noXdev) != 0:
		return walkState{}, false, false, syscall.EXDEV
	}
	return st, agrees, true, 0
}

// parseProcLink reads /proc/PID/root, /proc/PID/cwd (PID also self,
// thread-self or PID/task/TID) as what "root" or "cwd", and the fd links
// parseFDLink reads as what "fd"; tgid 0 means the caller.
func parseProcLink(hp string) (tgid int, what string, fd int, ok bool) {
	if tgid, fd, ok = parseFDLink(hp); ok {
		if strings.HasPrefix(hp, "/dev/std") {
			return 0, "", 0, false // not directories
		}
		return tgid, "fd", fd, true
	}
	rest, found := strings.CutPrefix(hp, "/proc/")
	if !found {
		return 0, "", 0, false
	}
	who, rest, found := strings.Cut(rest, "/")
	if !found {
		return 0, "", 0, false
	}
	if t, r, found := strings.Cut(rest, "/"); found && t == "task" {
		tid, r2, found := strings.Cut(r, "/")
		if !found || who == "thread-self" {
			return 0, "", 0, false
		}
		if n, err := strconv.Atoi(tid); err != nil || n <= 0 {
			return 0, "", 0, false
		}
		rest = r2
	}
	if rest != "root" && rest != "cwd" {
		return 0, "", 0, false
	}
	if who != "self" && who != "thread-self" {
		pid, err := strconv.Atoi(who)
		if err != nil || pid <= 0 {
			return 0, "", 0, false
		}
		tgid = pid
	}
	return tgid, rest, 0, true
}
