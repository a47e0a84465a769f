package tracer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
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
	// Pin runs the target and fsshim on one CPU, the one the launching
	// thread runs on (pin.go): under ptrace the tracing thread, under
	// unotify every thread of fsshim until Run returns, with one
	// receiver whatever Receivers says. The target sees a single CPU.
	Pin bool
	// Receivers is how many goroutines at most receive and serve calls
	// at once under unotify (0: DefaultReceivers); past the first, they
	// start only once the program's calls are seen to overlap.
	Receivers int
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
		cmd  *exec.Cmd
		lfd  int
		ctl  int
		err  error
		undo func() // --pin's
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
		var undo func()
		if opt.Pin {
			// Every thread of fsshim, and the init stage forked from
			// this one (pin.go); Run puts the masks back.
			var err error
			if undo, err = pinProcess(); err != nil {
				s.opt.Log("--pin: " + err.Error())
			}
		}
		cmd, lfd, ctl, err := launch(opt.Program, opt.Filter, s.opt.Log)
		startc <- started{cmd, lfd, ctl, err, undo}
		if err != nil {
			return
		}
		s.lfd, s.lfdUsers = lfd, 1
		if ctl >= 0 {
			s.k.SetExecShadow(newShadowConn(ctl, s.opt.Log)) // execshadow.go
		}
		if !opt.NoSyncWakeup {
			if e := notifSetFlags(lfd, unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); e != 0 && e != unix.EINVAL {
				s.opt.Log("SECCOMP_IOCTL_NOTIF_SET_FLAGS: " + e.Error())
			}
		}
		go func() { done <- s.serveAll() }()
		// The thread that forked the init stage is its parent for
		// PR_SET_PDEATHSIG: it must outlive the init stage, which may
		// still be reaping when the last filtered process is gone.
		<-reaped
	}()
	st := <-startc
	if st.undo != nil {
		defer st.undo()
	}
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
	s.dropLFD()
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

// server is the unotify transport. Its receivers (receiver), goroutines
// not locked to a thread, take turns waiting on the listener (handOff) and
// each serves the notification it got (loop, serve) as the emul.Target
// that answers it; one receiver starts with the program, and another each
// time calls are seen to overlap (handOff), up to Options.Receivers. A
// redirected call's goroutine (runRedirect) answers its own notification.
type server struct {
	procs
	lfd int
	// ops are the blocking FIFO opens running for targets (redirect.go).
	ops hostOps
	// lfdUsers counts the users of lfd: the receivers until they end
	// and each redirected call's goroutine until it has answered; the
	// last one closes it, so a goroutine that outlives the receivers (a
	// host call that returned late) never answers on a closed fd number
	// that fsshim may have reused.
	lfdMu    sync.Mutex
	lfdUsers int
	// recvMu guards receivers, live and recvErr; ended is closed when
	// the last receiver has ended.
	recvMu    sync.Mutex
	receivers int // started
	live      int // not ended yet
	recvErr   error
	ended     chan struct{}
	// late answers the calls that waited for a lock whose holder ended
	// (procs.exited); it is used under procs.mu.
	late *receiver
	// token is the listening token (handOff): one receiver at a time
	// waits on the listener.
	token chan struct{}
}

// receiver is one receiving goroutine's state, and the emul.Target of the
// call it serves.
type receiver struct {
	*server
	notif seccompNotif
	resp  seccompNotifResp
	// answered is when the current call's answer ioctl started.
	answered time.Time
	// t0 and hd are the current call's start and handler time, for a
	// redirected call's statistics.
	t0 time.Time
	hd time.Duration
}

func (s *server) holdLFD() {
	s.lfdMu.Lock()
	s.lfdUsers++
	s.lfdMu.Unlock()
}

func (s *server) dropLFD() {
	s.lfdMu.Lock()
	defer s.lfdMu.Unlock()
	if s.lfdUsers--; s.lfdUsers == 0 {
		unix.Close(s.lfd)
	}
}

func newServer(opt Options) *server {
	s := &server{ended: make(chan struct{})}
	s.procs.init(opt)
	s.k.Data = dataFDs{pidfd: s.pidfd}
	s.late = &receiver{server: s}
	s.exited = func(tgid int) {
		s.ops.cancelFor(tgid)
		s.k.AnswerWaiters(s.late)
	}
	switch {
	case opt.Pin:
		s.opt.Receivers = 1 // one CPU to serve on
	case s.opt.Receivers < 1:
		s.opt.Receivers = DefaultReceivers()
	}
	if s.opt.Receivers > 1 {
		s.k.Concurrent = true
	}
	s.token = make(chan struct{}, 1)
	s.token <- struct{}{}
	return s
}

