// Package tracer launches a target under fsshim's seccomp filter and serves
// its intercepted syscalls with emul: the unotify transport (seccomp user
// notification) lives here, with process launch, fd injection and the
// per-syscall statistics. tracer knows nothing of file systems.
package tracer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/policy"
)

// Options configure a supervised run.
type Options struct {
	Program Program
	Filter  []unix.SockFilter
	Kernel  *emul.Kernel
	// Stats, if non-nil, receives one record per intercepted call.
	Stats *Stats
	// NoSyncWakeup disables SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (for
	// measuring its effect).
	NoSyncWakeup bool
	// Started, if set, is told the pid of the launched program (of the
	// init stage that runs it, when it is isolated).
	Started func(pid int)
	// Forward, if set, carries signals to pass on to the program.
	Forward <-chan syscall.Signal
	// Log receives diagnostics (unexpected kernel answers); nil = stderr.
	Log func(string)
	// Transport is how routed calls arrive; Filter must be built for it
	// (policy.Program of the same transport).
	Transport policy.Transport
	// Pin runs the target and the serving thread on one CPU (ptrace
	// only; the target sees a single CPU).
	Pin bool
}

// Result is how the target ended.
type Result struct {
	// ExitCode is the shell-style status: the program's own exit code, or
	// 128+N when it died of signal N.
	ExitCode int
	// State is the program's own process state (nil under ptrace, whose
	// wait loop reaps the program itself).
	State *os.ProcessState
}

// Run launches the program under the filter and serves it until every
// process of the target has ended.
func Run(opt Options) (Result, error) {
	if opt.Program.Isolate {
		logf := opt.Log
		if logf == nil {
			logf = func(m string) { fmt.Fprintln(os.Stderr, "fsshim:", m) }
		}
		defer removeMountPoints(makeMountPoints(opt.Program.Protect, logf))
	}
	if opt.Transport == policy.Ptrace {
		return runPtrace(opt) // ptrace.go
	}
	type started struct {
		cmd *exec.Cmd
		lfd int
		ctl int
		err error
	}
	startc := make(chan started, 1)
	done := make(chan error, 1)
	reaped := make(chan struct{})
	defer close(reaped)
	s := newServer(opt)
	if s.opt.Log == nil {
		s.opt.Log = func(m string) { fmt.Fprintln(os.Stderr, "fsshim:", m) }
	}
	// One locked OS thread forks the target (Pdeathsig follows the forking
	// thread) and then runs the receive loop.
	go func() {
		runtime.LockOSThread()
		cmd, lfd, ctl, err := launch(opt.Program, opt.Filter, s.opt.Log)
		startc <- started{cmd, lfd, ctl, err}
		if err != nil {
			return
		}
		s.lfd = lfd
		if !opt.NoSyncWakeup {
			if e := notifSetFlags(lfd, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); e != 0 && e != unix.EINVAL {
				s.opt.Log("SECCOMP_IOCTL_NOTIF_SET_FLAGS: " + e.Error())
			}
		}
		done <- s.loop()
		// The thread that forked the init stage is its parent for
		// PR_SET_PDEATHSIG: it must outlive the init stage, which may
		// still be reaping when the last filtered process is gone.
		<-reaped
	}()
	st := <-startc
	if st.err == nil && opt.Started != nil {
		opt.Started(st.cmd.Process.Pid)
	}
	if st.err != nil {
		if st.cmd != nil && st.cmd.ProcessState != nil {
			return Result{ExitCode: exitCode(st.cmd.ProcessState), State: st.cmd.ProcessState}, st.err
		}
		return Result{ExitCode: ExitInternal}, st.err
	}
	stop := forward(opt.Forward, st.cmd.Process.Pid, st.ctl)
	waitErr := st.cmd.Wait()
	loopErr := <-done
	stop()
	unix.Close(st.lfd)
	s.close()
	res := Result{State: st.cmd.ProcessState}
	if st.cmd.ProcessState != nil {
		res.ExitCode = exitCode(st.cmd.ProcessState)
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return res, waitErr
	}
	return res, loopErr
}

