package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// initArg0 is the argv[0] by which fsshim recognises its own re-execution
// as the init stage of a target: os/exec cannot run code between fork and
// exec, so the child runs fsshim again, installs the filter on its only
// locked thread and then execs the target from that thread.
const initArg0 = "fsshim:init"

// The init stage's socket to the supervisor is always this fd.
const initSockFD = 3

func init() {
	// The init stage must install the filter and execve from the same OS
	// thread: lock the main goroutine to the main thread before main runs.
	if IsInitStage() {
		runtime.LockOSThread()
	}
}

// IsInitStage reports whether this process is a target's init stage (or
// the second stage of an isolated one, isolate.go).
func IsInitStage() bool {
	if len(os.Args) == 0 {
		return false
	}
	a, _ := isStage2(os.Args[0])
	return a == initArg0 || a == initPtraceArg0
}

// Exit codes of the init stage, as the shell uses them.
const (
	ExitCannotExec = 126
	ExitNotFound   = 127
	ExitInternal   = 125
)

// RunInitStage is called first thing in main when IsInitStage: it reads the
// filter from the supervisor, installs it with a listener, hands the
// listener over and execs the target. It never returns.
func RunInitStage() {
	fail := func(code int, format string, a ...any) {
		fmt.Fprintf(os.Stderr, "fsshim: "+format+"\n", a...)
		os.Exit(code)
	}
	if len(os.Args) < 3 {
		fail(ExitInternal, "init stage: missing program")
	}
	path, argv := os.Args[1], os.Args[2:]
	argv0, stage2 := isStage2(os.Args[0])
	if !stage2 {
		cfg, err := readConfig()
		if err != nil {
			fail(ExitInternal, "init stage: reading its configuration: %v", err)
		}
		if cfg.Isolate {
			runNSInit(cfg, argv0 == initPtraceArg0, fail) // isolate.go; never returns
		}
		unix.Close(initCtlFD)
		ignore(cfg.Ignored) // the execve below keeps them ignored
	}

	prog := readFilter(fail)
	if argv0 == initPtraceArg0 {
		execTraced(prog, path, argv, fail) // ptrace.go; never returns
	}
	installUnotify(prog, fail)
	unix.Close(initSockFD)
	err := unix.Exec(path, argv, os.Environ())
	fail(execFailure(err), "cannot execute %s: %v", path, err)
}

// execFailure is the exit code for a failed execve of the program.
func execFailure(err error) int {
	if errors.Is(err, unix.ENOENT) {
		return ExitNotFound
	}
	return ExitCannotExec
}

