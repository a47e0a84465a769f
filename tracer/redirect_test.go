package tracer

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/policy"
	"fsshim/ramfs"
)

// TestRedirectCredsWhileSetIDs: a FIFO open, which the unotify transport
// makes on the host with the caller's credentials after emul has answered
// it, while another thread of the program keeps changing its ids (each
// set*id makes the transport read them again, from another receiver).
// Under the race detector this fails if the transport reads the
// process's credentials outside emul's lock.
func TestRedirectCredsWhileSetIDs(t *testing.T) {
	requireTransport(t, policy.Unotify)
	filter, err := policy.Program(policy.Unotify)
	if err != nil {
		t.Fatal(err)
	}
	m := mountPath(t)
	k := emul.NewKernel([]*emul.Mount{{Path: m, FS: ramfs.New(ramfs.Options{})}}, ProcHost())
	k.OnFault = func(m string) { t.Log("fault:", m) }
	w, output := collect(t)
	self, _ := os.Executable()
	res, err := Run(Options{
		Program:   Program{Path: self, Argv: []string{helperArg0, "setids-fifo", m, "300"}, Env: os.Environ(), Stdout: w, Stderr: os.Stderr},
		Filter:    filter,
		Kernel:    k,
		Transport: policy.Unotify,
		Receivers: 2,
		Log:       func(m string) { t.Log("fsshim:", m) },
	})
	said := output()
	if err != nil || res.ExitCode != 0 || said != "ok\n" {
		t.Fatalf("exit %d, err %v; helper said:\n%s", res.ExitCode, err, said)
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
