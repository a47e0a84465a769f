package emul

import "syscall"

// The answer protocol. Handle decides what a call gets (a Result);
// Complete carries that Result out, the same way for every transport, with
// the primitives the transport supplies (a Target): answering the call,
// letting the host kernel run it, giving the caller an fd, running a call
// in its stead. What is Complete's and not the transport's: the order of
// the steps, the description references (an InstallFD's File becomes the
// new fd's, or is released when no fd came of it), closing an
// InstallHostFD's host file, the errno of a failed mapping, and the late
// answers of deferred calls once a release lets them through.
//
// A primitive that cannot finish at once (ptrace runs the placeholder's
// memfd_create in the target, stop by stop; unotify runs a blocking FIFO
// open in a goroutine) says Later; the transport then finishes the call
// itself, an InstallFD through FinishInstall.

// Target is what one transport can do to the thread whose call emul
// answered. Implementations: tracer's unotify server and ptrace tracer
// (each calls Complete and FinishInstall from its one serving goroutine,
// and its primitives keep that call's state), linked's in-process table
// (its primitives keep no state, so goroutines complete calls at once).
// c is the call as Handle got it; the primitives may keep a copy of it,
// not the pointer.
type Target interface {
	// Answer ends the call with val, or with -errno when errno != 0.
	Answer(c *Call, val int64, errno syscall.Errno)
	// Continue lets the host kernel run the call as it was made. A
	// transport that runs it itself (linked) returns its result; the
	// others return 0, 0.
	Continue(c *Call) (int64, syscall.Errno)
	// Fill makes the placeholder at the caller's fd hold f's current data
	// (a Continue with Fill: mmap of an emulated file maps the
	// placeholder). An error fails the call with ENODEV.
	Fill(c *Call, f *File, fd int) error
	// InstallFD gives the caller a new fd on a placeholder of f: the
	// lowest free number, or setFD when it is >= 0 (dup2 semantics),
	// close-on-exec when fdFlags has O_CLOEXEC. It returns the number, or
	// the errno the call fails with. With Sent the answer went with the
	// fd (ADDFD with SEND), or the call is gone; with Recorded the fd is
	// in emul's table already (the transport's fd table is emul's own,
	// InstallLowest); with Later see FinishInstall.
	InstallFD(c *Call, f *File, fdFlags, setFD int) (int, syscall.Errno, Progress)
	// InstallHostFD gives the caller a new fd sharing the open file of
	// host (an overlay's lower file, Kernel.HostFDs) and returns its
	// number or an errno. Complete closes host afterwards.
	InstallHostFD(c *Call, host LowerFile, fdFlags int) (int, syscall.Errno, Progress)
	// Redirect runs rd in the caller's stead and returns its result, or
	// says Later when the transport answers the call itself when rd is
	// done (it may block for as long as the caller would).
	Redirect(c *Call, rd *Redirection) (int64, syscall.Errno, Progress)
	// Defer keeps the call waiting: its answer comes through Late under
	// c.ID.
	Defer(c *Call)
	// Late answers a deferred call with val or -errno.
	Late(id uint64, val int64, errno syscall.Errno)
}

// Progress says how far a Target's primitive took its call.
type Progress int

const (
	// Did: the primitive did its part; Complete gives the answer.
	Did Progress = iota
	// Sent: the call has its answer already (it went with the fd), or
	// the call is gone (the target died): nothing is to be answered.
	Sent
	// Recorded: as Did, and the new fd is in emul's table already,
	// holding the Result's reference (InstallLowest).
	Recorded
	// Later: the primitive goes on after Complete returns; the
	// transport finishes the call.
	Later
)

// Outcome classifies how a call was served (for statistics).
type Outcome int

const (
	// Emulated: answered by emul with a value.
	Emulated Outcome = iota
	// Continued: run by the host kernel.
	Continued
	// Failed: answered with an errno.
	Failed
	// Pending: not answered yet (Defer, or a primitive said Later).
	Pending
)

// Reply is how Complete left a call: its outcome and the answer as the
// caller sees it (where the transport runs the call itself, Continue's
// result). Err != 0 means the call failed; Val is then -1.
type Reply struct {
	Val     int64
	Err     syscall.Errno
	Outcome Outcome
}

func replyOf(v int64, e syscall.Errno) Reply {
	if e != 0 {
		return Reply{Val: -1, Err: e, Outcome: Failed}
	}
	return Reply{Val: v, Outcome: Emulated}
}

// Complete carries out r, emul's answer to c, with t's primitives, then
// answers through t.Late the deferred calls a release let through.
//
// Preconditions: k.mu is not held.
func (k *Kernel) Complete(t Target, c *Call, r *Result) Reply {
	rep := k.complete(t, c, r)
	if c.ID != 0 {
		// Only a call with an ID can have been deferred (deferLocked):
		// a transport that never gives one has no late answers.
		k.AnswerWaiters(t)
	}
	return rep
}

