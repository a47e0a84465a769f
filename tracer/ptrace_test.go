package tracer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/policy"
	"fsshim/ramfs"
)

// The test binary doubles as the init stage, the calibration probe and a
// target (helperArg0) that checks what it sees from inside.
const helperArg0 = "tracer-test:helper"

func TestMain(m *testing.M) {
	switch {
	case IsInitStage():
		RunInitStage()
	case IsProbe():
		RunProbe()
	case len(os.Args) > 1 && os.Args[0] == helperArg0:
		if err := runHelper(os.Args[1], os.Args[2:]); err != nil {
			fmt.Println("FAIL", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func init() {
	// A helper that must exec from a thread other than the leader keeps
	// the main goroutine on the main thread from the start: locking later
	// would lock whichever thread the goroutine happens to run on, and
	// the goroutine that execs could then be scheduled on the main one.
	if len(os.Args) > 1 && os.Args[0] == helperArg0 {
		runtime.LockOSThread()
	}
}

var transports = []policy.Transport{policy.Unotify, policy.Ptrace}

// requireTransport skips when the kernel or the privileges cannot run tr.
func requireTransport(t testing.TB, tr policy.Transport) {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		t.Skip("no seccomp filters: ", err)
	}
	want := map[policy.Transport]string{policy.Unotify: "user_notif", policy.Ptrace: "trace"}[tr]
	if !strings.Contains(string(b), want) {
		t.Skipf("kernel lacks %s: actions_avail is %q", want, strings.TrimSpace(string(b)))
	}
	if tr == policy.Unotify && os.Geteuid() != 0 {
		// Unprivileged users can run it too, but pidfd_getfd needs
		// ptrace rights over the target; keep the tests simple.
		t.Skip("needs root")
	}
}

type run struct {
	stdout string
	exit   int
	err    error
}

// runUnder runs path with argv under tr, with mount served from a ramfs.
func runUnder(t testing.TB, tr policy.Transport, mount, path string, argv ...string) run {
	t.Helper()
	return runPinned(t, tr, false, mount, path, argv...)
}

func runPinned(t testing.TB, tr policy.Transport, pin bool, mount, path string, argv ...string) run {
	t.Helper()
	return runWith(t, tr, mount, func(o *Options) { o.Pin = pin }, path, argv...)
}

// runWith runs path under tr with an empty ramfs mounted at mount;
// adjust changes the options before the run.
func runWith(t testing.TB, tr policy.Transport, mount string, adjust func(*Options), path string, argv ...string) run {
	t.Helper()
	requireTransport(t, tr)
	filter, err := policy.Program(tr)
	if err != nil {
		t.Fatal(err)
	}
	k := emul.NewKernel([]*emul.Mount{{Path: mount, FS: ramfs.New(ramfs.Options{})}}, ProcHost())
	k.OnFault = func(m string) { t.Log("fault:", m) }
	w, output := collect(t)
	opt := Options{
		Program:   Program{Path: path, Argv: argv, Env: os.Environ(), Stdout: w, Stderr: os.Stderr},
		Filter:    filter,
		Kernel:    k,
		Transport: tr,
		Log:       func(m string) { t.Log("fsshim:", m) },
	}
	adjust(&opt)
	res, err := Run(opt)
	return run{stdout: output(), exit: res.ExitCode, err: err}
}

// collect returns the write end of a pipe for a program's output and a
// func that closes it and returns all that was written. The write end is
// closed at the test's end in any case, so the reader always ends.
func collect(t testing.TB) (*os.File, func() string) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		out <- string(b)
	}()
	return w, func() string {
		w.Close()
		return <-out
	}
}

func runHelperUnder(t testing.TB, tr policy.Transport, mount string, args ...string) run {
	t.Helper()
	return runHelperPinned(t, tr, false, mount, args...)
}

func runHelperPinned(t testing.TB, tr policy.Transport, pin bool, mount string, args ...string) run {
	t.Helper()
	return runHelperWith(t, tr, mount, func(o *Options) { o.Pin = pin }, args...)
}

// runHelperWith is runWith of the test binary as a helper (helperArg0).
func runHelperWith(t testing.TB, tr policy.Transport, mount string, adjust func(*Options), args ...string) run {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return runWith(t, tr, mount, adjust, self, append([]string{helperArg0}, args...)...)
}

// benchConfigs are the set-ups the benchmarks compare.
var benchConfigs = []struct {
	name string
	tr   policy.Transport
	pin  bool
}{
	{"unotify", policy.Unotify, false},
	{"ptrace", policy.Ptrace, false},
	{"ptrace-pinned", policy.Ptrace, true},
}

func mountPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "m")
}

