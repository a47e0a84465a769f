package emul

import (
	"path"
	"strings"
	"syscall"

	"fsshim/ramfs"
)

// Path resolution. A walk is a resolver (Linux's struct nameidata) that
// hands out one component at a time; each component is one step, taken on
// the host (hostStep: as written, since the kernel resolves host paths
// itself, except that a ".." is checked with the kernel when the answer
// depends on it, hostConfirm) or in a mount (mountStep, through the
// mount's layer, layer.go). Symlinks, magic links, "..", crossing into a
// mount and out of it, and the openat2 RESOLVE_* flags are cases of the
// resolver, not of the steps.
//
// The functions below follow fs/namei.c: path_init (start), link_path_walk
// (walkLocked's loop), walk_component (hostStep, mountStep), handle_dots
// and follow_dotdot (hostDotdot, mountDotdot), pick_link (pickLink),
// nd_jump_link (jump), traverse_mounts (enterMount).

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
	// ino is the inode named, nil if the last component does not exist
	// as a ramfs inode.
	ino *ramfs.Inode
	// ov is the part only an overlay layer reads: the entry or its
	// directory in the lower layer alone (ino or dir is nil then).
	ov ovLoc
	// abs is the absolute path of the result. walkFastLocked leaves it
	// "" and the path in absDir and absRel instead, joined only when
	// asked for (absPath, appendAbs).
	abs            string
	absDir, absRel []byte
	// slash: the path ended in "/" (the result must be a directory).
	slash bool
	// kernelRoot: the result is a mount's root that the walk reached
	// from the host at its last component, so the kernel, given the
	// same string, reaches the host directory at the mount's path.
	kernelRoot bool
	// mirror, for a redirected host result: what the exec shadow must
	// hold for the kernel's own walk of the same string to take emul's
	// route and end at the same host path (nil: no such shadow can make
	// the kernel agree; mirrorLocked).
	mirror *shadowPlan
}

// shadowPlan is the part of a walk's route through mounts that the
// kernel, walking the same string through the exec shadows, must find
// there: the directories the walk climbed out of by "..", and each ramfs
// symlink it followed (its absolute path and target). The other ramfs
// directories on the route are the parents of those, or where the walk
// started (a working directory or dirfd the kernel already has in the
// shadow).
type shadowPlan struct {
	dirs  []string
	links [][2]string
}

// ovLoc is an overlay's part of a loc: lo is the entry named when it is in
// the lower layer alone, dlo the directory holding it when that is, and wh
// says that a whiteout hides a lower entry of the name that does not
// exist.
type ovLoc struct {
	lo, dlo *lowRef
	wh      bool
}

// absPath returns the absolute path of l's result.
func (l *loc) absPath() string {
	if l.absDir == nil && l.absRel == nil {
		return l.abs
	}
	return string(l.appendAbs(nil))
}

// appendAbs appends the absolute path of l's result to b.
func (l *loc) appendAbs(b []byte) []byte {
	if l.absDir == nil && l.absRel == nil {
		return append(b, l.abs...)
	}
	b = append(b, l.absDir...)
	if len(l.absRel) > 0 {
		if len(l.absDir) > 0 && l.absDir[len(l.absDir)-1] != '/' {
			b = append(b, '/')
		}
		b = append(b, l.absRel...)
	}
	return b
}

// node is the entry l names; parent is the directory that holds it.
func (l loc) node() node   { return node{ino: l.ino, lo: l.ov.lo} }
func (l loc) parent() node { return node{ino: l.dir, lo: l.ov.dlo} }

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
	// holdLast: a shared call (shared.go) keeps the inode the walk ends
	// on referenced until it returns (Call.heldIno), as the kernel's
	// walk holds the dentry: another thread's unlink or rename over the
	// name cannot free it under the call. The fast walk's alone.
	holdLast
)

// walkState is where a walk currently is: a host directory, or a
// directory of a mount.
type walkState struct {
	host     bool
	hostPath string
	// known is how much of hostPath the kernel gave or confirmed (a
	// working directory, an fd's path, components checked by
	// hostConfirm); the components after it were taken on trust.
	known int
	m     *Mount
	dir   node
	abs   string
}