// DefaultReceivers is the most receivers a run has by default: one per two
// CPUs. A call in service keeps two threads busy, the program's (in the
// kernel, handing over) and a receiver; more receivers than that would
// take CPUs from the program's own threads. On 2 CPUs that is one: there
// `fsshim bench threads` finds a second receiver makes two threads of the
// program slower, not faster.
func DefaultReceivers() int { return max(1, runtime.NumCPU()/2) }

// serveAll runs receivers until every target is gone: this goroutine is
// the first, and more start when calls overlap (handOff, grow). It
// returns the first receiver error.
func (s *server) serveAll() error {
	s.recvMu.Lock()
	s.receivers, s.live = 1, 1
	s.recvMu.Unlock()
	s.run(&receiver{server: s})
	<-s.ended
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	return s.recvErr
}

// run is one receiver's life: its loop, then its share of the end.
func (s *server) run(r *receiver) {
	err := r.loop()
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if err != nil && s.recvErr == nil {
		s.recvErr = err
	}
	if s.live--; s.live == 0 {
		close(s.ended)
	}
}

// grow starts another receiver, up to Options.Receivers. A receiver that
// starts after the others have seen the listener hang up finds it so too,
// and ends.
func (s *server) grow() {
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if s.receivers >= s.opt.Receivers || s.live == 0 {
		return
	}
	s.receivers++
	s.live++
	s.holdLFD()
	go func() {
		defer s.dropLFD()
		s.run(&receiver{server: s})
	}()
}

// The listening token. The kernel wakes every thread waiting on the
// listener for each notification (recv_wait_event waits non-exclusively),
// so receivers all waiting in RECV would each be woken by every call, the
// losers only to sleep again. Instead one receiver at a time holds the
// token and alone waits on the listener; having received a call, it keeps
// the token, and so goes straight back to the listener after answering,
// unless another call is already waiting: then it hands the token on (to
// a receiver parked on it, or a new one, up to Options.Receivers) before
// it serves its own, and the two are served at once. A program that makes
// one call at a time is thus served by one receiver with no extra
// wake-up, and only calls that do overlap wake a second.

// handOff passes the token on when another call is waiting on the
// listener, and reports whether it did. The caller has received a call and
// not answered it yet, so the waiting call is another thread's.
func (s *receiver) handOff() bool {
	if s.listenerNow()&unix.POLLIN == 0 {
		return false
	}
	s.grow()
	s.token <- struct{}{}
	return true
}

// loop receives and answers notifications until every target is gone.
func (s *receiver) loop() error {
	held := false
	defer func() {
		if held {
			s.token <- struct{}{} // for the next receiver to see the end too
		}
	}()
	for {
		if !held {
			<-s.token
			held = true
		}
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
					// Forget the processes not reaped yet, so
					// the FIFO opens still blocked for them
					// end (and with them their goroutines).
					s.reap()
					return nil
				}
				continue
			}
			return fmt.Errorf("SECCOMP_IOCTL_NOTIF_RECV: %w", e)
		}
		if s.opt.Receivers > 1 && s.handOff() {
			held = false
		}
		s.serve()
	}
}

