package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The integrity tests hammer the paths where a supervisor that answers
// with the wrong descriptor, or loses an answer to a signal, shows up as
// wrong data: many threads opening, writing and reading their own files,
// and many repetitions of one PostMark run. Each run is short; what finds
// a rare race is the number of runs and operations, so none of the counts
// below may shrink without a reason.

// TestIntegrityThreads runs the threaded programs that check every byte
// they read back, natively and under each transport.
func TestIntegrityThreads(t *testing.T) {
	okEnd := func(name string) func(string) error {
		return func(out string) error {
			if !strings.HasSuffix(out, "\nok\n") {
				return fmt.Errorf("%s did not end with ok", name)
			}
			return nil
		}
	}
	for _, c := range []progCase{
		{
			// 8 threads x 2000 x (create+truncate, write, reopen, read).
			name:    "c_threads_open",
			helpers: []string{"threads_open"},
			args:    func(w string) []string { return []string{helperBins["threads_open"], w, "2000"} },
			verify:  okEnd("threads_open"),
		},
		{
			// 8 threads x 250 x 2 files x (write, pwritev, lseek+write,
			// O_APPEND write and writev, read, pread, fstat).
			name:    "c_threads_rw",
			helpers: []string{"threads_rw"},
			args:    func(w string) []string { return []string{helperBins["threads_rw"], w, "250"} },
			verify:  okEnd("threads_rw"),
		},
		{
			// threads_open in 8 goroutines under a SIGURG storm.
			name:    "go_reopen_sigurg",
			helpers: []string{"goprog-reopen"},
			args:    func(w string) []string { return []string{helperBins["goprog-reopen"], w, "1000"} },
			verify:  okEnd("goprog-reopen"),
		},
	} {
		c.timeout = time.Minute
		runCase(t, c)
	}
}

// soakConfig is the PostMark configuration of TestIntegrityPostmarkSoak:
// 500 files in 10 subdirectories and 2500 transactions, about 4300 opens
// per run.
const soakConfig = `set location %s
set number 500
set transactions 2500
set subdirectories 10
set size 500 10000
set read 512
set write 512
set buffering false
set seed 42
run
quit
`

// soakRuns is how often each transport runs soakConfig; soakParallel runs
// go at a time.
var soakRuns = map[string]int{"unotify": 60, "ptrace": 20}

const soakParallel = 2

// postmarkCounts is the part of a bench-worker PostMark result that the
// seed fixes (the rest is timings).
type postmarkCounts struct {
	Transactions int   `json:"transactions"`
	Created      int   `json:"created"`
	Read         int   `json:"read"`
	Appended     int   `json:"appended"`
	Deleted      int   `json:"deleted"`
	BytesRead    int64 `json:"bytes_read"`
	BytesWritten int64 `json:"bytes_written"`
}

const benchResultPrefix = "fsshim-bench-result "

// parsePostmarkCounts reads the one result line of fsshim bench-worker
// postmark.
func parsePostmarkCounts(stdout string) (postmarkCounts, error) {
	var c postmarkCounts
	var lines []string
	for _, l := range strings.Split(stdout, "\n") {
		if s, ok := strings.CutPrefix(l, benchResultPrefix); ok {
			lines = append(lines, s)
		}
	}
	if len(lines) != 1 {
		return c, fmt.Errorf("%d result lines, want 1", len(lines))
	}
	if err := json.Unmarshal([]byte(lines[0]), &c); err != nil {
		return c, err
	}
	return c, nil
}

// TestIntegrityPostmarkSoak runs fsshim's own Go PostMark worker (fsshim
// bench-worker postmark) many times under each transport and compares the
// counts of every run with a native run of the same configuration on
// tmpfs. PostMark reads back what it wrote and stops at the first short
// read or failed call, so a descriptor mixed up once in some thousand
// opens fails the run.
func TestIntegrityPostmarkSoak(t *testing.T) {
	if fsshimBuildErr != "" {
		t.Fatalf("fsshim did not build:\n%s", fsshimBuildErr)
	}
	cfgDir := t.TempDir()
	writeCfg := func(name, location string) string {
		p := filepath.Join(cfgDir, name)
		if err := os.WriteFile(p, []byte(fmt.Sprintf(soakConfig, location)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	nw := workDir(t)
	nat, err := execute(proc{args: []string{fsshimBin, "bench-worker", "postmark", writeCfg("native.cfg", nw)}, timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want, err := parsePostmarkCounts(nat.stdout)
	if err != nil || nat.exit != 0 || want.Created == 0 || want.Created != want.Deleted || want.Transactions != 2500 {
		t.Fatalf("native run: exit %d, %+v, %v\nstdout:\n%s\nstderr:\n%s", nat.exit, want, err, indent(nat.stdout), indent(nat.stderr))
	}
	t.Logf("native: %+v in %v", want, nat.took.Round(time.Millisecond))

	for _, tr := range transports {
		t.Run("fsshim-"+tr, func(t *testing.T) {
			requireTransport(t, tr)
			runs := soakRuns[tr]
			type job struct {
				w, cfg    string
				checkHost func()
			}
			jobs := make([]job, runs)
			for i := range jobs {
				w, checkHost := mountDir(t)
				jobs[i] = job{w, writeCfg(fmt.Sprintf("%s-%02d.cfg", tr, i), w), checkHost}
			}
			failures := make([]string, runs)
			next := make(chan int)
			var wg sync.WaitGroup
			start := time.Now()
			for range soakParallel {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						j := jobs[i]
						r, err := execute(proc{args: fsshimTransportArgs(tr, []string{j.w}, fsshimBin, "bench-worker", "postmark", j.cfg), timeout: time.Minute})
						if err == nil && r.exit != 0 {
							err = fmt.Errorf("exit status %d", r.exit)
						}
						if err == nil {
							var got postmarkCounts
							got, err = parsePostmarkCounts(r.stdout)
							if err == nil && got != want {
								err = fmt.Errorf("counts %+v, natively %+v", got, want)
							}
						}
						if err != nil {
							failures[i] = fmt.Sprintf("run %d: %v\nstdout:\n%s\nstderr:\n%s", i, err, indent(r.stdout), indent(r.stderr))
						}
					}
				}()
			}
			for i := range jobs {
				next <- i
			}
			close(next)
			wg.Wait()
			for _, j := range jobs {
				j.checkHost()
			}
			failed := 0
			for _, f := range failures {
				if f != "" {
					failed++
					if failed <= 5 {
						t.Error(f)
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d runs under --transport %s failed", failed, runs, tr)
			}
			t.Logf("%d runs in %v", runs, time.Since(start).Round(time.Millisecond))
		})
	}
}