// hostAt is the walk state of host directory hp, a path the kernel knows.
func hostAt(hp string) walkState { return walkState{host: true, hostPath: hp, known: len(hp)} }

// mountRoot is the walk state of m's root.
func mountRoot(m *Mount) walkState {
	return walkState{m: m, dir: upper(m.FS.Root()), abs: m.Path}
}

// resolver is one path walk in progress, as struct nameidata.
type resolver struct {
	k     *Kernel
	p     *Process
	fl    walkFlags
	dirfd int
	name  string // the path as given
	comps []string
	slash bool // the path, or a final symlink's target, ends in "/"
	links int
	// root is where the walk started (the scope of RESOLVE_BENEATH and
	// RESOLVE_IN_ROOT); cur is where it is.
	root, cur walkState
	// redirected: the walk left a mount for the host where the kernel,
	// given the same string, would not be. viaLink: a symlink or a
	// magic link the kernel would resolve elsewhere was followed.
	// inMount: a name was looked up in a mount, or a link to an
	// emulated directory followed (the kernel would be in the host
	// directory the mount hides, or on a placeholder).
	redirected, viaLink, inMount bool
	// res is the result once a step ends the walk.
	res loc
	// trusted: a host ".." was applied to components the kernel did
	// not confirm (hostDotdot). confirm: ask the kernel before each host
	// ".." (hostConfirm). restart: the walk must be run again with
	// confirm, since a trusted ".." led where the answer depends on it.
	trusted, confirm, restart bool
	// entered: the walk entered a mount. confirmAll: every host
	// component is asked of the kernel (HostLinker), as the kernel's own
	// walk meets it: the walk runs so when the kernel, given the path,
	// would end in a mount's shadow (hostDiverges).
	entered, confirmAll bool
	// climbed holds the directories of mounts the walk left by "..": a
	// walk that goes on to the host is continued, and the kernel then
	// climbs the same directories, of the exec shadow or the host
	// (leaveMount).
	climbed []string
	// followed holds the ramfs symlinks the walk followed (absolute
	// path, target). unmirrorable: the route took a step no exec shadow can
	// show the kernel (a magic link to an emulated directory or overlay
	// file, or a start the kernel does not share), so a redirected
	// result cannot be continued (shadowPlan).
	followed     [][2]string
	unmirrorable bool
}

// walkLocked resolves name relative to dirfd for process p, the way Linux's
// path_lookupat/path_openat does, switching between the host's namespace
// (taken as written, but for hostConfirm) and the mounts. Follows
// fs/namei.c:link_path_walk (the loop) and complete_walk.
//
// Preconditions: k.mu is held.
func (k *Kernel) walkLocked(p *Process, dirfd int, name string, fl walkFlags) (loc, syscall.Errno) {
	r := &resolver{k: k, p: p, fl: fl, dirfd: dirfd, name: name}
	l, e := r.walk()
	if r.restart {
		// A ".." taken on trust led into a mount or to a magic link:
		// walk again, asking the kernel at each host "..".
		r = &resolver{k: k, p: p, fl: fl, dirfd: dirfd, name: name, confirm: true}
		l, e = r.walk()
	}
	if e == 0 && r.hostDiverges(l) {
		// A host symlink leads the kernel into a mount: walk again,
		// asking the kernel about every host component.
		r = &resolver{k: k, p: p, fl: fl, dirfd: dirfd, name: name, confirm: true, confirmAll: true}
		l, e = r.walk()
	}
	return l, e
}

// ShadowReacher is implemented by an ExecShadow that can tell where the
// kernel's own walk of a host path ends, as the program's processes
// resolve it (their root and mount namespace).
type ShadowReacher interface {
	// Reaches resolves absolute path hp (following a final symlink
	// when follow): reach says the kernel's walk of it ends in a
	// mount's shadow (for a missing path: the directory it stops in is
	// one), known is false when the kernel's answer does not tell.
	Reaches(hp string, follow bool) (reach, known bool)
}

