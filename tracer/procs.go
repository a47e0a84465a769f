package tracer

import (
	"fmt"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// task is what the supervisor knows of one target thread.
type task struct {
	// mu is held by the unotify receiver serving the thread's call
	// until it is done with it. The thread makes its next call only
	// after the answer, but that order is the kernel's (the answer
	// ioctl, then the next notification): the lock makes it one Go's
	// memory model sees too, and keeps the next call's service from
	// overlapping the end of this one's (recording an installed fd).
	mu   sync.Mutex
	tid  int
	proc *emul.Process
	mem  procMem
}

// procs is what a supervising transport knows of the target's threads and
// processes, and keeps emul's view of them up to date from /proc and the
// kernel: which thread belongs to which process, the pidfds that report
// exits, fsshim's references to the placeholders, and the credentials and
// fd tables emul reads. Both transports hold one (unotify's server, whose
// receivers share it, and ptrace's tracer).
type procs struct {
	opt Options
	k   *emul.Kernel
	// mu guards tids (unotify's receivers use them at once; ptrace's
	// one goroutine takes it too). It is taken before emul's lock.
	mu   sync.Mutex
	tids map[int]*task
	// pidMu guards pidfds; it is taken last of all (emul handlers reach
	// it under emul's lock, through dataFDs).
	pidMu  sync.Mutex
	pidfds map[int]int // tgid -> pidfd, to notice exits
	// ph holds fsshim's reference to every placeholder (the kernel's
	// answer to "is this fd emulated").
	ph *placeholders
	// exited, set by the transport, is told of each process reap found
	// gone, after emul forgot it (its locks released): the transport
	// answers the calls that waited for them.
	exited func(tgid int)
}

// init makes ps ready to serve opt's program.
func (ps *procs) init(opt Options) {
	ps.opt, ps.k = opt, opt.Kernel
	ps.tids, ps.pidfds, ps.ph = map[int]*task{}, map[int]int{}, newPlaceholders()
	ps.k.Oracle = ps.ph
}

// close drops what ps holds once every target is gone.
func (ps *procs) close() {
	for _, fd := range ps.pidfds {
		unix.Close(fd)
	}
	ps.ph.closeAll()
}

// Fill implements emul.Target for both supervising transports: it copies
// an emulated file's data into its placeholder in the target (taken with
// pidfd_getfd, which works on tracees too), so that the kernel maps the
// right bytes.
func (ps *procs) Fill(c *emul.Call, f *emul.File, fd int) error {
	err := ps.fill(c.Proc.Tgid, f, fd)
	if err != nil {
		ps.opt.Log("mapping an emulated file: " + err.Error())
	}
	return err
}

func (ps *procs) fill(tgid int, f *emul.File, tfd int) error {
	pidfd, err := ps.pidfd(tgid)
	if err != nil {
		return err
	}
	fd, err := pidfdGetfd(pidfd, tfd)
	if err != nil {
		return fmt.Errorf("pidfd_getfd: %w", err)
	}
	defer unix.Close(fd)
	size := ps.k.Size(f)
	if err := unix.Ftruncate(fd, size); err == unix.EINVAL || err == unix.EBADF {
		// An O_PATH placeholder of the passthrough data path (opened
		// neither for reading nor for writing): its file is reached
		// anew through the magic link, and made executable, as a
		// memfd is, for an fexecve of it (emul/exec.go).
		wfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(wfd)
		if err := unix.Fchmod(wfd, 0o755); err != nil {
			return err
		}
		if err := unix.Ftruncate(wfd, size); err != nil {
			return err
		}
		fd = wfd
	} else if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		n, err := ps.k.ReadFile(f, buf, off)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if _, err := unix.Pwrite(fd, buf[:n], off); err != nil {
			return err
		}
		off += int64(n)
	}
	return nil
}

func (ps *procs) pidfd(tgid int) (int, error) {
	ps.pidMu.Lock()
	defer ps.pidMu.Unlock()
	if fd, ok := ps.pidfds[tgid]; ok {
		return fd, nil
	}
	fd, err := unix.PidfdOpen(tgid, 0)
	if err != nil {
		return -1, err
	}
	ps.pidfds[tgid] = fd
	return fd, nil
}

// task returns the task for tid, learning new threads and processes from
// /proc: a new process gets its parent's working directory and its fd
// table is read from the kernel. The table is read again before a call of
// a thread whose earlier continued call duplicated a placeholder (that
// call has run by now), and the credentials after a set*id call or an
// execve.
func (ps *procs) task(tid int) *task {
	t, fresh := ps.learn(tid)
	if t != nil && !fresh {
		ps.refresh(t.proc, tid)
	}
	return t
}

// taskOf is task for a transport that serves several calls at once: it
// returns the task locked (task.mu), to be unlocked when the call has been
// answered and the receiver is done with it.
func (ps *procs) taskOf(tid int) *task {
	t, fresh := ps.learn(tid)
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if !fresh {
		ps.refresh(t.proc, tid)
	}
	return t
}

