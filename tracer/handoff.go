package tracer

// The fd hand-off of the ptrace transport (--data passthrough).
//
// ptrace cannot put a file of fsshim's into a tracee, and an open under
// passthrough must give the program an fd onto a file fsshim holds (the
// backing file of a ramfs inode, or the placeholder of a directory). The
// seccomp listener can (SECCOMP_IOCTL_NOTIF_ADDFD), and the kernel lets a
// tracer lead a call there:
//
//   - At a SECCOMP_RET_TRACE stop the tracee is in syscall_trace_enter,
//     inside __seccomp_filter. When the tracer resumes it, the kernel reads
//     the syscall number again and, unless it is -1, runs the filter again
//     on the (possibly rewritten) registers ("recheck_after_trace"): only a
//     second SECCOMP_RET_TRACE is then allowed without a stop; a
//     SECCOMP_RET_USER_NOTIF is served as on a first pass, by a
//     notification to the filter's listener.
//   - So at the stop of an open that emul answers with an fd, the tracer
//     rewrites the syscall number (orig_rax) into policy.HandoffNr, a
//     number no kernel has, leaves every argument register as it was, arms
//     the hand-off for that task (handoff.arm) and resumes it. The ptrace
//     filter answers HandoffNr with SECCOMP_RET_USER_NOTIF, and the
//     listener (installed with the filter, like unotify's, and held by
//     fsshim alone) gets the notification. The hand-off's receiver answers
//     it with ADDFD, which installs the fd at the lowest free number of
//     the tracee (or the number dup2 semantics ask for), close-on-exec as
//     the open asked, closes its own copy of the file and sends the number
//     as the call's result (answer says why not FLAG_SEND). The
//     tracee's registers are its own but rax, as after any syscall, and for
//     a regular file there is no stop after the one the open made.
//   - The filter cannot tell the rewritten call from a program's own call
//     of HandoffNr, so the receiver does: it serves a notification only
//     from a task the tracer armed (by thread id, as the kernel reports it
//     in the notification), with the number and arguments the tracer left
//     in its registers, once; every other caller is answered ENOSYS, which
//     is what the kernel answers for that number. A task is armed only while
//     it is inside the rewritten call (it cannot make another call before
//     that one returns), so the notification of an armed task is the armed
//     call. The fd is the one emul chose for that open, after its checks:
//     no program can obtain through the hand-off an fd it could not open.
//
// Signals. The listener is installed with WAIT_KILLABLE_RECV: once the
// receiver has the notification, only a fatal signal ends the call. Before
// that, a signal interrupts it: the notification is withdrawn and the call
// returns -ERESTARTSYS, which the kernel turns into a restart of the same
// number (orig_rax, still HandoffNr) with the same arguments, after the
// handler or at once. The tracer sees the interruption at the signal's
// delivery-stop (orig_rax == HandoffNr, rax an -ERESTART* code), holds the
// signal back there as it does during any injection, lets the kernel
// restart the call (whose notification the receiver serves, the task being
// still armed), and raises the signal again once the call has its fd: no
// code of the program runs while its task is armed.

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/policy"
)

// handoff is the listener side of the fd hand-off: the tasks the tracer
// armed, and the receiver that serves their notifications (serve, on a
// goroutine of its own: it blocks in the listener while the tracer thread
// waits for stops).
type handoff struct {
	mu sync.Mutex
	// armed holds, by thread id, what the armed task is to get.
	armed map[int]*grant
	log   func(string)
	// done is closed when the receiver has ended.
	done chan struct{}
}

// grant is what one armed task gets.
type grant struct {
	fd      int // fsshim's copy of the file to install; the grant owns it
	cloexec bool
	setFD   int       // the number to install at (dup2 semantics), or -1
	args    [6]uint64 // the registers the tracer left to the call
}

func newHandoff(log func(string)) *handoff {
	return &handoff{armed: map[int]*grant{}, log: log, done: make(chan struct{})}
}

// arm lets tid's next hand-off notification install g.fd (which the
// handoff owns from now on).
func (h *handoff) arm(tid int, g *grant) {
	h.mu.Lock()
	old := h.armed[tid]
	h.armed[tid] = g
	h.mu.Unlock()
	if old != nil {
		unix.Close(old.fd)
	}
}

