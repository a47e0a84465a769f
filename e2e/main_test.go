// Package e2e runs real programs twice, once on the host kernel in a tmpfs
// directory (the oracle) and once under fsshim with the work directory
// inside a --mount, and compares what they print.
//
// Every test case has the subtests .../native and one fsshim leg per
// transport in transports (.../fsshim-unotify, .../fsshim-ptrace), so
//
//	go test ./e2e -run '//native'          runs every oracle leg
//	go test ./e2e -run '//fsshim'          runs every fsshim leg (oracles run too)
//	go test ./e2e -run '//fsshim-ptrace'   runs the fsshim legs of one transport
//
// The native legs must pass on any Linux machine with the tools listed in
// REQUIREMENTS. An fsshim leg fails (never skips) when ./cmd/fsshim does not
// build; it skips only when the kernel lacks the transport's seccomp action
// (user notification, or trace) or a tool is not installed, and says why.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Built once by TestMain.
var (
	binDir string // temporary directory holding every built binary

	fsshimBin      string
	fsshimBuildErr string // build output when ./cmd/fsshim did not build

	helperBins = map[string]string{} // name -> path: sysseq, the Go programs, the C programs in cprog
	helperErrs = map[string]string{} // name -> build output or skip reason
	helperSkip = map[string]bool{}   // the helper is missing for lack of a tool

	tmpfsBase    string // directory on a tmpfs where work directories go
	tmpfsSkip    string // why there is none
	tmpfsMounted bool   // TestMain mounted tmpfsBase itself
)

const tmpfsMagic = 0x01021994

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	binDir, err = os.MkdirTemp("", "fsshim-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// The _as_nobody cases run these binaries as another user.
	os.Chmod(binDir, 0o755)
	defer os.RemoveAll(binDir)
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}

	fsshimBin = filepath.Join(binDir, "fsshim")
	if out, err := goBuild(root, fsshimBin, "./cmd/fsshim"); err != nil {
		fsshimBuildErr = fmt.Sprintf("go build ./cmd/fsshim: %v\n%s", err, out)
	}
	for _, h := range []string{"sysseq", "goprog", "goprog-reopen"} {
		bin := filepath.Join(binDir, h)
		if out, err := goBuild(root, bin, "./e2e/"+h); err != nil {
			helperErrs[h] = fmt.Sprintf("go build ./e2e/%s: %v\n%s", h, err, out)
		} else {
			helperBins[h] = bin
		}
	}
	for _, c := range []string{"forkfd", "threads_open", "threads_rw", "fdtable", "reach", "routes", "sysroute"} {
		buildC(root, c)
	}

	setupTmpfs()
	code := m.Run()
	if tmpfsMounted {
		if err := unix.Unmount(tmpfsBase, unix.MNT_DETACH); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: unmount", tmpfsBase, err)
		}
		os.Remove(tmpfsBase)
	}
	return code
}

func goBuild(root, out, pkg string, flags ...string) ([]byte, error) {
	// go test puts its own toolchain first in PATH.
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, pkg)...)
	cmd.Dir = root
	return cmd.CombinedOutput()
}

// buildC compiles e2e/cprog/NAME.c into the helper NAME (with -pthread:
// some of the programs are threaded).
func buildC(root, name string) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		helperErrs[name] = "gcc is not installed (Debian package gcc, libc6-dev)"
		helperSkip[name] = true
		return
	}
	bin := filepath.Join(binDir, name)
	src := filepath.Join(root, "e2e", "cprog", name+".c")
	out, err := exec.Command(gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", "-o", bin, src).CombinedOutput()
	if err != nil {
		helperErrs[name] = fmt.Sprintf("gcc %s: %v\n%s", src, err, out)
		return
	}
	helperBins[name] = bin
}

