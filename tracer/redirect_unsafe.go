package tracer

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// actAs makes the calling goroutine's OS thread act with a target's ids
// (groups, then effective gid and uid; the real and saved ids stay
// fsshim's) when fsshim runs as root and the target does not: a host call
// made for the target then records the target's credentials (the
// SO_PEERCRED of a connection) and passes the checks its own call would
// (a driver's capability check at open: a non-zero euid has no effective
// capabilities). The thread stays locked to the goroutine, so it ends with
// it and never runs other Go code with these ids.
func actAs(c emul.Creds) syscall.Errno {
	if os.Geteuid() != 0 || c.Uid == 0 {
		return 0
	}
	runtime.LockOSThread()
	var gp unsafe.Pointer
	if len(c.Groups) > 0 {
		gp = unsafe.Pointer(&c.Groups[0])
	}
	// Raw syscalls: each changes this thread's credentials only (the
	// library wrappers change every thread of the process).
	_, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(c.Groups)), uintptr(gp), 0)
	runtime.KeepAlive(c.Groups)
	if e != 0 {
		return e
	}
	keep := ^uintptr(0) // -1: unchanged
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, keep, uintptr(c.Gid), keep); e != 0 {
		return e
	}
	_, _, e = unix.RawSyscall(unix.SYS_SETRESUID, keep, uintptr(c.Uid), keep)
	return e
}