func (k *Kernel) complete(t Target, c *Call, r *Result) Reply {
	switch r.Action {
	case Return:
		t.Answer(c, r.Val, r.Err)
		return replyOf(r.Val, r.Err)
	case Continue:
		if r.Fill != nil {
			if err := t.Fill(c, r.Fill, r.FillFD); err != nil {
				t.Answer(c, 0, syscall.ENODEV)
				return replyOf(0, syscall.ENODEV)
			}
		}
		v, e := t.Continue(c)
		return Reply{Val: v, Err: e, Outcome: Continued}
	case InstallFD:
		fd, e, p := t.InstallFD(c, r.File, r.FDFlags, r.SetFD)
		if p == Later {
			return Reply{Outcome: Pending}
		}
		return k.finishInstall(t, c, r.File, fd, e, p)
	case InstallHostFD:
		fd, e, p := t.InstallHostFD(c, r.Host, r.FDFlags)
		r.Host.Close()
		if c.installing {
			k.mu.RLock()
			k.tab.Lock()
			k.installedLocked(c)
			k.tab.Unlock()
			k.mu.RUnlock()
		}
		return answerUnlessSent(t, c, int64(fd), e, p)
	case Redirect:
		v, e, p := t.Redirect(c, r.Redir)
		if p == Later {
			return Reply{Outcome: Pending}
		}
		return answerUnlessSent(t, c, v, e, p)
	case Defer:
		t.Defer(c)
		return Reply{Outcome: Pending}
	}
	if k.OnFault != nil {
		k.OnFault("unknown answer action " + r.Action.String() + ": answered EIO")
	}
	t.Answer(c, 0, syscall.EIO)
	return replyOf(0, syscall.EIO)
}

func answerUnlessSent(t Target, c *Call, v int64, e syscall.Errno, p Progress) Reply {
	if p != Sent {
		t.Answer(c, v, e)
	}
	return replyOf(v, e)
}

// FinishInstall ends an InstallFD whose Target.InstallFD said Later: fd is
// the caller's new fd on f's placeholder, or errno says why there is none.
// Like Complete, it gives the answer and then the late ones.
//
// Preconditions: k.mu is not held.
func (k *Kernel) FinishInstall(t Target, c *Call, f *File, fd int, errno syscall.Errno) Reply {
	rep := k.finishInstall(t, c, f, fd, errno, Did)
	if c.ID != 0 {
		k.AnswerWaiters(t)
	}
	return rep
}

// finishInstall hands the Result's reference on f to the new fd (or
// releases it when there is none), then answers unless the answer went
// with the fd already.
func (k *Kernel) finishInstall(t Target, c *Call, f *File, fd int, e syscall.Errno, p Progress) Reply {
	if p != Recorded || c.installing {
		k.mu.RLock()
		k.tab.Lock()
		if p != Recorded {
			if e == 0 {
				k.registerFileLocked(f)
				k.installLocked(c.Proc, fd, f)
			}
			k.putFileLocked(f)
		}
		k.installedLocked(c)
		k.tab.Unlock()
		k.mu.RUnlock()
	}
	return answerUnlessSent(t, c, int64(fd), e, p)
}

// installedLocked ends c's count in k.installing (Kernel.Concurrent): its
// fd is recorded, or fsshim's own copy of a host file it installed is
// closed.
func (k *Kernel) installedLocked(c *Call) {
	if !c.installing {
		return
	}
	c.installing = false
	if k.installing--; k.installing == 0 {
		k.installed.Broadcast()
	}
}

// waitInstallsLocked waits until no install is in flight (Kernel.
// Concurrent): every fd handed out is recorded and fsshim holds no copy
// of a host file it gave the program. k.mu is released while it waits.
func (k *Kernel) waitInstallsLocked() {
	for k.installing > 0 {
		k.installed.Wait()
	}
}

// AnswerWaiters answers, through t.Late, the deferred calls a release has
// let through (TakeCompletions).
//
// Preconditions: k.mu is not held.
func (k *Kernel) AnswerWaiters(t Target) {
	for _, d := range k.TakeCompletions() {
		t.Late(d.ID, d.Result.Val, d.Result.Err)
	}
}

// InstallLowest records f at the lowest free fd number of p at or above
// min and returns it, for a transport whose fd table is emul's own
// (linked): the choice and the record are one step, so two calls at once
// never pick one number. The fd takes over the Result's reference (the
// transport's InstallFD then says Recorded).
//
// Preconditions: k.mu is not held.
func (k *Kernel) InstallLowest(p *Process, min int, f *File, cloexec bool) int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	k.tab.Lock()
	defer k.tab.Unlock()
	fd := min
	for {
		if _, used := p.fds[fd]; !used {
			break
		}
		fd++
	}
	k.registerFileLocked(f)
	k.installLocked(p, fd, f)
	f.refs.Add(-1) // the fd's reference is the Result's
	p.setCloexecLocked(fd, cloexec)
	return fd
}

// DupLowest is dup for a transport whose fd table is emul's own (linked):
// fd's description, looked up and recorded at the lowest free number at or
// above min in one step, so that a close of fd by another goroutine in
// between cannot hand a description that is gone (or, taken from the pool
// again, another one) to the new fd. ok is false when fd is not emulated.
//
// Preconditions: k.mu is not held.
func (k *Kernel) DupLowest(p *Process, fd, min int, cloexec bool) (nfd int, ok bool) {
	if fd < 0 {
		return -1, false // in no table: the caller's dup answers EBADF
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	k.tab.Lock()
	defer k.tab.Unlock()
	f := k.fileLocked(p, fd)
	if f == nil {
		return -1, false
	}
	nfd = min
	for {
		if _, used := p.fds[nfd]; !used {
			break
		}
		nfd++
	}
	k.installLocked(p, nfd, f)
	p.setCloexecLocked(nfd, cloexec)
	return nfd, true
}

// Release drops the reference a Result's File holds, when the call it
// answered is gone before Complete or FinishInstall could hand it to an
// fd (a ptrace tracee that died while its placeholder was being made).
//
// Preconditions: k.mu is not held.
func (k *Kernel) Release(f *File) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	k.tab.Lock()
	defer k.tab.Unlock()
	k.putFileLocked(f)
}
