package tracer

import (
	"time"

	"golang.org/x/sys/unix"
)

// procMem is emul.Memory over a target thread's address space, through
// process_vm_readv/writev. Before the first read of a call it checks that
// the notification is still pending (SECCOMP_IOCTL_NOTIF_ID_VALID), so a
// pid reused by another process is never read as the caller. A range that
// runs into memory the target cannot access moves the pages before it:
// the count moved comes back with EFAULT (emul.Memory), exact because
// access is decided per page.
type procMem struct {
	pid     int
	id      uint64
	lfd     int
	checked bool
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
	if !m.checked && m.lfd > 0 {
		if !notifIDValid(m.lfd, m.id) {
			return 0, unix.ESRCH
		}
		m.checked = true
	}
	m.local[0] = unix.Iovec{Base: &p[0]}
	m.local[0].SetLen(len(p))
	m.rem[0] = unix.RemoteIovec{Base: uintptr(addr), Len: len(p)}
	n, err := unix.ProcessVMReadv(m.pid, m.local[:], m.rem[:], 0)
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