// setupTmpfs picks the directory the work directories go under: /dev/shm
// when it is a tmpfs, else a tmpfs mounted here when running as root. As
// root the tmpfs must allow device nodes, as one mounted with default
// options does (a nodev /dev/shm would refuse to open the device a
// scenario makes, where fsshim's mount would not).
func setupTmpfs() {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic &&
		(st.Flags&unix.ST_NODEV == 0 || os.Geteuid() != 0) {
		tmpfsBase = "/dev/shm"
		return
	}
	if os.Geteuid() != 0 {
		tmpfsSkip = "/dev/shm is not a tmpfs and mounting one needs root"
		return
	}
	dir, err := os.MkdirTemp("", "fsshim-e2e-tmpfs-")
	if err != nil {
		tmpfsSkip = err.Error()
		return
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1g,mode=0755"); err != nil {
		tmpfsSkip = fmt.Sprintf("mount tmpfs on %s: %v", dir, err)
		os.Remove(dir)
		return
	}
	tmpfsBase, tmpfsMounted = dir, true
}

// requireHelper fails the test when a helper program did not build, or
// skips it when a tool needed to build it is not installed.
func requireHelper(t *testing.T, name string) string {
	t.Helper()
	if bin, ok := helperBins[name]; ok {
		return bin
	}
	if helperSkip[name] {
		t.Skip(helperErrs[name])
	}
	t.Fatalf("helper %s did not build:\n%s", name, helperErrs[name])
	return ""
}

// requireTool skips the test when a program is not installed.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (Debian package %s, see e2e/REQUIREMENTS)", name, pkg)
	}
	return p
}

// userNotifSupport reports why the kernel cannot run fsshim, or "".
func userNotifSupport() (skip string, fail string) {
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		return "seccomp filters are not available: " + err.Error(), ""
	}
	if strings.Contains(string(b), "user_notif") {
		return "", ""
	}
	// user_notif exists since Linux 5.0: missing on a newer kernel is a
	// configuration we do not understand, not a reason to pass quietly.
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		rel := unix.ByteSliceToString(u.Release[:])
		var major int
		fmt.Sscanf(rel, "%d", &major)
		if major >= 5 {
			return "", fmt.Sprintf("kernel %s should list user_notif in actions_avail, has %q", rel, strings.TrimSpace(string(b)))
		}
	}
	return "kernel lacks SECCOMP_RET_USER_NOTIF: actions_avail is " + strings.TrimSpace(string(b)), ""
}

// transports are the ways fsshim is run; runCase runs its fsshim leg once
// for each: the --transport values (with the default data path,
// passthrough), and "forward", unotify with --data forward (every file
// call served by fsshim). TestPrograms adds "ptrace-forward", ptrace with
// --data forward.
var transports = []string{"unotify", "ptrace", "forward"}

// requireTransport is requireFsshim for fsshim --transport tr.
func requireTransport(t *testing.T, tr string) {
	t.Helper()
	if tr == "unotify" || tr == "forward" {
		requireFsshim(t)
		return
	}
	if fsshimBuildErr != "" {
		t.Fatalf("fsshim did not build:\n%s", fsshimBuildErr)
	}
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	if err != nil {
		t.Skip("seccomp filters are not available: " + err.Error())
	}
	// SECCOMP_RET_TRACE exists since Linux 3.5: a kernel that lists
	// actions at all (4.14+) and lacks it is misconfigured.
	if !strings.Contains(string(b), "trace") {
		t.Fatalf("actions_avail lacks trace: %q", strings.TrimSpace(string(b)))
	}
}

// fsshimTransportArgs is fsshimArgs for fsshim --transport tr.
func fsshimTransportArgs(tr string, mounts []string, args ...string) []string {
	a := fsshimArgs(mounts, args...)
	return append(append([]string{a[0]}, transportFlags(tr)...), a[1:]...)
}