// learn returns the task for tid and whether it is new; a new one's
// process is brought up to date, a known one's is not.
func (ps *procs) learn(tid int) (_ *task, fresh bool) {
	ps.mu.Lock()
	t := ps.tids[tid]
	if t != nil && !t.proc.Dead {
		ps.mu.Unlock()
		return t, false
	}
	defer ps.mu.Unlock()
	st, err := readStatus(tid)
	if err != nil {
		return nil, false
	}
	p := ps.k.LookupProcess(st.Tgid)
	if p == nil {
		ps.reapLocked()
		var parent *emul.Process
		if pt := ps.tids[st.PPid]; pt != nil {
			parent = pt.proc
		}
		p = ps.k.Process(st.Tgid, parent)
		ps.k.SetIDs(p, st.creds(), st.Umask)
		ps.k.SetNSpid(p, st.NSpid)
		ps.pidfd(st.Tgid)
		if parent != nil {
			ps.checkShared(parent, p)
		}
		ps.rescan(p)
	} else {
		ps.refresh(p, tid)
	}
	t = &task{tid: tid, proc: p, mem: procMem{pid: tid}}
	ps.tids[tid] = t
	return t, true
}

// refresh brings what emul knows of p up to date before tid's call.
func (ps *procs) refresh(p *emul.Process, tid int) {
	rescan, probe, creds := ps.k.BeginCall(p, tid)
	if rescan || probe != nil && !ps.findDup(p, *probe) {
		ps.rescan(p)
	}
	if creds {
		if st, err := readStatus(p.Tgid); err == nil {
			ps.k.SetIDs(p, st.creds(), st.Umask)
		}
	}
}

// checkShared marks a new process and its parent when they share one fd
// table (clone with CLONE_FILES: kcmp(KCMP_FILES)), and gives them one
// working directory when they share that (CLONE_FS). A process changes
// either only by its own calls until then, and its first call is where it
// is learnt, so this is in time.
func (ps *procs) checkShared(parent, p *emul.Process) {
	const kcmpFiles, kcmpFS = 2, 3 // KCMP_FILES, KCMP_FS
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(parent.Tgid), uintptr(p.Tgid), kcmpFiles, 0, 0, 0)
	if e == 0 && r == 0 || e == unix.ENOSYS || e == unix.EPERM {
		// Shared, or no way to tell: check every use.
		ps.k.ShareFDs(parent, p)
	}
	// One working directory (CLONE_FS): a chdir by either moves both.
	if r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(parent.Tgid), uintptr(p.Tgid), kcmpFS, 0, 0, 0); e == 0 && r == 0 {
		ps.k.ShareFS(parent, p)
	}
}

// rescan reads p's fd table: the fds that hold placeholders, each checked
// to be fsshim's own (placeholders.verified).
func (ps *procs) rescan(p *emul.Process) {
	mark := ps.k.ScanStart(p)
	fds, others, err := scanFDs(p.Tgid, ps.ph.namesShadowDir)
	if err != nil {
		return
	}
	ps.k.SetFDs(p, ps.ph.verified(p.Tgid, fds, others), mark)
}

// maxDupProbe bounds the fds findDup asks about before it reads the
// whole table instead.
const maxDupProbe = 64

// findDup looks for the fd that a continued dup of an emulated fd made
// (pr), asking the kernel (kcmp) fd by fd rather than reading the whole
// table: at pr.Min itself for dup2 and dup3; else from pr.Min up, where
// the kernel took the lowest free number, so every fd below the new one
// was open when it ran. It reports false where that does not settle it
// (kcmp cannot answer, the dup failed, a hole before the new fd: an fd
// closed since, or the probe ran long), and the caller reads the whole
// table.
func (ps *procs) findDup(p *emul.Process, pr emul.DupProbe) bool {
	if pr.Exact {
		same, answered := ps.ph.same(p.Tgid, pr.Min, pr.ID)
		if !answered || !same {
			return false
		}
		ps.k.FoundDup(p, pr.Min, pr.ID, pr)
		return true
	}
	for fd := pr.Min; fd < pr.Min+maxDupProbe; fd++ {
		switch ps.ph.compare(p.Tgid, fd, pr.ID) {
		case fdOther:
			continue
		case fdSame:
			if ps.k.FoundDup(p, fd, pr.ID, pr) {
				return true
			}
			// emul has this one already (an earlier dup): the new
			// one is above it.
			continue
		}
		// kcmp cannot tell, or a hole: an fd closed since, or the dup
		// failed.
		return false
	}
	return false
}

// reap forgets processes that have exited (their pidfds are readable), so
// their descriptions are released and reused pids start afresh.
func (ps *procs) reap() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.reapLocked()
}

func (ps *procs) reapLocked() {
	pfds, tgids := ps.pollSet(nil)
	if len(pfds) == 0 {
		return
	}
	if n, err := unix.Poll(pfds, 0); err != nil || n == 0 {
		return
	}
	for i, pf := range pfds {
		if pf.Revents == 0 {
			continue
		}
		tgid := tgids[i]
		ps.pidMu.Lock()
		delete(ps.pidfds, tgid)
		ps.pidMu.Unlock()
		unix.Close(int(pf.Fd))
		if p := ps.k.LookupProcess(tgid); p != nil {
			ps.k.Exit(p)
		}
		if ps.exited != nil {
			ps.exited(tgid)
		}
		for tid, t := range ps.tids {
			if t.proc.Tgid == tgid {
				delete(ps.tids, tid)
			}
		}
	}
}

// pollSet appends a POLLIN entry for each pidfd to pfds, and returns the
// tgids in the same order.
func (ps *procs) pollSet(pfds []unix.PollFd) ([]unix.PollFd, []int) {
	ps.pidMu.Lock()
	defer ps.pidMu.Unlock()
	tgids := make([]int, 0, len(ps.pidfds))
	for tgid, fd := range ps.pidfds {
		pfds = append(pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		tgids = append(tgids, tgid)
	}
	return pfds, tgids
}
