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
func notifAddfd(fd int, a *seccompNotifAddfd) (int, syscall.Errno) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.SECCOMP_IOCTL_NOTIF_ADDFD), uintptr(unsafe.Pointer(a)))
	runtime.KeepAlive(a)
	if e != 0 {
		return -1, e
	}
	return int(r), 0
}

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
