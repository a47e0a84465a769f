package tracer

// The ptrace transport. The filter returns SECCOMP_RET_TRACE for routed
// syscalls, so each one costs a single ptrace stop (PTRACE_EVENT_SECCOMP,
// with PTRACE_O_TRACESECCOMP) and everything else runs untraced: no
// PTRACE_SYSCALL double stops except while fsshim injects a call of its own.
//
// At a seccomp stop the tracee is inside the syscall entry path, after the
// filter ran and before the syscall:
//
//   - Continue: PTRACE_CONT, the kernel runs the call unchanged.
//   - Return: one PTRACE_SETREGS with orig_rax = -1 and rax = the result,
//     then PTRACE_CONT. After the tracer resumes a seccomp stop the kernel
//     re-reads the syscall number (__seccomp_filter: syscall_get_nr); -1
//     means "skip", and do_syscall_64 leaves rax alone for nr == -1, so the
//     value written at the stop is what the tracee sees. rax must be written
//     as part of the skip, at the stop: with SECCOMP_RET_TRACE there is no
//     syscall-exit stop to write it later, and before the stop the entry
//     code has set rax to -ENOSYS, which a skip without rax would return.
//     (TestPtraceSkip checks the value and errno come through.)
//   - InstallFD: see the injection below (ptracer.InstallFD).
//   - Defer (a lock wait): the tracee stays in its seccomp stop until the
//     answer is known.
//
// Signals are delivered unchanged (the signal-delivery-stop resumes with
// the same signal); group-stop is reported as PTRACE_EVENT_STOP to a
// PTRACE_SEIZE tracer and answered with PTRACE_LISTEN, so the tracee stays
// stopped, its parent sees it stopped, and SIGCONT wakes it.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/policy"
)

// initPtraceArg0 marks the init stage of a ptrace target.
const initPtraceArg0 = "fsshim:init-ptrace"

const ptraceOptions = unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACESYSGOOD |
	unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC

// syscallStopSig is the stop signal of a syscall-entry or -exit stop with
// PTRACE_O_TRACESYSGOOD.
const syscallStopSig = int(unix.SIGTRAP) | 0x80

// redZone is the x86-64 ABI's red zone: the 128 bytes below the stack
// pointer that leaf code may use without moving rsp.
const redZone = 128