// transportFlags are fsshim's flags for the leg tr (see transports). The
// unotify leg runs with two receivers, so that calls that overlap (the
// threads and processes of a case) are served at once, as they are on a
// machine with more CPUs; the forward leg with the default.
func transportFlags(tr string) []string {
	switch tr {
	case "forward":
		return []string{"--transport", "unotify", "--data", "forward"}
	case "ptrace-forward":
		return []string{"--transport", "ptrace", "--data", "forward"}
	case "unotify":
		return []string{"--transport", "unotify", "--receivers", "2"}
	}
	return []string{"--transport", tr}
}

// requireFsshim fails the test when fsshim did not build and skips it when
// the kernel cannot run it.
func requireFsshim(t *testing.T) {
	t.Helper()
	if fsshimBuildErr != "" {
		t.Fatalf("fsshim did not build:\n%s", fsshimBuildErr)
	}
	skip, fail := userNotifSupport()
	if fail != "" {
		t.Fatal(fail)
	}
	if skip != "" {
		t.Skip(skip)
	}
}

func requireTmpfs(t *testing.T) {
	t.Helper()
	if tmpfsSkip != "" {
		t.Skip("no tmpfs for the native oracle: " + tmpfsSkip)
	}
}

// proc is one program run.
type proc struct {
	args    []string
	dir     string // the working directory; "" for the test's own
	stdin   string
	timeout time.Duration
	// uid, when not 0, runs the program as that user and group, with no
	// supplementary groups.
	uid int
}

// result is what a run printed and how it ended. exit is the status as a
// shell reports it: the exit code, or 128+N when killed by signal N; 127
// when the program was not found and 126 when it could not be executed
// (these two only for native runs, where no shell is in between).
type result struct {
	stdout, stderr string
	exit           int
	took           time.Duration
}

// testEnv is the environment of every program run: the test's own, with a
// fixed locale and time zone so that outputs compare.
func testEnv() []string {
	env := []string{"LC_ALL=C", "TZ=UTC", "LANG=C"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LC_ALL", "TZ", "LANG", "LANGUAGE", "GOFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// execute runs p in its own process group and kills the group when the
// timeout passes. The error reports problems of the harness (a timeout, a
// failure to start other than "not found" or "not executable").
func execute(p proc) (result, error) {
	if p.timeout == 0 {
		p.timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.args[0], p.args[1:]...)
	cmd.Env = testEnv()
	cmd.Dir = p.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p.uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(p.uid), Gid: uint32(p.uid), Groups: []uint32{}}
	}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(p.stdin)
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		return r, fmt.Errorf("%q timed out after %v\nstdout:\n%s\nstderr:\n%s", p.args, p.timeout, r.stdout, r.stderr)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.exit = 128 + int(ws.Signal())
		} else {
			r.exit = ws.ExitStatus()
		}
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		r.exit = 127
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ENOEXEC):
		r.exit = 126
	default:
		return r, fmt.Errorf("run %q: %v", p.args, err)
	}
	return r, nil
}

// fsshimArgs returns the command line that runs args under fsshim with the
// given mounts.
func fsshimArgs(mounts []string, args ...string) []string {
	cmd := []string{fsshimBin}
	for _, m := range mounts {
		cmd = append(cmd, "--mount", m)
	}
	return append(append(cmd, "--"), args...)
}

// runNative runs a program on the host and returns what it printed and its
// exit status.
func runNative(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	r, err := execute(proc{args: args})
	if err != nil {
		t.Fatal(err)
	}
	return r.stdout, r.stderr, r.exit
}

// runFsshim runs a program under fsshim with the given mounts and returns
// what it printed and the exit status fsshim reported.
func runFsshim(t *testing.T, mounts []string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	requireFsshim(t)
	r, err := execute(proc{args: fsshimArgs(mounts, args...)})
	if err != nil {
		t.Fatal(err)
	}
	return r.stdout, r.stderr, r.exit
}

