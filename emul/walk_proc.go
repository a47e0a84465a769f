package emul

import (
	"strconv"
	"strings"
)

// Magic links (fs/proc/base.c): /proc/PID/root, /proc/PID/cwd and
// /proc/PID/fd/N are not names but jumps to what the process holds. The
// walk (walk.go) asks here whether a host path is one.

// TaskHost is implemented by a Host that can tell which process a thread
// belongs to: /proc/TID/... names the thread's process's files too, for
// any thread, not only a thread group's leader.
type TaskHost interface {
	// TaskTgid returns the thread group id of task pid, both as process
	// viewer (a tgid of the transport's own) names them: in viewer's PID
	// namespace.
	TaskTgid(viewer, pid int) (int, error)
}

// namedByLocked returns the process of the program that p names pid (in
// p's own PID namespace): a process, or the process of a thread
// (proc_pid_lookup finds threads too). nil for any other pid.
//
// Preconditions: k.mu is held.
func (k *Kernel) namedByLocked(p *Process, pid int) *Process {
	if q := k.seenByLocked(p, pid); q != nil {
		return q
	}
	th, ok := k.host.(TaskHost)
	if !ok {
		return nil
	}
	tgid, err := th.TaskTgid(p.Tgid, pid)
	if err != nil || tgid == pid {
		return nil
	}
	return k.seenByLocked(p, tgid)
}

// procFDLocked returns the emulated file behind a /proc/self/fd/N,
// /proc/thread-self/fd/N or /proc/PID/fd/N (PID a known process) path, or
// /dev/fd/N, /dev/stdin, /dev/stdout, /dev/stderr (links to those), or nil
// (proc_fd_link).
//
// Preconditions: k.mu is held.
func (k *Kernel) procFDLocked(p *Process, hp string) *File {
	l, ok := parseMagic(hp)
	if !ok || l.what != "fd" {
		return nil
	}
	if q := k.magicProcLocked(p, l); q != nil {
		return k.identLocked(q, l.fd)
	}
	return nil
}

// procJumpLocked returns where a followed /proc/PID/root, /proc/PID/cwd or
// /proc/PID/fd/N (also self, thread-self and task/TID; PID a process of
// the program) leads, the way proc_root_link, proc_cwd_link and
// proc_fd_link do: "/" (fsshim's processes are never chrooted in the
// emulated view), the working directory, or the host directory an fd not
// emulated holds. ok is false when hp is no such link or its target cannot
// be named (the kernel decides then). agrees is false when ".." above a
// mount from the target would lead the kernel elsewhere than this walk (an
// emulated working directory the kernel's own is not). The caller checks
// the RESOLVE_* flags (resolver.jump).
//
// Preconditions: k.mu is held.
func (k *Kernel) procJumpLocked(p *Process, hp string) (st walkState, agrees, ok bool) {
	l, isLink := parseMagic(hp)
	if !isLink || strings.HasPrefix(hp, "/dev/std") {
		return walkState{}, false, false // /dev/std*: not directories
	}
	q := k.magicProcLocked(p, l)
	if q == nil {
		return walkState{}, false, false
	}
	if q != p && p.Uid != 0 && (q.Uid != p.Uid || q.Ruid != p.Uid) {
		// ptrace_may_access would refuse: the kernel answers.
		return walkState{}, false, false
	}
	switch l.what {
	case "root":
		return hostAt("/"), true, true
	case "cwd":
		return k.procCwdLocked(q)
	}
	hd, err := k.host.FDPath(q.Tgid, l.fd)
	if err != nil || strings.HasSuffix(hd, " (deleted)") {
		return walkState{}, false, false
	}
	return k.hostDirStateLocked(q, hd)
}