// execTraced is the rest of the init stage of a ptrace target (called from
// RunInitStage with the filter read and no_new_privs set). How the target
// comes to be traced from its first instruction: the supervisor starts this
// init stage and PTRACE_SEIZEs it (with its options) before it sends the
// filter, so by the time the init stage has the filter it is traced. The
// filter then goes in with plain SECCOMP_SET_MODE_FILTER (SECCOMP_RET_TRACE
// needs no listener; without a tracer it would answer ENOSYS) and the
// execve is the first routed call fsshim sees; the program's first
// instruction runs after the PTRACE_EVENT_EXEC stop. PTRACE_SEIZE rather
// than SysProcAttr.Ptrace (PTRACE_TRACEME before exec): only a seized
// tracee reports group-stop as PTRACE_EVENT_STOP and can be left stopped
// with PTRACE_LISTEN, and seizing lets the options be set before the
// tracee runs a single routed call.
//
// A filter that answers policy.HandoffNr with SECCOMP_RET_USER_NOTIF (the
// fd hand-off, handoff.go) goes in with a listener, as unotify's, which is
// passed to the supervisor over the init socket.
func execTraced(prog []unix.SockFilter, path string, argv []string, fail func(int, string, ...any)) {
	if !policy.NeedsListener(prog) {
		// The socket goes before the filter: close is a routed call.
		unix.Close(initSockFD)
		if _, e := installFilter(prog, 0); e != 0 {
			fail(ExitInternal, "installing the seccomp filter: %v", e)
		}
	} else {
		// WAIT_KILLABLE_RECV (Linux 5.19) is what makes a received
		// hand-off certain to complete (handoff.go).
		lfd, e := installFilter(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
		if e != 0 {
			fail(ExitInternal, "installing the seccomp filter with a listener (the fd hand-off of --data passthrough under ptrace needs Linux 5.19; --data forward does without): %v", e)
		}
		if err := unix.Sendmsg(initSockFD, []byte{'L'}, unix.UnixRights(lfd), nil, 0); err != nil {
			fail(ExitInternal, "handing the listener to the supervisor: %v", err)
		}
		unix.Close(lfd)
		unix.Close(initSockFD)
	}
	err := unix.Exec(path, argv, os.Environ())
	code := ExitCannotExec
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	fail(code, "cannot execute %s: %v", path, err)
}

// launchTraced starts prog's init stage, seizes it and sends it the
// filter. It must run on the thread that will issue every ptrace request.
// For a filter with a listener (policy.NeedsListener) it returns the init
// socket too, on which the listener will come (later: the tracees must
// be served until then), else -1.
func launchTraced(prog Program, filter []unix.SockFilter, log func(string)) (*exec.Cmd, int, int, error) {
	cmd, sockFD, ctlFD, isolated, err := startInitStage(prog, initPtraceArg0, log)
	if err != nil {
		return nil, -1, -1, err
	}
	keep := false
	defer func() {
		if !keep {
			unix.Close(sockFD)
		}
	}()
	pid := cmd.Process.Pid
	// Seized before it has its configuration: an isolated init stage
	// forks the program's stage then, which must be traced already.
	if err := ptraceSeize(pid, ptraceOptions); err != nil {
		unix.Close(ctlFD)
		cmd.Process.Kill()
		cmd.Wait() // not traced: the ordinary wait is safe
		return nil, -1, -1, fmt.Errorf("PTRACE_SEIZE: %w", err)
	}
	ctl, err := configure(ctlFD, prog, isolated)
	if err == nil {
		_, err = unix.Write(sockFD, encodeFilter(filter))
		if err != nil {
			err = fmt.Errorf("sending the filter: %w", err)
		}
	}
	if err != nil {
		if ctl >= 0 {
			unix.Close(ctl)
		}
		unix.Kill(pid, unix.SIGKILL)
		reapTraced(pid)
		return nil, -1, -1, err
	}
	if policy.NeedsListener(filter) {
		keep = true
		return cmd, ctl, sockFD, nil
	}
	return cmd, ctl, -1, nil
}

// reapTraced waits for a killed tracee to be gone.
func reapTraced(pid int) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || ws.Exited() || ws.Signaled() {
			return
		}
		ptraceCont(pid, 0)
	}
}

// ptracer serves a target through ptrace: one goroutine on a locked OS
// thread (the tracer thread, the only one the kernel accepts ptrace
// requests from) waits for stops and handles them, and is the emul.Target
// that answers each routed call. Its bookkeeping of tasks, processes and
// fd tables is procs, as the unotify server's.
type ptracer struct {
	procs
	main     int // the pid fsshim started
	exitCode int
	regs     unix.PtraceRegs
	nextID   uint64
	// inj holds the tasks that run a call fsshim injected (by tid).
	inj map[int]*injection
	// deferred holds the calls waiting for a lock, by emul.Call.ID: their
	// tasks stay in the seccomp stop until the answer is known.
	deferred map[uint64]deferredCall
	// redeliver holds, by tid, signals that arrived during an injection,
	// were held back and raised again: their siginfo is restored at the
	// signal-delivery-stop of the raised copy.
	redeliver map[int][]siginfo
	t0        time.Time // when the current stop was reported
	// answered is when the current call's answer was given.
	answered time.Time
	// hd is the current call's handler time (statistics).
	hd time.Duration
	// ctl is the control socket of an isolated init stage, or -1.
	ctl int
	// hand is the fd hand-off (handoff.go), nil when the filter has
	// no listener (--data forward).
	hand *handoff
}

// installHook, set only by tests, may change an InstallFD answer before it
// is served (to exercise SetFD, which no emul handler asks for today).
var installHook func(tid int, r *emul.Result)

type deferredCall struct {
	tid  int
	regs unix.PtraceRegs
}

