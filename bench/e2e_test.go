package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"fsshim/bench/micro"
	"fsshim/bench/threads"
)

// buildFsshim builds ./cmd/fsshim into a temporary directory, with
// fsshim-chart beside it for --plot.
func buildFsshim(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds fsshim")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	dir := t.TempDir()
	out, err := exec.Command(goTool, "build", "-o", dir, "fsshim/cmd/fsshim", "fsshim/cmd/fsshim-chart").CombinedOutput()
	if err != nil {
		t.Fatalf("go build fsshim/cmd/fsshim fsshim/cmd/fsshim-chart: %v\n%s", err, out)
	}
	return filepath.Join(dir, "fsshim")
}

func runFsshim(t *testing.T, exe string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("fsshim %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, o.String(), e.String())
	}
	return o.String(), e.String()
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBenchEndToEnd runs `fsshim bench micro --runs 1` with a tiny
// iteration count, and a tiny `fsshim bench postmark`, and checks that
// every available transport produced a figure for every row, that native
// and linked are always available, and that the table and JSON agree.
func TestBenchEndToEnd(t *testing.T) {
	exe := buildFsshim(t)
	dir := t.TempDir()

	t.Run("micro", func(t *testing.T) {
		js := filepath.Join(dir, "micro.json")
		out, _ := runFsshim(t, exe, "bench", "micro", "--runs", "1", "--iters", "20", "--json", js)
		r := readReport(t, js)
		checkAllMeasured(t, r, len(micro.Ops))
		for _, o := range micro.Ops {
			if !strings.Contains(out, o.Title) {
				t.Errorf("table lacks %q:\n%s", o.Title, out)
			}
		}
	})

	t.Run("postmark", func(t *testing.T) {
		cfg := filepath.Join(dir, "tiny.cfg")
		if err := os.WriteFile(cfg, []byte("set number 50\nset transactions 100\nset subdirectories 3\nset buffering false\nrun\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		js := filepath.Join(dir, "pm.json")
		plot := filepath.Join(dir, "pm.svg")
		out, _ := runFsshim(t, exe, "bench", "--runs", "1", "--config", cfg, "--json", js, "--plot", plot)
		r := readReport(t, js)
		if r.Config == nil || r.Config.Number != 50 || r.Config.Transactions != 100 {
			t.Errorf("config in JSON: %+v", r.Config)
		}
		rows := 1
		if _, err := os.Stat(DefaultCPostmark); err == nil {
			rows = 2
		}
		checkAllMeasured(t, r, rows)
		if !regexp.MustCompile(`PostMark \(Go, bench/postmark\)\s+native\s+1\s+\d+`).MatchString(out) {
			t.Errorf("table lacks the native PostMark row:\n%s", out)
		}
		if st, err := os.Stat(plot); err != nil || st.Size() == 0 {
			t.Errorf("chart: %v", err)
		}
	})
}

// TestBenchThreadsEndToEnd runs `fsshim bench threads --runs 1` with a
// tiny iteration count on every transport and checks a figure per thread
// count from each available one, every iteration done, and the scaling
// in the table and the JSON.
func TestBenchThreadsEndToEnd(t *testing.T) {
	exe := buildFsshim(t)
	js := filepath.Join(t.TempDir(), "threads.json")
	out, _ := runFsshim(t, exe, "bench", "threads", "--runs", "1", "--iters", "20", "--threads", "2,1", "--json", js)
	r := readReport(t, js)
	checkAllMeasured(t, r, 2)
	if !reflect.DeepEqual(r.Threads, []int{1, 2}) || r.ThreadIters != 20 {
		t.Errorf("report's thread counts %v, iterations %d; want [1 2], 20", r.Threads, r.ThreadIters)
	}
	for _, s := range r.Samples {
		var res threads.Result
		if err := json.Unmarshal(s.Raw, &res); err != nil {
			t.Fatal(err)
		}
		if s.Item != strconv.Itoa(res.Threads) || res.Done != res.Threads*20 {
			t.Errorf("%s sample %s: %+v, want %s×20 iterations done", s.Transport, s.Item, res, s.Item)
		}
	}
	for _, row := range r.Rows {
		if row.N > 0 && (row.Scaling <= 0 || row.Threads == 1 && row.Scaling != 1) {
			t.Errorf("row %+v: scaling %v", row, row.Scaling)
		}
	}
	if !regexp.MustCompile(`(?m)^thread scaling .*\n\s+1 thread\s+2 threads\n(native|unotify)\s+1\.00\s+\d`).MatchString(out) {
		t.Errorf("table lacks the scaling matrix:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^linked\s+1\s+1\s+\d+\s+iter/s\s+1\.00\s`).MatchString(out) {
		t.Errorf("table lacks linked's 1-thread row:\n%s", out)
	}
}

// TestThreadsSupervised runs the threads worker under each supervising
// transport of fsshim, with the work's directory as a --mount, and checks
// that every thread count reports all its iterations done and that the
// host directory behind the mount is untouched. A transport this kernel
// or user cannot run is skipped with the reason.
func TestThreadsSupervised(t *testing.T) {
	exe := buildFsshim(t)
	for _, tr := range []string{Unotify, Forward, Ptrace, PtraceForward} {
		t.Run(tr, func(t *testing.T) {
			work := t.TempDir()
			if err := probe(exe, tr, work); err != nil {
				t.Skipf("%s cannot run here: %v", tr, err)
			}
			dir := filepath.Join(work, "mnt")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "host-file"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			const iters = 15
			argv := supervise(exe, tr, []string{dir}, []string{exe, "bench-worker", "threads", "1,2,4", strconv.Itoa(iters), dir})
			out, _ := runFsshim(t, argv[0], argv[1:]...)
			ss, err := parseThreads([]int{1, 2, 4})([]byte(out), 0, 1)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, s := range ss {
				var res threads.Result
				if err := json.Unmarshal(s.Raw, &res); err != nil {
					t.Fatal(err)
				}
				if res.Done != res.Threads*iters || len(res.ThreadSec) != res.Threads {
					t.Errorf("%s threads: %+v, want %d iterations done", s.Item, res, res.Threads*iters)
				}
			}
			if got := listDir(dir); !reflect.DeepEqual(got, []string{"host-file"}) {
				t.Errorf("host directory behind the mount holds %v after the run, want [host-file]", got)
			}
		})
	}
}

// checkAllMeasured checks that each available transport has a sample for
// each of the report's rows, and each unavailable one none.
func checkAllMeasured(t *testing.T, r Report, rowsPerTransport int) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Errorf("runs failed: %+v", r.Errors)
	}
	got := map[string]int{}
	for _, s := range r.Samples {
		// A memory figure is a difference of MemAvailable readings,
		// which other work on the machine moves too: any value is one.
		if s.Value <= 0 && s.Workload != ProgFiles {
			t.Errorf("sample %+v has no figure", s)
		}
		got[s.Transport]++
	}
	cRows := map[string]bool{} // rows of programs that cannot be linked
	for _, row := range r.Rows {
		if cProgram(row.Workload) {
			cRows[row.Workload] = true
		}
	}
	for _, tr := range r.Transports {
		switch {
		case (tr.Name == Native || tr.Name == Linked) && !tr.Available:
			t.Errorf("%s unavailable: %s", tr.Name, tr.Reason)
		case !tr.Available:
			t.Logf("%s unavailable: %s", tr.Name, tr.Reason)
			if got[tr.Name] != 0 {
				t.Errorf("unavailable %s has %d samples", tr.Name, got[tr.Name])
			}
		default:
			want := rowsPerTransport
			if tr.Name == Linked {
				want -= len(cRows)
			}
			if got[tr.Name] != want {
				t.Errorf("%s produced %d figures, want %d", tr.Name, got[tr.Name], want)
			}
		}
	}
}

// TestBenchProgramsEndToEnd runs `fsshim bench programs --runs 1` on a
// small tree and a few thousand files, natively, under unotify and
// linked: dd and untar on each transport but linked (whose row says why),
// small files on all three, each worker's report whole (find listed every
// entry of the tree; every file made), and the table's three rows.
func TestBenchProgramsEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar in PATH")
	}
	exe := buildFsshim(t)
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range []string{"a/x.h", "a/b/y.h", "c/z.h", "top.h"} {
		if err := os.WriteFile(filepath.Join(tree, f), bytes.Repeat([]byte{'#'}, 100*(i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a/x.h", filepath.Join(tree, "link.h")); err != nil {
		t.Fatal(err)
	}
	js := filepath.Join(dir, "programs.json")
	out, _ := runFsshim(t, exe, "bench", "programs", "--runs", "1", "--files", "2500", "--tree", tree,
		"--transports", "native,unotify,linked", "--json", js)
	r := readReport(t, js)
	checkAllMeasured(t, r, 3)
	if r.Files != 2500 || r.Tree != tree {
		t.Errorf("report's files %d, tree %q; want 2500, %q", r.Files, r.Tree, tree)
	}
	for _, s := range r.Samples {
		if s.Workload != ProgFiles {
			continue
		}
		var res SmallFilesResult
		if err := json.Unmarshal(s.Raw, &res); err != nil {
			t.Fatal(err)
		}
		if res.Files != 2500 || res.Size != SmallFileSize || res.AvailKB <= 0 {
			t.Errorf("%s small-files report %+v", s.Transport, res)
		}
	}
	for _, p := range programRows {
		if !strings.Contains(out, p.title) {
			t.Errorf("table lacks %q:\n%s", p.title, out)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+linked\s+n/a: a C program cannot be linked`).MatchString(out) {
		t.Errorf("table lacks linked's n/a rows:\n%s", out)
	}
}

// TestPostmarkCommand runs `fsshim postmark CFG` on the host and
// `fsshim postmark --linked CFG` in-process: the same report, counts and
// bytes equal, and the linked run leaves the host directory untouched.
func TestPostmarkCommand(t *testing.T) {
	exe := buildFsshim(t)
	dir := t.TempDir()
	loc := filepath.Join(dir, "loc")
	if err := os.Mkdir(loc, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "pm.cfg")
	if err := os.WriteFile(cfg, []byte("set location "+loc+"\nset number 40\nset transactions 200\nset subdirectories 2\nrun\nquit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The linked run's location does not exist on the host: had a call
	// reached the host, the run would fail.
	absent := filepath.Join(dir, "absent")
	lcfg := filepath.Join(dir, "linked.cfg")
	if err := os.WriteFile(lcfg, []byte("set location "+absent+"\nset number 40\nset transactions 200\nset subdirectories 2\nrun\nquit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	native, _ := runFsshim(t, exe, "postmark", cfg)
	linked, _ := runFsshim(t, exe, "postmark", "--linked", lcfg)
	if _, err := os.Stat(absent); !os.IsNotExist(err) {
		t.Errorf("the linked run made %s on the host (%v)", absent, err)
	}
	counts := func(s string) string {
		_, after, ok := strings.Cut(s, "\nFiles:\n")
		if !ok {
			t.Fatalf("no report in:\n%s", s)
		}
		return regexp.MustCompile(`\([0-9.]+ (per second|\w+ per second)\)`).ReplaceAllString(after, "")
	}
	if counts(native) != counts(linked) {
		t.Errorf("reports differ:\nnative:\n%s\nlinked:\n%s", native, linked)
	}
	if !strings.Contains(native, "Creation alone: 40 files") {
		t.Errorf("report:\n%s", native)
	}
	if es, _ := os.ReadDir(loc); len(es) != 0 {
		t.Errorf("%s holds %d entries after the native run", loc, len(es))
	}
}
