// Command fsshim runs an unmodified Linux program with its file syscalls
// under chosen directories answered from an in-memory file system.
//
//	fsshim [options] -- PROGRAM [ARGS...]
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	flag "github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/faults"
	"fsshim/lowerfs"
	"fsshim/persist"
	"fsshim/policy"
	"fsshim/ramfs"
	"fsshim/tracer"
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

// Exit codes of fsshim's own failures.
const (
	exitError      = 125
	exitCannotExec = 126
	exitNotFound   = 127
)

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
	saves       []string
	maxInodes   int64
	injects     []string
	data        string
}

func main() {
	if tracer.IsInitStage() {
		tracer.RunInitStage()
	}
	if tracer.IsProbe() {
		tracer.RunProbe()
	}
	if code, ok := subcommand(os.Args[1:]); ok { // bench.go
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("fsshim", flag.ContinueOnError)
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
	fs.StringVar(&o.data, "data", "passthrough", "where file data is served: passthrough (the program's fd is onto the file's data in kernel memory; the data calls are not intercepted) or forward (every file call goes to fsshim); ptrace uses forward")
	fs.BoolVar(&o.pin, "pin", false, "with --transport ptrace: run the program and fsshim's tracing thread on one CPU, so that no ptrace stop waits for a cross-CPU wake-up (the program sees one CPU)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(stderr, usageTail)
	}
	fs.SetInterspersed(false)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "fsshim: %v\nRun 'fsshim --help' for usage.\n", err)
		return exitError
	}
	errorf := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "fsshim: "+format+"\n", a...)
		return code
	}

	tr, err := policy.ParseTransport(o.transport)
	if err != nil {
		return errorf(exitError, "%v", err)
	}
	ttr := tracer.Unotify
	if tr == policy.Ptrace {
		ttr = tracer.Ptrace
	}
	if o.pin && ttr != tracer.Ptrace {
		return errorf(exitError, "--pin is for --transport ptrace (unotify hands over the CPU with synchronous wake-ups)")
	}
	capacity, err := defaultSize()
	if err != nil {
		return errorf(exitError, "%v", err)
	}
	if o.size != "" {
		capacity, err = parseSize(o.size)
		if err != nil {
			return errorf(exitError, "--size: %v", err)
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return errorf(exitError, "cannot find the current directory: %v", err)
	}
	var mounts []policy.Mount
	for _, v := range o.mounts {
		m, err := policy.ParseMountFlag(v, cwd)
		if err != nil {
			return errorf(exitError, "--mount %s: %v", v, err)
		}
		mounts = append(mounts, m)
	}
	overlays := map[string]bool{}
	for _, v := range o.overlays {
		p, err := overlayPath(v, cwd)
		if err != nil {
			return errorf(exitError, "--overlay %s: %v", v, err)
		}
		overlays[p] = true
		mounts = append(mounts, policy.Mount{Path: p})
	}
	if len(mounts) == 0 {
		p, err := overlayPath(cwd, cwd)
		if err != nil {
			return errorf(exitError, "cannot serve the current directory: %v", err)
		}
		if p == "/" {
			return errorf(exitError, "the current directory is /, which cannot be served from the ramfs; give --mount PATH or --overlay PATH")
		}
		overlays[p] = true
		mounts = []policy.Mount{{Path: p}}
	}
	table, err := policy.NewTable(mounts)
	if err != nil {
		return errorf(exitError, "%v", err)
	}
	saves, err := parseSaves(o.saves, cwd, table)
	if err != nil {
		return errorf(exitError, "--save %v", err)
	}
	var rules []faults.Rule
	for _, v := range o.injects {
		r, err := faults.Parse(v)
		if err != nil {
			return errorf(exitError, "--inject %s: %v", v, err)
		}
		rules = append(rules, r)
	}
	if o.maxInodes < 0 {
		return errorf(exitError, "--max-inodes must be 0 or more")
	}
	if o.dumpPolicy {
		s, err := policy.DumpFor(table, tr, dumpData(o.data, ttr))
		if err != nil {
			return errorf(exitError, "%v", err)
		}
		fmt.Print(s)
		for _, m := range table.Mounts() {
			if overlays[m.Path] {
				fmt.Printf("overlay: %s is served over the host directory of that path (read-only lower layer)\n", m.Path)
			}
		}
		return 0
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errorf(exitError, "no program given: fsshim [options] -- PROGRAM [ARGS...]")
	}
	prog, err := tracer.Resolve(rest[0])
	if err != nil {
		switch {
		case errors.Is(err, tracer.ErrNotFound):
			return errorf(exitNotFound, "%v (check the name and $PATH)", err)
		}
		return errorf(exitCannotExec, "%v", err)
	}
	data, err := planData(o.data, fs.Changed("data"), ttr, len(table.Mounts()), capacity, rules, stderr)
	if err != nil {
		return errorf(exitError, "%v", err)
	}
	defer data.close()
	filter, err := policy.ProgramFor(tr, data.mode, data.extra...)
	if err != nil {
		return errorf(exitError, "building the seccomp filter: %v", err)
	}

	var ems []*emul.Mount
	for i, m := range table.Mounts() {
		opt := ramfs.Options{Capacity: capacity, MaxInodes: o.maxInodes}
		if data.stores != nil {
			opt.Store = data.stores[i]
		}
		rfs := ramfs.New(opt)
		if overlays[m.Path] {
			lower, err := lowerfs.Open(m.Path)
			if err != nil {
				return errorf(exitError, "--overlay %s: %v", m.Path, err)
			}
			defer lower.Close()
			initRoot(rfs, m.Path)
			ems = append(ems, &emul.Mount{Path: m.Path, FS: rfs, Lower: lower, DataDev: data.dev(i), Placeholders: data.placeholders(i)})
			continue
		}
		if m.Source != "" {
			if err := preload(rfs, m, capacity); err != nil {
				return errorf(exitError, "%v", err)
			}
		} else {
			initRoot(rfs, m.Path)
		}
		ems = append(ems, &emul.Mount{Path: m.Path, FS: rfs, DataDev: data.dev(i), Placeholders: data.placeholders(i)})
	}
	k := emul.NewKernel(ems, tracer.ProcHost())
	defer giveBackMemory(ems)()
	// The unotify supervisor can give the program a host fd (ADDFD): an
	// overlay's lower files are then read in place. Under ptrace they are
	// copied up when opened.
	k.HostFDs = ttr == tracer.Unotify
	k.Passthrough = data.mode == policy.Passthrough
	// The host nodes behind FIFOs, devices and sockets in the mounts.
	defer k.Cleanup()
	var inject *faults.Set
	if len(rules) > 0 {
		inject = faults.NewSet(rules)
		k.Inject = inject
	}
	k.OnFault = func(msg string) { fmt.Fprintln(stderr, "fsshim:", msg) }

	var stats *tracer.Stats
	if o.stats || o.statsJSON != "" {
		stats = tracer.NewStats(syscallName)
		h, err := tracer.Calibrate(tracer.Options{Filter: filter, Kernel: emul.NewKernel(nil, tracer.ProcHost()),
			NoSyncWakeup: o.noSyncWake, Transport: ttr, Pin: o.pin})
		if err != nil {
			return errorf(exitError, "--stats: measuring the world switch: %v", err)
		}
		stats.Handoff = h
	}

	// The terminal's SIGINT and SIGQUIT reach the program directly; fsshim
	// outlives it to report. SIGTERM and SIGHUP are passed on.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	fwd := make(chan syscall.Signal, 4)
	go forwardSignals(sigs, fwd)

	if prof := os.Getenv("FSSHIM_CPUPROFILE"); prof != "" {
		// For finding where the supervisor's time goes.
		if f, err := os.Create(prof); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	start := time.Now()
	res, err := tracer.Run(tracer.Options{
		Program: tracer.Program{
			Path: prog, Argv: rest, Env: os.Environ(), Dir: cwd,
			Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
			Isolate: !o.noIsolation, Protect: protected(ems),
		},
		Filter:       filter,
		Kernel:       k,
		Stats:        stats,
		NoSyncWakeup: o.noSyncWake,
		Transport:    ttr,
		Pin:          o.pin,
		Forward:      fwd,
		Log:          func(m string) { fmt.Fprintln(stderr, "fsshim:", m) },
	})
	wall := time.Since(start)
	code := res.ExitCode
	if err != nil {
		fmt.Fprintf(stderr, "fsshim: %v\n", err)
		if res.State == nil {
			code = exitError
		}
	}
	// Whatever happened to the program, what it wrote is saved.
	for _, sv := range saves {
		err := sv.run(k, ems)
		if _, ok := err.(*persist.XattrError); ok {
			// Saved, data and all; only attributes the destination
			// refused are missing. A warning, not a failure.
			fmt.Fprintf(stderr, "fsshim: --save %s=%s: warning: %v\n", sv.mount, sv.dest, err)
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "fsshim: --save %s=%s failed, the previous copy is unchanged: %v\n", sv.mount, sv.dest, err)
			if code == 0 {
				code = exitError
			}
		}
	}
	if stats != nil {
		stats.Wall = wall
		rep := stats.Report()
		if inject != nil {
			rep.Injected = inject.Injected()
		}
		if o.stats {
			rep.WriteTable(stderr)
			data.writeUnrouted(stderr)
		}
		if o.statsJSON != "" {
			if err := writeJSON(o.statsJSON, rep); err != nil {
				fmt.Fprintf(stderr, "fsshim: --stats-json: %v\n", err)
				if code == 0 {
					code = exitError
				}
			}
		}
	}
	return code
}