// TestPtraceSkip checks the answers of emulated calls: return values
// (including one above 32 bits), errnos, the fd number of an emulated open
// (the lowest free one) and its close-on-exec flag, under both transports.
func TestPtraceSkip(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			m := mountPath(t)
			r := runHelperUnder(t, tr, m, "skip", m)
			if r.err != nil || r.exit != 0 {
				t.Fatalf("exit %d, err %v\n%s", r.exit, r.err, r.stdout)
			}
			if !strings.Contains(r.stdout, "ok\n") {
				t.Errorf("helper said:\n%s", r.stdout)
			}
		})
	}
}

// TestPinned runs the skip checks with --pin on each transport: the
// program sees one CPU and still gets every answer, and under unotify,
// which pins every thread of fsshim, the test process's threads have
// their CPUs back once Run returns (under ptrace only the tracing thread
// is pinned, and it ends with the run).
func TestPinned(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: a pinned program cannot be told from one that is not")
	}
	before := threadCPUs(t)
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			m := mountPath(t)
			r := runHelperPinned(t, tr, true, m, "pinned", m)
			if r.err != nil || r.exit != 0 || !strings.Contains(r.stdout, "ok\n") {
				t.Fatalf("exit %d, err %v\n%s", r.exit, r.err, r.stdout)
			}
			if !strings.HasPrefix(r.stdout, "cpus 1\n") {
				t.Errorf("the pinned program said %q, want it to see one CPU", r.stdout)
			}
			if tr != policy.Unotify {
				return
			}
			for tid, cpus := range threadCPUs(t) {
				if b, ok := before[tid]; ok && b != cpus {
					t.Errorf("thread %s: CPUs %s after the run, %s before", tid, cpus, b)
				}
			}
		})
	}
}

// threadCPUs returns the CPU list of every thread of this process, from
// /proc (each thread's Cpus_allowed_list).
func threadCPUs(t *testing.T) map[string]string {
	t.Helper()
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range tids {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/status")
		if err != nil {
			continue // ended since the listing
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
				out[e.Name()] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// TestPtracePlaceholder checks, from outside, that an emulated open left a
// memfd named after its description in the target's fd table.
func TestPtracePlaceholder(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			requireTransport(t, tr)
			m := mountPath(t)
			filter, _ := policy.Program(tr)
			k := emul.NewKernel([]*emul.Mount{{Path: m, FS: ramfs.New(ramfs.Options{})}}, ProcHost())
			self, _ := os.Executable()
			outR, outW, _ := os.Pipe()
			inR, inW, _ := os.Pipe()
			defer outR.Close()
			defer inW.Close()
			checked := make(chan error, 1)
			go func() {
				line, err := bufio.NewReader(outR).ReadString('\n')
				if err != nil {
					checked <- fmt.Errorf("helper said nothing: %v", err)
					inW.Close()
					return
				}
				var pid, fd int
				fmt.Sscanf(line, "%d %d", &pid, &fd)
				link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
				if err == nil && !strings.HasPrefix(link, "/memfd:"+placeholderPrefix) {
					err = fmt.Errorf("fd %d of the target is %q, want a placeholder memfd", fd, link)
				}
				checked <- err
				inW.Write([]byte("go\n"))
				io.Copy(io.Discard, outR)
			}()
			res, err := Run(Options{
				Program: Program{Path: self, Argv: []string{helperArg0, "hold", m}, Env: os.Environ(),
					Stdin: inR, Stdout: outW, Stderr: os.Stderr},
				Filter: filter, Kernel: k, Transport: tr,
			})
			outW.Close()
			inR.Close()
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("exit %d, err %v", res.ExitCode, err)
			}
			if err := <-checked; err != nil {
				t.Error(err)
			}
		})
	}
}

