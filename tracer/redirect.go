package tracer

// Redirected calls (emul.Redirect): the open of a FIFO or device node in a
// mount, or the connect to a socket bound in one, runs on a host object
// (the node's shadow, see emul/special.go) in the target's stead. Such a
// call may block for as long as the target would: a FIFO open until the
// other end is opened, a connect while the listener's backlog is full.
//
//   - ptrace: the tracee runs it. At the seccomp stop the call is rewritten
//     into openat(AT_FDCWD, shadow, flags, 0) or connect(fd, shadow address,
//     len), the path or address written below the red zone as for the
//     memfd placeholder (ptrace.go), and the tracee is resumed to its
//     syscall-exit stop, where its own registers come back with the result.
//     The kernel blocks the tracee, not fsshim, and a signal interrupts the
//     call as it would the original: the exit stop then shows
//     -ERESTARTSYS, and with the original registers back the kernel
//     restarts the original call (a new seccomp stop, a new redirection)
//     or returns EINTR, as the handler's SA_RESTART says.
//   - unotify: the supervisor runs it, in a goroutine so the receiving
//     thread goes on serving other calls; the goroutine answers the
//     notification when the host call returns (the new fd goes in with
//     ADDFD, fsshim's copy is closed, then SEND answers with its number).
//     A connect runs on the target's own socket, taken with pidfd_getfd.
//     A root fsshim makes the call with the target's ids (actAs). What
//     stays fsshim's: the pid a connection records (the listener's
//     SO_PEERCRED shows fsshim's), and the wait: the target waits killably
//     (WAIT_KILLABLE_RECV), so unlike natively a non-fatal signal does not
//     interrupt it. A blocked FIFO open of a process that dies is ended
//     (hostOps.cancelFor), so it does not stay a reader or writer.

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// DupFD lends emul a duplicate of a target's fd (emul.FDHost).
func (procHost) DupFD(tgid, fd int) (int, error) {
	pidfd, err := unix.PidfdOpen(tgid, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pidfd)
	return pidfdGetfd(pidfd, fd)
}

func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

// hostOp is a blocking FIFO open the unotify supervisor runs for a target.
type hostOp struct {
	tgid      int
	path      string
	acc       int // O_RDONLY or O_WRONLY
	cancelled bool
}

// hostOps are the FIFO opens in progress (unotify). The goroutines that
// run them add and remove themselves; the receiving loop cancels those of
// processes that die.
type hostOps struct {
	mu sync.Mutex
	m  map[*hostOp]bool
}

func (o *hostOps) add(op *hostOp) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[*hostOp]bool{}
	}
	o.m[op] = true
}

func (o *hostOps) remove(op *hostOp) {
	if op == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, op)
}

// waiting reports whether some FIFO open is blocked for a live process.
func (o *hostOps) waiting() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for op := range o.m {
		if !op.cancelled {
			return true
		}
	}
	return false
}

// cancelFor ends the blocked FIFO opens of a process that has died. Left
// alone, the supervisor's open would wait on, counted as a reader or writer
// of the FIFO, until some other end came. Opening the other end for a
// moment (never blocking: a waiting opener is there) lets it return; its fd
// is closed when ADDFD finds the call gone. That wakes every opener
// waiting for the same end of that FIFO, so it is not done while a live
// one waits too: its partner will end both.
func (o *hostOps) cancelFor(tgid int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var dead []*hostOp
	for op := range o.m {
		if op.tgid == tgid && !op.cancelled {
			op.cancelled = true
			dead = append(dead, op)
		}
	}
	for _, op := range dead {
		live := false
		for other := range o.m {
			if !other.cancelled && other.path == op.path && other.acc == op.acc {
				live = true
			}
		}
		if live {
			continue
		}
		end := unix.O_WRONLY
		if op.acc == unix.O_WRONLY {
			end = unix.O_RDONLY
		}
		if fd, err := unix.Open(op.path, end|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
			unix.Close(fd)
		}
	}
}

// Redirect implements emul.Target under unotify: the host call runs in a
// goroutine, which answers the notification (Later).
func (s *receiver) Redirect(c *emul.Call, rd *emul.Redirection) (int64, syscall.Errno, emul.Progress) {
	sfd := -1
	if rd.Nr == unix.SYS_CONNECT {
		pidfd, err := s.pidfd(c.Proc.Tgid)
		if err == nil {
			sfd, err = pidfdGetfd(pidfd, rd.FD)
		}
		if err != nil {
			return -1, errnoOf(err), emul.Did
		}
	}
	var op *hostOp
	if rd.FIFO && rd.Flags&unix.O_NONBLOCK == 0 && rd.Flags&unix.O_ACCMODE != unix.O_RDWR {
		op = &hostOp{tgid: c.Proc.Tgid, path: rd.Path, acc: rd.Flags & unix.O_ACCMODE}
		s.ops.add(op)
	}
	s.holdLFD()
	go s.runRedirect(c.ID, c.Nr, rd, sfd, op, s.t0, s.hd)
	return 0, 0, emul.Later
}