// hostDiverges reports whether l, a result the walk left on the host as
// written (the kernel would be let resolve it), is one the kernel would
// resolve into a mount: through a host symlink that points into one (or
// through one and back out with ".."), which the lexical walk does not
// see. The kernel would find the mount's shadow there, not the ramfs, so
// the path must be walked as the kernel walks it (confirmAll). It asks
// the kernel where the path ends (ShadowReacher), and walks again when
// the answer is a shadow or tells nothing. Paths the walk already took
// through a mount, magic link or ramfs symlink, scoped lookups (openat2's
// RESOLVE_*) and /proc are left as they are.
//
// Preconditions: k.mu is held.
func (r *resolver) hostDiverges(l loc) bool {
	if !l.host || l.redirected || r.confirmAll || r.entered || r.inMount || r.viaLink || !r.root.host || r.root.hostPath == "" ||
		r.fl&(noSymlinks|beneath|inRoot) != 0 || strings.HasPrefix(l.hostPath, "/proc/") || l.hostPath == "/proc" {
		return false
	}
	sr, ok := r.k.shadow.src.(ShadowReacher)
	if !ok {
		return false
	}
	if _, ok := r.k.host.(HostLinker); !ok {
		return false
	}
	hp := r.name
	if !strings.HasPrefix(hp, "/") {
		hp = r.root.hostPath + "/" + hp
	}
	follow := r.fl&followLast != 0 || strings.HasSuffix(r.name, "/") && r.fl&lastNoFollow == 0
	reach, known := sr.Reaches(hp, follow)
	return reach || !known
}

// walk runs the resolver from its start to its result.
//
// Preconditions: k.mu is held.
func (r *resolver) walk() (loc, syscall.Errno) {
	if done, e := r.start(); e != 0 || done {
		return r.res, e
	}
	for len(r.comps) > 0 {
		c := r.comps[0]
		r.comps = r.comps[1:]
		var done bool
		var e syscall.Errno
		if r.cur.host {
			done, e = r.hostStep(c)
		} else {
			done, e = r.mountStep(c)
		}
		switch {
		case r.restart:
			return loc{}, 0
		case e != 0:
			return loc{}, e
		case done:
			return r.res, 0
		}
	}
	if r.cur.host {
		l := loc{host: true, hostPath: r.cur.hostPath, redirected: r.redirected}
		if r.redirected && !r.unmirrorable && r.k.shadow.src != nil {
			l.mirror = &shadowPlan{dirs: r.climbed, links: r.followed}
		}
		return l, 0
	}
	st := r.cur
	return loc{m: st.m, ino: st.dir.ino, ov: ovLoc{lo: st.dir.lo}, abs: st.abs, slash: r.slash, kernelRoot: r.kernelRoot()}, 0
}

// kernelRoot reports whether the walk, ended in a mount, is at the mount's
// root, reached the way the kernel's own walk of the same string would
// reach the mount path on the host: from where the kernel starts, through
// host components and links alone.
//
// Preconditions: k.mu is held.
func (r *resolver) kernelRoot() bool {
	st := r.cur
	return st.dir.ino == st.m.FS.Root() && !r.inMount && !r.viaLink && !r.redirected &&
		(strings.HasPrefix(r.name, "/") && r.fl&inRoot == 0 || r.root.host)
}

// start sets the walk at its first directory, as fs/namei.c:path_init: "/"
// for an absolute path (unless RESOLVE_IN_ROOT), else the working
// directory or dirfd. done is set when the start is a host directory fsshim
// cannot name (the kernel decides then).
//
// Preconditions: k.mu is held.
func (r *resolver) start() (done bool, e syscall.Errno) {
	r.slash = strings.HasSuffix(r.name, "/")
	r.comps = splitPath(r.name)
	if strings.HasPrefix(r.name, "/") && r.fl&inRoot == 0 {
		if r.fl&beneath != 0 {
			return true, syscall.EXDEV
		}
		r.cur = hostAt("/")
	} else {
		if r.cur, e = r.k.startLocked(r.p, r.dirfd); e != 0 {
			return true, e
		}
		if r.cur.host && r.cur.hostPath == "" {
			r.res = loc{host: true}
			return true, 0
		}
	}
	r.root = r.cur
	return false, 0
}

// last reports whether the component just taken is the path's last.
func (r *resolver) last() bool { return len(r.comps) == 0 }

