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
	tgid, fd, ok := parseFDLink(hp)
	if !ok {
		return nil
	}
	q := p
	if tgid != 0 {
		if q = k.namedByLocked(p, tgid); q == nil {
			return nil
		}
	}
	return k.fileLocked(q, fd)
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
	tgid, what, fd, isLink := parseProcLink(hp)
	if !isLink {
		return walkState{}, false, false
	}
	q := p
	if tgid != 0 {
		if q = k.namedByLocked(p, tgid); q == nil {
			return walkState{}, false, false // not a process of the program's
		}
	}
	if q != p && p.Uid != 0 && (q.Uid != p.Uid || q.Ruid != p.Uid) {
		// ptrace_may_access would refuse: the kernel answers.
		return walkState{}, false, false
	}
	switch what {
	case "root":
		return hostAt("/"), true, true
	case "cwd":
		return k.procCwdLocked(q)
	}
	hd, err := k.host.FDPath(q.Tgid, fd)
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
		st = walkState{m: q.fs.cwd.m, dir: upper(q.fs.cwd.ino), abs: q.fs.cwd.path}
		return st, k.hostCwdIs(q, q.fs.cwd.path), true
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

// parseFDLink reads /proc/PID/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N,
// /proc/PID/task/TID/fd/N, /dev/fd/N and /dev/std{in,out,err}; tgid 0 means
// the caller.
func parseFDLink(hp string) (tgid, fd int, ok bool) {
	switch hp {
	case "/dev/stdin":
		return 0, 0, true
	case "/dev/stdout":
		return 0, 1, true
	case "/dev/stderr":
		return 0, 2, true
	}
	var num string
	if rest, found := strings.CutPrefix(hp, "/dev/fd/"); found {
		num = rest
	} else {
		rest, found := strings.CutPrefix(hp, "/proc/")
		if !found {
			return 0, 0, false
		}
		who, rest, found := strings.Cut(rest, "/")
		if !found {
			return 0, 0, false
		}
		if t, r, found := strings.Cut(rest, "/"); found && t == "task" {
			_, rest, _ = strings.Cut(r, "/")
		}
		if num, found = strings.CutPrefix(rest, "fd/"); !found {
			return 0, 0, false
		}
		if who != "self" && who != "thread-self" {
			pid, err := strconv.Atoi(who)
			if err != nil || pid <= 0 {
				return 0, 0, false
			}
			tgid = pid
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return tgid, n, true
}