// workDir makes a fresh directory <tmpfs>/fsshim-e2e-NNNNNNNNNN/w and
// returns its path. Every work directory path has the same length, so that
// sizes that depend on it (an absolute symlink's, a getcwd result) compare.
// The parent is removed when the test ends.
func workDir(t *testing.T) string {
	t.Helper()
	requireTmpfs(t)
	var parent string
	for i := 0; ; i++ {
		parent = filepath.Join(tmpfsBase, fmt.Sprintf("fsshim-e2e-%010d", rand.Uint32()))
		err := os.Mkdir(parent, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	w := filepath.Join(parent, "w")
	if err := os.Mkdir(w, 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// hostSentinel is a file placed in the host directory behind a --mount:
// fsshim must hide it (the mount starts empty) and must not touch it.
const hostSentinel = ".fsshim-e2e-host-only"

// mountDir makes the host directory for an fsshim leg: a fresh work
// directory holding only the sentinel file. It returns the path and a
// function that fails the test when anything under the directory's parent
// changed during the run.
func mountDir(t *testing.T) (string, func()) {
	t.Helper()
	w := workDir(t)
	if err := os.WriteFile(filepath.Join(w, hostSentinel), []byte("host side, must stay hidden\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Unix(1000000000, 0)
	for _, p := range []string{filepath.Join(w, hostSentinel), w} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, filepath.Dir(w))
	return w, func() {
		t.Helper()
		after := snapshot(t, filepath.Dir(w))
		if before != after {
			t.Errorf("the host directory behind --mount %s changed during the fsshim run\nbefore:\n%s\nafter:\n%s", w, before, after)
		}
	}
}

// snapshot describes every file under dir: names, types, modes, sizes,
// modification times and content hashes.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%s %v size=%d mtime=%d%s", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), attributes(p, fi))
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" sha256=%x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// attributes describes the extended attributes of p (names and values)
// and, for a regular file or directory, its inode flags (FS_IOC_GETFLAGS),
// for snapshot.
func attributes(p string, fi fs.FileInfo) string {
	var out strings.Builder
	if names, err := xattrNames(p); err == nil {
		for _, name := range names {
			v, err := xattrValue(p, name)
			if err != nil {
				fmt.Fprintf(&out, " xattr:%s=<%v>", name, err)
				continue
			}
			fmt.Fprintf(&out, " xattr:%s=%q", name, v)
		}
	}
	if fi.Mode().IsRegular() || fi.IsDir() {
		if fl, err := inodeFlags(p); err == nil {
			fmt.Fprintf(&out, " flags=%#x", fl)
		}
	}
	return out.String()
}

// xattrNames returns the names of p's extended attributes, sorted
// (llistxattr: a symlink's own).
func xattrNames(p string) ([]string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// xattrValue returns the value of p's extended attribute name.
func xattrValue(p, name string) ([]byte, error) {
	v := make([]byte, 64<<10)
	n, err := unix.Lgetxattr(p, name, v)
	if err != nil {
		return nil, err
	}
	return v[:n], nil
}

// inodeFlags returns the inode flags of the regular file or directory p
// (FS_IOC_GETFLAGS), not following a symlink.
func inodeFlags(p string) (uint32, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
}

// normalizeWork replaces the work directory w (and its parent) by $W and
// $P so that the outputs of the two legs compare.
func normalizeWork(s, w string) string {
	s = strings.ReplaceAll(s, w, "$W")
	return strings.ReplaceAll(s, filepath.Dir(w), "$P")
}

// firstDiff returns the 1-based number of the first line where a and b
// differ, with both lines, or 0 when they are equal.
func firstDiff(a, b string) (int, string, string) {
	if a == b {
		return 0, "", ""
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string = "<end of output>", "<end of output>"
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return i + 1, x, y
		}
	}
	return 0, "", ""
}

// indent prefixes every line of s for readable failure messages.
func indent(s string) string {
	if s == "" {
		return "\t<empty>"
	}
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}