// follows reports whether a symlink (or magic link) in the component just
// taken is followed: always before the last component; in the last one
// when the call follows, or a trailing slash asks for a directory (not for
// the calls that work on the last component itself).
func (r *resolver) follows() bool {
	return !r.last() || r.fl&followLast != 0 || (r.slash && r.fl&lastNoFollow == 0)
}

// startLocked returns the state a relative path starts from: the working
// directory, or dirfd's directory.
//
// Preconditions: k.mu is held.
func (k *Kernel) startLocked(p *Process, dirfd int) (walkState, syscall.Errno) {
	if dirfd == atFDCWD {
		if p.fs.cwd != nil {
			return walkState{m: p.fs.cwd.m, dir: upper(p.fs.cwd.ino), abs: string(p.fs.cwd.path)}, 0
		}
		cwd, err := k.host.Cwd(p.Tgid)
		if err != nil {
			return hostAt(""), 0 // unknown: let the kernel decide
		}
		// A program started inside a mount (fsshim's default mount is
		// its working directory) works there: from now on its working
		// directory is the ramfs one.
		if st, in, e := k.hostToRamLocked(p, cwd); in {
			if e != 0 {
				return walkState{}, e
			}
			p.fs.cwd = k.newFileLocked(st.m, st.dir.ino, oPath, st.abs)
			return st, 0
		}
		return hostAt(cwd), 0
	}
	if f := k.identLocked(p, dirfd); f != nil {
		if f.ino.Mode()&syscall.S_IFMT != syscall.S_IFDIR {
			return walkState{}, syscall.ENOTDIR
		}
		return walkState{m: f.m, dir: upper(f.ino), abs: string(f.path)}, 0
	}
	hp := k.hostDirLocked(p, dirfd)
	if hp != "" {
		// A host directory opened before fsshim started, at or below a
		// mount path, names the ramfs directory there.
		if st, in, e := k.hostToRamLocked(p, hp); in {
			return st, e
		}
	}
	return hostAt(hp), 0
}

// hostDirLocked returns the host path of p's dirfd that is not emulated,
// "" when it names no directory fsshim can name. It asks the kernel each
// time (/proc/PID/fd/N for a supervised target): a copy would go stale
// when the directory or one above it is renamed, when an exec closes the
// fd, or when a process sharing the fd table replaces it.
//
// Preconditions: k.mu is held.
func (k *Kernel) hostDirLocked(p *Process, dirfd int) string {
	hp, err := k.host.FDPath(p.Tgid, dirfd)
	if err != nil {
		return ""
	}
	return hp
}

// hostStep takes component c on the host, lexically, as
// fs/namei.c:walk_component would there: "." and ".." (hostDotdot), a
// magic link of /proc or /dev (hostMagic), a mount path (enterMount).
//
// Preconditions: k.mu is held.
func (r *resolver) hostStep(c string) (done bool, e syscall.Errno) {
	switch c {
	case ".":
		return false, 0
	case "..":
		return false, r.hostDotdot()
	}
	np := path.Join(r.cur.hostPath, c)
	if (strings.HasPrefix(np, "/proc/") || strings.HasPrefix(np, "/dev/")) && r.mustConfirm() {
		return false, 0
	}
	if done, jumped, e := r.hostMagic(np); e != 0 || done || jumped {
		return done, e
	}
	if m := r.k.mountAt(np); m != nil {
		return false, r.enterMount(m)
	}
	if r.confirmAll && r.follows() {
		return false, r.hostLookup(np)
	}
	r.cur.hostPath = np
	return false, 0
}

// hostLookup takes host component np as the kernel's own walk would meet
// it (the walk is in confirmAll): a symlink is followed (hostLink), a
// directory or the last component goes on, a missing or non-directory
// component before the last fails as the kernel's lookup would.
//
// Preconditions: k.mu is held.
func (r *resolver) hostLookup(np string) syscall.Errno {
	typ, target, err := r.k.host.(HostLinker).HostLstat(r.p.Tgid, np)
	switch e := Errno(err); {
	case err == nil && typ == syscall.S_IFLNK:
		return r.hostLink(target) // from the directory holding the link
	case err == nil && typ != syscall.S_IFDIR && !r.last():
		return syscall.ENOTDIR
	case (e == syscall.ENOENT || e == syscall.ENOTDIR) && !r.last():
		return e
	}
	r.cur.hostPath, r.cur.known = np, len(np)
	return 0
}

