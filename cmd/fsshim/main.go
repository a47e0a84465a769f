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
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/faults"
	"fsshim/policy"
	"fsshim/tracer"
)

// Exit codes of fsshim's own failures.
const (
	exitError      = 125
	exitCannotExec = 126
	exitNotFound   = 127
)

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

// run is fsshim's supervisor: it reads the flags, builds the mounts, runs
// the program under the filter and, when the program has ended, saves and
// reports. It returns fsshim's exit status.
func run(args []string, stderr io.Writer) int {
	o, code, ok := parseFlags(args, stderr) // flags.go
	if !ok {
		return code
	}
	s, err := check(o) // setup.go
	if err != nil {
		return fail(stderr, exitError, err)
	}
	if s.dumpPolicy {
		return dumpPolicy(s, stderr)
	}
	prog, code, err := findProgram(s)
	if err != nil {
		return fail(stderr, code, err)
	}
	data, err := planData(s, stderr) // data.go
	if err != nil {
		return fail(stderr, exitError, err)
	}
	defer data.close()
	filter, err := policy.ProgramFor(s.transport, data.mode, data.extra...)
	if err != nil {
		return fail(stderr, exitError, fmt.Errorf("building the seccomp filter: %v", err))
	}
	ems, closeLowers, err := buildMounts(s, data) // mounts.go
	if err != nil {
		return fail(stderr, exitError, err)
	}
	defer closeLowers()
	k, inject := newKernel(s, ems, data, stderr)
	defer k.Cleanup()
	k.Passthrough = data.mode == policy.Passthrough
	defer giveBackMemory(ems)()
	stats, err := newStats(s, filter)
	if err != nil {
		return fail(stderr, exitError, fmt.Errorf("--stats: measuring the world switch: %v", err))
	}
	fwd, stopSignals := forwardSignals()
	defer stopSignals()
	stopProfile := startProfile()
	defer stopProfile()
	code, wall := supervise(tracer.Options{
		Program:      program(s, prog, ems),
		Filter:       filter,
		Kernel:       k,
		Stats:        stats,
		NoSyncWakeup: s.noSyncWake,
		Transport:    s.transport,
		Pin:          s.pin,
		Receivers:    s.receivers,
		Forward:      fwd,
		Log:          func(m string) { fmt.Fprintln(stderr, "fsshim:", m) },
	}, stderr)
	code = writeSaves(s.saves, k, ems, code, stderr) // save.go
	code = writeStats(s, stats, wall, inject, code, stderr)
	if stats != nil && s.stats {
		data.writeUnrouted(stderr)
	}
	return code
}

// fail reports err as fsshim's own failure and returns code.
func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "fsshim: %v\n", err)
	return code
}

// dumpPolicy is --dump-policy: the mount table, the routed syscalls and
// the filter on stdout.
func dumpPolicy(s *setup, stderr io.Writer) int {
	text, err := policy.DumpFor(s.table, s.transport, dumpData(s.data))
	if err != nil {
		return fail(stderr, exitError, err)
	}
	fmt.Print(text)
	for _, m := range s.table.Mounts() {
		if s.overlays[m.Path] {
			fmt.Printf("overlay: %s is served over the host directory of that path (read-only lower layer)\n", m.Path)
		}
	}
	return 0
}

// findProgram looks up the program to run; its errors come with the exit
// code the shell would give them.
func findProgram(s *setup) (string, int, error) {
	if len(s.argv) == 0 {
		s.usage()
		return "", exitError, errors.New("no program given: fsshim [options] -- PROGRAM [ARGS...]")
	}
	if inMount(s, s.argv[0]) {
		// Stored in a mount (a preloaded one): the exec finds it there
		// (emul/exec.go), and says so when it does not.
		return s.argv[0], 0, nil
	}
	prog, err := tracer.Resolve(s.argv[0])
	switch {
	case errors.Is(err, tracer.ErrNotFound):
		return "", exitNotFound, fmt.Errorf("%v (check the name and $PATH)", err)
	case err != nil:
		return "", exitCannotExec, err
	}
	return prog, 0, nil
}

