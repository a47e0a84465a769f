package tracer

import (
	"time"

	"golang.org/x/sys/unix"
)

// procMem is emul.Memory over a target thread's address space, through
// process_vm_readv/writev, which name it by pid. Under unotify the
// notification vouches for the pid (seccomp_unotify(2)): while the call
// is pending (SECCOMP_IOCTL_NOTIF_ID_VALID) the caller is alive and
// stopped in it, so its pid is not another process's.
//
//   - A read is checked after it: bytes read while the call was still
//     pending afterwards are the caller's, whatever happened before; a
//     check made before the read would leave the caller free to die and
//     its pid to be taken between the two, and the bytes of the process
//     that took it would be read as the caller's.
//   - A write cannot be taken back, so it is checked before: a caller
//     killed between the check and the write, and its pid taken by a new
//     process in that gap, would receive the write. The pid space must
//     wrap for that (pid_max numbers handed out between two system
//     calls of fsshim's). /proc/PID/mem, which holds the address space
//     and not the pid, would close the gap but writes with FOLL_FORCE:
//     read-only pages would take the write where Linux answers EFAULT.
//
// Under ptrace (lfd 0) the tracee is stopped and cannot die unseen, and
// no check is made. A range that runs into memory the target cannot
// access moves the pages before it: the count moved comes back with
// EFAULT (emul.Memory), exact because access is decided per page.
type procMem struct {
	pid int
	id  uint64
	lfd int
	// spent is the time spent moving data between the address spaces
	// during the current call (a unikernel would not pay it).
	spent time.Duration
	timed bool
	local [1]unix.Iovec
	rem   [1]unix.RemoteIovec
}

func (m *procMem) ReadAt(p []byte, addr uint64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if m.timed {
		t0 := time.Now()
		defer func() { m.spent += time.Since(t0) }()
	}
	m.local[0] = unix.Iovec{Base: &p[0]}
	m.local[0].SetLen(len(p))
	m.rem[0] = unix.RemoteIovec{Base: uintptr(addr), Len: len(p)}
	n, err := unix.ProcessVMReadv(m.pid, m.local[:], m.rem[:], 0)
	if !m.pending() {
		return 0, unix.ESRCH
	}
	if err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, unix.EFAULT
	}
	return n, nil
}

func (m *procMem) WriteAt(p []byte, addr uint64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if m.timed {
		t0 := time.Now()
		defer func() { m.spent += time.Since(t0) }()
	}
	if !m.pending() {
		return 0, unix.ESRCH
	}
	m.local[0] = unix.Iovec{Base: &p[0]}
	m.local[0].SetLen(len(p))
	m.rem[0] = unix.RemoteIovec{Base: uintptr(addr), Len: len(p)}
	n, err := unix.ProcessVMWritev(m.pid, m.local[:], m.rem[:], 0)
	if err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, unix.EFAULT
	}
	return n, nil
}

// pending reports whether the call is still waiting for its answer, so
// that m.pid is still the caller's (always, under ptrace).
func (m *procMem) pending() bool {
	return m.lfd <= 0 || notifIDValid(m.lfd, m.id)
}