func runPtrace(opt Options) (Result, error) {
	s := &ptracer{
		inj:       map[int]*injection{},
		deferred:  map[uint64]deferredCall{},
		redeliver: map[int][]siginfo{},
	}
	s.procs.init(opt)
	s.k.Data = dataFDs{pidfd: s.pidfd}
	s.exited = func(int) { s.k.AnswerWaiters(s) }
	if s.opt.Log == nil {
		s.opt.Log = func(m string) { fmt.Fprintln(os.Stderr, "fsshim:", m) }
	}
	type started struct {
		pid int
		err error
	}
	startc := make(chan started, 1)
	done := make(chan error, 1)
	go func() {
		// ptrace requests are accepted only from the tracer thread, and
		// Pdeathsig follows the forking thread: one locked OS thread
		// launches, seizes and serves. It stays locked, so the thread
		// ends with this goroutine (and PTRACE_O_EXITKILL kills any
		// tracee left then).
		runtime.LockOSThread()
		if opt.Pin {
			// The init stage is forked from this thread and
			// inherits the mask: tracer and target share one CPU.
			if err := pinThread(); err != nil {
				s.opt.Log("--pin: " + err.Error())
			}
		}
		cmd, ctl, sock, err := launchTraced(opt.Program, opt.Filter, s.opt.Log)
		if err != nil {
			startc <- started{err: err}
			return
		}
		s.ctl = ctl
		if sock >= 0 {
			s.hand = newHandoff(s.opt.Log)
			go s.hand.serve(sock, !opt.NoSyncWakeup)
		}
		if ctl >= 0 {
			s.k.SetExecShadow(newShadowConn(ctl, s.opt.Log)) // execshadow.go
		}
		// Every ptrace stop also sends this process a SIGCHLD, which
		// Go's handler takes on one of its threads: a wake-up of
		// another thread at every stop (12 against 30-45 µs a stop,
		// unpinned, measured here). SA_NOCLDSTOP on the handler
		// tells the kernel not to send it for stops; wait4 is woken
		// all the same, and Go has no use for SIGCHLD.
		if err := noStopSIGCHLD(); err != nil {
			s.opt.Log("SIGCHLD: " + err.Error())
		}
		s.main = cmd.Process.Pid
		startc <- started{pid: s.main}
		err = s.trace()
		cmd.Process.Release()
		if s.hand != nil {
			// Every task is reaped: the listener hangs up, and the
			// receiver ends.
			<-s.hand.done
			s.hand.closeAll()
		}
		done <- err
	}()
	st := <-startc
	if st.err != nil {
		return Result{ExitCode: ExitInternal}, st.err
	}
	if opt.Started != nil {
		opt.Started(st.pid)
	}
	stop := forward(opt.Forward, st.pid, s.ctl)
	err := <-done
	stop()
	s.close()
	return Result{ExitCode: s.exitCode}, err
}

// trace handles ptrace stops until no tracee is left. The wait is for any
// child (__WALL: threads too): the process must start no children of its
// own besides the target while it runs (one ptrace Run at a time).
func (s *ptracer) trace() error {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WALL, nil)
		if err != nil {
			switch err {
			case unix.EINTR:
				continue
			case unix.ECHILD:
				return nil
			}
			return fmt.Errorf("wait4: %w", err)
		}
		if s.opt.Stats != nil {
			s.t0 = time.Now()
		}
		s.stop(pid, ws)
	}
}

// stop handles one wait status.
func (s *ptracer) stop(pid int, ws unix.WaitStatus) {
	if ws.Exited() || ws.Signaled() {
		s.gone(pid, ws)
		return
	}
	if !ws.Stopped() {
		return
	}
	sig := int(ws>>8) & 0xff
	ev := int(ws>>16) & 0xff
	if in := s.inj[pid]; in != nil && in.quiet && (sig == syscallStopSig || ev != 0) {
		// A stop other than a signal's delivery: the hand-off's call
		// is over (signalStop looks at those).
		s.endQuiet(pid, in)
	}
	switch {
	case sig == syscallStopSig:
		s.syscallStop(pid)
	case ev == unix.PTRACE_EVENT_SECCOMP:
		s.seccompStop(pid)
	case ev == unix.PTRACE_EVENT_FORK || ev == unix.PTRACE_EVENT_VFORK || ev == unix.PTRACE_EVENT_CLONE:
		s.learnChild(pid)
		s.resume(pid, 0)
	case ev == unix.PTRACE_EVENT_EXEC:
		s.execed(pid)
		s.resume(pid, 0)
	case ev == unix.PTRACE_EVENT_STOP:
		if sig == int(unix.SIGTRAP) {
			// The first stop of a new tracee, or the end of a
			// group-stop (SIGCONT) after PTRACE_LISTEN.
			s.resume(pid, 0)
			return
		}
		// Group-stop (sig is the stop signal): stay stopped.
		if e := ptraceListen(pid); e != 0 && e != unix.ESRCH {
			s.opt.Log("PTRACE_LISTEN: " + e.Error())
		}
	case ev != 0:
		s.resume(pid, 0) // an event not asked for
	default:
		s.signalStop(pid, sig)
	}
}

