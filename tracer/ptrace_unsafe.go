package tracer

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The ptrace requests of the ptrace transport. Every one of them must be
// issued from the OS thread that seized the tracees (the kernel checks that
// the caller is the tracer task, not merely the tracer process): callers
// run on the transport's locked thread.

// siginfo is the kernel's siginfo_t, kept opaque: fsshim only saves and
// restores it (PTRACE_GETSIGINFO / PTRACE_SETSIGINFO). si_signo is the
// first int.
type siginfo [128]byte

func (si *siginfo) signo() int {
	return int(int32(uint32(si[0]) | uint32(si[1])<<8 | uint32(si[2])<<16 | uint32(si[3])<<24))
}

func ptraceReq(req int, pid int, addr, data uintptr) syscall.Errno {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	return e
}

// ptraceSeize attaches to pid without stopping it, with options set in the
// same step (PTRACE_SEIZE takes them as data).
func ptraceSeize(pid int, options int) error {
	if e := ptraceReq(unix.PTRACE_SEIZE, pid, 0, uintptr(options)); e != 0 {
		return e
	}
	return nil
}

// ptraceCont resumes a stopped tracee, delivering sig if it is non-zero
// and the stop is a signal-delivery-stop.
func ptraceCont(pid, sig int) syscall.Errno {
	return ptraceReq(unix.PTRACE_CONT, pid, 0, uintptr(sig))
}

// ptraceSyscall resumes a tracee to its next syscall-entry or -exit stop.
func ptraceSyscall(pid, sig int) syscall.Errno {
	return ptraceReq(unix.PTRACE_SYSCALL, pid, 0, uintptr(sig))
}

// ptraceListen leaves a tracee in group-stop while letting SIGCONT and the
// tracer's PTRACE_INTERRUPT wake it (PTRACE_SEIZE tracees only).
func ptraceListen(pid int) syscall.Errno {
	return ptraceReq(unix.PTRACE_LISTEN, pid, 0, 0)
}

func ptraceGetRegs(pid int, regs *unix.PtraceRegs) syscall.Errno {
	e := ptraceReq(unix.PTRACE_GETREGS, pid, 0, uintptr(unsafe.Pointer(regs)))
	runtime.KeepAlive(regs)
	return e
}

func ptraceSetRegs(pid int, regs *unix.PtraceRegs) syscall.Errno {
	e := ptraceReq(unix.PTRACE_SETREGS, pid, 0, uintptr(unsafe.Pointer(regs)))
	runtime.KeepAlive(regs)
	return e
}

// ptraceEventMsg returns the message of the last ptrace event stop (the new
// pid after a fork/clone, the former tid after an exec).
func ptraceEventMsg(pid int) (uint64, syscall.Errno) {
	var msg uint64
	e := ptraceReq(unix.PTRACE_GETEVENTMSG, pid, 0, uintptr(unsafe.Pointer(&msg)))
	runtime.KeepAlive(&msg)
	return msg, e
}

func ptraceGetSiginfo(pid int, si *siginfo) syscall.Errno {
	e := ptraceReq(unix.PTRACE_GETSIGINFO, pid, 0, uintptr(unsafe.Pointer(si)))
	runtime.KeepAlive(si)
	return e
}

func ptraceSetSiginfo(pid int, si *siginfo) syscall.Errno {
	e := ptraceReq(unix.PTRACE_SETSIGINFO, pid, 0, uintptr(unsafe.Pointer(si)))
	runtime.KeepAlive(si)
	return e
}

// getcpu returns the CPU the calling thread runs on.
func getcpu() (int, error) {
	var cpu uint32
	_, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0)
	runtime.KeepAlive(&cpu)
	if e != 0 {
		return 0, e
	}
	return int(cpu), nil
}

// kernelSigaction is the x86-64 kernel's struct sigaction (rt_sigaction).
type kernelSigaction struct {
	Handler  uintptr
	Flags    uint64
	Restorer uintptr
	Mask     uint64
}

const saNoCldStop = 1 // SA_NOCLDSTOP

// noStopSIGCHLD adds SA_NOCLDSTOP to this process's SIGCHLD action, keeping
// the handler, mask and restorer the Go runtime installed.
func noStopSIGCHLD() error {
	var act kernelSigaction
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0, uintptr(unsafe.Pointer(&act)), 8, 0, 0)
	if e != 0 {
		return e
	}
	if act.Flags&saNoCldStop != 0 {
		return nil
	}
	act.Flags |= saNoCldStop
	_, _, e = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	runtime.KeepAlive(&act)
	if e != 0 {
		return e
	}
	return nil
}