// hostDotdot is ".." on the host (fs/namei.c:follow_dotdot): the parent
// of the directory the kernel finds at the path (hostConfirm), which may
// be a mount's path.
//
// Preconditions: k.mu is held.
func (r *resolver) hostDotdot() syscall.Errno {
	if r.confirm {
		if requeued, e := r.hostConfirm(); e != 0 || requeued {
			return e
		}
	}
	st := &r.cur
	r.trusted = r.trusted || st.known < len(st.hostPath)
	st.hostPath = path.Dir(st.hostPath)
	st.known = min(st.known, len(st.hostPath))
	if m := r.k.mountAt(st.hostPath); m != nil {
		return r.enterMount(m)
	}
	return 0
}

// HostLinker is implemented by a Host that can look at a host path as a
// process sees it (through its own root).
type HostLinker interface {
	// HostLstat returns the type (S_IFMT bits) of host path hp as
	// process tgid sees it, not following a final symlink, and a
	// symlink's target.
	HostLstat(tgid int, hp string) (typ uint32, target string, err error)
}

// hostConfirm asks the kernel (HostLinker) about the components of the
// host path that the walk took on trust, before ".." is applied to them,
// as fs/namei.c:step_into would have met them: a directory goes on, a
// symlink is followed (its target's components, then the rest and the
// "..", are queued: requeued), anything else fails as the kernel's lookup
// would (ENOENT, ENOTDIR). Without a HostLinker, or when the kernel
// cannot tell, the path stays as written.
//
// Preconditions: k.mu is held.
func (r *resolver) hostConfirm() (requeued bool, e syscall.Errno) {
	hl, ok := r.k.host.(HostLinker)
	st := &r.cur
	if !ok || st.known >= len(st.hostPath) {
		return false, 0
	}
	dir := st.hostPath[:max(st.known, 1)]
	rest := splitPath(st.hostPath[st.known:])
	for i, c := range rest {
		p := path.Join(dir, c)
		typ, target, err := hl.HostLstat(r.p.Tgid, p)
		switch e := Errno(err); {
		case e == syscall.ENOENT || e == syscall.ENOTDIR:
			return false, e
		case err != nil:
			return false, 0 // the kernel will tell
		case typ == syscall.S_IFLNK:
			st.hostPath, st.known = dir, len(dir)
			r.comps = append(append(rest[i+1:len(rest):len(rest)], ".."), r.comps...)
			return true, r.hostLink(target)
		case typ != syscall.S_IFDIR:
			return false, syscall.ENOTDIR
		}
		dir, st.known = p, len(p)
	}
	return false, 0
}

// hostLink follows a host symlink met in hostConfirm, as pick_link: its
// target's components come next, from "/" for an absolute one
// (nd_jump_root, scoped by RESOLVE_IN_ROOT and RESOLVE_BENEATH).
//
// Preconditions: k.mu is held.
func (r *resolver) hostLink(target string) syscall.Errno {
	if r.fl&noSymlinks != 0 {
		return syscall.ELOOP
	}
	r.links++
	if r.links > maxSymlinks {
		return syscall.ELOOP
	}
	if strings.HasPrefix(target, "/") {
		switch {
		case r.fl&inRoot != 0:
			r.cur = r.root
		case r.fl&beneath != 0:
			return syscall.EXDEV
		default:
			r.cur = hostAt("/")
		}
	}
	r.comps = append(splitPath(target), r.comps...)
	return 0
}

// enterMount moves the walk onto the root of mount m, as
// fs/namei.c:traverse_mounts; RESOLVE_NO_XDEV refuses it.
//
// Preconditions: k.mu is held.
func (r *resolver) enterMount(m *Mount) syscall.Errno {
	if r.mustConfirm() {
		return 0
	}
	if r.fl&noXdev != 0 {
		return syscall.EXDEV
	}
	r.cur = mountRoot(m)
	r.entered = true
	// A walk that asks the kernel about every host component does so
	// because a host symlink leads into a mount, where the kernel
	// finds the shadow: from here the kernel's walk of the string is
	// not emul's.
	r.viaLink = r.viaLink || r.confirmAll
	return 0
}