// save is one --save: a mount and where its contents go when the program
// ends.
type save struct {
	mount, dest string
	tar, gz     bool
	guard       persist.Guard // checked again when saving
}

// parseSaves reads --save PATH=DEST values; PATH must be a mount.
func parseSaves(vals []string, cwd string, table *policy.Table) ([]save, error) {
	var out []save
	for _, v := range vals {
		p, dest, ok := strings.Cut(v, "=")
		if !ok || p == "" || dest == "" {
			return nil, fmt.Errorf("%s: want PATH=HOSTDIR or PATH=FILE.tar", v)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		p = filepath.Clean(p)
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(cwd, dest)
		}
		i, rel, ok := table.Match(p)
		if !ok || rel != "" {
			return nil, fmt.Errorf("%s: %s is not a --mount path", v, p)
		}
		m := table.Mounts()[i]
		if under(dest, m.Path) {
			return nil, fmt.Errorf("%s: the destination is inside the mount itself", v)
		}
		sv := save{mount: m.Path, dest: dest, guard: saveGuard(table)}
		if err := sv.guard.Check(dest); err != nil {
			return nil, fmt.Errorf("%s: %v", v, err)
		}
		switch {
		case strings.HasSuffix(dest, ".tar"):
			sv.tar = true
		case strings.HasSuffix(dest, ".tar.gz"), strings.HasSuffix(dest, ".tgz"):
			sv.tar, sv.gz = true, true
		}
		out = append(out, sv)
	}
	return out, nil
}