// inMount reports whether the program path name (one with a slash) lies
// in a --mount (not an overlay) and is to be run from there: the host has
// not got it.
func inMount(s *setup, name string) bool {
	if !strings.Contains(name, "/") || s.noIsolation {
		return false
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(s.cwd, name)
	}
	i, _, ok := s.table.Match(filepath.Clean(name))
	// An overlay's programs are the host's until the program runs.
	return ok && !s.overlays[s.table.Mounts()[i].Path]
}

// program is the program to launch, with fsshim's own stdio, environment
// and working directory.
func program(s *setup, path string, ems []*emul.Mount) tracer.Program {
	return tracer.Program{
		Path: path, Argv: s.argv, Env: os.Environ(), Dir: s.cwd,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Isolate: !s.noIsolation, Protect: protected(ems),
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

// newStats starts the --stats figures, with the kernel's hand-off time
// measured by a calibration run under the same filter; nil without
// --stats or --stats-json.
func newStats(s *setup, filter []unix.SockFilter) (*tracer.Stats, error) {
	if !s.stats && s.statsJSON == "" {
		return nil, nil
	}
	stats := tracer.NewStats(syscallName)
	h, err := tracer.Calibrate(tracer.Options{Filter: filter, Kernel: emul.NewKernel(nil, tracer.ProcHost()),
		NoSyncWakeup: s.noSyncWake, Transport: s.transport, Pin: s.pin})
	if err != nil {
		return nil, err
	}
	stats.Handoff = h
	return stats, nil
}

func syscallName(nr int) string {
	if r, ok := policy.Lookup(nr); ok {
		return r.Name
	}
	return ""
}

// forwardSignals passes on to the program the signals it would not get
// otherwise. The terminal's SIGINT and SIGQUIT reach the program directly;
// fsshim outlives it to report. SIGTERM and SIGHUP are passed on. The
// returned func stops listening.
func forwardSignals() (<-chan syscall.Signal, func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	fwd := make(chan syscall.Signal, 4)
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGTERM || sig == syscall.SIGHUP || !terminalSentIt() {
				select {
				case fwd <- sig.(syscall.Signal):
				default: // several pending already: the program gets those
				}
			}
		}
	}()
	return fwd, func() { signal.Stop(sigs) }
}

// terminalSentIt reports whether a SIGINT or SIGQUIT that fsshim got came
// from its controlling terminal to the whole foreground process group, in
// which case the program got it too and must not get it twice. One sent to
// fsshim alone (kill -INT) is passed on.
func terminalSentIt() bool {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

// startProfile writes a CPU profile of the supervisor to the file
// $FSSHIM_CPUPROFILE names, for finding where its time goes. The returned
// func ends the profile.
func startProfile() func() {
	prof := os.Getenv("FSSHIM_CPUPROFILE")
	if prof == "" {
		return func() {}
	}
	f, err := os.Create(prof)
	if err != nil {
		return func() {}
	}
	pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// supervise runs the program under the filter until every process of it
// has ended. It returns the program's exit status, or exitError when
// fsshim could not run it, and the wall time.
func supervise(opt tracer.Options, stderr io.Writer) (int, time.Duration) {
	start := time.Now()
	res, err := tracer.Run(opt)
	wall := time.Since(start)
	code := res.ExitCode
	if err != nil {
		fmt.Fprintf(stderr, "fsshim: %v\n", err)
		if res.State == nil {
			code = exitError
		}
	}
	return code, wall
}

// writeStats prints the --stats table and writes the --stats-json file,
// and returns code, or exitError when the file could not be written and
// code was 0.
func writeStats(s *setup, stats *tracer.Stats, wall time.Duration, inject *faults.Set, code int, stderr io.Writer) int {
	if stats == nil {
		return code
	}
	stats.Wall = wall
	rep := stats.Report()
	if inject != nil {
		rep.Injected = inject.Injected()
	}
	if s.stats {
		rep.WriteTable(stderr)
	}
	if s.statsJSON != "" {
		if err := writeJSON(s.statsJSON, rep); err != nil {
			fmt.Fprintf(stderr, "fsshim: --stats-json: %v\n", err)
			if code == 0 {
				code = exitError
			}
		}
	}
	return code
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
