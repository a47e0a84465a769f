package tracer

// Exec shadows: how the kernel finds a program stored in a mount.
//
// execve and execveat are the calls fsshim cannot answer itself: the new
// program must be loaded by the kernel, which reads the path again from the
// caller's memory (under unotify fsshim cannot change the call's
// arguments) and resolves it in the program's own mount namespace. There
// every mount path is covered by a read-only bind of its host directory
// (isolate.go), so the kernel would find the host's file, or nothing.
//
// So the kernel's view is made to agree. Over each protected path the init
// stage mounts a tmpfs of its own, the path's "shadow", and makes it
// read-only for the program (nosuid, nodev too; noexec where the path's
// own mount is). Before it makes it read-only it takes a detached writable
// clone of the same tmpfs (open_tree(OPEN_TREE_CLONE)), after it an
// O_PATH fd on the mount as the program sees it (the view), and hands
// both to fsshim over the control socket (setupShadows); it keeps nothing
// itself. fsshim (emul/exec.go) writes, before it lets an exec of a file
// in a mount run, a copy of the file at the name the kernel will look up,
// and keeps the directories the kernel's working directory moves through,
// so that a relative exec after a chdir into a mount is found there too.
// A directory of a mount the program opens gets, as its placeholder, the
// shadow's directory of the same path opened through the view: read-only,
// nosuid and nodev as the program's own view, so that the calls on it the
// kernel runs can change nothing, while an execveat relative to it, an
// fchdir to it and ".." out of the mount from it go where they would go
// from the directory.
//
// The boundary holds: the shadow is a tmpfs, not the host directory, and
// read-only in the program's namespace (a root program lacks
// CAP_SYS_ADMIN to remount it), so a continued call a racing thread turns
// towards a mount path meets EROFS or ENOENT there, as before; the host
// directory under it is now out of the kernel's reach altogether. The
// writable clone lives only in fsshim, which the program cannot reach.
// Only execs, chdirs and fchdirs into mounts and walks that climb out of
// them are continued towards a shadow, and fsshim checks them first
// against the ramfs (emul/exec.go); a thread that flips the path
// afterwards can only make the kernel run another copy fsshim put there
// or a host program (which the program could run anyway), reach a host
// file the program could name itself, or fail.
//
// Why this way rather than rewriting the call: under ptrace fsshim could
// turn the exec into execveat(fd, "", AT_EMPTY_PATH) on an fd it
// injected, but unotify cannot change a call's arguments at all, and the
// new program would see /dev/fd/N as AT_EXECFN and in /proc/self/exe, and
// a script would need that fd left open across the exec for its
// interpreter. With the shadow both transports work the same way, the
// kernel keeps every exec semantic it has (argv, envp, binfmt, ENOEXEC,
// close-on-exec), and the names a program sees are the ones it used.
// What it costs: a copy of each program run (in the tmpfs, host memory
// outside --size), and a chdir into a mount is no longer answered by
// fsshim alone.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// mountShadows mounts a tmpfs over each of paths (outermost first; paths
// missing from the program's view are skipped), makes the directories of
// the working directory wd there when wd lies under one, and returns the
// paths shadowed with an fd on a writable detached clone of each and an
// O_PATH fd on each mount as the program sees it (views). The mounts are
// read-only when it returns.
func mountShadows(paths []string, wd string) (shadowed []string, fds, views []int, err error) {
	ps := append([]string(nil), paths...)
	sort.Slice(ps, func(i, j int) bool { return len(ps[i]) < len(ps[j]) })
	defer func() {
		if err != nil {
			for _, fd := range append(fds, views...) {
				unix.Close(fd)
			}
			shadowed, fds, views = nil, nil, nil
		}
	}()
	for _, p := range ps {
		if slicesContain(shadowed, p) {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			if under(shadowed, p) == "" {
				continue // not on the host: nothing the kernel could find there
			}
			// Inside an outer shadow, still writable here.
			if err := os.MkdirAll(p, 0o755); err != nil {
				return nil, nil, nil, fmt.Errorf("making %s in its shadow: %w", p, err)
			}
		}
		// A path on a noexec mount keeps that: the kernel refuses to
		// run the copies (EACCES), as it would the files.
		flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
		var sfs unix.Statfs_t
		if unix.Statfs(p, &sfs) == nil && sfs.Flags&unix.ST_NOEXEC != 0 {
			flags |= unix.MS_NOEXEC
		}
		if err := unix.Mount("tmpfs", p, "tmpfs", flags, "mode=0755"); err != nil {
			return nil, nil, nil, fmt.Errorf("mounting the exec shadow of %s: %w", p, err)
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cloning the exec shadow of %s: %w", p, err)
		}
		shadowed = append(shadowed, p)
		fds = append(fds, fd)
	}
	if wd != "" && under(shadowed, wd) != "" {
		if err := os.MkdirAll(wd, 0o755); err != nil {
			return nil, nil, nil, fmt.Errorf("making the working directory %s in its shadow: %w", wd, err)
		}
	}
	for _, p := range shadowed {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(unix.AT_FDCWD, p, 0, &attr); err != nil {
			return nil, nil, nil, fmt.Errorf("making the exec shadow of %s read-only: %w", p, err)
		}
	}
	// The views: directory fds fsshim opens from them stand for the
	// program's directories of the mounts (emul/exec.go), with the
	// mount's flags as the program has them (read-only, nosuid, nodev,
	// noexec where the path's own mount is).
	for _, p := range shadowed {
		fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("opening the exec shadow of %s: %w", p, err)
		}
		views = append(views, fd)
	}
	return shadowed, fds, views, nil
}

