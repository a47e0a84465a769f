package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"fsshim/bench"
	"fsshim/bench/micro"
	"fsshim/bench/postmark"
	"fsshim/bench/threads"
	flag "fsshim/internal/flags"
)

// subcommand runs fsshim's subcommands, which main dispatches before it
// parses the supervisor's flags: bench, postmark and the hidden
// bench-worker. It reports false when args name none of them.
func subcommand(args []string) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case "bench":
		return benchMain(args[1:], os.Stdout, os.Stderr), true
	case "postmark":
		return postmarkMain(args[1:], os.Stdin, os.Stdout, os.Stderr), true
	case "bench-worker":
		return bench.Worker(args[1:], os.Stdout, os.Stderr), true
	}
	return 0, false
}

const benchUsage = `fsshim bench runs the same work on every transport — native (the host
kernel), unotify (seccomp user notification), ptrace, linked (emul and ramfs
called in-process) — interleaved run by run, and prints the median, the range
and the ratio to native of each. unotify and ptrace run with the default data
path (passthrough: the kernel serves read and write); forward and
ptrace-forward are the same transports with --data forward (every file call
served by fsshim); unotify-pin and ptrace-pin are unotify and ptrace with
--pin (program and fsshim on one CPU).

Usage:
  fsshim bench [postmark|micro|threads|programs] [options]

Workloads:
  postmark  (default) PostMark (bench/postmark) on each transport, in
            transactions per second; with /usr/bin/postmark installed, Debian's
            PostMark too, natively and supervised, in wall time. Without
            --config, the built-in configuration:
              %s
  micro     one loop per operation, in ns/op:
              %s
  threads   thread scaling: 1, 2 and 4 (--threads) OS threads of one
            process doing independent file work in one mount, each in a
            directory of its own, in iterations per second of all threads
            together and as the ratio to the same transport's 1-thread
            figure. One iteration of one thread:
              %s
  programs  unmodified programs and memory, in wall time and MB:
              dd: %s (host-only I/O: no mount touched)
              untar: tar -xf of a tarball of --tree into the mount, then
                find, du -s and rm -r
              small-files: how far MemAvailable falls while --files files
                of %d B exist in the mount (fsshim's memory included)

Options:
`

func benchMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fsshim bench")
	fs.SetOutput(stderr)
	transports := fs.String("transports", strings.Join(bench.AllTransports, ","), "comma-separated `LIST` of transports to measure")
	config := fs.String("config", "", "PostMark configuration `FILE`: its settings, run once per run (its run/show lines are ignored); its locations are used as given, natively on the host (made if missing, removed after) and as ramfs mounts of the same paths elsewhere")
	runs := fs.Int("runs", 3, "`N` runs of every transport")
	jsonFile := fs.String("json", "", "write every run's raw numbers and the summary as JSON to `FILE`")
	plotFile := fs.String("plot", "", "draw the ladder chart to `FILE` (.png or .svg) with fsshim-chart, found beside fsshim or in $PATH")
	iters := fs.Int("iters", 0, fmt.Sprintf("micro: `N` iterations per op per run (default %d; getdents: N/20); threads: per thread per run (default %d)", bench.DefaultMicroIters, bench.DefaultThreadIters))
	threadList := fs.String("threads", "1,2,4", "threads: comma-separated `LIST` of thread counts")
	ops := fs.String("ops", "all", "micro: comma-separated `LIST` of ops")
	tree := fs.String("tree", bench.DefaultTree, "programs: the directory `DIR` whose tarball the untar row unpacks")
	files := fs.Int("files", bench.DefaultFiles, "programs: `N` small files for the small-files row")
	cpm := fs.String("c-postmark", "", "postmark: Debian's postmark `BINARY` (default /usr/bin/postmark when installed; - for none)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, benchUsage, bench.DescribeConfig(bench.DefaultPostmarkConfig()), strings.Join(micro.Names(), ", "), threads.Does,
			bench.DDCommand(), bench.SmallFileSize)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	errorf := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fsshim bench: "+format+"\n", a...)
		return 2
	}
	opt := bench.Options{Workload: bench.Postmark, Runs: *runs, Iters: *iters, CPostmark: *cpm, Tree: *tree, Files: *files, Progress: stderr}
	switch rest := fs.Args(); {
	case len(rest) == 1 && (rest[0] == bench.Postmark || rest[0] == bench.Micro || rest[0] == bench.Threads || rest[0] == bench.Programs):
		opt.Workload = rest[0]
	case len(rest) > 0:
		fs.Usage()
		return errorf("unknown workload %q", strings.Join(rest, " "))
	}
	if *runs < 1 {
		return errorf("--runs must be at least 1")
	}
	if *iters < 0 {
		return errorf("--iters must be at least 1")
	}
	if *files < 1 {
		return errorf("--files must be at least 1")
	}
	for _, t := range strings.Split(*transports, ",") {
		if t = strings.TrimSpace(t); t != "" {
			opt.Transports = append(opt.Transports, t)
		}
	}
	var err error
	if opt.Ops, err = micro.ParseOps(*ops); err != nil {
		return errorf("--ops: %v", err)
	}
	if opt.Threads, err = threads.ParseCounts(*threadList); err != nil {
		return errorf("--threads: %v", err)
	}
	opt.Config = bench.DefaultPostmarkConfig()
	opt.ConfigName = "built-in default"
	if *config != "" {
		f, err := os.Open(*config)
		if err != nil {
			return errorf("--config: %v", err)
		}
		opt.Config, _, err = postmark.ParseConfig(f)
		f.Close()
		if err != nil {
			return errorf("--config: %v", err)
		}
		opt.ConfigName = *config
	}
	rep, err := bench.Run(opt)
	if err != nil {
		return errorf("%v", err)
	}
	rep.WriteTable(stdout)
	code := 0
	if *jsonFile != "" {
		if err := rep.WriteJSON(*jsonFile); err != nil {
			fmt.Fprintf(stderr, "fsshim bench: --json: %v\n", err)
			code = 1
		}
	}
	if *plotFile != "" {
		if err := drawChart(rep, *jsonFile, *plotFile); err != nil { // chart.go
			fmt.Fprintf(stderr, "fsshim bench: --plot: %v\n", err)
			code = 1
		}
	}
	if len(rep.Errors) > 0 {
		code = 1
	}
	return code
}