// mustConfirm reports (and marks for a restart) that the walk took a host
// ".." on trust and now reaches something emul answers (a mount, a magic
// link), so that the kernel must be asked what the ".." was applied to. A
// path that stays on the host is left to the kernel, which walks it
// itself: asking costs a lookup per component, so it is asked only then.
//
// Preconditions: k.mu is held.
func (r *resolver) mustConfirm() bool {
	if !r.trusted || r.confirm {
		return false
	}
	if _, ok := r.k.host.(HostLinker); !ok {
		return false
	}
	r.restart = true
	return true
}

// hostMagic handles host path np when it is a magic link the walk
// follows: /proc/PID/fd/N (or /dev/fd/N...) of an emulated file, which
// names the file itself (proc_fd_link); such a link to a host file under
// an overlay, which names the overlay's entry; /proc/PID/root, cwd and
// fd/N of a directory, which are jumps (procJumpLocked). done is set when
// the walk ended on an emulated file; jumped when it moved.
//
// Preconditions: k.mu is held.
func (r *resolver) hostMagic(np string) (done, jumped bool, e syscall.Errno) {
	k, last := r.k, r.last()
	followsAny := !last || r.fl&followLast != 0 || r.slash
	if f := k.procFDLocked(r.p, np); f != nil && followsAny {
		if r.fl&(noMagiclinks|noSymlinks) != 0 {
			return false, false, syscall.ELOOP
		}
		if last {
			r.res = loc{m: f.m, ino: f.ino, abs: string(f.path), slash: r.slash}
			return true, false, 0
		}
		if !isDir(f.ino) {
			return false, false, syscall.ENOTDIR
		}
		// To the kernel the link leads to a placeholder file.
		r.inMount, r.unmirrorable = true, true
		r.cur = walkState{m: f.m, dir: upper(f.ino), abs: string(f.path)}
		return false, true, 0
	}
	if k.overlays && followsAny {
		if hp, ok := k.procLowerLocked(r.p, np); ok {
			// A link to a host file under an overlay names the
			// overlay's entry.
			r.comps = append(splitPath(hp), r.comps...)
			r.cur = hostAt("/")
			r.unmirrorable = true
			return false, true, 0
		}
	}
	if !r.follows() {
		return false, false, 0
	}
	to, agrees, ok := k.procJumpLocked(r.p, np)
	if !ok {
		return false, false, 0
	}
	return false, true, r.jump(to, agrees)
}

// jump moves the walk to where a magic link leads, as
// fs/namei.c:nd_jump_link: no magic links with RESOLVE_NO_MAGICLINKS (or
// RESOLVE_NO_SYMLINKS: pick_link refuses every link), no jumps in a scoped
// lookup, none to another mount with RESOLVE_NO_XDEV. agrees is false
// when ".." above a mount from the target would lead the kernel elsewhere
// than this walk.
//
// Preconditions: k.mu is held.
func (r *resolver) jump(to walkState, agrees bool) syscall.Errno {
	switch {
	case r.fl&(noMagiclinks|noSymlinks) != 0:
		return syscall.ELOOP
	case r.fl&(beneath|inRoot|noXdev) != 0:
		return syscall.EXDEV
	}
	r.cur = to
	r.viaLink = r.viaLink || !agrees
	r.unmirrorable = r.unmirrorable || !agrees
	return 0
}

// mountStep takes component c in the mount the walk is in, as
// fs/namei.c:walk_component: search permission on the directory
// (may_lookup), "." and ".." (mountDotdot), then the layer's lookup; a
// symlink it finds goes to pickLink, the last component ends the walk.
//
// Preconditions: k.mu is held.
func (r *resolver) mountStep(c string) (done bool, e syscall.Errno) {
	st := &r.cur
	if e := r.k.permLocked(r.p, st.m, st.dir, mayExec); e != 0 {
		return false, e
	}
	switch c {
	case ".":
		return false, 0
	case "..":
		return false, r.mountDotdot()
	}
	if len(c) > 255 {
		return false, syscall.ENAMETOOLONG
	}
	r.inMount = true
	child, wh, err := st.m.layer.lookup(st.dir, c)
	if err != nil {
		e := Errno(err)
		if e == syscall.ENOENT && r.last() {
			// A negative result: the name a creating call makes.
			r.res = loc{m: st.m, dir: st.dir.ino, ov: ovLoc{dlo: st.dir.lo, wh: wh}, name: c, abs: path.Join(st.abs, c), slash: r.slash}
			return true, 0
		}
		return false, e
	}
	if child.typ() == syscall.S_IFLNK && r.follows() {
		return false, r.pickLink(child, path.Join(st.abs, c))
	}
	if r.last() {
		r.res = loc{m: st.m, dir: st.dir.ino, name: c, ino: child.ino, ov: ovLoc{lo: child.lo, dlo: st.dir.lo}, abs: path.Join(st.abs, c), slash: r.slash}
		return true, 0
	}
	if !child.isDir() {
		return false, syscall.ENOTDIR
	}
	st.dir, st.abs = child, path.Join(st.abs, c)
	return false, 0
}