// readFilter reads the filter from the supervisor on the init socket, and
// sets no_new_privs for installing it on this thread.
func readFilter(fail func(int, string, ...any)) []unix.SockFilter {
	// The filter arrives as one datagram: 8 bytes per instruction.
	buf := make([]byte, 8*4096)
	n, err := unix.Read(initSockFD, buf)
	if err != nil || n == 0 || n%8 != 0 {
		fail(ExitInternal, "init stage: reading the filter: %v", err)
	}
	prog := make([]unix.SockFilter, n/8)
	for i := range prog {
		b := buf[8*i:]
		prog[i] = unix.SockFilter{
			Code: binary.LittleEndian.Uint16(b[0:]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.LittleEndian.Uint32(b[4:]),
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail(ExitInternal, "prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	return prog
}

// installUnotify installs the filter with a listener on this thread
// alone and hands the listener to the supervisor. From then on this
// thread's routed calls, and those of every process it forks, wait for
// the supervisor.
func installUnotify(prog []unix.SockFilter, fail func(int, string, ...any)) {
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	lfd, e := installFilter(prog, flags)
	if e == unix.EINVAL {
		// Kernels before 5.19 lack WAIT_KILLABLE_RECV.
		lfd, e = installFilter(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	}
	if e != 0 {
		fail(ExitInternal, "installing the seccomp filter: %v", e)
	}
	rights := unix.UnixRights(lfd)
	if err := unix.Sendmsg(initSockFD, []byte{'L'}, rights, nil, 0); err != nil {
		fail(ExitInternal, "handing the listener to the supervisor: %v", err)
	}
	unix.Close(lfd)
}

// Program describes the target to launch.
type Program struct {
	Path   string   // resolved path of the executable
	Argv   []string // argv, argv[0] included
	Env    []string
	Dir    string
	Stdin  *os.File
	Stdout *os.File
	Stderr *os.File
	// Isolate runs the program in namespaces of its own (isolate.go).
	Isolate bool
	// Protect are the host directories the program must not be able to
	// change (a mount's path that exists on the host, an overlay's
	// directory); with Isolate they are read-only in its namespace.
	Protect []string
}

// initSockets makes the init stage's two sockets: the init socket (filter
// in, listener out) and the control socket (configuration in; signals to
// pass on, for an isolated program). It returns fsshim's ends and the
// files the child gets as fds 3 and 4.
func initSockets() (sock, ctl int, child []*os.File, err error) {
	a, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, nil, fmt.Errorf("socketpair: %w", err)
	}
	b, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		unix.Close(a[0])
		unix.Close(a[1])
		return -1, -1, nil, fmt.Errorf("socketpair: %w", err)
	}
	return a[0], b[0], []*os.File{os.NewFile(uintptr(a[1]), "fsshim-init"), os.NewFile(uintptr(b[1]), "fsshim-init-ctl")}, nil
}

// startInitStage starts fsshim again as prog's init stage (argv0 says
// which transport's), with its two sockets as fds 3 and 4, in namespaces
// of its own when prog asks for them and they can be made (startInit). It
// returns fsshim's ends of the init and control sockets.
func startInitStage(prog Program, argv0 string, log func(string)) (cmd *exec.Cmd, sockFD, ctlFD int, isolated bool, err error) {
	sockFD, ctlFD, child, err := initSockets()
	if err != nil {
		return nil, -1, -1, false, err
	}
	defer func() {
		for _, f := range child {
			f.Close()
		}
		if err != nil {
			unix.Close(sockFD)
			unix.Close(ctlFD)
		}
	}()
	self, err := os.Executable()
	if err != nil {
		return nil, -1, -1, false, err
	}
	newCmd := func() *exec.Cmd {
		return &exec.Cmd{
			Path:       self,
			Args:       append([]string{argv0, prog.Path}, prog.Argv...),
			Env:        prog.Env,
			Dir:        prog.Dir,
			Stdin:      prog.Stdin,
			Stdout:     prog.Stdout,
			Stderr:     prog.Stderr,
			ExtraFiles: child,
		}
	}
	cmd, isolated, err = startInit(newCmd, prog.Isolate, log)
	if err != nil {
		return nil, -1, -1, false, fmt.Errorf("starting %s: %w", prog.Path, err)
	}
	return cmd, sockFD, ctlFD, isolated, nil
}

// configure sends the init stage its configuration (cmd was started
// isolated or not) and keeps the control socket open only when it is
// needed for signals; it returns that socket or -1.
func configure(ctl int, prog Program, isolated bool) (int, error) {
	cfg := initConfig{Isolate: isolated, Protect: prog.Protect, Ignored: ignoredAtStart}
	if err := sendConfig(ctl, cfg); err != nil {
		unix.Close(ctl)
		return -1, fmt.Errorf("configuring the init stage: %w", err)
	}
	if !isolated {
		unix.Close(ctl)
		return -1, nil
	}
	return ctl, nil
}

// ErrNotFound and ErrNotExecutable classify launch failures for exit codes.
var (
	ErrNotFound      = errors.New("program not found")
	ErrNotExecutable = errors.New("program not executable")
)

// Resolve finds name the way execvp does, for a clear error before launch.
func Resolve(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		// Anything else (a directory, no permission, a relative name
		// found through PATH's ".") is there but cannot be run: 126,
		// as sh and env answer.
		return "", fmt.Errorf("%s: %w (%v)", name, ErrNotExecutable, err)
	}
	st, err := os.Stat(p)
	if err == nil && st.IsDir() {
		return "", fmt.Errorf("%s: %w (is a directory)", name, ErrNotExecutable)
	}
	return p, nil
}

// launch starts prog's init stage, gives it the filter and returns the
// running command and the listener fd. It must be called on the OS thread
// that will outlive the target (Pdeathsig is tied to the forking thread).
func launch(prog Program, filter []unix.SockFilter, log func(string)) (*exec.Cmd, int, int, error) {
	cmd, sockFD, ctlFD, isolated, err := startInitStage(prog, initArg0, log)
	if err != nil {
		return nil, -1, -1, err
	}
	defer unix.Close(sockFD)
	ctl, err := configure(ctlFD, prog, isolated)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, -1, -1, err
	}
	fail := func(err error) (*exec.Cmd, int, int, error) {
		if ctl >= 0 {
			unix.Close(ctl)
		}
		cmd.Process.Kill()
		cmd.Wait()
		return nil, -1, -1, err
	}
	if _, err := unix.Write(sockFD, encodeFilter(filter)); err != nil {
		return fail(fmt.Errorf("sending the filter: %w", err))
	}
	oob := make([]byte, unix.CmsgSpace(4))
	var b [1]byte
	_, oobn, _, _, err := unix.Recvmsg(sockFD, b[:], oob, unix.MSG_CMSG_CLOEXEC)
	if err == nil && oobn == 0 {
		err = errors.New("init stage ended before handing over the listener")
	}
	if err != nil {
		if ctl >= 0 {
			unix.Close(ctl)
		}
		cmd.Wait()
		return cmd, -1, -1, fmt.Errorf("receiving the listener: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fail(fmt.Errorf("bad control message from init stage: %v", err))
	}
	lfds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(lfds) != 1 {
		return fail(fmt.Errorf("bad listener from init stage: %v", err))
	}
	return cmd, lfds[0], ctl, nil
}

// encodeFilter is the init stage's wire format of the filter: one datagram,
// 8 bytes per instruction.
func encodeFilter(filter []unix.SockFilter) []byte {
	raw := make([]byte, 8*len(filter))
	for i, f := range filter {
		b := raw[8*i:]
		binary.LittleEndian.PutUint16(b[0:], f.Code)
		b[2], b[3] = f.Jt, f.Jf
		binary.LittleEndian.PutUint32(b[4:], f.K)
	}
	return raw
}

// ignoredAtStart are the signals this process was started with ignored,
// read before anything asks the runtime for a signal (package
// initialisation comes before main's signal.Notify).
var ignoredAtStart = ignoredSignals()

// ignoredSignals lists the signals whose disposition is SIG_IGN.
func ignoredSignals() []int {
	var out []int
	for s := 1; s < 65; s++ {
		if s == int(unix.SIGKILL) || s == int(unix.SIGSTOP) {
			continue
		}
		if signal.Ignored(syscall.Signal(s)) {
			out = append(out, s)
		}
	}
	return out
}

// ignore sets the signals sigs to SIG_IGN, which an execve keeps.
func ignore(sigs []int) {
	for _, s := range sigs {
		signal.Ignore(syscall.Signal(s))
	}
}
