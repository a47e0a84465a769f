package tracer

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The calibration probe: fsshim re-executed under the same filter as a tiny
// target that times, from its own side, a routed syscall the supervisor
// answers at once (dup(-1): emul says "continue", the kernel says EBADF;
// routed under every transport and data mode, unlike close, which the
// passthrough data path leaves to the kernel).
// The target-side time minus the supervisor's own service time of the same
// calls is the kernel's hand-off: the world switch that --stats adds to
// every round trip.
const probeArg0 = "fsshim:probe"

const probeCalls = 3000

// probeCall is the syscall the probe times, with fd -1.
const probeCall = unix.SYS_DUP

// IsProbe reports whether this process is the calibration probe.
func IsProbe() bool { return len(os.Args) > 0 && os.Args[0] == probeArg0 }

// RunProbe times probeCalls routed calls and prints their median in ns.
func RunProbe() {
	d := make([]int64, probeCalls)
	for i := range d {
		t0 := time.Now()
		unix.Syscall(probeCall, ^uintptr(0), 0, 0)
		d[i] = int64(time.Since(t0))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	fmt.Println(d[len(d)/2])
	os.Exit(0)
}

// Calibrate runs the probe with opt's filter, kernel, transport and
// settings (its Program, Stats and Log are the probe's own) and returns the
// median hand-off cost per call (target-side round trip minus supervisor
// service time).
func Calibrate(opt Options) (time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	st := NewStats(nil)
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	opt.Program = Program{Path: self, Argv: []string{probeArg0}, Env: []string{}, Stdout: w, Stderr: os.Stderr}
	opt.Stats, opt.Log, opt.Started = st, func(string) {}, nil
	res, err := Run(opt)
	w.Close()
	text := <-out
	if err != nil {
		return 0, fmt.Errorf("calibration probe: %w", err)
	}
	if res.ExitCode != 0 {
		return 0, fmt.Errorf("calibration probe exited %d", res.ExitCode)
	}
	target, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("calibration probe said %q", text)
	}
	service := st.median(probeCall)
	h := time.Duration(target) - service
	if h < 0 {
		h = 0
	}
	return h, nil
}