// runRedirect runs the host call of a redirection and answers the
// notification id with its result.
func (s *server) runRedirect(id uint64, nr int, rd *emul.Redirection, sfd int, op *hostOp, t0 time.Time, hd time.Duration) {
	defer s.dropLFD()
	timed := s.opt.Stats != nil
	var h0, h1 time.Time
	if timed {
		h0 = time.Now()
	}
	fd := -1
	var err error
	if e := actAs(rd.Creds); e != 0 {
		s.opt.Log("taking a target's ids for a redirected call: " + e.Error())
		err = unix.EACCES
	}
	switch {
	case err != nil:
	case rd.Nr == unix.SYS_OPENAT:
		fd, err = unix.Open(rd.Path, rd.Flags|unix.O_CLOEXEC, 0)
	case rd.Nr == unix.SYS_CONNECT:
		err = unix.Connect(sfd, &unix.SockaddrUnix{Name: rd.Path})
	default:
		err = unix.ENOSYS
	}
	if sfd >= 0 {
		unix.Close(sfd)
	}
	if timed {
		h1 = time.Now()
	}
	s.ops.remove(op)
	outcome := emul.Emulated
	var e syscall.Errno
	var val int64
	answered := false
	switch {
	case err != nil:
		outcome, e = emul.Failed, errnoOf(err)
	case fd >= 0:
		// ADDFD without SEND, then fsshim's copy is closed, then the
		// answer: the target must not run on while fsshim still holds
		// the pipe end (a read would wait for fsshim's writer instead of
		// seeing EOF, a write find fsshim's reader instead of EPIPE).
		a := seccompNotifAddfd{ID: id, Srcfd: uint32(fd)}
		if rd.Flags&unix.O_CLOEXEC != 0 {
			a.NewfdFlags = unix.O_CLOEXEC
		}
		var nfd int
		nfd, e = notifAddfd(s.lfd, &a)
		unix.Close(fd)
		val = int64(nfd)
		if e != 0 {
			outcome = emul.Failed
		}
		// ENOENT: the call is gone (the target died); others
		// (EMFILE...) are the answer.
		answered = e == unix.ENOENT
	}
	if !answered {
		resp := seccompNotifResp{ID: id, Val: val, Error: -int32(e)}
		if e != 0 {
			resp.Val = 0
		}
		if se := notifSend(s.lfd, &resp); se != 0 && se != unix.ENOENT {
			s.opt.Log("SECCOMP_IOCTL_NOTIF_SEND: " + se.Error())
		}
	}
	if timed {
		// The service leaves out the time the host call waited for
		// the other end, as it would the target's own blocking.
		s.opt.Stats.record(nr, outcome, hd, h0.Sub(t0)+time.Since(h1))
	}
}

// Redirect implements emul.Target under ptrace: it rewrites the call the
// tracee is stopped in into the redirection's host call and lets the
// tracee run it (Later); syscallStop answers the original call at its exit
// stop (endRedirect).
func (s *ptracer) Redirect(c *emul.Call, rd *emul.Redirection) (int64, syscall.Errno, emul.Progress) {
	pid := c.Tid
	t := s.tids[pid]
	in := &injection{t: t, call: *c, orig: s.regs, hd: s.hd, t0: s.t0, step: stepRedirect}
	payload := append([]byte(rd.Path), 0)
	if rd.Nr == unix.SYS_CONNECT {
		payload = rd.Sockaddr()
	}
	in.nameAt = (s.regs.Rsp - redZone - uint64(len(payload))) &^ 15
	in.saved = make([]byte, len(payload))
	if _, err := t.mem.ReadAt(in.saved, in.nameAt); err != nil {
		s.opt.Log("redirected call: no room below the stack pointer: " + err.Error())
		return -1, unix.ENOMEM, emul.Did
	}
	if _, err := t.mem.WriteAt(payload, in.nameAt); err != nil {
		s.opt.Log("redirected call: writing its path: " + err.Error())
		return -1, unix.ENOMEM, emul.Did
	}
	t.mem.spent = 0
	regs := s.regs
	regs.Orig_rax = uint64(rd.Nr)
	switch rd.Nr {
	case unix.SYS_OPENAT:
		fdcwd := int64(unix.AT_FDCWD)
		regs.Rdi, regs.Rsi, regs.Rdx, regs.R10 = uint64(fdcwd), in.nameAt, uint64(rd.Flags), 0
	case unix.SYS_CONNECT:
		regs.Rdi, regs.Rsi, regs.Rdx = uint64(rd.FD), in.nameAt, uint64(len(payload))
	}
	if e := ptraceSetRegs(pid, &regs); e != 0 {
		return -1, e, emul.Sent // killed meanwhile: no one to answer
	}
	s.inj[pid] = in
	s.markAnswered()
	in.handed = s.answered
	s.resume(pid, 0)
	return 0, 0, emul.Later
}

// endRedirect answers the original call at the exit stop of its
// redirection with the host call's result v (a restart code included: see
// the top of this file).
func (s *ptracer) endRedirect(pid int, in *injection, v int64) {
	in.t.mem.WriteAt(in.saved, in.nameAt)
	in.t.mem.spent = 0
	o := emul.Emulated
	if v < 0 {
		o = emul.Failed
	}
	if s.opt.Stats != nil {
		// Leave out the time the tracee spent in the host call.
		in.t0 = in.t0.Add(s.t0.Sub(in.handed))
	}
	s.finish(pid, in, v)
	s.k.AnswerWaiters(s)
	s.record(in, o)
}