// resume lets a tracee run on: to its next syscall stop while fsshim
// injects a call into it, else until its next seccomp or event stop.
func (s *ptracer) resume(pid, sig int) {
	var e syscall.Errno
	if in := s.inj[pid]; in != nil && !in.quiet {
		e = ptraceSyscall(pid, sig)
	} else {
		e = ptraceCont(pid, sig)
	}
	if e != 0 && e != unix.ESRCH {
		s.opt.Log("resuming " + strconv.Itoa(pid) + ": " + e.Error())
	}
}

// signalStop passes a signal on unchanged, except during an injection:
// then the signal is held back (its handler would run on fsshim's
// registers) and raised again once the tracee is back in its own call.
func (s *ptracer) signalStop(pid, sig int) {
	if in := s.inj[pid]; in != nil && in.quiet {
		if s.handOffInterrupted(pid) {
			// Held like an injection's, and the restart of the
			// call reported, so the signal is raised when it ends.
			in.quiet, in.entry = false, true
		} else {
			s.endQuiet(pid, in)
		}
	}
	if in := s.inj[pid]; in != nil {
		var si siginfo
		if ptraceGetSiginfo(pid, &si) == 0 {
			in.held = append(in.held, si)
		}
		s.resume(pid, 0)
		return
	}
	if q := s.redeliver[pid]; len(q) > 0 && q[0].signo() == sig {
		ptraceSetSiginfo(pid, &q[0])
		if len(q) == 1 {
			delete(s.redeliver, pid)
		} else {
			s.redeliver[pid] = q[1:]
		}
	}
	s.resume(pid, sig)
}

// gone forgets a task that has exited.
func (s *ptracer) gone(pid int, ws unix.WaitStatus) {
	if pid == s.main {
		if ws.Signaled() {
			s.exitCode = 128 + int(ws.Signal())
		} else {
			s.exitCode = ws.ExitStatus()
		}
	}
	s.dropInjection(pid)
	for id, d := range s.deferred {
		if d.tid == pid {
			delete(s.deferred, id)
		}
	}
	delete(s.redeliver, pid)
	delete(s.tids, pid)
	s.reap()
}

// dropInjection forgets the call fsshim was running in pid, which is gone
// (or, at an exec, was the thread group leader the exec replaced).
func (s *ptracer) dropInjection(pid int) {
	if in := s.inj[pid]; in != nil {
		if in.file != nil {
			// The placeholder's call is gone: so is the Result's
			// reference.
			s.k.Release(in.file)
		}
		if in.step == stepHandoff {
			s.closeOwn(in)
		}
		delete(s.inj, pid)
	}
	if s.hand != nil {
		s.hand.disarm(pid)
	}
}

// learnChild records the task a fork, vfork or clone event announces: a
// thread joins its creator's process; a new process gets the creator's
// working directory as of the fork, and its fd table (a copy of the
// creator's) is read at its first routed call.
func (s *ptracer) learnChild(parent int) {
	msg, e := ptraceEventMsg(parent)
	if e != 0 {
		return
	}
	child := int(msg)
	if s.tids[child] != nil {
		return // it stopped first and was learnt from /proc
	}
	pt := s.task(parent)
	if pt == nil {
		return
	}
	st, err := readStatus(child)
	if err != nil {
		return
	}
	if st.Tgid == pt.proc.Tgid {
		s.tids[child] = &task{tid: child, proc: pt.proc, mem: procMem{pid: child}}
		return
	}
	s.reap()
	p := s.k.Process(st.Tgid, pt.proc)
	s.k.SetIDs(p, st.creds(), st.Umask)
	s.k.SetNSpid(p, st.NSpid)
	p.NeedScan = true // before the process's first call
	s.checkShared(pt.proc, p)
	s.pidfd(st.Tgid)
	s.tids[child] = &task{tid: child, proc: p, mem: procMem{pid: child}}
}