// disarm drops tid's grant, if any (the task is gone, or its call over).
func (h *handoff) disarm(tid int) {
	h.mu.Lock()
	g := h.armed[tid]
	delete(h.armed, tid)
	h.mu.Unlock()
	if g != nil {
		unix.Close(g.fd)
	}
}

// take hands out the grant of a notification from tid, when tid is armed
// and its call is the rewritten one; nil otherwise.
func (h *handoff) take(tid int, d *seccompData) *grant {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.armed[tid]
	if g == nil {
		return nil
	}
	delete(h.armed, tid)
	if d.Nr != policy.HandoffNr || d.Arch != unix.AUDIT_ARCH_X86_64 || d.Args != g.args {
		// Cannot happen: an armed task is inside the call it was
		// armed for. Refuse rather than guess.
		unix.Close(g.fd)
		h.log("fd hand-off: an armed task's notification is not the call it was armed for: answered ENOSYS")
		return nil
	}
	return g
}

// closeAll drops every grant (the run is over).
func (h *handoff) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for tid, g := range h.armed {
		unix.Close(g.fd)
		delete(h.armed, tid)
	}
}

// serve receives the listener from the init stage on sock, then answers
// its notifications until every task under the filter is gone. It closes
// sock and the listener, and done, when it returns.
func (h *handoff) serve(sock int, syncWake bool) {
	defer close(h.done)
	lfd, err := recvListener(sock)
	unix.Close(sock)
	if err != nil {
		// The init stage failed before handing it over; it says why.
		return
	}
	defer unix.Close(lfd)
	if syncWake {
		if e := notifSetFlags(lfd, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); e != 0 && e != unix.EINVAL {
			h.log("SECCOMP_IOCTL_NOTIF_SET_FLAGS: " + e.Error())
		}
	}
	var n seccompNotif
	for {
		if e := notifRecv(lfd, &n); e != 0 {
			switch e {
			case unix.EINTR:
				continue
			case unix.ENOENT:
				// A caller died before its call was received, or
				// every task is gone.
				if pollNow(lfd)&unix.POLLHUP != 0 {
					return
				}
				continue
			}
			h.log("fd hand-off: SECCOMP_IOCTL_NOTIF_RECV: " + e.Error())
			return
		}
		h.answer(lfd, &n)
	}
}

// answer serves one notification: the armed task's fd, or ENOSYS.
func (h *handoff) answer(lfd int, n *seccompNotif) {
	g := h.take(int(n.Pid), &n.Data)
	if g == nil {
		resp := respOf(n.ID, 0, unix.ENOSYS)
		notifSend(lfd, &resp)
		return
	}
	// The fd goes in first, and the answer after fsshim has closed its
	// copy of the file: with FLAG_SEND the task would run on while that
	// copy is still open, and a lock the program's close releases (flock,
	// an OFD lock), a write lease or an exec of the file would find the
	// file held by fsshim for a moment. The task cannot leave its call
	// in between: the receiver has it (WAIT_KILLABLE_RECV), so only a
	// kill ends the call.
	a := seccompNotifAddfd{ID: n.ID, Srcfd: uint32(g.fd)}
	if g.setFD >= 0 {
		a.Flags |= unix.SECCOMP_ADDFD_FLAG_SETFD
		a.Newfd = uint32(g.setFD)
	}
	if g.cloexec {
		a.NewfdFlags = unix.O_CLOEXEC
	}
	fd, e := notifAddfd(lfd, &a)
	unix.Close(g.fd)
	if e == unix.ENOENT {
		return // the call is gone (the task was killed)
	}
	// e: EMFILE and the like, the call's answer.
	resp := respOf(n.ID, int64(fd), e)
	notifSend(lfd, &resp)
}

// recvListener reads the listener the init stage sends on sock.
func recvListener(sock int) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	var b [1]byte
	_, oobn, _, _, err := unix.Recvmsg(sock, b[:], oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, unix.EBADMSG
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, unix.EBADMSG
	}
	return fds[0], nil
}