// TestInstallFDFails: an emulated open in a target whose fd table is full
// fails with EMFILE under both transports (ADDFD's error under unotify,
// the injected memfd_create's under ptrace), and the description made for
// it is released, not left behind: once the target has closed the one fd
// it got, no description is left in the Kernel.
func TestInstallFDFails(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			requireTransport(t, tr)
			m := mountPath(t)
			filter, _ := policy.Program(tr)
			k := emul.NewKernel([]*emul.Mount{{Path: m, FS: ramfs.New(ramfs.Options{})}}, ProcHost())
			self, _ := os.Executable()
			outW, output := collect(t)
			res, err := Run(Options{
				Program: Program{Path: self, Argv: []string{helperArg0, "emfile", m}, Env: os.Environ(),
					Stdout: outW, Stderr: os.Stderr},
				Filter: filter, Kernel: k, Transport: tr,
				Log: func(m string) { t.Log("fsshim:", m) },
			})
			said := output()
			if err != nil || res.ExitCode != 0 || said != "ok\n" {
				t.Fatalf("exit %d, err %v; helper said:\n%s", res.ExitCode, err, said)
			}
			for id := uint64(0); id < 100; id++ {
				if f := k.FileByID(id); f != nil {
					t.Errorf("description %d (%s) outlives the target", id, f.Path())
				}
			}
		})
	}
}

// TestPtraceSetFD exercises the injected dup3/close sequence of an
// InstallFD answer with SetFD (dup2 semantics), with a signal arriving
// while fsshim runs its own calls in the target: the signal must be held
// back and still be delivered, once.
func TestPtraceSetFD(t *testing.T) {
	sent := 0
	installHook = func(tid int, r *emul.Result) {
		r.SetFD = 9
		if unix.Tgkill(tidTgid(tid), tid, unix.SIGUSR1) == nil {
			sent++
		}
	}
	defer func() { installHook = nil }()
	m := mountPath(t)
	r := runHelperUnder(t, policy.Ptrace, m, "setfd", m)
	if r.err != nil || r.exit != 0 {
		t.Fatalf("exit %d, err %v\n%s", r.exit, r.err, r.stdout)
	}
	if sent != 1 || !strings.Contains(r.stdout, "ok\n") {
		t.Errorf("sent %d signals; helper said:\n%s", sent, r.stdout)
	}
}

func tidTgid(tid int) int {
	st, err := readStatus(tid)
	if err != nil {
		return tid
	}
	return st.Tgid
}

// TestPtraceGroupStop: a stopped child is seen stopped by its parent
// (waitpid WUNTRACED), continues on SIGCONT, and its signals arrive.
func TestPtraceGroupStop(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			m := mountPath(t)
			r := runHelperUnder(t, tr, m, "stop")
			if r.err != nil || r.exit != 0 || !strings.Contains(r.stdout, "ok\n") {
				t.Fatalf("exit %d, err %v\n%s", r.exit, r.err, r.stdout)
			}
		})
	}
}

// TestPtraceExecFromThread: a thread other than the leader execs (its tid
// becomes the leader's) and the new program reads an emulated fd it
// inherited, while a close-on-exec one is gone.
func TestPtraceExecFromThread(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			m := mountPath(t)
			r := runHelperUnder(t, tr, m, "exec-thread", m)
			want := "inherited\nexec ok\n"
			if r.err != nil || r.exit != 0 || r.stdout != want {
				t.Fatalf("exit %d, err %v, printed %q, want %q", r.exit, r.err, r.stdout, want)
			}
		})
	}
}