// execed follows an execve: a thread other than the leader that execs
// takes the leader's tid (the event message is its former tid). The fd
// table lost its close-on-exec entries; emul learns that at the next use
// of each (Kernel.Oracle).
func (s *ptracer) execed(pid int) {
	// pid is in no call of fsshim's: what is recorded for it was the
	// thread group leader's, which a thread's exec has ended.
	s.dropInjection(pid)
	if old, e := ptraceEventMsg(pid); e == 0 && int(old) != pid {
		if t := s.tids[int(old)]; t != nil {
			delete(s.tids, int(old))
			t.tid, t.mem.pid = pid, pid
			s.tids[pid] = t
		}
	}
	if t := s.tids[pid]; t != nil {
		s.k.ExecDone(t.proc)
		s.rescan(t.proc)
	}
}

// seccompStop serves a routed syscall.
func (s *ptracer) seccompStop(pid int) {
	if s.inj[pid] != nil {
		// A call fsshim injected passes the filter on its way in.
		s.resume(pid, 0)
		return
	}
	timed := s.opt.Stats != nil
	r := &s.regs
	if e := ptraceGetRegs(pid, r); e != 0 {
		return // killed meanwhile
	}
	t := s.task(pid)
	if t == nil {
		s.resume(pid, 0)
		return
	}
	s.nextID++
	t.mem.timed = timed
	c := emul.Call{ID: s.nextID, Tid: pid, Proc: t.proc, Nr: int(int64(r.Orig_rax)),
		Args: [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}, Mem: &t.mem}
	var h0 time.Time
	if timed {
		h0 = time.Now()
	}
	res := s.k.Handle(&c)
	if timed {
		s.hd = time.Since(h0) - t.mem.spent
		t.mem.spent = 0
	}
	if res.Action == emul.InstallFD && installHook != nil {
		installHook(pid, &res)
	}
	rep := s.k.Complete(s, &c, &res)
	if timed && rep.Outcome != emul.Pending {
		s.opt.Stats.record(c.Nr, rep.Outcome, s.hd, s.answered.Sub(s.t0))
	}
}

// The answer protocol's primitives (emul.Target) over ptrace stops. Fill
// is procs'. InstallFD and Redirect run calls in the tracee (injections)
// and finish at its later stops.

// Answer implements emul.Target: the call is skipped with the answer in
// rax, or, when an injection ran in its place, its registers come back
// with the answer.
func (s *ptracer) Answer(c *emul.Call, val int64, errno syscall.Errno) {
	v := val
	if errno != 0 {
		v = -int64(errno)
	}
	if in := s.inj[c.Tid]; in != nil {
		s.finish(c.Tid, in, v)
		return
	}
	s.skip(c.Tid, &s.regs, v, true)
}

// Continue implements emul.Target: the tracee runs on into its call.
func (s *ptracer) Continue(c *emul.Call) (int64, syscall.Errno) {
	s.markAnswered()
	s.resume(c.Tid, 0)
	return 0, 0
}

// Defer implements emul.Target: the tracee stays in its seccomp stop, and
// its registers are kept for Late.
func (s *ptracer) Defer(c *emul.Call) {
	s.deferred[c.ID] = deferredCall{tid: c.Tid, regs: s.regs}
}

// Late implements emul.Target: a call that waited for a lock is skipped
// with its answer.
func (s *ptracer) Late(id uint64, val int64, errno syscall.Errno) {
	dc, ok := s.deferred[id]
	if !ok {
		return
	}
	delete(s.deferred, id)
	v := val
	if errno != 0 {
		v = -int64(errno)
	}
	s.skip(dc.tid, &dc.regs, v, false)
}

// InstallHostFD implements emul.Target: the fd hand-off (handoff.go)
// gives the tracee an fd sharing host's open file. emul answers
// InstallHostFD only when Kernel.HostFDs is set, which needs the
// hand-off (a filter with its listener, --data passthrough).
func (s *ptracer) InstallHostFD(c *emul.Call, host emul.LowerFile, fdFlags int) (int, syscall.Errno, emul.Progress) {
	if s.hand == nil {
		s.opt.Log("InstallHostFD under ptrace without the fd hand-off: answered EIO")
		return -1, unix.EIO, emul.Did
	}
	e, p := s.handOff(c, int(host.Fd()), fdFlags, -1, nil, -1)
	return -1, e, p
}

