package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childEnv marks a re-executed test binary that loads a filter. A filter
// stays for the life of the process, so it is never loaded into the go test
// process itself.
const childEnv = "FSSHIM_POLICY_KERNEL_CHILD"

// Exit codes of the child; anything else is a crash or a kill.
const (
	childOK = iota
	childSetupFailed
	childSeccompFailed
	childBadListener
	childAllowFailed
	childDenyWrong
	childRouteWrong
	childMmapAnonFailed
	childMmapFileWrong
	childNrNoneWrong
	childX32Survived
)

var childCodes = map[int]string{
	childSetupFailed:    "setup before seccomp failed (see output)",
	childSeccompFailed:  "seccomp(SECCOMP_SET_MODE_FILTER) refused the program (see output)",
	childBadListener:    "seccomp returned no listener fd",
	childAllowFailed:    "getppid failed under the filter (should be allowed)",
	childDenyWrong:      "io_uring_setup did not fail with ENOSYS (should be denied by the filter)",
	childRouteWrong:     "close(-1) did not fail with ENOSYS (routed to an absent tracer)",
	childMmapAnonFailed: "anonymous mmap failed under the filter (should be allowed)",
	childMmapFileWrong:  "file-backed mmap(fd -1) did not fail with ENOSYS (should be routed to an absent tracer)",
	childNrNoneWrong:    "syscall(-1) did not fail with ENOSYS",
	childX32Survived:    "an x32 syscall returned instead of killing the process",
}

// TestKernelAcceptsProgram loads the programs into a real kernel, in a child
// process: the kernel's verifier must accept them, and a few syscalls must
// come out as the VM tests say. Skipped when the kernel lacks the feature.
func TestKernelAcceptsProgram(t *testing.T) {
	if mode := os.Getenv(childEnv); mode != "" {
		kernelChild(mode) // does not return
	}
	avail := seccompActions(t)

	tests := []struct {
		mode   string
		action string // needed in actions_avail
		// wantSig is the signal that must kill the child; 0: exit 0.
		wantSig syscall.Signal
	}{
		// The listener is never read: the child makes no routed syscall.
		{mode: "unotify", action: "user_notif"},
		// No tracer is attached, so routed syscalls fail with ENOSYS:
		// that shows which ones the kernel routes.
		{mode: "ptrace", action: "trace"},
		{mode: "x32", action: "kill_process", wantSig: unix.SIGSYS},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			if !avail[tc.action] {
				requireMissingOK(t, tc.action)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKernelAcceptsProgram$")
			cmd.Env = append(os.Environ(), childEnv+"="+tc.mode)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("child %s timed out (blocked in a routed syscall?)\n%s", tc.mode, out)
			}
			var ee *exec.ExitError
			switch {
			case err == nil && tc.wantSig == 0:
				return
			case err == nil:
				t.Fatalf("child %s exited 0, want killed by %v\n%s", tc.mode, tc.wantSig, out)
			case !errors.As(err, &ee):
				t.Fatalf("running child %s: %v", tc.mode, err)
			}
			ws := ee.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				if ws.Signal() == tc.wantSig && tc.wantSig != 0 {
					return
				}
				t.Fatalf("child %s killed by %v, want %v\n%s", tc.mode, ws.Signal(), tc.wantSig, out)
			}
			msg := childCodes[ws.ExitStatus()]
			if msg == "" {
				msg = "exit status " + strconv.Itoa(ws.ExitStatus())
			}
			t.Fatalf("child %s: %s\n%s\nprogram:\n%s", tc.mode, msg, out, listing(program(t, Unotify)))
		})
	}
}

// seccompActions reads /proc/sys/kernel/seccomp/actions_avail, skipping the
// test when there is none.
func seccompActions(t *testing.T) map[string]bool {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("the program is for x86-64; this is %s", runtime.GOARCH)
	}
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		t.Skipf("kernel without seccomp filters (CONFIG_SECCOMP_FILTER): %v", err)
	}
	m := map[string]bool{}
	for _, a := range strings.Fields(string(b)) {
		m[a] = true
	}
	return m
}