// procCwdLocked is where /proc/PID/cwd of q leads (proc_cwd_link): its
// emulated working directory, or the kernel's.
//
// Preconditions: k.mu is held.
func (k *Kernel) procCwdLocked(q *Process) (st walkState, agrees, ok bool) {
	if q.fs.cwd != nil {
		st = walkState{m: q.fs.cwd.m, dir: upper(q.fs.cwd.ino), abs: string(q.fs.cwd.path)}
		return st, k.hostCwdIs(q, st.abs), true
	}
	cwd, err := k.host.Cwd(q.Tgid)
	if err != nil {
		return walkState{}, false, false
	}
	return k.hostDirStateLocked(q, cwd)
}

// hostDirStateLocked is the walk state of host directory hd of process q:
// on the host, or the ramfs directory at that path when it lies in a
// mount. ok is false when hd is no path, or names nothing in the mount.
//
// Preconditions: k.mu is held.
func (k *Kernel) hostDirStateLocked(q *Process, hd string) (st walkState, agrees, ok bool) {
	if !strings.HasPrefix(hd, "/") {
		return walkState{}, false, false
	}
	if rs, in, e := k.hostToRamLocked(q, hd); in {
		return rs, true, e == 0
	}
	return hostAt(hd), true, true
}

// magicLink is a /proc or /dev path that names a magic link: what is
// "root", "cwd" or "fd" (then fd is the number); pid is 0 for the caller
// (self, thread-self, /dev/fd), tid a task below it (0 for none).
type magicLink struct {
	pid, tid int
	what     string
	fd       int
}

// parseMagic reads /proc/P/root, /proc/P/cwd and /proc/P/fd/N, with P a
// pid, self or thread-self, also as /proc/P/task/TID/..., and /dev/fd/N,
// /dev/stdin, /dev/stdout and /dev/stderr (links to the fd links).
func parseMagic(hp string) (magicLink, bool) {
	switch hp {
	case "/dev/stdin":
		return magicLink{what: "fd", fd: 0}, true
	case "/dev/stdout":
		return magicLink{what: "fd", fd: 1}, true
	case "/dev/stderr":
		return magicLink{what: "fd", fd: 2}, true
	}
	if num, found := strings.CutPrefix(hp, "/dev/fd/"); found {
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return magicLink{}, false
		}
		return magicLink{what: "fd", fd: n}, true
	}
	rest, found := strings.CutPrefix(hp, "/proc/")
	if !found {
		return magicLink{}, false
	}
	who, rest, found := strings.Cut(rest, "/")
	if !found {
		return magicLink{}, false
	}
	var l magicLink
	if who != "self" && who != "thread-self" {
		pid, err := strconv.Atoi(who)
		if err != nil || pid <= 0 {
			return magicLink{}, false
		}
		l.pid = pid
	}
	if r, found := strings.CutPrefix(rest, "task/"); found {
		tid, r2, found := strings.Cut(r, "/")
		n, err := strconv.Atoi(tid)
		if !found || who == "thread-self" || err != nil || n <= 0 {
			return magicLink{}, false
		}
		l.tid, rest = n, r2
	}
	switch {
	case rest == "root" || rest == "cwd":
		l.what = rest
	case strings.HasPrefix(rest, "fd/"):
		n, err := strconv.Atoi(rest[3:])
		if err != nil || n < 0 {
			return magicLink{}, false
		}
		l.what, l.fd = "fd", n
	default:
		return magicLink{}, false
	}
	return l, true
}

// magicProcLocked returns the process of the program whose magic link l
// is for p, or nil: a pid of another process, or a task that is not one of
// its threads (the kernel answers those: ENOENT for a task that is not
// there).
//
// Preconditions: k.mu is held.
func (k *Kernel) magicProcLocked(p *Process, l magicLink) *Process {
	q := p
	if l.pid != 0 {
		if q = k.namedByLocked(p, l.pid); q == nil {
			return nil // not a process of the program's
		}
	}
	if l.tid != 0 && l.tid != l.pid {
		if th, ok := k.host.(TaskHost); ok {
			if tgid, err := th.TaskTgid(p.Tgid, l.tid); err != nil || k.namedByLocked(p, tgid) != q {
				return nil
			}
		}
	}
	return q
}