func (s *ptracer) markAnswered() {
	if s.opt.Stats != nil {
		s.answered = time.Now()
	}
}

// skip answers the call the tracee is stopped in with v without running
// it (the comment at the top of this file says why one SETREGS does it).
// mark says it answers the current call, whose service time ends now.
func (s *ptracer) skip(pid int, r *unix.PtraceRegs, v int64, mark bool) {
	r.Orig_rax = ^uint64(0)
	r.Rax = uint64(v)
	if e := ptraceSetRegs(pid, r); e != 0 && e != unix.ESRCH {
		s.opt.Log("PTRACE_SETREGS: " + e.Error())
	}
	if mark {
		s.markAnswered()
	}
	s.resume(pid, 0)
}

// An injection runs syscalls of fsshim's choosing in a tracee that is
// stopped in a routed call, then answers that call.
//
// ptrace has no SECCOMP_IOCTL_NOTIF_ADDFD, so the placeholder of an
// emulated open is made by the target itself: at the seccomp stop the
// call is rewritten into memfd_create("fsshim-<description id>", flags)
// (MFD_CLOEXEC for O_CLOEXEC) and resumed with PTRACE_SYSCALL, which
// brings it back at its syscall-exit stop with the new fd in rax; fsshim
// hands it to emul (Kernel.FinishInstall), whose answer puts back the
// registers of the original call with that fd as its result. The kernel
// picks the number, so it is the lowest free one, and the memfd name is
// the one scanFDs recognises after a fork, dup or exec. One extra stop, no
// extra syscall in fsshim.
//
// The name must be in the target's memory. It goes below the red zone of
// the calling thread's stack (rsp-128-len, 16-aligned): that memory is
// the thread's own (no other thread races for it, unlike a shared scratch
// page), it is dead by the ABI (a signal handler would overwrite it too),
// it needs no allocation in the target, and the path buffer of the call
// may be read-only or too short. The bytes there are read first and put
// back at the exit stop, so even a stack too small for the ABI's promise
// (a goroutine stack close to its guard) gets its memory back unchanged.
//
// A directory whose description emul gave the exec shadow's directory of
// the same path as placeholder (emul.File.ShadowDir) is opened by the
// target instead: openat(AT_FDCWD, that path, O_RDONLY|O_DIRECTORY), which
// its mount namespace resolves to the read-only shadow. Should that fail
// (a program that changed its root), the memfd is made after all, and the
// description told it has no shadow directory.
//
// SetFD (dup2 semantics) needs two more calls, which are run by restarting
// the syscall instruction (rip-2) from the exit stop: dup3(memfd, SetFD,
// flags), then close(memfd). Between those steps the tracee passes through
// user mode, so a signal may be reported there: it is held back, because
// its handler would run on fsshim's registers, and raised again (tgkill,
// with the original siginfo restored at its delivery-stop) after the
// original call has its answer.
type injection struct {
	t *task
	// call is the original call (its answer goes through Answer).
	call emul.Call
	// file, fdFlags and setFD are the InstallFD's; file is nil for a
	// redirection, and once FinishInstall has taken its reference.
	file    *emul.File
	fdFlags int
	setFD   int
	orig    unix.PtraceRegs // at the seccomp stop of the original call
	hd      time.Duration
	t0      time.Time
	step    int
	entry   bool // waiting for the syscall-entry stop of a restarted step
	// nameAt is where the memfd name (or the shadow directory's path)
	// went; saved is what was there; name is the memfd name.
	nameAt uint64
	name   string
	saved  []byte
	fd     int   // the memfd's number in the target
	final  int64 // the answer of the original call
	held   []siginfo
	// handed is when a redirected call was handed to the tracee.
	handed time.Time
	// quiet: a hand-off whose call ends without a stop (the tracee
	// was resumed with PTRACE_CONT); it is over at the tracee's next
	// stop, unless that is the delivery of a signal that interrupted it.
	quiet bool
	// own is fsshim's reference to the placeholder a hand-off
	// installs, or -1.
	own int
}

