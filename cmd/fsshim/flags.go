package main

import (
	"errors"
	"fmt"
	"io"

	flag "fsshim/internal/flags"
)

const usageHead = `fsshim runs a program with the file syscalls under the given mount paths
served from an in-memory file system (ramfs) held by fsshim, through a seccomp
filter (user notification, or ptrace with --transport ptrace). Paths outside
the mounts go to the host as usual. Forks, threads and execs of the program
are served too.

Usage:
  fsshim [options] -- PROGRAM [ARGS...]
  fsshim bench [postmark|micro] [flags]   native, unotify, ptrace and linked side by side
  fsshim postmark [--linked] [CFG]        PostMark in Go (raw syscalls, or linked in-process)

Options:
`

const usageTail = `
With no --mount and no --overlay, the current directory is served as an
overlay (--overlay .): its files are read in place, nothing is copied before
the program starts, and whatever the program changes lives in the ramfs.
Nothing is written back to the host: the host directory behind a mount or an
overlay is never changed (use --save to keep the result).

Exit status: the program's own; 128+N if it died of signal N; 125 for an
fsshim error, 126 if the program cannot be executed, 127 if it is not found.

Examples:
  fsshim --mount /data -- postmark cfg
  fsshim --stats -- sh -c 'mkdir -p w/x && echo hi > w/x/f && cat w/x/f'
  fsshim --overlay ~/src/proj -- make -C ~/src/proj
`

// options are the supervisor's flags as given, before any is checked.
type options struct {
	mounts      []string
	overlays    []string
	size        string
	stats       bool
	statsJSON   string
	dumpPolicy  bool
	transport   string
	noSyncWake  bool
	noIsolation bool
	pin         bool
	receivers   int
	saves       []string
	maxInodes   int64
	injects     []string
	data        string // --data, "passthrough" when not given
	dataSet     bool   // --data was given

	argv  []string // PROGRAM ARGS...
	usage func()   // prints the help text
}

// parseFlags reads the supervisor's flags. It reports false when fsshim is
// to stop at once with the code returned: after --help (0) or a flag it
// cannot read (exitError, with the reason on stderr).
func parseFlags(args []string, stderr io.Writer) (options, int, bool) {
	var o options
	fs := flag.NewFlagSet("fsshim")
	fs.SetOutput(stderr)
	fs.StringArrayVar(&o.mounts, "mount", nil, "serve `PATH` (or PATH=HOSTDIR, or PATH=FILE.tar[.gz], preloaded with a copy) from the ramfs; repeatable")
	fs.StringArrayVar(&o.overlays, "overlay", nil, "serve the host directory `PATH` as an overlay: reads fall through to it without copying, changes (copy-up, whiteouts) stay in the ramfs, the directory is never written; repeatable")
	fs.StringArrayVar(&o.saves, "save", nil, "when the program ends, write mount `PATH=HOSTDIR` (or PATH=FILE.tar[.gz]) to the host atomically; repeatable")
	fs.Int64Var(&o.maxInodes, "max-inodes", 0, "at most `N` inodes per mount (0: no limit); past it creating calls fail with ENOSPC")
	fs.StringArrayVar(&o.injects, "inject", nil, "fail calls on files in a mount: `SYSCALL:ERRNO[:WHEN]`, WHEN one or more of after=N, every=N, nth=N, path=GLOB (e.g. write:ENOSPC:after=100); repeatable")
	fs.StringVar(&o.size, "size", "", "ramfs capacity per mount in bytes, K/M/G suffixes allowed (default: half of physical memory); past it writes fail with ENOSPC")
	fs.BoolVar(&o.stats, "stats", false, "at exit, print per-syscall counts and handler / round-trip times on stderr")
	fs.StringVar(&o.statsJSON, "stats-json", "", "write the --stats figures as JSON to `FILE`")
	fs.BoolVar(&o.dumpPolicy, "dump-policy", false, "print the mount table, the routed syscalls and the BPF program, then exit")
	fs.StringVar(&o.transport, "transport", "unotify", "how syscalls reach fsshim: unotify (seccomp user notification) or ptrace (SECCOMP_RET_TRACE, fsshim as the tracer)")
	fs.BoolVar(&o.noSyncWake, "no-sync-wakeup", false, "do not ask the kernel for synchronous wake-ups (for measurements)")
	fs.BoolVar(&o.noIsolation, "no-isolation", false, "run the program without namespaces of its own: the host directories behind mounts are then guarded by fsshim's path checks alone (see README, Threat model)")
	fs.StringVar(&o.data, "data", "", "where file data is served, `MODE`: passthrough (the default: the program's fd is onto the file's data in kernel memory, the data calls are not intercepted) or forward (every file call goes to fsshim)")
	fs.BoolVar(&o.pin, "pin", false, "run the program and fsshim on one CPU, the one fsshim starts on, so that no hand-over between them waits for a cross-CPU wake-up (ptrace stops; under unotify, the installs of opened files); the program sees one CPU")
	fs.IntVar(&o.receivers, "receivers", 0, "with --transport unotify: serve at most `N` calls at once (0: one per two CPUs; past the first, a receiver starts only when a call is seen waiting while another is served)")
	o.usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(stderr, usageTail)
	}
	fs.Usage = o.usage
	fs.SetInterspersed(false)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, 0, false
		}
		fmt.Fprintf(stderr, "fsshim: %v\nRun 'fsshim --help' for usage.\n", err)
		return o, exitError, false
	}
	o.argv = fs.Args()
	o.dataSet = o.data != ""
	if !o.dataSet {
		o.data = "passthrough"
	}
	return o, 0, true
}
