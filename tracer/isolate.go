package tracer

// Isolation: the program runs in a mount namespace and a PID namespace of
// its own, so that the kernel itself keeps it from the host directories
// behind the mounts and from fsshim.
//
// fsshim answers calls on paths in a mount; every other call it lets the
// kernel run (CONTINUE). The kernel then reads the arguments again, resolves
// the path itself, follows magic links (/proc/PID/root, /proc/PID/fd/N),
// host symlinks and "..", and uses the working directory and dirfds as they
// are at that moment. No check fsshim makes beforehand can hold against a
// second thread that changes the path string, or against a route fsshim
// does not model. So the host directories are made unreachable for writing
// where the kernel looks:
//
//   - Mount namespace. Every protected directory (a --mount path, an
//     --overlay's directory) is bind-mounted onto itself read-only,
//     recursively, in the program's namespace: whatever route a continued
//     call takes to it, the kernel answers EROFS. A --mount path missing on
//     the host is made there, empty, for the run (makeMountPoints) and
//     removed after it, so that there is something to cover: else a
//     continued mkdir whose path a racing thread flips could make it. fsshim's own
//     view (its reads of an overlay's lower files, saves) is the host's.
//     Mount events do not propagate back to the host (MS_SLAVE). Above
//     each cover lies a read-only tmpfs, the path's exec shadow, where
//     fsshim puts the copies of programs the kernel is to run
//     (execshadow.go): continued calls meet that, not the host directory.
//   - PID namespace, with its own /proc. The init stage is its PID 1; the
//     program is its child. Host processes are not visible: their
//     /proc/PID/root links (which lead to the host's mount namespace, where
//     the directories are writable) cannot be named, nor can fsshim itself
//     (pidfd_open, ptrace, kill by number). When PID 1 ends, the kernel kills
//     every process left in the namespace, and PID 1 is killed when fsshim
//     dies (PR_SET_PDEATHSIG): no process of the program outlives fsshim.
//   - Capabilities. A root program keeps root's ids but loses CAP_SYS_ADMIN
//     (from the bounding set), so it cannot unmount or remount the read-only
//     covers, mount anything, or enter another namespace with setns. Under
//     an unprivileged fsshim the namespaces are made in a user namespace of
//     fsshim's user, mapping that user's uid and gid to themselves: the
//     program has no capabilities there, and the covers are not its to
//     change (ids of other users show as the overflow id, 65534).
//
// PID 1 (the init stage) sets this up, then runs a second stage of fsshim
// that installs the filter and execs the program, reaps every process of
// the namespace, passes on the signals fsshim forwards (over its control
// socket: a signal it gets itself may come from the terminal, which sent
// it to the program too) and exits with the program's status.
//
// Where namespaces cannot be made (the kernel or a container refuses
// clone(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNS)), fsshim says so and runs the
// program without them: then only its own path checks stand between the
// program and the host directories.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// initConfig is what the supervisor tells the init stage before anything
// else, on the control socket.
type initConfig struct {
	// Isolate: the init stage is PID 1 of new namespaces and must set them
	// up (see the top of this file).
	Isolate bool
	// Protect are the host directories to make read-only.
	Protect []string
	// Ignored are the signals fsshim was started with ignored: the
	// program starts with them ignored too, as it would natively (nohup,
	// a shell's background job), though fsshim and its init stage
	// handle some of them on the way (ignoredSignals).
	Ignored []int `json:",omitempty"`
}

// The init stage's control socket (isolated runs: signals to pass on).
const initCtlFD = 4

// stage2Suffix marks the second stage started by an isolated init.
const stage2Suffix = "+exec"

// isolationAttr returns the SysProcAttr that starts the init stage in new
// namespaces, and whether fsshim runs as root.
func isolationAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{
		Pdeathsig:  syscall.SIGKILL,
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS,
	}
	if os.Geteuid() != 0 {
		uid, gid := os.Geteuid(), os.Getegid()
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		// The init stage execs fsshim as a user other than 0 in the
		// namespace: only an ambient capability survives that exec.
		attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
	}
	return attr
}

// startInit starts cmd (an init stage) isolated when iso is set, and
// without namespaces when they cannot be made; isolated tells which. Then
// fsshim makes itself non-dumpable (guardSelf).
func startInit(newCmd func() *exec.Cmd, iso bool, log func(string)) (cmd *exec.Cmd, isolated bool, err error) {
	defer func() {
		if err == nil {
			err = guardSelf()
		}
	}()
	if iso {
		cmd = newCmd()
		cmd.SysProcAttr = isolationAttr()
		err = cmd.Start()
		if err == nil {
			return cmd, true, nil
		}
		if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSPC) && !errors.Is(err, unix.EUSERS) && !errors.Is(err, unix.EACCES) {
			return nil, false, err
		}
		log(fmt.Sprintf("cannot make namespaces for the program (%v): running it without them; the host directories behind mounts are then guarded by fsshim's path checks alone", err))
	}
	cmd = newCmd()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, false, cmd.Start()
}

