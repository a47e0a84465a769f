package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// pjdfstestArchive is the suite's source, beside the repository in
// shared/third_party (see its README); FSSHIM_PJDFSTEST names another copy.
func pjdfstestArchive() string {
	if p := os.Getenv("FSSHIM_PJDFSTEST"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "shared", "third_party", "pjdfstest-85a8aea.tar.gz")
}

// skipUnlessCI skips the test with the reason, except under CI (CI=true),
// where everything must run: there the reason fails it.
func skipUnlessCI(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI runs every test: .ci/run installs what it needs)", reason)
	}
	t.Skip(reason)
}

// pjdJobs is how many test files prove runs at once (prove -j). Most of
// the suite's time is spent in sleep(1) between calls whose times it
// compares, so files run side by side; each file makes its own names in
// the directory, and the native run checks that the counts stay those of
// a serial run.
const pjdJobs = 8

// pjdCounts are the counts of one run, from prove's verbose output (TAP).
type pjdCounts struct {
	pass     int      // "ok N", not TODO or SKIP
	fail     []string // "not ok N ...", not TODO: the lines
	todoFail int      // "not ok N # TODO": expected failures
	todoPass int      // "ok N # TODO"
	skip     int      // "ok N # SKIP"
	planned  int      // the sum of the files' plans ("1..N")
	files    int      // plans seen
	summary  string   // prove's "Files=..., Tests=..." line
}

var (
	tapLine = regexp.MustCompile(`^(not )?ok \d+`)
	tapPlan = regexp.MustCompile(`^1\.\.(\d+)`)
)

// parsePjd counts the TAP lines of a `prove -v` run.
func parsePjd(out string) pjdCounts {
	var c pjdCounts
	for _, l := range strings.Split(out, "\n") {
		if m := tapPlan.FindStringSubmatch(l); m != nil {
			var n int
			fmt.Sscan(m[1], &n)
			c.planned += n
			c.files++
			continue
		}
		if strings.HasPrefix(l, "Files=") {
			c.summary = l
			continue
		}
		m := tapLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		notOK := m[1] != ""
		_, directive, _ := strings.Cut(l, " # ")
		directive = strings.ToUpper(directive)
		switch {
		case strings.HasPrefix(directive, "TODO") && notOK:
			c.todoFail++
		case strings.HasPrefix(directive, "TODO"):
			c.todoPass++
		case strings.HasPrefix(directive, "SKIP"):
			c.skip++
		case notOK:
			c.fail = append(c.fail, l)
		default:
			c.pass++
		}
	}
	return c
}

func (c pjdCounts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d TODO failed, %d TODO passed, %d skipped; %d files planned %d (%s)",
		c.pass, len(c.fail), c.todoFail, c.todoPass, c.skip, c.files, c.planned, c.summary)
}

// buildPjdfstest unpacks and builds the suite in a temporary directory and
// returns the directory holding pjdfstest and tests/.
func buildPjdfstest(t *testing.T) string {
	t.Helper()
	archive, err := filepath.Abs(pjdfstestArchive())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(archive); err != nil {
		skipUnlessCI(t, fmt.Sprintf("pjdfstest's source is not there: %v", err))
	}
	for tool, pkg := range map[string]string{"autoreconf": "autoconf", "automake": "automake", "make": "make", "gcc": "gcc", "prove": "perl", "tar": "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipUnlessCI(t, fmt.Sprintf("%s is not installed (Debian package %s, see e2e/REQUIREMENTS)", tool, pkg))
		}
	}
	// The suite's files must be readable by the users its tests switch
	// to, and its directory searchable.
	dir, err := os.MkdirTemp("", "fsshim-pjdfstest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, step := range [][]string{
		{"tar", "-xzf", archive, "-C", dir},
		{"autoreconf", "-ifs"},
		{"./configure"},
		{"make", "pjdfstest"},
	} {
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building pjdfstest: %q: %v\n%s", step, err, out)
		}
	}
	return dir
}

