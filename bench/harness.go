package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/bench/micro"
	"fsshim/bench/postmark"
	"fsshim/bench/threads"
)

// Transports, in the order of the ladder.
const (
	Native  = "native"
	Unotify = "unotify"
	// UnotifyPin is unotify with --pin: program and fsshim on one CPU,
	// so no install of an opened file waits for a cross-CPU wake-up.
	UnotifyPin = "unotify-pin"
	Ptrace     = "ptrace"
	// PtracePin is ptrace with --pin: program and tracer on one CPU, so
	// no stop waits for a cross-CPU wake-up.
	PtracePin = "ptrace-pin"
	Linked    = "linked"
	// Forward is unotify with --data forward: every file call, data
	// calls included, served by fsshim (the default, passthrough, leaves
	// the data calls to the kernel).
	Forward = "forward"
	// PtraceForward is ptrace with --data forward, the ptrace rung of
	// "every file call forwarded".
	PtraceForward = "ptrace-forward"
	// GVisor is a peer: gVisor's runsc (ptrace platform as installed,
	// its in-memory root overlay) running the same work, when installed.
	GVisor = "gvisor"
)

// AllTransports is the default transport list.
var AllTransports = []string{Native, Unotify, UnotifyPin, Forward, Ptrace, PtracePin, PtraceForward, Linked, GVisor}

// supervised reports whether t runs the work under fsshim or a peer.
func supervised(t string) bool {
	return t == Unotify || t == UnotifyPin || t == Forward || t == Ptrace || t == PtracePin || t == PtraceForward || t == GVisor
}

// gvisorArgv runs argv under runsc with its in-memory root overlay. The
// sandbox sees the host's files through that overlay, except under /dev,
// which is its own (its /dev/shm an empty tmpfs): a script run first
// makes the directories dirs there and copies in the files of argv that
// lie under /dev (the harness's scratch files, such as a PostMark
// configuration), so the work runs on gVisor's tmpfs at the same paths.
func gvisorArgv(dirs, argv []string) []string {
	const script = `while [ "$1" != -- ]; do mkdir -p "$1" || exit 125; shift; done; shift
while [ "$1" != -- ]; do mkdir -p "$(dirname "$1")" && printf %s "$2" > "$1" || exit 125; shift 2; done; shift
exec "$@"`
	a := []string{"runsc", "--network=none", "--ignore-cgroups", "do", "sh", "-c", script, "sh"}
	a = append(append(a, dirs...), "--")
	for _, f := range argv {
		if !strings.HasPrefix(f, "/dev/") {
			continue
		}
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			if b, err := os.ReadFile(f); err == nil {
				a = append(a, f, string(b))
			}
		}
	}
	a = append(a, "--")
	return append(a, argv...)
}

// Workloads and the rows of their tables.
const (
	Postmark  = "postmark"   // bench/postmark, Go
	PostmarkC = "postmark-c" // Debian's /usr/bin/postmark
	Micro     = "micro"
	Threads   = "threads" // bench/threads: thread scaling in one mount
	// Programs is dd, untar and small files (programs.go); its rows are
	// ProgDD, ProgUntar and ProgFiles.
	Programs = "programs"
)

// ThreadsUnit is the threads workload's figure: timed iterations of all
// threads together per second.
const ThreadsUnit = "iter/s"

// DefaultThreads are the threads workload's default thread counts.
var DefaultThreads = []int{1, 2, 4}

// DefaultThreadIters is the threads workload's default iteration count
// per thread.
const DefaultThreadIters = 2000

// DefaultCPostmark is where Debian installs PostMark.
const DefaultCPostmark = "/usr/bin/postmark"