// guardSelf makes fsshim non-dumpable. The program runs with fsshim's ids,
// and the kernel lets a process take another's fds (pidfd_getfd: the
// seccomp listener, to answer its own calls), attach to it, or read and
// write its memory when the ids match and the other is dumpable; now those
// need CAP_SYS_PTRACE, which an unprivileged program lacks (and an
// isolated one cannot name fsshim at all). It is done once the init stage
// has started: a child forked while fsshim is non-dumpable is so too until
// it execs, and fsshim could not write its uid_map. The program runs no
// code before the init stage hears from fsshim again.
func guardSelf() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}
	return nil
}

// sendConfig writes the init stage's configuration.
func sendConfig(fd int, cfg initConfig) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	_, err = unix.Write(fd, b)
	return err
}

// readConfig reads it in the init stage.
func readConfig() (initConfig, error) {
	var cfg initConfig
	buf := make([]byte, 1<<20)
	n, err := unix.Read(initCtlFD, buf)
	if err != nil {
		return cfg, err
	}
	err = json.Unmarshal(buf[:n], &cfg)
	return cfg, err
}

// forwardSignal asks an isolated init stage to pass sig on to the program.
func forwardSignal(ctl int, sig syscall.Signal) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(sig))
	_, err := unix.Write(ctl, b[:])
	return err
}

// runNSInit is PID 1 of an isolated program: it sets up the namespaces,
// starts the program, reaps, and never returns. Under unotify it installs
// the filter on its own thread (the init stage runs locked to its main
// thread, and a filter installed without TSYNC is that thread's alone) and
// forks the program from that thread, which the child inherits it from;
// under ptrace a second stage of fsshim is started with the init socket to
// be traced from its first instruction (ptrace.go).
func runNSInit(cfg initConfig, ptrace bool, fail func(int, string, ...any)) {
	// Handle every signal (not ignore it: an ignored signal would stay
	// ignored in the program): as PID 1 this process is not to die of the
	// terminal's SIGINT, and the program gets that one itself. Asking the
	// runtime for every signal takes a hand-off between two threads per
	// signal (milliseconds in all): it goes on while the namespaces are
	// set up, and is done before the program is forked, which takes the
	// signal dispositions as they are then.
	handling := make(chan struct{})
	go func() {
		sigs := make(chan os.Signal, 16)
		signal.Notify(sigs)
		close(handling)
		for range sigs {
		}
	}()
	if err := isolateMounts(cfg.Protect); err != nil {
		fail(ExitInternal, "isolating the program: %v (--no-isolation runs it without namespaces)", err)
	}
	if err := setupShadows(cfg.Protect); err != nil { // execshadow.go
		fail(ExitInternal, "init stage: %v", err)
	}
	// Root here is root on the host: an unprivileged fsshim's init stage
	// keeps its user's uid in its user namespace.
	if err := dropPrivileges(os.Geteuid() == 0, !ptrace); err != nil {
		fail(ExitInternal, "isolating the program: %v (--no-isolation runs it without namespaces)", err)
	}
	// The control socket stays PID 1's alone.
	unix.CloseOnExec(initCtlFD)
	ready := func() {
		<-handling
		// The program, or the second stage that execs it, is forked
		// with these ignored, which its execve keeps.
		ignore(cfg.Ignored)
	}
	var prog int
	if ptrace {
		prog = startStage2(ready, fail)
	} else {
		prog = startFiltered(ready, fail)
	}
	go passSignals(prog)
	status := 0
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			break // ECHILD: every process of the namespace is gone
		}
		if pid == prog {
			switch {
			case ws.Exited():
				status = ws.ExitStatus()
			case ws.Signaled():
				status = 128 + int(ws.Signal())
			}
		}
	}
	os.Exit(status)
}

// startStage2 starts the second stage with the init socket, and returns
// its pid. ready is called before the fork.
func startStage2(ready func(), fail func(int, string, ...any)) int {
	// fsshim's own binary by the kernel's link to it, not by its path:
	// the path may lie in a directory the isolation just covered (fsshim
	// run from the directory it serves, as with the default --overlay .).
	const self = "/proc/self/exe"
	sock := os.NewFile(initSockFD, "fsshim-init")
	cmd := &exec.Cmd{
		Path:       self,
		Args:       append([]string{os.Args[0] + stage2Suffix}, os.Args[1:]...),
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		ExtraFiles: []*os.File{sock},
	}
	ready()
	if err := cmd.Start(); err != nil {
		fail(ExitInternal, "init stage: starting the program: %v", err)
	}
	sock.Close()
	return cmd.Process.Pid
}

