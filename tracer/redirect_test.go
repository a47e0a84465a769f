package tracer

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/policy"
)

// TestRedirectCredsWhileSetIDs: a FIFO open, which the unotify transport
// makes on the host with the caller's credentials after emul has answered
// it, while another thread of the program keeps changing its ids (each
// set*id makes the transport read them again, from another receiver).
// Under the race detector this fails if the transport reads the
// process's credentials outside emul's lock.
func TestRedirectCredsWhileSetIDs(t *testing.T) {
	m := mountPath(t)
	r := runHelperWith(t, policy.Unotify, m, func(o *Options) { o.Receivers = 2 }, "setids-fifo", m, "300")
	if r.err != nil || r.exit != 0 || r.stdout != "ok\n" {
		t.Fatalf("exit %d, err %v; helper said:\n%s", r.exit, r.err, r.stdout)
	}
}

// helperSetIDsFIFO is TestRedirectCredsWhileSetIDs's program: n opens of
// a FIFO in mount m (read-only and non-blocking: they return at once)
// while another thread calls setresuid and setresgid, changing nothing.
func helperSetIDsFIFO(m string, n int) error {
	fifo := m + "/fifo"
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		return err
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		// Raw calls on one thread: Go's own Setresuid would run it on
		// every thread of the program.
		runtime.LockOSThread()
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			keep := ^uintptr(0)
			for _, nr := range []uintptr{unix.SYS_SETRESUID, unix.SYS_SETRESGID} {
				if _, _, e := unix.RawSyscall(nr, keep, keep, keep); e != 0 {
					done <- fmt.Errorf("set*id: %v", e)
					return
				}
			}
		}
	}()
	var err error
	for i := 0; i < n && err == nil; i++ {
		var fd int
		if fd, err = unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
	}
	close(stop)
	if e := <-done; err == nil {
		err = e
	}
	if err != nil {
		return err
	}
	fmt.Println("ok")
	return nil
}