// overlayPath resolves an --overlay PATH (relative to cwd) to the absolute
// path of a host directory, symlinks resolved: the program's working
// directory is seen through /proc as that real path.
func overlayPath(v, cwd string) (string, error) {
	if v == "" {
		return "", errors.New("empty path")
	}
	p := v
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist (an overlay serves an existing host directory; use --mount for an empty one)", p)
		}
		return "", err
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", p)
	}
	return real, nil
}

func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

func (sv save) run(k *emul.Kernel, ems []*emul.Mount) error {
	for _, m := range ems {
		if m.Path != sv.mount {
			continue
		}
		if m.Lower != nil {
			// The save is of the merged view: the lower files the
			// program left alone are copied up first.
			if err := k.CopyUpAll(m); err != nil {
				if errors.Is(err, syscall.ENOSPC) {
					return fmt.Errorf("the merged view of overlay %s does not fit in --size", m.Path)
				}
				return fmt.Errorf("merging overlay %s: %w", m.Path, err)
			}
		}
		if sv.tar {
			return sv.guard.SaveTar(m.FS, m.FS.Root(), sv.dest, sv.gz)
		}
		return sv.guard.SaveDir(m.FS, m.FS.Root(), sv.dest)
	}
	return fmt.Errorf("no mount %s", sv.mount)
}