// Options says what Run measures.
type Options struct {
	// Exe is the fsshim binary whose bench-worker mode does the work and
	// whose supervisor serves the supervised transports.
	Exe string
	// Workload is Postmark, Micro or Threads.
	Workload string
	// Transports to measure; empty means AllTransports.
	Transports []string
	// Runs of every transport (interleaved: run 1 of each, then run 2...).
	Runs int
	// Config is the PostMark configuration. Relative locations are taken
	// against the current directory; without a location the harness uses
	// a fresh directory under its scratch directory.
	Config postmark.Config
	// ConfigName is where Config came from, for the record.
	ConfigName string
	// CPostmark is Debian's postmark binary; "" means DefaultCPostmark if
	// it exists, "-" means none.
	CPostmark string
	// Iters is the micro-benchmarks' iteration count per op, or the
	// threads workload's per thread; 0 means the workload's default.
	Iters int
	// Threads are the threads workload's thread counts (measured in
	// ascending order); empty means DefaultThreads.
	Threads []int
	// Ops are the micro-benchmarks to run; empty means micro.Ops.
	Ops []micro.Op
	// Tree is the directory the programs workload's untar row unpacks
	// (a tarball of it); "" means DefaultTree.
	Tree string
	// Files is the programs workload's count of small files; 0 means
	// DefaultFiles.
	Files int
	// ScratchBase is the directory under which the harness makes its
	// scratch directory; "" means /dev/shm (a tmpfs) or else $TMPDIR.
	ScratchBase string
	// Progress receives progress (a bar on a terminal, else lines); nil
	// means none.
	Progress io.Writer
	// Timeout bounds one run; 0 means 10 minutes.
	Timeout time.Duration
	// probe, if set, replaces the availability check of supervising
	// transports (tests).
	probe func(transport string) error
}

// TransportStatus says whether a transport could be measured.
type TransportStatus struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
}

