package tracer

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ABI structs the x/sys package lacks, with the kernel's field names
// (include/uapi/linux/seccomp.h).

// seccompData is struct seccomp_data.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// seccompNotif is struct seccomp_notif.
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

// seccompNotifResp is struct seccomp_notif_resp.
type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// seccompNotifAddfd is struct seccomp_notif_addfd.
type seccompNotifAddfd struct {
	ID         uint64
	Flags      uint32
	Srcfd      uint32
	Newfd      uint32
	NewfdFlags uint32
}

// seccompNotifSizes is struct seccomp_notif_sizes.
type seccompNotifSizes struct {
	SeccompNotif     uint16
	SeccompNotifResp uint16
	SeccompData      uint16
}

const seccompGetNotifSizes = 3 // SECCOMP_GET_NOTIF_SIZES

func ioctlPtr(fd int, req uint, p unsafe.Pointer) syscall.Errno {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(p))
	return e
}

// notifRecv waits for the next notification (SECCOMP_IOCTL_NOTIF_RECV).
// The buffer must be zeroed first, or the kernel answers EINVAL.
func notifRecv(fd int, n *seccompNotif) syscall.Errno {
	*n = seccompNotif{}
	e := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
	runtime.KeepAlive(n)
	return e
}

// notifSend answers a notification (SECCOMP_IOCTL_NOTIF_SEND).
func notifSend(fd int, r *seccompNotifResp) syscall.Errno {
	e := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
	runtime.KeepAlive(r)
	return e
}

// notifAddfd installs srcfd in the target (SECCOMP_IOCTL_NOTIF_ADDFD) and
// returns the target's fd number.
//
// With SECCOMP_ADDFD_FLAG_SEND the ioctl must not be interrupted. The
// kernel (seccomp_notify_addfd, kernel/seccomp.c) marks the notification
// REPLIED when it queues the request, then waits interruptibly for the
// target to take it. A signal to fsshim's thread in that window (the Go
// runtime's SIGURG preemption is enough) makes the wait return
// -ERESTARTSYS and take the request back off the queue, but the state
// stays REPLIED with a zero value: the target wakes, finds no fd to
// install, and its syscall returns 0, as if fd 0 had been opened. The
// restarted ioctl then finds the call answered (ENOENT). So every signal
// is blocked on the calling thread for the duration of the ioctl: a
// blocked signal leaves the wait alone (it stays pending and is taken
// when the mask is restored), and SIGKILL, which cannot be blocked, ends
// fsshim anyway. Without FLAG_SEND an interrupted wait leaves the call
// pending and the restarted ioctl queues the request again, so no mask
// is needed.
func notifAddfd(fd int, a *seccompNotifAddfd) (int, syscall.Errno) {
	if a.Flags&unix.SECCOMP_ADDFD_FLAG_SEND != 0 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var old unix.Sigset_t
		if err := unix.PthreadSigmask(unix.SIG_SETMASK, &allSignals, &old); err != nil {
			return -1, err.(syscall.Errno)
		}
		defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	}
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.SECCOMP_IOCTL_NOTIF_ADDFD), uintptr(unsafe.Pointer(a)))
	runtime.KeepAlive(a)
	if e != 0 {
		return -1, e
	}
	return int(r), 0
}

// allSignals is a signal set with every signal in it (the kernel ignores
// SIGKILL and SIGSTOP in a mask).
var allSignals = func() (s unix.Sigset_t) {
	for i := range s.Val {
		s.Val[i] = ^uint64(0)
	}
	return s
}()

// notifIDValid reports whether notification id is still pending
// (SECCOMP_IOCTL_NOTIF_ID_VALID).
func notifIDValid(fd int, id uint64) bool {
	e := ioctlPtr(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id))
	runtime.KeepAlive(&id)
	return e == 0
}

// notifSetFlags sets listener flags; the flag is the ioctl argument itself.
func notifSetFlags(fd int, flags uint64) syscall.Errno {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS), uintptr(flags))
	return e
}

// getNotifSizes asks the kernel for the struct sizes it uses.
func getNotifSizes() (seccompNotifSizes, syscall.Errno) {
	var s seccompNotifSizes
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, seccompGetNotifSizes, 0, uintptr(unsafe.Pointer(&s)))
	runtime.KeepAlive(&s)
	return s, e
}

// installFilter loads prog on the calling thread with flags and returns
// the listener fd (when flags has NEW_LISTENER).
func installFilter(prog []unix.SockFilter, flags uintptr) (int, syscall.Errno) {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(&fprog)
	runtime.KeepAlive(prog)
	if e != 0 {
		return -1, e
	}
	return int(r), 0
}

// pidfdGetfd duplicates fd of the process behind pidfd into this process.
func pidfdGetfd(pidfd, fd int) (int, error) {
	return unix.PidfdGetfd(pidfd, fd, 0)
}