const (
	stepMemfd   = iota
	stepOpenDir // the openat of a shadow directory
	stepDup3
	stepClose
	stepRedirect // the host call of an emul.Redirect (redirect.go)
	stepHandoff  // the fd hand-off (handoff.go)
)

// InstallFD implements emul.Target: it begins the injection that makes
// the placeholder in the tracee (Later); syscallStop ends it.
func (s *ptracer) InstallFD(c *emul.Call, f *emul.File, fdFlags, setFD int) (int, syscall.Errno, emul.Progress) {
	if s.hand != nil {
		// The placeholder emul made (or a memfd) goes in by the
		// hand-off; the call stops at its exit for the fd to be
		// recorded.
		own, err := placeholderFD(f)
		if err != nil {
			s.opt.Log("placeholder: " + err.Error())
			return -1, unix.ENFILE, emul.Did
		}
		e, p := s.handOff(c, own, fdFlags, setFD, f, own)
		if p != emul.Later {
			unix.Close(own)
		}
		return -1, e, p
	}
	pid := c.Tid
	t := s.tids[pid]
	in := &injection{t: t, call: *c, file: f, fdFlags: fdFlags, setFD: setFD, orig: s.regs, hd: s.hd, t0: s.t0}
	in.name = placeholderPrefix + strconv.FormatUint(f.ID(), 10) + "\x00"
	if ph := f.TakePlaceholder(); ph != nil {
		ph.Close() // emul's own; the tracee makes its placeholder itself
	}
	dir := f.ShadowDir()
	payload := in.name
	if dir != "" {
		in.step = stepOpenDir
		if len(dir)+1 > len(payload) {
			payload = dir + "\x00"
		}
	}
	in.nameAt = (s.regs.Rsp - redZone - uint64(len(payload))) &^ 15
	in.saved = make([]byte, len(payload))
	if _, err := t.mem.ReadAt(in.saved, in.nameAt); err != nil {
		s.opt.Log(fmt.Sprintf("placeholder for an emulated open: no room below the stack pointer %#x: %v", s.regs.Rsp, err))
		return -1, unix.ENFILE, emul.Did
	}
	first := in.name
	if dir != "" {
		first = dir + "\x00"
	}
	if _, err := t.mem.WriteAt([]byte(first), in.nameAt); err != nil {
		s.opt.Log(fmt.Sprintf("placeholder for an emulated open: writing the placeholder name at %#x: %v", in.nameAt, err))
		return -1, unix.ENFILE, emul.Did
	}
	t.mem.spent = 0
	regs := s.regs
	if dir != "" {
		flags := uint64(unix.O_RDONLY | unix.O_DIRECTORY)
		if fdFlags&unix.O_CLOEXEC != 0 {
			flags |= unix.O_CLOEXEC
		}
		fdcwd := int64(unix.AT_FDCWD)
		regs.Orig_rax = unix.SYS_OPENAT
		regs.Rdi, regs.Rsi, regs.Rdx, regs.R10 = uint64(fdcwd), in.nameAt, flags, 0
	} else {
		regs.Orig_rax = unix.SYS_MEMFD_CREATE
		regs.Rdi, regs.Rsi = in.nameAt, memfdFlags(fdFlags)
	}
	if e := ptraceSetRegs(pid, &regs); e != 0 {
		return -1, e, emul.Sent // killed meanwhile: no one to answer
	}
	s.inj[pid] = in
	s.resume(pid, 0)
	return -1, 0, emul.Later
}