// waitEvent blocks until a notification is pending or a process of the
// target has exited (then its locks are released).
func (s *server) waitEvent() {
	for {
		pfds, _ := s.pollSet([]unix.PollFd{{Fd: int32(s.lfd), Events: unix.POLLIN}})
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

func (s *server) hungUp() bool { return s.listenerNow()&unix.POLLHUP != 0 }

// listenerNow is the listener's poll state at this moment (0 if none).
func (s *server) listenerNow() int16 {
	pfd := [1]unix.PollFd{{Fd: int32(s.lfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd[:], 0); err != nil || n != 1 {
		return 0
	}
	return pfd[0].Revents
}

// serve answers the notification in s.notif. Timing is taken only when
// statistics are wanted: the clock reads are a visible share of a call.
func (s *receiver) serve() {
	timed := s.opt.Stats != nil
	var t0 time.Time
	if timed {
		t0 = time.Now()
	}
	n := &s.notif
	t := s.taskOf(int(n.Pid))
	if t == nil {
		// The task is gone already; nothing to answer.
		s.sendContinue(n.ID)
		return
	}
	defer t.mu.Unlock()
	t.mem.id = n.ID
	t.mem.lfd = s.lfd
	t.mem.timed = timed
	c := emul.Call{ID: n.ID, Tid: t.tid, Proc: t.proc, Nr: int(n.Data.Nr), Args: n.Data.Args, Mem: &t.mem}
	var h0 time.Time
	if timed {
		h0 = time.Now()
	}
	r := s.k.Handle(&c)
	if timed {
		s.hd = time.Since(h0) - t.mem.spent
		t.mem.spent = 0
		s.t0 = t0
	}
	rep := s.k.Complete(s, &c, &r)
	if timed && rep.Outcome != emul.Pending {
		// The service ends when the answer ioctl starts: with
		// synchronous wake-ups that ioctl hands the CPU to the target
		// and returns only when the target next blocks, so its
		// duration is the target's time, not fsshim's.
		s.opt.Stats.record(c.Nr, rep.Outcome, s.hd, s.answered.Sub(t0))
	}
}

// The answer protocol's primitives (emul.Target) over the listener. Fill
// is procs'. Only the serving goroutine calls them.

// Answer implements emul.Target: SEND with the value or the errno.
func (s *receiver) Answer(c *emul.Call, val int64, errno syscall.Errno) {
	s.resp = respOf(c.ID, val, errno)
	s.send(true)
}

// Late implements emul.Target: the same for a call that waited (by the
// receiver serving another call, or by server.late).
func (s *receiver) Late(id uint64, val int64, errno syscall.Errno) {
	s.resp = respOf(id, val, errno)
	s.send(false)
}

// Continue implements emul.Target: SEND with FLAG_CONTINUE.
func (s *receiver) Continue(c *emul.Call) (int64, syscall.Errno) {
	s.sendContinue(c.ID)
	return 0, 0
}

// Defer implements emul.Target: the notification simply stays
// unanswered until Late.
func (s *receiver) Defer(c *emul.Call) {}

func respOf(id uint64, val int64, errno syscall.Errno) seccompNotifResp {
	if errno != 0 {
		return seccompNotifResp{ID: id, Error: -int32(errno)}
	}
	return seccompNotifResp{ID: id, Val: val}
}

// send sends s.resp; mark says it answers the current call, whose service
// time ends now.
func (s *receiver) send(mark bool) {
	if mark && s.opt.Stats != nil {
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

func (s *receiver) sendContinue(id uint64) {
	s.resp = seccompNotifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	s.send(true)
}

// InstallFD implements emul.Target: the placeholder is a memfd named
// after the description, added with ADDFD and FLAG_SEND so the syscall
// returns the new number in the same step.
func (s *receiver) InstallFD(c *emul.Call, f *emul.File, fdFlags, setFD int) (int, syscall.Errno, emul.Progress) {
	mfd, err := placeholderFD(f)
	if err != nil {
		s.opt.Log("memfd_create: " + err.Error())
		return -1, unix.ENFILE, emul.Did
	}
	a := seccompNotifAddfd{ID: c.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, Srcfd: uint32(mfd)}
	if setFD >= 0 {
		a.Flags |= unix.SECCOMP_ADDFD_FLAG_SETFD
		a.Newfd = uint32(setFD)
	}
	if fdFlags&unix.O_CLOEXEC != 0 {
		a.NewfdFlags = unix.O_CLOEXEC
	}
	if s.opt.Stats != nil {
		s.answered = time.Now()
	}
	fd, e := notifAddfd(s.lfd, &a)
	if e != 0 {
		unix.Close(mfd)
		if e == unix.ENOENT {
			return -1, e, emul.Sent // the call was cancelled (target died)
		}
		return -1, e, emul.Did // EMFILE and friends are the call's answer
	}
	s.ph.add(f.ID(), mfd, f.ShadowDir())
	return fd, 0, emul.Sent
}

// InstallHostFD implements emul.Target: the host file (an overlay's lower
// file opened for reading) goes in with ADDFD and FLAG_SEND, so the
// syscall returns the new number in the same step; the target's fd shares
// the open file description (Complete closes fsshim's copy).
func (s *receiver) InstallHostFD(c *emul.Call, host emul.LowerFile, fdFlags int) (int, syscall.Errno, emul.Progress) {
	a := seccompNotifAddfd{ID: c.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, Srcfd: uint32(host.Fd())}
	if fdFlags&unix.O_CLOEXEC != 0 {
		a.NewfdFlags = unix.O_CLOEXEC
	}
	if s.opt.Stats != nil {
		s.answered = time.Now()
	}
	fd, e := notifAddfd(s.lfd, &a)
	switch e {
	case 0:
		return fd, 0, emul.Sent
	case unix.ENOENT:
		return -1, e, emul.Sent // the call was cancelled (target died)
	}
	return -1, e, emul.Did
}

var _ emul.Target = (*receiver)(nil)