// TestPtraceShell runs a shell script over a mount under both transports
// and compares the outputs: forks, pipes, redirections, dup2, exec.
func TestPtraceShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	script := `cd "$1" || exit 9
mkdir -p a/b && echo hello > a/b/f && cat a/b/f
exec 3> g; echo three >&3; exec 3>&-; cat g
exec 5<> rw; echo rw >&5; exec 5>&-; cat < rw
{ echo x; echo y; } | tee t > /dev/null; wc -l < t
ls -R | sort
sh -c 'cat a/b/f; echo $?'
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i > n$i; done; cat n*  | sort -n | tail -1
exit 3`
	var outs []string
	for _, tr := range transports {
		m := mountPath(t)
		r := runUnder(t, tr, m, sh, "sh", "-c", script, "sh", m)
		if r.err != nil || r.exit != 3 {
			t.Fatalf("%v: exit %d, err %v\n%s", tr, r.exit, r.err, r.stdout)
		}
		outs = append(outs, r.stdout)
	}
	if outs[0] != outs[1] {
		t.Errorf("unotify printed:\n%s\nptrace printed:\n%s", outs[0], outs[1])
	}
	if !strings.HasPrefix(outs[1], "hello\nthree\nrw\n2\n") {
		t.Errorf("ptrace printed:\n%s", outs[1])
	}
}

// TestPtraceLockWait: a flock that must wait is answered later (emul's
// Defer): the waiting tracee stays in its stop until the holder exits.
// B starts only once A holds the lock (the file held says so), so the
// order printed does not rest on how soon A runs; A then holds it for
// 0.3 s, long enough that B nearly always has to wait, and B printing
// before A is done would fail the test.
func TestPtraceLockWait(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock (util-linux)")
	}
	script := `cd "$1" || exit 9
: > l
( flock -x 9; echo A locked; : > held; sleep 0.3; echo A done ) 9> l &
until [ -e held ]; do sleep 0.01; done
flock -x l -c 'echo B got it'
wait`
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			m := mountPath(t)
			r := runUnder(t, tr, m, sh, "sh", "-c", script, "sh", m)
			if want := "A locked\nA done\nB got it\n"; r.err != nil || r.exit != 0 || r.stdout != want {
				t.Fatalf("exit %d, err %v, printed %q, want %q", r.exit, r.err, r.stdout, want)
			}
		})
	}
}

// TestCalibrate measures the hand-off under both transports.
func TestCalibrate(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			requireTransport(t, tr)
			filter, _ := policy.Program(tr)
			h, err := Calibrate(Options{Filter: filter, Kernel: emul.NewKernel(nil, ProcHost()), Transport: tr})
			if err != nil {
				t.Fatal(err)
			}
			if h <= 0 {
				t.Errorf("hand-off %v", h)
			}
			t.Logf("%v: hand-off %v per call", tr, h)
		})
	}
}

// BenchmarkRoundTrip times a routed call that fsshim sends on to the host
// (close(-1)), from the target's side: the world switch of each transport,
// with native close(-1) as the floor. ns/op is per call.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("native", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			unix.Syscall(unix.SYS_CLOSE, ^uintptr(0), 0, 0)
		}
	})
	for _, c := range benchConfigs {
		b.Run(c.name, func(b *testing.B) {
			r := runHelperPinned(b, c.tr, c.pin, mountPath(b), "loop", strconv.Itoa(b.N))
			ns, err := strconv.ParseFloat(strings.TrimSpace(r.stdout), 64)
			if r.err != nil || err != nil {
				b.Fatalf("exit %d, err %v, said %q", r.exit, r.err, r.stdout)
			}
			b.ReportMetric(ns/float64(b.N), "ns/op")
		})
	}
}

// BenchmarkEmulatedPread times an emulated 512-byte pread from the target.
func BenchmarkEmulatedPread(b *testing.B) {
	for _, c := range benchConfigs {
		b.Run(c.name, func(b *testing.B) {
			m := mountPath(b)
			r := runHelperPinned(b, c.tr, c.pin, m, "pread", m, strconv.Itoa(b.N))
			ns, err := strconv.ParseFloat(strings.TrimSpace(r.stdout), 64)
			if r.err != nil || err != nil {
				b.Fatalf("exit %d, err %v, said %q", r.exit, r.err, r.stdout)
			}
			b.ReportMetric(ns/float64(b.N), "ns/op")
		})
	}
}