// under returns the path of ps that p is or lies below, the longest one,
// or "".
func under(ps []string, p string) string {
	best := ""
	for _, q := range ps {
		if (p == q || strings.HasPrefix(p, q+"/") || q == "/") && len(q) > len(best) {
			best = q
		}
	}
	return best
}

func slicesContain(ps []string, p string) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// setupShadows is the init stage's part: it mounts the shadows of the
// protected paths, sends fsshim their writable clones on the control
// socket and closes its own copies. A failure to make them leaves the
// program without shadows (fsshim then refuses execs of files in mounts
// and says why) and is reported in the message: the program runs all the
// same. The error is a failure to send the message, which fsshim waits
// for: the init stage must not go on then.
func setupShadows(protect []string) error {
	wd, _ := os.Getwd()
	paths, fds, views, err := mountShadows(protect, filepath.Clean(wd))
	msg := shadowMsg{Paths: paths, Views: len(views) > 0}
	fds = append(fds, views...)
	if err != nil {
		msg.Err = err.Error()
	}
	if wd != "" {
		unix.Chdir(wd) // enter it again: now the shadow's, where it lies under one
	}
	// The program's root, last: fsshim resolves host paths in it to see
	// where the kernel's own walk of them ends (shadowConn.Reaches).
	if root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		fds = append(fds, root)
		msg.Root = true
	}
	b, _ := json.Marshal(msg)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	err = unix.Sendmsg(initCtlFD, b, oob, nil, 0)
	for _, fd := range fds {
		unix.Close(fd)
	}
	if err != nil && len(fds) > 0 {
		// Without the fds, so that fsshim at least hears why.
		b, _ = json.Marshal(shadowMsg{Err: fmt.Sprintf("sending the exec shadows: %v", err)})
		err = unix.Sendmsg(initCtlFD, b, nil, nil, 0)
	}
	return err
}

// shadowMsg is what the init stage sends: the paths shadowed, in the
// order of the fds that come with it (the writable clones, then with
// Views the views in the same order), or why there are none. Root says
// that one more fd follows them: the program's root directory.
type shadowMsg struct {
	Paths []string
	Views bool   `json:",omitempty"`
	Root  bool   `json:",omitempty"`
	Err   string `json:",omitempty"`
}

// shadowConn is fsshim's end: it reads the init stage's message the first
// time a shadow is needed (the init stage sends it before it starts the
// program, so by the time the program makes a call it is there) and then
// serves emul.ExecShadow.
type shadowConn struct {
	once  sync.Once
	ctl   int
	log   func(string)
	roots map[string]int
	views map[string]int
	// root is the program's root directory (-1: none); devs the device
	// numbers of the shadows' tmpfs, as fstat gives them.
	root int
	devs []uint64
}

func newShadowConn(ctl int, log func(string)) *shadowConn {
	return &shadowConn{ctl: ctl, log: log, root: -1}
}

// ShadowRoot returns the fd of the writable clone of the shadow over
// mount path p.
func (s *shadowConn) ShadowRoot(p string) (int, bool) {
	s.once.Do(s.receive)
	fd, ok := s.roots[p]
	return fd, ok
}