// pollNow is fd's poll state at this moment (0 if none).
func pollNow(fd int) int16 {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd[:], 0); err != nil || n != 1 {
		return 0
	}
	return pfd[0].Revents
}

// isRestart reports whether v, a syscall's rax, is one of the kernel's
// restart codes (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
// ERESTART_RESTARTBLOCK): the call was interrupted by a signal and has not
// happened.
func isRestart(v int64) bool { return v <= -512 && v >= -516 && v != -515 }

// The tracer's side.

// handOff answers the call c the tracee is stopped in with a new fd onto
// src (which stays the caller's): it arms the hand-off and rewrites the
// call into policy.HandoffNr. f is the description the fd is for, when
// emul records it (a placeholder's), else nil; own is then fsshim's own
// reference to the placeholder (kept once installed, closed otherwise).
// With f nil the tracee runs on to its next stop of any kind (quiet);
// else it stops at the exit of the call and FinishInstall records the fd.
func (s *ptracer) handOff(c *emul.Call, src int, fdFlags, setFD int, f *emul.File, own int) (syscall.Errno, emul.Progress) {
	pid := c.Tid
	dup, err := unix.FcntlInt(uintptr(src), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		s.opt.Log("fd hand-off: F_DUPFD_CLOEXEC: " + err.Error())
		return unix.ENFILE, emul.Did
	}
	s.hand.arm(pid, &grant{fd: dup, cloexec: fdFlags&unix.O_CLOEXEC != 0, setFD: setFD, args: c.Args})
	regs := s.regs
	regs.Orig_rax = policy.HandoffNr
	if e := ptraceSetRegs(pid, &regs); e != 0 {
		s.hand.disarm(pid)
		return e, emul.Sent // killed meanwhile: no one to answer
	}
	s.inj[pid] = &injection{t: s.tids[pid], call: *c, file: f, fdFlags: fdFlags, setFD: setFD,
		orig: s.regs, hd: s.hd, t0: s.t0, step: stepHandoff, quiet: f == nil, own: own}
	s.markAnswered()
	s.resume(pid, 0)
	if f == nil {
		return 0, emul.Sent
	}
	return 0, emul.Later
}

// handOffInterrupted reports whether pid, at a signal-delivery-stop, was
// interrupted in a hand-off call before its notification was received.
func (s *ptracer) handOffInterrupted(pid int) bool {
	var r unix.PtraceRegs
	if ptraceGetRegs(pid, &r) != 0 {
		return false
	}
	return int32(r.Orig_rax) == policy.HandoffNr && isRestart(int64(r.Rax))
}

// endQuiet forgets a quiet hand-off whose call is over (the tracee has
// stopped elsewhere since).
func (s *ptracer) endQuiet(pid int, in *injection) {
	delete(s.inj, pid)
	s.hand.disarm(pid) // a no-op: its notification took the grant
}

// endHandOff is the syscall-exit stop of a hand-off call that reports (a
// placeholder's, or a quiet one that a signal interrupted): v is the
// call's result.
func (s *ptracer) endHandOff(pid int, in *injection, v int64) {
	if isRestart(v) {
		// Interrupted before its notification was received: the
		// kernel restarts it (after the signal's delivery-stop, where
		// the signal is held), and the restart begins with an entry
		// stop.
		in.entry = true
		s.resume(pid, 0)
		return
	}
	s.hand.disarm(pid) // a no-op: its notification took the grant
	if in.file == nil {
		// A quiet hand-off that a signal interrupted: answered
		// already, and now ended, with the held signals raised.
		s.finish(pid, in, v)
		return
	}
	if v < 0 {
		s.closeOwn(in)
		s.finishInstall(in, -1, syscall.Errno(-v))
		return
	}
	if in.own >= 0 {
		s.ph.add(in.file.ID(), in.own, in.file.ShadowDir())
		in.own = -1
	}
	s.finishInstall(in, int(v), 0)
}

// closeOwn drops fsshim's reference to a placeholder that was not
// installed.
func (s *ptracer) closeOwn(in *injection) {
	if in.own >= 0 {
		unix.Close(in.own)
		in.own = -1
	}
}