// runHelper is the target side of the tests above.
func runHelper(mode string, args []string) error {
	switch mode {
	case "skip":
		return helperSkip(args[0])
	case "pinned":
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil {
			return err
		}
		fmt.Printf("cpus %d\n", set.Count())
		return helperSkip(args[0])
	case "hold":
		fd, err := unix.Open(args[0]+"/held", unix.O_CREAT|unix.O_RDWR, 0o644)
		if err != nil {
			return err
		}
		fmt.Println(os.Getpid(), fd)
		bufio.NewReader(os.Stdin).ReadString('\n')
		return nil
	case "exec-thread":
		return helperExecThread(args[0])
	case "emfile":
		return helperEMFILE(args[0])
	case "setfd":
		return helperSetFD(args[0])
	case "handoff":
		n, _ := strconv.Atoi(args[1])
		return helperHandoff(args[0], n)
	case "stop":
		return helperStop()
	case "notified":
		return helperNotified()
	case "setids-fifo":
		n, _ := strconv.Atoi(args[1])
		return helperSetIDsFIFO(args[0], n)
	case "loop":
		n, _ := strconv.Atoi(args[0])
		t0 := time.Now()
		for i := 0; i < n; i++ {
			unix.Syscall(unix.SYS_CLOSE, ^uintptr(0), 0, 0)
		}
		fmt.Println(time.Since(t0).Nanoseconds())
		return nil
	case "pread":
		n, _ := strconv.Atoi(args[1])
		fd, err := unix.Open(args[0]+"/p", unix.O_CREAT|unix.O_RDWR, 0o644)
		if err != nil {
			return err
		}
		buf := make([]byte, 512)
		unix.Pwrite(fd, buf, 0)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			unix.Pread(fd, buf, 0)
		}
		fmt.Println(time.Since(t0).Nanoseconds())
		return nil
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// lowestFree returns the number the next open would get.
func lowestFree() int {
	fd, err := unix.Dup(0)
	if err != nil {
		return -1
	}
	unix.Close(fd)
	return fd
}

// helperEMFILE fills its fd table up to a low limit: an emulated open
// must then fail with EMFILE, and get the number freed next.
func helperEMFILE(m string) error {
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 64, Max: 64}); err != nil {
		return fmt.Errorf("setrlimit: %v", err)
	}
	last := -1
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EMFILE {
			break
		}
		if err != nil {
			return fmt.Errorf("filling the fd table: %v", err)
		}
		last = fd
	}
	for i := 0; i < 3; i++ {
		if fd, err := unix.Open(m+"/f", unix.O_CREAT|unix.O_RDWR, 0o644); err != unix.EMFILE {
			return fmt.Errorf("emulated open with a full fd table = %d, %v; want EMFILE", fd, err)
		}
	}
	unix.Close(last)
	fd, err := unix.Open(m+"/f", unix.O_RDWR, 0)
	if err != nil || fd != last {
		return fmt.Errorf("emulated open after a close = %d, %v; want %d", fd, err, last)
	}
	if n, err := unix.Write(fd, []byte("x")); n != 1 || err != nil {
		return fmt.Errorf("write to it = %d, %v", n, err)
	}
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("close: %v", err)
	}
	fmt.Println("ok")
	return nil
}