func forwardSignals(sigs <-chan os.Signal, fwd chan<- syscall.Signal) {
	for s := range sigs {
		if s == syscall.SIGTERM || s == syscall.SIGHUP || !terminalSentIt() {
			select {
			case fwd <- s.(syscall.Signal):
			default: // several pending already: the program gets those
			}
		}
	}
}

// protected lists the host directories the program must not change: each
// mount's path (where it exists on the host, the program's namespace makes
// it read-only) and each overlay's directory.
func protected(ems []*emul.Mount) []string {
	var ps []string
	for _, m := range ems {
		ps = append(ps, m.Path)
	}
	return ps
}

// terminalSentIt reports whether a SIGINT or SIGQUIT that fsshim got came
// from its controlling terminal to the whole foreground process group, in
// which case the program got it too and must not get it twice. One sent to
// fsshim alone (kill -INT) is passed on.
func terminalSentIt() bool {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

func writeJSON(path string, rep tracer.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syscallName(nr int) string {
	if r, ok := policy.Lookup(nr); ok {
		return r.Name
	}
	return ""
}

// preload copies m.Source into the ramfs, refusing up front when the host
// tree is larger than the capacity.
func preload(rfs *ramfs.FS, m policy.Mount, capacity int64) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("preloading %s: %v", m.Path, err)
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return fmt.Errorf("preloading %s: %s is neither a directory nor a tar archive", m.Path, m.Source)
	}
	if capacity > 0 && st.IsDir() {
		var total int64
		filepath.Walk(m.Source, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				total += fi.Size()
			}
			return nil
		})
		if total > capacity {
			return fmt.Errorf("preloading %s from %s needs %s but --size is %s; raise --size or give --mount PATH for an empty mount",
				m.Path, m.Source, human(total), human(capacity))
		}
	}
	if err := persist.Load(rfs, rfs.Root(), m.Source); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("preloading %s from %s: the ramfs is full (--size %s)", m.Path, m.Source, human(capacity))
		}
		return fmt.Errorf("preloading %s from %s: %v", m.Path, m.Source, err)
	}
	return nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10)
}

// parseSize reads "123", "64K", "512M", "2G" (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty size")
	}
	switch strings.ToUpper(t[len(t)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	}
	if mult != 1 {
		t = t[:len(t)-1]
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive size (examples: 1048576, 512K, 64M, 2G)", s)
	}
	if v > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v * mult, nil
}

// defaultSize is half of physical memory, as tmpfs defaults to.
func defaultSize() (int64, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0, fmt.Errorf("sysinfo: %v", err)
	}
	return int64(si.Totalram) * int64(si.Unit) / 2, nil
}

// initRoot gives an empty mount's root directory the owner, mode and times
// of the host directory it hides, or, where there is none, the invoking
// user as owner and mode 0755, so that the program may use it as it could
// the directory it expects.
func initRoot(rfs *ramfs.FS, path string) {
	root := rfs.Root()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		rfs.Chown(root, int64(st.Uid), int64(st.Gid))
		rfs.Chmod(root, st.Mode&0o7777)
		at, mt := time.Unix(st.Atim.Unix()), time.Unix(st.Mtim.Unix())
		rfs.SetTimes(root, &at, &mt)
		return
	}
	rfs.Chown(root, int64(os.Geteuid()), int64(os.Getegid()))
	rfs.Chmod(root, 0o755)
}