// requireMissingOK skips the test when action is missing on a kernel that
// may lack it, and fails it on one that must have it: every action used
// here is in Linux 5.0 and later (user_notif is the newest).
func requireMissingOK(t *testing.T, action string) {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var major int
	fmt.Sscanf(rel, "%d.", &major)
	if major >= 5 {
		t.Fatalf("kernel %s should support seccomp action %s, but actions_avail lacks it", rel, action)
	}
	t.Skipf("kernel %s lacks seccomp action %s (user_notif needs Linux 5.0)", rel, action)
}

// kernelChild runs in the re-executed test binary. It loads Program into
// its own thread, checks a few syscalls, and exits with one of the child
// codes. After the filter is loaded it writes nothing (write is routed) and
// leaves with a bare exit_group.
func kernelChild(mode string) {
	runtime.LockOSThread() // the filter goes on this thread only
	fail := func(code int, format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(code)
	}

	tr := Unotify
	if mode == "ptrace" {
		tr = Ptrace
	}
	prog, err := Program(tr)
	if err != nil {
		fail(childSetupFailed, "Program(%v): %v", tr, err)
	}
	if mode == "x32" {
		// The kill below would dump core into the package directory.
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			fail(childSetupFailed, "prctl(PR_SET_DUMPABLE): %v", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail(childSetupFailed, "prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	var flags uintptr
	if tr == Unotify {
		flags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// From here on only raw syscalls: no scheduler hand-off that could
	// start a thread (which would inherit the filter) from this one.
	fd, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		fail(childSeccompFailed, "seccomp(SECCOMP_SET_MODE_FILTER, %#x, %d instructions): %v", flags, len(prog), errno)
	}
	if tr == Unotify && fd <= 2 { // stdin, stdout and stderr are open

		syscall.Exit(childBadListener)
	}

	switch mode {
	case "x32":
		unix.RawSyscall(0x40000000|unix.SYS_GETPID, 0, 0, 0)
		syscall.Exit(childX32Survived)
	case "unotify":
		// Nobody reads the listener: a routed syscall would block until
		// the parent's timeout, so only allowed and denied ones here.
		if _, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); e != 0 {
			syscall.Exit(childAllowFailed)
		}
		if _, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, 1, 0, 0); e != unix.ENOSYS {
			syscall.Exit(childDenyWrong)
		}
	case "ptrace":
		// No tracer: routed syscalls fail with ENOSYS instead of running.
		if _, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); e != 0 {
			syscall.Exit(childAllowFailed)
		}
		if _, _, e := unix.RawSyscall(unix.SYS_IO_URING_SETUP, 1, 0, 0); e != unix.ENOSYS {
			syscall.Exit(childDenyWrong)
		}
		if _, _, e := unix.RawSyscall(^uintptr(0), 0, 0, 0); e != unix.ENOSYS {
			syscall.Exit(childNrNoneWrong)
		}
		// Without the filter this fails with EBADF.
		if _, _, e := unix.RawSyscall(unix.SYS_CLOSE, ^uintptr(0), 0, 0); e != unix.ENOSYS {
			syscall.Exit(childRouteWrong)
		}
		// The mmap condition reads the real flags argument.
		if _, _, e := unix.RawSyscall6(unix.SYS_MMAP, 0, 4096, unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_SHARED|unix.MAP_ANONYMOUS, ^uintptr(0), 0); e != 0 {
			syscall.Exit(childMmapAnonFailed)
		}
		if _, _, e := unix.RawSyscall6(unix.SYS_MMAP, 0, 4096, unix.PROT_READ,
			unix.MAP_PRIVATE, ^uintptr(0), 0); e != unix.ENOSYS { // EBADF without the filter
			syscall.Exit(childMmapFileWrong)
		}
	}
	syscall.Exit(childOK)
}