// forward passes the signals of sigs on to the program until the
// returned function is called: through the control socket of an isolated
// init stage (ctl >= 0), which sends them on, or straight to pid. It
// closes ctl when stopped.
func forward(sigs <-chan syscall.Signal, pid, ctl int) (stop func()) {
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			select {
			case sig := <-sigs:
				if ctl >= 0 {
					forwardSignal(ctl, sig)
				} else {
					unix.Kill(pid, sig)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-ended
		if ctl >= 0 {
			unix.Close(ctl)
		}
	}
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// task is what the supervisor knows of one target thread.
type task struct {
	tid  int
	proc *emul.Process
	mem  procMem
}

type server struct {
	opt    Options
	k      *emul.Kernel
	lfd    int
	tids   map[int]*task
	pidfds map[int]int // tgid -> pidfd, to notice exits
	notif  seccompNotif
	resp   seccompNotifResp
	// answered is when the last answer ioctl started.
	answered time.Time
	// ph holds fsshim's reference to every placeholder (the kernel's
	// answer to "is this fd emulated").
	ph *placeholders
	// late, if set, answers deferred calls instead of the listener (the
	// ptrace transport).
	late func(emul.Completion)
	// ops are the blocking FIFO opens running for targets (redirect.go).
	ops hostOps
}

func newServer(opt Options) *server {
	s := &server{opt: opt, k: opt.Kernel, tids: map[int]*task{}, pidfds: map[int]int{}, ph: newPlaceholders()}
	s.k.Oracle = s.ph
	s.k.Data = dataFDs{pidfd: s.pidfd}
	return s
}

// close drops what the server holds once every target is gone.
func (s *server) close() {
	for _, fd := range s.pidfds {
		unix.Close(fd)
	}
	s.ph.closeAll()
}

// loop receives and answers notifications until every target is gone.
func (s *server) loop() error {
	for {
		if s.k.HasWaiters() || s.ops.waiting() {
			// A call waits for a lock: the holder may end without
			// another syscall, so watch for exits as well. So does
			// a FIFO open, to be ended if its caller dies.
			s.waitEvent()
		}
		e := notifRecv(s.lfd, &s.notif)
		if e != 0 {
			switch e {
			case unix.EINTR:
				continue
			case unix.ENOENT:
				// The target died before its call was received, or
				// every target is gone: poll tells which.
				if s.hungUp() {
					return nil
				}
				continue
			}
			return fmt.Errorf("SECCOMP_IOCTL_NOTIF_RECV: %w", e)
		}
		s.serve()
	}
}

// waitEvent blocks until a notification is pending or a process of the
// target has exited (then its locks are released).
func (s *server) waitEvent() {
	for {
		pfds := []unix.PollFd{{Fd: int32(s.lfd), Events: unix.POLLIN}}
		for _, fd := range s.pidfds {
			pfds = append(pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		}
		n, err := unix.Poll(pfds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		// Exits first: a call that comes in with one may depend on it
		// (a FIFO open after its other end's opener was killed).
		s.reap()
		if pfds[0].Revents != 0 || !s.k.HasWaiters() && !s.ops.waiting() {
			return
		}
	}
}

func (s *server) hungUp() bool {
	pfd := []unix.PollFd{{Fd: int32(s.lfd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n == 1 && pfd[0].Revents&unix.POLLHUP != 0
}

// serve answers the notification in s.notif. Timing is taken only when
// statistics are wanted: the clock reads are a visible share of a call.
func (s *server) serve() {
	timed := s.opt.Stats != nil
	var t0 time.Time
	if timed {
		t0 = time.Now()
	}
	n := &s.notif
	t := s.task(int(n.Pid))
	if t == nil {
		// The task is gone already; nothing to answer.
		s.sendContinue(n.ID)
		return
	}
	t.mem.id = n.ID
	t.mem.checked = false
	t.mem.lfd = s.lfd
	t.mem.timed = timed
	c := emul.Call{ID: n.ID, Tid: t.tid, Proc: t.proc, Nr: int(n.Data.Nr), Args: n.Data.Args, Mem: &t.mem}
	var h0 time.Time
	if timed {
		h0 = time.Now()
	}
	r := s.k.Handle(&c)
	var hd time.Duration
	if timed {
		hd = time.Since(h0) - t.mem.spent
		t.mem.spent = 0
	}
	if r.Action == emul.Redirect {
		s.redirect(t, &c, r, t0, hd) // answered by a goroutine (redirect.go)
		return
	}
	outcome := s.answer(t, n.ID, r)
	if r.Action == emul.Defer {
		return // answered later, when a lock is released
	}
	// A release may have let deferred calls through.
	for _, d := range s.k.TakeCompletions() {
		s.answerLate(d)
	}
	if timed {
		// The service ends when the answer ioctl starts: with
		// synchronous wake-ups that ioctl hands the CPU to the target
		// and returns only when the target next blocks, so its
		// duration is the target's time, not fsshim's.
		s.opt.Stats.record(c.Nr, outcome, hd, s.answered.Sub(t0))
	}
}

// Outcome classifies how a call was served.
type Outcome int

const (
	Emulated Outcome = iota
	Continued
	Failed
)

func (s *server) answer(t *task, id uint64, r emul.Result) Outcome {
	switch r.Action {
	case emul.Continue:
		if r.Fill != nil {
			if err := s.fill(t, r); err != nil {
				s.opt.Log("mapping an emulated file: " + err.Error())
				s.sendError(id, unix.ENODEV)
				return Failed
			}
		}
		s.sendContinue(id)
		return Continued
	case emul.InstallFD:
		return s.install(t, id, r)
	case emul.InstallHostFD:
		return s.installHost(id, r)
	case emul.Defer:
		return Emulated
	}
	if r.Err != 0 {
		s.sendError(id, r.Err)
		return Failed
	}
	s.resp = seccompNotifResp{ID: id, Val: r.Val}
	s.send()
	return Emulated
}

// answerLate sends the answer of a call that had to wait.
func (s *server) answerLate(d emul.Completion) {
	if s.late != nil {
		s.late(d)
		return
	}
	if d.Result.Err != 0 {
		s.sendError(d.ID, d.Result.Err)
		return
	}
	s.resp = seccompNotifResp{ID: d.ID, Val: d.Result.Val}
	s.send()
}

func (s *server) send() {
	if s.opt.Stats != nil {
		s.answered = time.Now()
	}
	// ENOENT: the target died or took a signal and the call is gone;
	// EINPROGRESS: the kernel no longer holds the call as received (seen
	// when a target is killed while its call is being answered). Neither
	// is fsshim's to report.
	if e := notifSend(s.lfd, &s.resp); e != 0 && e != unix.ENOENT && e != unix.EINPROGRESS {
		s.opt.Log("SECCOMP_IOCTL_NOTIF_SEND: " + e.Error())
	}
}

func (s *server) sendContinue(id uint64) {
	s.resp = seccompNotifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	s.send()
}

func (s *server) sendError(id uint64, e syscall.Errno) {
	s.resp = seccompNotifResp{ID: id, Error: -int32(e)}
	s.send()
}

// install gives the target a placeholder fd for r.File: a memfd named after
// the description, added with ADDFD and FLAG_SEND so the syscall returns
// the new number in the same step.
func (s *server) install(t *task, id uint64, r emul.Result) Outcome {
	mfd, err := placeholderFD(r.File)
	if err != nil {
		s.k.Abandon(r.File)
		s.opt.Log("memfd_create: " + err.Error())
		s.sendError(id, unix.ENFILE)
		return Failed
	}
	a := seccompNotifAddfd{ID: id, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, Srcfd: uint32(mfd)}
	if r.SetFD >= 0 {
		a.Flags |= unix.SECCOMP_ADDFD_FLAG_SETFD
		a.Newfd = uint32(r.SetFD)
	}
	if r.FDFlags&unix.O_CLOEXEC != 0 {
		a.NewfdFlags = unix.O_CLOEXEC
	}
	if s.opt.Stats != nil {
		s.answered = time.Now()
	}
	fd, e := notifAddfd(s.lfd, &a)
	if e != 0 {
		unix.Close(mfd)
		s.k.Abandon(r.File)
		if e == unix.ENOENT {
			return Failed // the call was cancelled (target died)
		}
		s.sendError(id, e) // EMFILE and friends
		return Failed
	}
	s.ph.add(r.File.ID(), mfd)
	s.k.Installed(t.proc, fd, r.File)
	s.k.Release(r.File)
	return Emulated
}

// installHost gives the target the host file of an InstallHostFD answer
// (an overlay's lower file opened for reading) with ADDFD and FLAG_SEND, so
// the syscall returns the new number in the same step; the target's fd
// shares the open file description, and fsshim's copy is closed.
func (s *server) installHost(id uint64, r emul.Result) Outcome {
	defer r.Host.Close()
	a := seccompNotifAddfd{ID: id, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, Srcfd: uint32(r.Host.Fd())}
	if r.FDFlags&unix.O_CLOEXEC != 0 {
		a.NewfdFlags = unix.O_CLOEXEC
	}
	if s.opt.Stats != nil {
		s.answered = time.Now()
	}
	if _, e := notifAddfd(s.lfd, &a); e != 0 {
		if e != unix.ENOENT { // ENOENT: the call was cancelled (target died)
			s.sendError(id, e)
		}
		return Failed
	}
	return Emulated
}

// fill copies an emulated file's data into its placeholder in the target,
// so that the kernel maps the right bytes.
func (s *server) fill(t *task, r emul.Result) error {
	pidfd, err := s.pidfd(t.proc.Tgid)
	if err != nil {
		return err
	}
	fd, err := pidfdGetfd(pidfd, r.FillFD)
	if err != nil {
		return fmt.Errorf("pidfd_getfd: %w", err)
	}
	defer unix.Close(fd)
	size := s.k.Size(r.Fill)
	if err := unix.Ftruncate(fd, size); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		n, err := s.k.ReadFile(r.Fill, buf, off)
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

func (s *server) pidfd(tgid int) (int, error) {
	if fd, ok := s.pidfds[tgid]; ok {
		return fd, nil
	}
	fd, err := unix.PidfdOpen(tgid, 0)
	if err != nil {
		return -1, err
	}
	s.pidfds[tgid] = fd
	return fd, nil
}

// task returns the task for tid, learning new threads and processes from
// /proc: a new process gets its parent's working directory and its fd
// table is read from the kernel. The table is read again before a call of
// a thread whose earlier continued call duplicated a placeholder (that
// call has run by now), and the credentials after a set*id call or an
// execve.
func (s *server) task(tid int) *task {
	t := s.tids[tid]
	if t != nil && !t.proc.Dead {
		s.refresh(t.proc, tid)
		return t
	}
	st, err := readStatus(tid)
	if err != nil {
		return nil
	}
	p := s.k.LookupProcess(st.Tgid)
	if p == nil {
		s.reap()
		var parent *emul.Process
		if pt := s.tids[st.PPid]; pt != nil {
			parent = pt.proc
		}
		p = s.k.Process(st.Tgid, parent)
		p.Creds, p.Umask, p.NSpid = st.creds(), st.Umask, st.NSpid
		s.pidfd(st.Tgid)
		if parent != nil {
			s.checkShared(parent, p)
		}
		s.rescan(p)
	} else {
		s.refresh(p, tid)
	}
	t = &task{tid: tid, proc: p, mem: procMem{pid: tid}}
	s.tids[tid] = t
	return t
}

// refresh brings what emul knows of p up to date before tid's call.
func (s *server) refresh(p *emul.Process, tid int) {
	if s.k.BeginCall(p, tid) || p.NeedScan {
		s.rescan(p)
	}
	if p.CredsStale {
		if st, err := readStatus(p.Tgid); err == nil {
			p.Umask = st.Umask
			p.Creds = st.creds()
		}
		p.CredsStale = false
	}
}

// checkShared marks a new process and its parent when they share one fd
// table (clone with CLONE_FILES: kcmp(KCMP_FILES)), and gives them one
// working directory when they share that (CLONE_FS). A process changes
// either only by its own calls until then, and its first call is where it
// is learnt, so this is in time.
func (s *server) checkShared(parent, p *emul.Process) {
	const kcmpFiles, kcmpFS = 2, 3 // KCMP_FILES, KCMP_FS
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(parent.Tgid), uintptr(p.Tgid), kcmpFiles, 0, 0, 0)
	if e == 0 && r == 0 || e == unix.ENOSYS || e == unix.EPERM {
		// Shared, or no way to tell: check every use.
		parent.SharedFDs, p.SharedFDs = true, true
	}
	// One working directory (CLONE_FS): a chdir by either moves both.
	if r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(parent.Tgid), uintptr(p.Tgid), kcmpFS, 0, 0, 0); e == 0 && r == 0 {
		s.k.ShareFS(parent, p)
	}
}

// rescan reads p's fd table: the fds that hold placeholders, each checked
// to be fsshim's own (placeholders.verified).
func (s *server) rescan(p *emul.Process) {
	fds, err := scanFDs(p.Tgid)
	if err != nil {
		return
	}
	s.k.SetFDs(p, s.ph.verified(p.Tgid, fds))
	if st, err := readStatus(p.Tgid); err == nil {
		p.Umask = st.Umask
		p.Creds = st.creds()
		p.CredsStale = false // just read
	}
}

// reap forgets processes that have exited (their pidfds are readable), so
// their descriptions are released and reused pids start afresh.
func (s *server) reap() {
	if len(s.pidfds) == 0 {
		return
	}
	pfds := make([]unix.PollFd, 0, len(s.pidfds))
	tgids := make([]int, 0, len(s.pidfds))
	for tgid, fd := range s.pidfds {
		pfds = append(pfds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		tgids = append(tgids, tgid)
	}
	if n, err := unix.Poll(pfds, 0); err != nil || n == 0 {
		return
	}
	for i, pf := range pfds {
		if pf.Revents == 0 {
			continue
		}
		tgid := tgids[i]
		unix.Close(int(pf.Fd))
		delete(s.pidfds, tgid)
		if p := s.k.LookupProcess(tgid); p != nil {
			s.k.Exit(p)
		}
		s.ops.cancelFor(tgid)
		for _, d := range s.k.TakeCompletions() {
			s.answerLate(d)
		}
		for tid, t := range s.tids {
			if t.proc.Tgid == tgid {
				delete(s.tids, tid)
			}
		}
	}
}