// mountDotdot is ".." in a mount, as fs/namei.c:follow_dotdot:
// RESOLVE_IN_ROOT stays at the start, RESOLVE_BENEATH refuses to leave it,
// and at the mount's root the walk leaves the mount for the host
// (leaveMount).
//
// Preconditions: k.mu is held.
func (r *resolver) mountDotdot() syscall.Errno {
	st := &r.cur
	atStart := st.dir.ino != nil && !r.root.host && st.dir.ino == r.root.dir.ino
	if r.fl&inRoot != 0 && atStart {
		return 0
	}
	if r.fl&beneath != 0 && atStart {
		return syscall.EXDEV
	}
	if st.dir.ino == st.m.FS.Root() {
		return r.leaveMount()
	}
	parent, err := st.m.layer.parent(st.dir)
	if err != nil {
		return Errno(err)
	}
	r.climbed = append(r.climbed, st.abs)
	st.dir, st.abs = parent, path.Dir(st.abs)
	return 0
}

// leaveMount is ".." at a mount's root: the walk goes on in the host
// directory that holds the mount path (follow_dotdot's step over a mount
// point); RESOLVE_NO_XDEV refuses it. ".." written in the path itself
// leads where the kernel's own walk would, if the kernel started where
// this walk did; one that came from a ramfs symlink does not
// (redirected).
//
// Preconditions: k.mu is held.
func (r *resolver) leaveMount() syscall.Errno {
	if r.fl&noXdev != 0 {
		return syscall.EXDEV
	}
	r.cur = hostAt(path.Dir(r.cur.m.Path))
	agrees := r.kernelAgrees()
	r.unmirrorable = r.unmirrorable || !agrees
	r.redirected = r.redirected || r.viaLink || !agrees
	if !r.redirected && len(r.climbed) > 0 {
		r.redirected = !r.k.kernelClimbsLocked(r.p, r.climbed) // exec.go
		r.climbed = r.climbed[:0]
	}
	return 0
}

// kernelAgrees reports whether the kernel, given the same string, starts
// where this walk started: true for absolute paths and host starts; for a
// start in a mount only when it is the working directory and the kernel's
// own working directory is the same path (a program started there), or a
// ramfs dirfd whose placeholder is the exec shadow's directory of the
// same path (exec.go); any other placeholder is a file to the kernel.
//
// Preconditions: k.mu is held.
func (r *resolver) kernelAgrees() bool {
	p := r.p
	if strings.HasPrefix(r.name, "/") && r.fl&inRoot == 0 || r.root.host {
		return true
	}
	if r.dirfd != atFDCWD {
		f := r.k.identLocked(p, r.dirfd)
		return f != nil && f.shadowAt != "" && f.shadowAt == string(f.path)
	}
	if p.fs.cwd == nil {
		return false
	}
	return r.k.hostCwdIs(p, string(p.fs.cwd.path))
}

// HostDirer is implemented by a Host that can describe a host directory as
// a process sees it (through its own root).
type HostDirer interface {
	// HostDir returns the permission bits (with the type), owner and
	// group of host path hp as process tgid sees it, or an error when
	// that is no directory.
	HostDir(tgid int, hp string) (mode, uid, gid uint32, err error)
}