// TestPjdfstest runs the POSIX file-system suite pjdfstest as its users
// do, from inside the directory under test: natively in a tmpfs directory,
// and under fsshim with that directory a --mount, for each transport, with
// the suite's configuration unchanged (it learns the file system type from
// `df -PT .`). fsshim must pass at least as many cases as the kernel does.
//
// The three runs go at once, each with prove -j pjdJobs (about two minutes
// in all on the project's machines).
func TestPjdfstest(t *testing.T) {
	if os.Geteuid() != 0 {
		skipUnlessCI(t, "pjdfstest needs root (it changes owners and switches users)")
	}
	requireTmpfs(t)
	src := buildPjdfstest(t)
	tests := filepath.Join(src, "tests")
	script := func(w string) []string {
		return []string{"sh", "-c", fmt.Sprintf("cd %s && prove -r -v -j%d %s", w, pjdJobs, tests)}
	}
	// Each leg takes about three minutes here; one still running well
	// after that is stuck, and what its processes wait for is shown.
	const timeout = 12 * time.Minute

	type leg struct {
		name  string
		res   result
		err   error
		took  time.Duration
		stuck string // the suite's processes shortly before the timeout
	}
	legs := []*leg{{name: "native"}}
	for _, tr := range transports {
		if tr == "forward" {
			// Under --data forward every close is routed, and under
			// unotify a routed call that a signal interrupts before
			// fsshim receives it fails EINTR without running (README,
			// Limits): a close that dash's SIGCHLD handler interrupts
			// leaves a pipe's write end open and the pipeline waits for
			// ever. The passthrough and ptrace legs run the suite.
			continue
		}
		requireTransport(t, tr)
		legs = append(legs, &leg{name: "fsshim-" + tr})
	}
	var checks []func()
	var wg sync.WaitGroup
	for _, l := range legs {
		var args []string
		if l.name == "native" {
			w := workDir(t)
			args = script(w)
		} else {
			w, check := mountDir(t)
			args = fsshimTransportArgs(strings.TrimPrefix(l.name, "fsshim-"), []string{w}, script(w)...)
			checks = append(checks, check)
		}
		wg.Add(1)
		done := make(chan struct{})
		go func() {
			defer wg.Done()
			defer close(done)
			start := time.Now()
			l.res, l.err = execute(proc{args: args, timeout: timeout})
			l.took = time.Since(start)
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-done:
			case <-time.After(timeout - time.Minute):
				l.stuck = suiteProcesses(tests)
			}
		}()
	}
	wg.Wait()
	for _, check := range checks {
		check()
	}

	counts := map[string]pjdCounts{}
	for _, l := range legs {
		if l.err != nil {
			t.Errorf("%s: %v\nthe suite's processes a minute before:\n%s", l.name, l.err, indent(l.stuck))
			continue
		}
		c := parsePjd(l.res.stdout)
		counts[l.name] = c
		t.Logf("%s: %v in %v", l.name, c, l.took.Round(time.Second))
	}
	nat, ok := counts["native"]
	if !ok {
		t.Fatal("no native counts to compare with")
	}
	// The suite as shipped: 238 files, 8798 cases. A native run that
	// ran far fewer went wrong (a missing tool, a conf that stopped).
	if nat.files < 230 || nat.planned < 8700 || nat.pass < 8500 {
		t.Fatalf("the native run is incomplete: %v\nstderr:\n%s", nat, indent(lastLines(legs[0].res.stderr, 30)))
	}
	for _, l := range legs[1:] {
		c, ok := counts[l.name]
		if !ok {
			continue
		}
		if c.pass < nat.pass || c.planned < nat.planned {
			t.Errorf("%s passed %d of %d planned cases, natively %d of %d\nits failures not failing natively:\n%s\nstderr:\n%s",
				l.name, c.pass, c.planned, nat.pass, nat.planned, indent(strings.Join(newFailures(c.fail, nat.fail), "\n")),
				indent(lastLines(l.res.stderr, 30)))
		}
	}
}

// newFailures returns the failure lines of got whose description (the
// call tried, without the random names and the case number) does not fail
// in base.
func newFailures(got, base []string) []string {
	key := func(l string) string {
		l = regexp.MustCompile(`^not ok \d+`).ReplaceAllString(l, "")
		return regexp.MustCompile(`pjdfstest_[0-9a-f]+`).ReplaceAllString(l, "NAME")
	}
	seen := map[string]bool{}
	for _, l := range base {
		seen[key(l)] = true
	}
	var out []string
	for _, l := range got {
		if !seen[key(l)] {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// suiteProcesses describes the processes running a file of the suite in
// dir and their descendants: pid, parent, command line, what the kernel
// says each waits in (wchan) and its fds, so that a stuck run shows who
// waits for whom (a pipe reader that holds the pipe's write end itself,
// say).
func suiteProcesses(dir string) string {
	type procInfo struct{ pid, ppid, cmd string }
	var all []procInfo
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
		stat, err2 := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || err2 != nil {
			continue
		}
		ppid := ""
		if _, rest, ok := strings.Cut(string(stat), ") "); ok {
			if f := strings.Fields(rest); len(f) > 1 {
				ppid = f[1]
			}
		}
		all = append(all, procInfo{pid, ppid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")})
	}
	in := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, p := range all {
			if !in[p.pid] && (strings.Contains(p.cmd, dir+"/") || in[p.ppid]) {
				in[p.pid], changed = true, true
			}
		}
	}
	var b strings.Builder
	for _, p := range all {
		if !in[p.pid] {
			continue
		}
		wchan, _ := os.ReadFile("/proc/" + p.pid + "/wchan")
		fmt.Fprintf(&b, "pid %s ppid %s wchan %s: %s\n", p.pid, p.ppid, wchan, p.cmd)
		fds, _ := os.ReadDir("/proc/" + p.pid + "/fd")
		for _, fd := range fds {
			f := "/proc/" + p.pid + "/fd/" + fd.Name()
			target, _ := os.Readlink(f)
			mode := ""
			if st, err := os.Lstat(f); err == nil {
				mode = st.Mode().Perm().String()
			}
			fmt.Fprintf(&b, "\tfd %s %s %s\n", fd.Name(), mode, target)
		}
	}
	return b.String()
}