// ShadowView returns the fd of the shadow over mount path p as the
// program's mount namespace shows it (read-only; emul.ShadowViewer).
func (s *shadowConn) ShadowView(p string) (int, bool) {
	s.once.Do(s.receive)
	fd, ok := s.views[p]
	return fd, ok
}

func (s *shadowConn) receive() {
	s.roots, s.views = map[string]int{}, map[string]int{}
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(4*256))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(s.ctl, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil || n == 0 {
		s.log(fmt.Sprintf("no exec shadows from the init stage (%v): programs stored in mounts cannot be run", err))
		return
	}
	var msg shadowMsg
	if err := json.Unmarshal(buf[:n], &msg); err != nil {
		s.log("bad exec shadow message: " + err.Error())
		return
	}
	if msg.Err != "" {
		s.log(msg.Err + ": programs stored in mounts cannot be run")
	}
	var fds []int
	if oobn > 0 {
		if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for i := range cms {
				if r, err := unix.ParseUnixRights(&cms[i]); err == nil {
					fds = append(fds, r...)
				}
			}
		}
	}
	nfd := len(msg.Paths) // the fds before the root's
	if msg.Views {
		nfd *= 2
	}
	for i, p := range msg.Paths {
		if i < len(fds) {
			s.roots[p] = fds[i]
			var st unix.Stat_t
			if unix.Fstat(fds[i], &st) == nil {
				s.devs = append(s.devs, st.Dev)
			}
		}
		if j := len(msg.Paths) + i; msg.Views && j < len(fds) {
			s.views[p] = fds[j]
		}
	}
	if msg.Root && len(fds) == nfd+1 {
		s.root = fds[nfd]
	}
}

// Reaches (emul.ShadowReacher) reports where the kernel's own walk of
// host path hp ends, resolved as the program resolves it (in its root and
// mount namespace; RESOLVE_IN_ROOT makes absolute symlinks lead there
// too), following a final symlink when follow: reach is set when it ends
// in a shadow. When hp does not exist, it looks at the directories above
// it, up to the first that exists: a walk without ".." that entered a
// shadow would still be in it there. known is false when that does not
// tell (hp has "..", the name below that directory exists, as a symlink
// or a file, or the kernel's walk failed otherwise). Magic links are not
// followed (emul walks them itself).
func (s *shadowConn) Reaches(hp string, follow bool) (reach, known bool) {
	s.once.Do(s.receive)
	if s.root < 0 || len(s.devs) == 0 {
		return false, true
	}
	dotdot := false
	for _, c := range strings.Split(hp, "/") {
		dotdot = dotdot || c == ".."
	}
	for {
		fd, err := s.open(hp, follow)
		switch {
		case err == nil:
			reach, err = s.inShadow(fd, "")
			unix.Close(fd)
			return reach, err == nil
		case dotdot || err != unix.ENOENT && err != unix.ENOTDIR:
			return false, false
		}
		dir, name := filepath.Split(strings.TrimRight(hp, "/"))
		if name == "" || dir == "" {
			return false, false
		}
		fd, err = s.open(dir, true)
		if err != nil {
			hp, follow = dir, true
			continue
		}
		reach, err = s.inShadow(fd, name)
		unix.Close(fd)
		return reach, reach || err == nil
	}
}

// open opens hp in the program's root, as Reaches resolves it.
func (s *shadowConn) open(hp string, follow bool) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	if !follow {
		how.Flags |= unix.O_NOFOLLOW
	}
	for {
		fd, err := unix.Openat2(s.root, hp, &how)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// inShadow reports whether fd lies in a shadow; with name, fd is the
// directory where the kernel's walk stopped, and name, the next
// component, must be missing there (an error otherwise: a symlink or a
// file there says nothing of where the walk would have gone).
func (s *shadowConn) inShadow(fd int, name string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, err
	}
	for _, d := range s.devs {
		if st.Dev == d {
			return true, nil
		}
	}
	if name == "" {
		return false, nil
	}
	var nst unix.Stat_t
	switch err := unix.Fstatat(fd, name, &nst, unix.AT_SYMLINK_NOFOLLOW); err {
	case unix.ENOENT:
		return false, nil
	case nil:
		return false, unix.EEXIST
	default:
		return false, err
	}
}