// kernelFollowsLocked reports whether a chdir that walked to l, a mount's
// root, may also run in the kernel (answered Continue): the kernel, given
// the same string, reaches the mount path's host directory (l.kernelRoot),
// which exists there with the mode and owner of the mount's root, below
// directories the caller may search, so its chdir succeeds where emul's
// did. The kernel's working directory then agrees with emul's, and ".."
// from the mount's root leads the kernel where emul goes: to the host
// directory above the mount (kernelAgrees).
//
// Preconditions: k.mu is held.
func (k *Kernel) kernelFollowsLocked(p *Process, l loc) bool {
	hd, ok := k.host.(HostDirer)
	if !ok || !l.kernelRoot {
		return false
	}
	mode, uid, gid, err := hd.HostDir(p.Tgid, l.m.Path)
	a := k.attrOf(l.m, l.node())
	if err != nil || mode != a.Mode&(syscall.S_IFMT|0o7777) || uid != a.Uid || gid != a.Gid {
		return false
	}
	for d := path.Dir(l.m.Path); ; d = path.Dir(d) {
		mode, uid, gid, err := hd.HostDir(p.Tgid, d)
		if err != nil || modePermits(p.Uid, p, mode, uid, gid, mayExec) != 0 {
			return false
		}
		if d == "/" {
			return true
		}
	}
}

// hostCwdIs reports whether the kernel's own working directory of p is
// host path hp (then ".." above a mount leads the kernel where emul goes).
//
// Preconditions: k.mu is held.
func (k *Kernel) hostCwdIs(p *Process, hp string) bool {
	cwd, err := k.host.Cwd(p.Tgid)
	return err == nil && cwd == hp
}

// pickLink follows symlink n of the mount the walk is in, found at
// absolute path at (kept for a shadowPlan), as fs/namei.c:pick_link:
// ELOOP with RESOLVE_NO_SYMLINKS or past MAXSYMLINKS; the target's
// components come next, from "/" for an absolute target (nd_jump_root:
// the start with RESOLVE_IN_ROOT, EXDEV with RESOLVE_BENEATH).
//
// Preconditions: k.mu is held.
func (r *resolver) pickLink(n node, at string) syscall.Errno {
	if r.fl&noSymlinks != 0 {
		return syscall.ELOOP
	}
	r.links++
	if r.links > maxSymlinks {
		return syscall.ELOOP
	}
	r.viaLink = true
	target, err := r.cur.m.layer.readlink(n)
	if err != nil {
		return Errno(err)
	}
	r.followed = append(r.followed, [2]string{at, target})
	if r.last() && strings.HasSuffix(target, "/") {
		// A final symlink whose target ends in "/" must name a
		// directory, like a trailing slash.
		r.slash = true
	}
	if strings.HasPrefix(target, "/") {
		switch {
		case r.fl&inRoot != 0:
			r.cur = r.root
		case r.fl&beneath != 0:
			return syscall.EXDEV
		default:
			r.cur = hostAt("/")
			r.redirected = true
		}
	}
	r.comps = append(splitPath(target), r.comps...)
	return 0
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

// hostToRamLocked maps a host path at or below a mount path to the ramfs
// directory it names there (a working directory or dirfd the program had
// before fsshim knew of it). in is false when hp is outside every mount.
// A directory of an overlay's lower layer alone is copied up: a working
// directory or dirfd is a ramfs inode.
//
// Preconditions: k.mu is held.
func (k *Kernel) hostToRamLocked(p *Process, hp string) (walkState, bool, syscall.Errno) {
	for _, m := range k.mounts {
		if hp != m.Path && !strings.HasPrefix(hp, m.Path+"/") {
			continue
		}
		st := mountRoot(m)
		for _, c := range splitPath(strings.TrimPrefix(hp, m.Path)) {
			if e := k.permLocked(p, m, st.dir, mayExec); e != 0 {
				return st, true, e
			}
			n, _, err := m.layer.lookup(st.dir, c)
			if err != nil {
				return st, true, Errno(err)
			}
			if !n.isDir() {
				return st, true, syscall.ENOTDIR
			}
			d, e := m.layer.upperDir(n)
			if e != 0 {
				return st, true, e
			}
			st.dir, st.abs = upper(d), path.Join(st.abs, c)
		}
		return st, true, 0
	}
	return walkState{}, false, 0
}