func helperSkip(m string) error {
	low := lowestFree()
	fd, err := unix.Open(m+"/f", unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("open: %v", err)
	}
	if fd != low {
		return fmt.Errorf("open returned fd %d, the lowest free was %d", fd, low)
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		return fmt.Errorf("F_GETFD = %#x, %v; want FD_CLOEXEC", fl, err)
	}
	fd2, err := unix.Open(m+"/f", unix.O_RDONLY, 0)
	if err != nil || fd2 != fd+1 {
		return fmt.Errorf("second open = %d, %v; want %d", fd2, err, fd+1)
	}
	if fl, _ := unix.FcntlInt(uintptr(fd2), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC != 0 {
		return fmt.Errorf("F_GETFD of an open without O_CLOEXEC = %#x", fl)
	}
	if n, err := unix.Write(fd, []byte("hello")); n != 5 || err != nil {
		return fmt.Errorf("write = %d, %v", n, err)
	}
	buf := make([]byte, 16)
	if n, err := unix.Pread(fd2, buf, 0); n != 5 || err != nil || string(buf[:n]) != "hello" {
		return fmt.Errorf("pread = %d, %v, %q", n, err, buf[:n])
	}
	if off, err := unix.Seek(fd, 1<<40+3, 0); off != 1<<40+3 || err != nil {
		return fmt.Errorf("lseek = %d, %v; want %d", off, err, int64(1<<40+3))
	}
	var st unix.Stat_t
	if err := unix.Stat(m+"/missing", &st); err != unix.ENOENT {
		return fmt.Errorf("stat of a missing file: %v, want ENOENT", err)
	}
	if err := unix.Mkdir(m+"/f", 0o755); err != unix.EEXIST {
		return fmt.Errorf("mkdir over a file: %v, want EEXIST", err)
	}
	for _, f := range []int{fd, fd2} {
		if err := unix.Close(f); err != nil {
			return fmt.Errorf("close: %v", err)
		}
	}
	if err := unix.Close(fd); err != unix.EBADF {
		return fmt.Errorf("second close: %v, want EBADF", err)
	}
	fmt.Println("ok")
	return nil
}

func helperSetFD(m string) error {
	usr1 := make(chan os.Signal, 4)
	signal.Notify(usr1, syscall.SIGUSR1)
	if err := unix.Dup2(1, 9); err != nil {
		return err
	}
	low := lowestFree()
	fd, err := unix.Open(m+"/g", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil || fd != 9 {
		return fmt.Errorf("open = %d, %v; want 9", fd, err)
	}
	if l := lowestFree(); l != low {
		return fmt.Errorf("lowest free fd is %d after the open, was %d: the temporary placeholder leaked", l, low)
	}
	if fl, _ := unix.FcntlInt(9, unix.F_GETFD, 0); fl&unix.FD_CLOEXEC != 0 {
		return fmt.Errorf("F_GETFD = %#x, want no FD_CLOEXEC", fl)
	}
	if n, err := unix.Write(9, []byte("abc")); n != 3 || err != nil {
		return fmt.Errorf("write = %d, %v", n, err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Pread(9, buf, 0); n != 3 || string(buf[:n]) != "abc" {
		return fmt.Errorf("pread = %d, %v, %q", n, err, buf[:n])
	}
	select {
	case <-usr1:
	case <-time.After(5 * time.Second):
		return errors.New("SIGUSR1 held during the injection never came")
	}
	select {
	case <-usr1:
		return errors.New("SIGUSR1 came twice")
	case <-time.After(100 * time.Millisecond):
	}
	fmt.Println("ok")
	return nil
}

func helperStop() error {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	var ws unix.WaitStatus
	unix.Kill(pid, unix.SIGSTOP)
	if _, err := unix.Wait4(pid, &ws, unix.WUNTRACED, nil); err != nil || !ws.Stopped() || ws.StopSignal() != unix.SIGSTOP {
		return fmt.Errorf("after SIGSTOP: wait status %#x, %v", ws, err)
	}
	unix.Kill(pid, unix.SIGCONT)
	if _, err := unix.Wait4(pid, &ws, unix.WCONTINUED, nil); err != nil || !ws.Continued() {
		return fmt.Errorf("after SIGCONT: wait status %#x, %v", ws, err)
	}
	unix.Kill(pid, unix.SIGTERM)
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil || !ws.Signaled() || ws.Signal() != unix.SIGTERM {
		return fmt.Errorf("after SIGTERM: wait status %#x, %v", ws, err)
	}
	var out bytes.Buffer
	out.WriteString("ok\n")
	os.Stdout.Write(out.Bytes())
	return nil
}

func helperExecThread(m string) error {
	fd, err := unix.Open(m+"/e", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	unix.Write(fd, []byte("inherited\n"))
	unix.Seek(fd, 0, 0)
	cl, err := unix.Open(m+"/c", unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	script := fmt.Sprintf("cat <&%d; if [ -e /proc/self/fd/%d ]; then echo close-on-exec fd kept; else echo exec ok; fi", fd, cl)
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: exec from this thread
		if unix.Gettid() == unix.Getpid() {
			errc <- errors.New("the goroutine runs on the main thread")
			return
		}
		errc <- unix.Exec("/bin/sh", []string{"sh", "-c", script}, os.Environ())
	}()
	return <-errc
}