// Sample is one measurement of one run.
type Sample struct {
	Workload  string  `json:"workload"`
	Item      string  `json:"item,omitempty"` // the micro op
	Transport string  `json:"transport"`
	Run       int     `json:"run"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	// WallSec is the wall time of the whole child process, start-up of
	// the supervisor included.
	WallSec float64 `json:"wall_s"`
	// Raw is the worker's own report (PostMark counts and phase times;
	// the micro op's iteration count).
	Raw json.RawMessage `json:"raw,omitempty"`
}

// RunError is a run that failed.
type RunError struct {
	Workload  string `json:"workload"`
	Transport string `json:"transport"`
	Run       int    `json:"run"`
	Err       string `json:"error"`
}

// Host describes the machine.
type Host struct {
	Kernel string `json:"kernel"`
	CPUs   int    `json:"cpus"`
	Go     string `json:"go"`
}

// Report is everything a Run measured.
type Report struct {
	Workload    string           `json:"workload"`
	Started     time.Time        `json:"started"`
	Host        Host             `json:"host"`
	Runs        int              `json:"runs"`
	Description string           `json:"description"`
	ConfigName  string           `json:"config_name,omitempty"`
	Config      *postmark.Config `json:"postmark_config,omitempty"`
	ConfigText  string           `json:"postmark_config_text,omitempty"`
	Iters       int              `json:"micro_iters,omitempty"`
	Ops         []string         `json:"micro_ops,omitempty"`
	Threads     []int            `json:"threads,omitempty"`
	ThreadIters int              `json:"thread_iters,omitempty"`
	Tree        string           `json:"tree,omitempty"`
	Files       int              `json:"files,omitempty"`
	// LoadStart and LoadEnd are the host's 1-minute load average when
	// the runs began and ended (0: unknown): other work on the machine
	// takes CPUs from the runs, which matters most to thread scaling.
	LoadStart  float64           `json:"load_start,omitempty"`
	LoadEnd    float64           `json:"load_end,omitempty"`
	Transports []TransportStatus `json:"transports"`
	Samples    []Sample          `json:"samples"`
	Errors     []RunError        `json:"errors,omitempty"`
	Rows       []Row             `json:"summary"`
}

// job is one (workload row, transport) pair: the command of a run and
// how to read its output.
type job struct {
	workload, transport string
	argv                []string
	mounts              []string // host paths a supervising transport serves
	parse               func(out []byte, wall time.Duration, run int) ([]Sample, error)
}

// Run measures opt.Workload on every transport and returns the report.
// A transport that cannot run is listed as unavailable; a run that fails
// is recorded in Report.Errors and its transport's later runs of that
// workload are skipped. Run fails only when nothing could be set up.
func Run(opt Options) (*Report, error) {
	if opt.Runs < 1 {
		opt.Runs = 1
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Minute
	}
	if len(opt.Transports) == 0 {
		opt.Transports = AllTransports
	}
	for _, t := range opt.Transports {
		if !slices.Contains(AllTransports, t) {
			return nil, fmt.Errorf("unknown transport %q (have: %s)", t, strings.Join(AllTransports, ", "))
		}
	}
	if opt.Workload != Postmark && opt.Workload != Micro && opt.Workload != Threads && opt.Workload != Programs {
		return nil, fmt.Errorf("unknown workload %q (have: postmark, micro, threads, programs)", opt.Workload)
	}
	if opt.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opt.Exe = exe
	}
	base := opt.ScratchBase
	if base == "" {
		base = os.TempDir()
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && unix.Access("/dev/shm", unix.W_OK) == nil {
			base = "/dev/shm"
		}
	}
	work, err := os.MkdirTemp(base, "fsshim-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	rep := &Report{Workload: opt.Workload, Started: time.Now(), Host: host(), Runs: opt.Runs, ConfigName: opt.ConfigName}
	if opt.probe == nil {
		opt.probe = func(t string) error { return probe(opt.Exe, t, work) }
	}
	avail := map[string]bool{}
	for _, t := range opt.Transports {
		st := TransportStatus{Name: t, Available: true}
		if supervised(t) {
			if err := opt.probe(t); err != nil {
				st = TransportStatus{Name: t, Reason: err.Error()}
			}
		}
		avail[t] = st.Available
		rep.Transports = append(rep.Transports, st)
	}

	var jobs []job
	var cleanups []string
	switch opt.Workload {
	case Postmark:
		jobs, cleanups, err = postmarkJobs(&opt, rep, work, avail)
	case Micro:
		jobs, err = microJobs(&opt, rep, work, avail)
	case Threads:
		jobs, err = threadsJobs(&opt, rep, work, avail)
	case Programs:
		jobs, err = programsJobs(&opt, rep, work, avail) // programs.go
	}
	defer func() {
		// Deepest first.
		slices.SortFunc(cleanups, func(a, b string) int { return len(b) - len(a) })
		for _, d := range cleanups {
			os.Remove(d)
		}
	}()
	if err != nil {
		return nil, err
	}

	rep.LoadStart = loadAvg()
	prog := newProgress(opt.Progress, opt.Runs*len(jobs))
	failed := map[int]bool{}
	for run := 1; run <= opt.Runs; run++ {
		for i, j := range jobs {
			desc := fmt.Sprintf("run %d/%d %s %s", run, opt.Runs, j.workload, j.transport)
			if failed[i] {
				prog.done(desc, "skipped (an earlier run failed)")
				continue
			}
			prog.start(desc)
			ss, err := runJob(opt, j, run)
			if err != nil {
				failed[i] = true
				rep.Errors = append(rep.Errors, RunError{Workload: j.workload, Transport: j.transport, Run: run, Err: err.Error()})
				prog.done(desc, "FAILED: "+firstLine(err.Error()))
				continue
			}
			rep.Samples = append(rep.Samples, ss...)
			prog.done(desc, summarizeSamples(ss))
		}
	}
	prog.finish()
	rep.LoadEnd = loadAvg()
	rep.Rows = Summarize(rep)
	return rep, nil
}

// probe checks that fsshim can run `true` under a supervising transport.
func probe(exe, transport, work string) error {
	dir := filepath.Join(work, "probe-"+transport)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append([]string{exe}, transportArgs(transport)...)
	argv = append(argv, "--mount", dir, "--", "true")
	if transport == GVisor {
		if _, err := exec.LookPath("runsc"); err != nil {
			return errors.New("runsc (gVisor) is not installed")
		}
		argv = gvisorArgv([]string{dir}, []string{"true"})
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = work
	if transport == GVisor {
		cmd.Dir = "/" // the sandbox starts in the caller's directory, which it may not have
	}
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if msg != "" {
			msg = ": " + lastLine(msg)
		}
		return fmt.Errorf("`fsshim --transport %s -- true` failed (%v)%s", transport, err, msg)
	}
	return nil
}

// transportArgs are fsshim's flags for a supervising transport.
func transportArgs(transport string) []string {
	switch transport {
	case UnotifyPin:
		return []string{"--transport", Unotify, "--pin"}
	case PtracePin:
		return []string{"--transport", Ptrace, "--pin"}
	case Forward:
		return []string{"--transport", Unotify, "--data", "forward"}
	case PtraceForward:
		return []string{"--transport", Ptrace, "--data", "forward"}
	}
	return []string{"--transport", transport}
}

// supervise wraps argv in fsshim with the transport and mounts.
func supervise(exe, transport string, mounts []string, argv []string) []string {
	if transport == GVisor {
		return gvisorArgv(mounts, argv) // its root overlay holds the work
	}
	a := append([]string{exe}, transportArgs(transport)...)
	for _, m := range mounts {
		a = append(a, "--mount", m)
	}
	a = append(a, "--")
	return append(a, argv...)
}

func postmarkJobs(opt *Options, rep *Report, work string, avail map[string]bool) ([]job, []string, error) {
	cfg := opt.Config
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, nil, err
	}
	locs := slices.Clone(Locations(cfg))
	if len(locs) == 0 {
		locs = []postmark.Location{{Path: filepath.Join(work, "pm"), Weight: 1}}
	}
	var mounts, created []string
	for i := range locs {
		p := locs[i].Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		p = filepath.Clean(p)
		locs[i].Path = p
		if p == "/" || strings.HasPrefix(work+"/", p+"/") {
			return nil, nil, fmt.Errorf("PostMark location %s holds the harness's own files (%s); choose a directory of its own", p, work)
		}
		if !slices.Contains(mounts, p) {
			mounts = append(mounts, p)
		}
		// Native runs need the directory; remember the ones made here
		// (parents first) to remove them at the end.
		var missing []string
		for d := p; ; d = filepath.Dir(d) {
			if _, err := os.Stat(d); err == nil || d == "/" {
				break
			}
			missing = append(missing, d)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, nil, err
		}
		created = append(created, missing...)
	}
	cfg.Locations, cfg.Location = locs, locs[0].Path
	text := ConfigText(cfg)
	cfgPath := filepath.Join(work, "postmark.cfg")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		return nil, created, err
	}
	rep.Config, rep.ConfigText = &cfg, text
	rep.Description = "PostMark: " + DescribeConfig(cfg)

	var jobs []job
	goArgv := []string{opt.Exe, "bench-worker", "postmark", cfgPath}
	for _, t := range opt.Transports {
		if !avail[t] {
			continue
		}
		j := job{workload: Postmark, transport: t, parse: parsePostmark}
		switch t {
		case Native:
			j.argv = goArgv
		case Linked:
			j.argv = []string{opt.Exe, "bench-worker", "postmark", "--linked", cfgPath}
			j.mounts = mounts
		default:
			j.argv = supervise(opt.Exe, t, mounts, goArgv)
			j.mounts = mounts
		}
		jobs = append(jobs, j)
	}
	cpm := opt.CPostmark
	if cpm == "" {
		if _, err := os.Stat(DefaultCPostmark); err == nil {
			cpm = DefaultCPostmark
		}
	}
	if cpm != "" && cpm != "-" {
		parse := parseCPostmark(cfg)
		for _, t := range opt.Transports {
			if !avail[t] || t == Linked {
				continue // a C program cannot be linked with emul
			}
			j := job{workload: PostmarkC, transport: t, parse: parse, argv: []string{cpm, cfgPath}}
			if t != Native {
				j.argv = supervise(opt.Exe, t, mounts, j.argv)
				j.mounts = mounts
			}
			jobs = append(jobs, j)
		}
	}
	return jobs, created, nil
}

func microJobs(opt *Options, rep *Report, work string, avail map[string]bool) ([]job, error) {
	if opt.Iters < 1 {
		opt.Iters = DefaultMicroIters
	}
	ops := opt.Ops
	if len(ops) == 0 {
		ops = micro.Ops
	}
	var names []string
	for _, o := range ops {
		names = append(names, o.Name)
	}
	dir := filepath.Join(work, "micro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	rep.Iters, rep.Ops = opt.Iters, names
	rep.Description = fmt.Sprintf("micro-benchmarks: %d iterations per op (getdents: %d), ns/op",
		opt.Iters, micro.Ops[len(micro.Ops)-1].Iterations(opt.Iters))
	args := []string{"bench-worker", "micro", strings.Join(names, ","), strconv.Itoa(opt.Iters), dir}
	return dirJobs(opt, avail, Micro, dir, args, parseMicro(len(ops))), nil
}

// dirJobs makes one job per available transport for a worker that works
// in dir (bench-worker WORKLOAD ... DIR): natively there, linked with
// --linked, and supervised with dir as the mount.
func dirJobs(opt *Options, avail map[string]bool, workload, dir string, args []string, parse func([]byte, time.Duration, int) ([]Sample, error)) []job {
	var jobs []job
	for _, t := range opt.Transports {
		if !avail[t] {
			continue
		}
		j := job{workload: workload, transport: t, parse: parse}
		w := append([]string{opt.Exe}, args...)
		switch t {
		case Native:
			j.argv = w
		case Linked:
			j.argv = append(w[:3:3], append([]string{"--linked"}, w[3:]...)...)
			j.mounts = []string{dir}
		default:
			j.argv = supervise(opt.Exe, t, []string{dir}, w)
			j.mounts = []string{dir}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// threadsJobs runs every thread count in one worker process per
// transport and run (bench-worker threads COUNTS ITERS DIR), so the
// transports are interleaved run by run as in the other workloads; each
// count's threads work in subdirectories of one directory, the mount of
// the supervised and linked runs.
func threadsJobs(opt *Options, rep *Report, work string, avail map[string]bool) ([]job, error) {
	if opt.Iters < 1 {
		opt.Iters = DefaultThreadIters
	}
	counts := slices.Clone(opt.Threads)
	if len(counts) == 0 {
		counts = slices.Clone(DefaultThreads)
	}
	slices.Sort(counts)
	var list []string
	for i, n := range counts {
		if n < 1 || n > threads.MaxThreads || i > 0 && counts[i-1] == n {
			return nil, fmt.Errorf("bad thread counts %v (each from 1 to %d, once)", opt.Threads, threads.MaxThreads)
		}
		list = append(list, strconv.Itoa(n))
	}
	dir := filepath.Join(work, "threads")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	rep.Threads, rep.ThreadIters = counts, opt.Iters
	rep.Description = fmt.Sprintf("thread scaling: %s threads in one mount, %d timed iterations per thread, %s",
		strings.Join(list, ", "), opt.Iters, ThreadsUnit)
	args := []string{"bench-worker", "threads", strings.Join(list, ","), strconv.Itoa(opt.Iters), dir}
	return dirJobs(opt, avail, Threads, dir, args, parseThreads(counts)), nil
}

// DefaultMicroIters is the micro-benchmarks' default iteration count.
const DefaultMicroIters = 5000

// runJob runs one job once. For transports that serve mounts, the host
// directories behind the mounts must come out unchanged: if they do not,
// the transport let the work through to the host and its figures would
// be native ones.
func runJob(opt Options, j job, run int) ([]Sample, error) {
	before := map[string][]string{}
	for _, m := range j.mounts {
		before[m] = listDir(m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opt.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, j.argv[0], j.argv[1:]...)
	if j.transport == GVisor {
		cmd.Dir = "/" // see probe
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v", opt.Timeout)
		}
		return nil, fmt.Errorf("%s: %v: %s", strings.Join(j.argv, " "), err, lastLines(msg, 3))
	}
	for _, m := range j.mounts {
		if after := listDir(m); !slices.Equal(before[m], after) {
			return nil, fmt.Errorf("the host directory %s changed under %s (%d entries before, %d after): the transport did not serve the mount", m, j.transport, len(before[m]), len(after))
		}
	}
	ss, err := j.parse(stdout.Bytes(), wall, run)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", strings.Join(j.argv, " "), err)
	}
	for i := range ss {
		ss[i].Workload, ss[i].Transport, ss[i].Run, ss[i].WallSec = j.workload, j.transport, run, wall.Seconds()
	}
	return ss, nil
}

func listDir(dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return []string{"(" + err.Error() + ")"}
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

// oneResult decodes the one result a worker printed into v and returns
// its JSON.
func oneResult(out []byte, v any) (json.RawMessage, error) {
	rs := parseResults(out)
	if len(rs) != 1 {
		return nil, fmt.Errorf("worker printed %d results, want 1", len(rs))
	}
	return rs[0], json.Unmarshal(rs[0], v)
}

func parsePostmark(out []byte, _ time.Duration, _ int) ([]Sample, error) {
	var r PostmarkResult
	raw, err := oneResult(out, &r)
	if err != nil {
		return nil, err
	}
	return []Sample{{Value: r.TxPerSec, Unit: "tx/s", Raw: raw}}, nil
}

var cCount = regexp.MustCompile(`(?m)^\s*(\d+) (created|deleted|read|appended) \(`)

// parseCPostmark checks the C program's report (it must have created
// and deleted the same files as the configuration asks) and takes the
// wall time of the process as its figure: PostMark 1.51 times in whole
// seconds.
func parseCPostmark(cfg postmark.Config) func([]byte, time.Duration, int) ([]Sample, error) {
	return func(out []byte, wall time.Duration, _ int) ([]Sample, error) {
		counts := map[string]int{}
		for _, m := range cCount.FindAllSubmatch(out, -1) {
			n, _ := strconv.Atoi(string(m[1]))
			counts[string(m[2])] = n
		}
		if counts["created"] < cfg.Number || counts["created"] != counts["deleted"] ||
			!bytes.Contains(out, fmt.Appendf(nil, "Creation alone: %d files", cfg.Number)) {
			return nil, fmt.Errorf("postmark's report is incomplete: %q", lastLines(string(out), 12))
		}
		raw, _ := json.Marshal(counts)
		return []Sample{{Value: wall.Seconds(), Unit: "s", Raw: raw}}, nil
	}
}

func parseMicro(nops int) func([]byte, time.Duration, int) ([]Sample, error) {
	return func(out []byte, _ time.Duration, _ int) ([]Sample, error) {
		rs := parseResults(out)
		if len(rs) != nops {
			return nil, fmt.Errorf("worker printed %d results, want %d", len(rs), nops)
		}
		var ss []Sample
		for _, b := range rs {
			var r micro.Result
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, err
			}
			ss = append(ss, Sample{Item: r.Op, Value: r.NsPerOp, Unit: "ns/op", Raw: b})
		}
		return ss, nil
	}
}

// parseThreads reads one result per thread count, in order, each with
// every iteration done.
func parseThreads(counts []int) func([]byte, time.Duration, int) ([]Sample, error) {
	return func(out []byte, _ time.Duration, _ int) ([]Sample, error) {
		rs := parseResults(out)
		if len(rs) != len(counts) {
			return nil, fmt.Errorf("worker printed %d results, want %d", len(rs), len(counts))
		}
		var ss []Sample
		for i, b := range rs {
			var r threads.Result
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, err
			}
			if r.Threads != counts[i] || r.Done != r.Threads*r.Iters || r.IterPerSec <= 0 {
				return nil, fmt.Errorf("result %d is for %d threads, %d of %d×%d iterations done, %v iter/s; want %d threads, all done",
					i+1, r.Threads, r.Done, r.Threads, r.Iters, r.IterPerSec, counts[i])
			}
			ss = append(ss, Sample{Item: strconv.Itoa(r.Threads), Value: r.IterPerSec, Unit: ThreadsUnit, Raw: b})
		}
		return ss, nil
	}
}

func summarizeSamples(ss []Sample) string {
	if len(ss) == 1 {
		return fmt.Sprintf("%s %s (%.2f s)", FormatValue(ss[0].Value, ss[0].Unit), ss[0].Unit, ss[0].WallSec)
	}
	var parts []string
	for _, s := range ss {
		if s.Workload == Threads {
			parts = append(parts, s.Item+" thr "+FormatValue(s.Value, s.Unit))
			continue
		}
		parts = append(parts, s.Item+" "+FormatValue(s.Value, s.Unit))
	}
	return strings.Join(parts, ", ") + " " + ss[0].Unit
}

func host() Host {
	h := Host{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return h
}

// loadAvg is the 1-minute load average from /proc/loadavg, or 0.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, _ := strconv.ParseFloat(f, 64)
	return v
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func lastLine(s string) string { return lastLines(s, 1) }

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}

// ReadJSON reads a report that WriteJSON wrote.
func ReadJSON(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a report of fsshim bench --json: %v", path, err)
	}
	return &r, nil
}

// WriteJSON writes the report, every sample included.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