// syscallStop is the entry or exit stop of an injected call.
func (s *ptracer) syscallStop(pid int) {
	in := s.inj[pid]
	if in == nil {
		s.resume(pid, 0) // not ours; cannot happen (PTRACE_SYSCALL only while injecting)
		return
	}
	if in.entry {
		in.entry = false
		s.resume(pid, 0)
		return
	}
	if e := ptraceGetRegs(pid, &s.regs); e != 0 {
		return
	}
	v := int64(s.regs.Rax)
	switch in.step {
	case stepHandoff:
		s.endHandOff(pid, in, v)
	case stepRedirect:
		s.endRedirect(pid, in, v)
	case stepOpenDir:
		if v < 0 {
			// No shadow directory there: a memfd after all.
			in.file.NoShadowDir()
			in.t.mem.WriteAt([]byte(in.name), in.nameAt)
			in.t.mem.spent = 0
			in.step = stepMemfd
			s.restart(pid, in, unix.SYS_MEMFD_CREATE, in.nameAt, memfdFlags(in.fdFlags), 0)
			return
		}
		fallthrough
	case stepMemfd:
		// memfd_create or openat has copied the name: give the stack
		// its bytes back.
		in.t.mem.WriteAt(in.saved, in.nameAt)
		in.t.mem.spent = 0
		if v < 0 {
			s.finishInstall(in, -1, syscall.Errno(-v))
			return
		}
		in.fd = int(v)
		s.keepPlaceholder(in.t.proc.Tgid, in.fd, in.file)
		if in.setFD < 0 || in.fd == in.setFD {
			s.finishInstall(in, in.fd, 0)
			return
		}
		in.step = stepDup3
		s.restart(pid, in, unix.SYS_DUP3, uint64(in.fd), uint64(in.setFD), uint64(in.fdFlags&unix.O_CLOEXEC))
	case stepDup3:
		in.final = v
		in.step = stepClose
		s.restart(pid, in, unix.SYS_CLOSE, uint64(in.fd), 0, 0)
	case stepClose:
		if in.final < 0 {
			s.finishInstall(in, -1, syscall.Errno(-in.final))
			return
		}
		s.finishInstall(in, in.setFD, 0)
	}
}

// memfdFlags are memfd_create's flags for an fd with fdFlags.
func memfdFlags(fdFlags int) uint64 {
	if fdFlags&unix.O_CLOEXEC != 0 {
		return unix.MFD_CLOEXEC
	}
	return 0
}

// finishInstall ends an InstallFD injection: fd is the tracee's new fd
// on the placeholder, or errno why there is none. The answer goes through
// Answer, which finds the injection and puts the original registers back.
func (s *ptracer) finishInstall(in *injection, fd int, errno syscall.Errno) {
	f := in.file
	in.file = nil // the reference is FinishInstall's now
	rep := s.k.FinishInstall(s, &in.call, f, fd, errno)
	s.record(in, rep.Outcome)
}

// record takes the statistics of a call whose injection has ended.
func (s *ptracer) record(in *injection, o emul.Outcome) {
	if s.opt.Stats != nil {
		s.opt.Stats.record(in.call.Nr, o, in.hd, s.answered.Sub(in.t0))
	}
}

// keepPlaceholder takes fsshim's own reference to the placeholder the
// tracee just made (see placeholders). Without it (pidfd_getfd refused),
// the placeholder is known by its name only.
func (s *ptracer) keepPlaceholder(tgid, fd int, f *emul.File) {
	pidfd, err := s.pidfd(tgid)
	if err != nil {
		return
	}
	own, err := pidfdGetfd(pidfd, fd)
	if err != nil {
		s.opt.Log("pidfd_getfd of a placeholder: " + err.Error())
		return
	}
	s.ph.add(f.ID(), own, f.ShadowDir())
}

// restart makes the tracee, stopped at a syscall-exit stop, execute its
// syscall instruction again as call nr.
func (s *ptracer) restart(pid int, in *injection, nr int, a0, a1, a2 uint64) {
	regs := in.orig
	regs.Rip -= 2 // the syscall instruction (0f 05)
	regs.Rax, regs.Orig_rax = uint64(nr), uint64(nr)
	regs.Rdi, regs.Rsi, regs.Rdx = a0, a1, a2
	if e := ptraceSetRegs(pid, &regs); e != 0 {
		return
	}
	in.entry = true
	s.resume(pid, 0)
}

// finish answers the original call with v and raises the held signals.
func (s *ptracer) finish(pid int, in *injection, v int64) {
	regs := in.orig
	regs.Rax = uint64(v)
	if e := ptraceSetRegs(pid, &regs); e != 0 && e != unix.ESRCH {
		s.opt.Log("PTRACE_SETREGS: " + e.Error())
	}
	delete(s.inj, pid)
	for i := range in.held {
		if unix.Tgkill(in.t.proc.Tgid, pid, syscall.Signal(in.held[i].signo())) == nil {
			s.redeliver[pid] = append(s.redeliver[pid], in.held[i])
		}
	}
	s.markAnswered()
	s.resume(pid, 0)
}
