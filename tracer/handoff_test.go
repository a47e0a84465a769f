package tracer

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/policy"
	"fsshim/ramfs"
)

// TestHandoff runs the fd hand-off of the ptrace transport against the
// kernel: a program's opens in a mount get, through a rewritten call and
// the listener, the host file a hook answers them with (the quiet path of
// a backing file) or a directory's placeholder (the path that stops at
// the call's exit, with dup2 semantics), at the number Linux would give,
// close-on-exec as asked, with the caller's argument registers intact. A
// signal sent while the tracee is stopped in its open (so that it is
// pending when the rewritten call waits for the listener) must interrupt
// nothing visible: the open succeeds and the signal arrives once, after
// it. Meanwhile another thread of the program calls policy.HandoffNr
// itself, over and over, and must get ENOSYS every time.
func TestHandoff(t *testing.T) {
	requireTransport(t, policy.Ptrace)
	if os.Geteuid() != 0 {
		t.Skip("needs root (pidfd_getfd of the tracee)")
	}
	m := mountPath(t)
	host := filepath.Join(t.TempDir(), "host")
	if err := os.WriteFile(host, []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	filter, err := policy.ProgramFor(policy.Ptrace, policy.Passthrough)
	if err != nil {
		t.Fatal(err)
	}
	k := emul.NewKernel([]*emul.Mount{{Path: m, FS: ramfs.New(ramfs.Options{})}}, ProcHost())
	k.OnFault = func(m string) { t.Log("fault:", m) }
	k.HostFDs, k.Passthrough = true, true
	var files, dirs, signals atomic.Int32
	installHook = func(tid int, r *emul.Result) {
		// Every other install is made under a pending signal.
		if (files.Load()+dirs.Load())%2 == 0 && unix.Tgkill(tidTgid(tid), tid, unix.SIGUSR1) == nil {
			signals.Add(1)
		}
		if strings.HasSuffix(r.File.Path(), "/x") {
			files.Add(1)
			hf, err := os.Open(host)
			if err != nil {
				t.Error(err)
				return
			}
			k.Release(r.File)
			*r = emul.Result{Action: emul.InstallHostFD, Host: hf, FDFlags: r.FDFlags, SetFD: -1}
			return
		}
		dirs.Add(1)
		r.SetFD = 9
	}
	defer func() { installHook = nil }()
	self, _ := os.Executable()
	outW, output := collect(t)
	const opens = 40
	res, err := Run(Options{
		Program: Program{Path: self, Argv: []string{helperArg0, "handoff", m, strconv.Itoa(opens)}, Env: os.Environ(),
			Stdout: outW, Stderr: os.Stderr},
		Filter: filter, Kernel: k, Transport: policy.Ptrace,
		Log: func(m string) { t.Log("fsshim:", m) },
	})
	said := output()
	if err != nil || res.ExitCode != 0 || !strings.HasSuffix(said, "ok\n") {
		t.Fatalf("exit %d, err %v; helper said:\n%s", res.ExitCode, err, said)
	}
	if files.Load() != opens || dirs.Load() != 1 || signals.Load() == 0 {
		t.Errorf("%d files and %d directories installed, %d signals sent; want %d, 1 and some", files.Load(), dirs.Load(), signals.Load(), opens)
	}
	t.Log(strings.TrimSpace(said))
}

// helperHandoff is TestHandoff's program.
func helperHandoff(m string, n int) error {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	signalled := func() bool {
		select {
		case <-usr1:
			return true
		case <-time.After(5 * time.Second):
			return false
		}
	}
	// The program's own calls of the number: ENOSYS, from another
	// thread, all along.
	stop := make(chan struct{})
	spun := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		calls := 0
		for {
			select {
			case <-stop:
				spun <- nil
				return
			default:
			}
			_, _, e := unix.RawSyscall6(policy.HandoffNr, 3, 0, 0, 0, 0, 0)
			if e != unix.ENOSYS {
				spun <- fmt.Errorf("call %d of the hand-off number by the program = %v, want ENOSYS", calls, e)
				return
			}
			calls++
		}
	}()
	// (On a failure the process exits with the spinner running.)
	if _, _, e := unix.RawSyscall6(policy.HandoffNr, 0, 0, 0, 0, 0, 0); e != unix.ENOSYS {
		return fmt.Errorf("the hand-off number called by the program = %v, want ENOSYS", e)
	}
	x, _ := unix.BytePtrFromString(m + "/x")
	// Created in the ramfs (and installed as the host file).
	fd, err := unix.Open(m+"/x", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s/x: %v", m, err)
	}
	unix.Close(fd)
	signalled()
	buf := make([]byte, 64)
	for i := 1; i < n; i++ {
		low := lowestFree()
		flags := uintptr(unix.O_RDONLY | unix.O_CLOEXEC)
		if i%3 == 0 {
			flags = unix.O_RDONLY
		}
		// rdx (the flags) must come back as the program left it: the
		// kernel keeps every register but rax, rcx and r11, and Go's
		// syscall returns rdx as its second result.
		r1, r2, e := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(x)), flags, 0o644, 0, 0)
		if e != 0 {
			return fmt.Errorf("open %d: %v", i, e)
		}
		fd := int(r1)
		if fd != low || r2 != flags {
			return fmt.Errorf("open %d = %d with rdx %#x; want fd %d, rdx %#x", i, fd, r2, low, flags)
		}
		fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if (fl&unix.FD_CLOEXEC != 0) != (flags&unix.O_CLOEXEC != 0) {
			return fmt.Errorf("open %d: F_GETFD = %#x with open flags %#x", i, fl, flags)
		}
		k, err := unix.Pread(fd, buf, 0)
		if err != nil || string(buf[:k]) != "host data\n" {
			return fmt.Errorf("open %d: pread = %q, %v", i, buf[:k], err)
		}
		unix.Close(fd)
		if i%2 == 0 && !signalled() {
			return fmt.Errorf("open %d: the signal sent during it never came", i)
		}
	}
	// A directory: its placeholder goes in at fd 9 (dup2 semantics),
	// and fsshim must know it there (getdents64 is routed).
	if err := unix.Dup2(1, 9); err != nil {
		return err
	}
	low := lowestFree()
	dfd, err := unix.Open(m, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil || dfd != 9 {
		return fmt.Errorf("open of the directory = %d, %v; want 9", dfd, err)
	}
	if l := lowestFree(); l != low {
		return fmt.Errorf("lowest free fd is %d after the open at 9, was %d", l, low)
	}
	names, err := readDirFD(dfd)
	if err != nil || !strings.Contains(names, " x ") {
		return fmt.Errorf("listing the directory by fd 9: %q, %v", names, err)
	}
	if n%2 == 0 && !signalled() {
		return errors.New("the signal sent during the directory's open never came")
	}
	select {
	case <-usr1:
		return errors.New("a signal came twice")
	case <-time.After(50 * time.Millisecond):
	}
	close(stop)
	if err := <-spun; err != nil {
		return err
	}
	fmt.Println("ok")
	return nil
}

// atFDCWD is AT_FDCWD as a syscall argument.
var atFDCWD = func() uintptr { v := unix.AT_FDCWD; return uintptr(v) }()

// readDirFD lists fd's names, space-separated and space-enclosed.
func readDirFD(fd int) (string, error) {
	buf := make([]byte, 4096)
	names := " "
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return names, err
		}
		if n == 0 {
			return names, nil
		}
		_, _, ns := unix.ParseDirent(buf[:n], -1, nil)
		for _, s := range ns {
			names += s + " "
		}
	}
}