// startFiltered installs the filter on this thread, hands the listener
// over and forks the program from this thread, and returns its pid. The
// child runs no code of fsshim's but the fork's own (raw calls that set up
// fds 0 to 2, then execve), and runs it under the filter already, as the
// program's first calls. What this thread does afterwards (wait4, exit)
// the filter lets through, or, under --data forward, fsshim continues.
// ready is called before the fork.
func startFiltered(ready func(), fail func(int, string, ...any)) int {
	path, argv := os.Args[1], os.Args[2:]
	// Not the program's: closed by its execve, kept open here (a close
	// now would be a call to fsshim).
	unix.CloseOnExec(initSockFD)
	installUnotify(readFilter(fail), fail) // launch.go
	ready()
	// syscall.ForkExec rather than os.StartProcess, which forks once
	// more first to probe for pidfd support.
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			fail(ExitInternal, "init stage: starting the program: %v", err)
		}
		fail(execFailure(errno), "cannot execute %s: %v", path, errno)
	}
	return pid
}

// dropPrivileges takes from a root program's bounding set what would undo
// the isolation: CAP_SYS_ADMIN (unmount or remount the covers, mount,
// setns), CAP_DAC_READ_SEARCH (open_by_handle_at with an fd on another
// mount of the same file system reaches a covered file through a writable
// mount) and CAP_SYS_PTRACE (attach to PID 1, whose other threads keep
// their capabilities). Then this thread, which forks the program (or the
// next stage, under ptrace; the init stage runs locked to the main
// thread), gives up every capability but, for a root program forked here
// (forksProgram), those of the bounding set: what an execve by root would
// give it, and no_new_privs keeps it from gaining more at its own execve.
// PID 1 becomes non-dumpable: the program, with the same ids, cannot
// attach to it. Credentials are per thread: the child gets this thread's.
func dropPrivileges(root, forksProgram bool) error {
	if root {
		for _, c := range []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_DAC_READ_SEARCH, unix.CAP_SYS_PTRACE} {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
				return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if root && forksProgram {
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capget: %w", err)
		}
		for _, c := range []uint{unix.CAP_SYS_ADMIN, unix.CAP_DAC_READ_SEARCH, unix.CAP_SYS_PTRACE} {
			d, bit := &data[c/32], uint32(1)<<(c%32)
			d.Effective &^= bit
			d.Permitted &^= bit
			d.Inheritable &^= bit
		}
		for i := range data {
			data[i].Inheritable = 0
		}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

// passSignals passes on to the program the signals the supervisor
// forwards on the control socket.
func passSignals(prog int) {
	var b [4]byte
	for {
		n, err := unix.Read(initCtlFD, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		if n == 4 {
			unix.Kill(prog, syscall.Signal(binary.LittleEndian.Uint32(b[:])))
		}
	}
}

// isolateMounts makes the mount namespace: nothing propagates back to the
// host, /proc is the new PID namespace's, and each protected directory is
// read-only.
func isolateMounts(protect []string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	for _, p := range protect {
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // not on the host: nothing to protect there
			}
			return fmt.Errorf("bind-mounting %s: %w", p, err)
		}
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if err := unix.MountSetattr(unix.AT_FDCWD, p, unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("making %s read-only: %w", p, err)
		}
	}
	// The working directory was entered before the covers went on: enter
	// it again, so that it is the read-only one where it lies below one.
	if wd, err := os.Getwd(); err == nil {
		unix.Chdir(wd)
	}
	return nil
}

// isStage2 reports whether argv0 names the second stage of an isolated
// init, and returns the plain init argv0.
func isStage2(argv0 string) (string, bool) {
	return strings.CutSuffix(argv0, stage2Suffix)
}

// makeMountPoints creates, as empty directories, the protected paths that
// do not exist on the host, so that the init stage has something to cover
// read-only. Without a cover, a continued mkdir or open(O_CREAT) whose path
// a second thread flips to the mount's path after fsshim read it would
// create that path on the host, where the program's later continued calls
// could reach it. It returns what it created, outermost first, for
// removeMountPoints. A path fsshim cannot create is left alone: the
// program's rights on the host are fsshim's or fewer (an isolated
// program's user namespace maps no one else), so it cannot create it
// either.
func makeMountPoints(paths []string, log func(string)) []string {
	var made []string
	for _, p := range paths {
		var missing []string
		for d := p; ; d = filepath.Dir(d) {
			if _, err := os.Lstat(d); err == nil || !errors.Is(err, os.ErrNotExist) || d == "/" || d == "." {
				break
			}
			missing = append(missing, d)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			err := os.Mkdir(missing[i], 0o755)
			if errors.Is(err, os.ErrExist) {
				continue // made meanwhile, by someone else: not ours to remove
			}
			if err != nil {
				if !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EROFS) {
					log(fmt.Sprintf("%s: not on the host and cannot be made there to be covered: %v", p, err))
				}
				break
			}
			made = append(made, missing[i])
		}
	}
	return made
}

// removeMountPoints removes, innermost first, the directories
// makeMountPoints made, where they are still empty.
func removeMountPoints(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		unix.Rmdir(made[i])
	}
}
