package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fsshim/bench/threads"
)

// TestThreadsWorkerArgs checks the threads worker's command line: the
// wrong number of arguments prints the usage (exit 2), bad values say
// which one is wrong (exit 1), and nothing is printed as a result.
func TestThreadsWorkerArgs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"threads"}, 2, "bench-worker threads [--linked] N ITERS DIR"},
		{[]string{"threads", "1,2", "10"}, 2, "usage"},
		{[]string{"threads", "1", "10", dir, "extra"}, 2, "usage"},
		{[]string{"threads", "--nope", "1", "10", dir}, 2, "usage"},
		{[]string{"threads", "0", "10", dir}, 1, `bad thread count "0"`},
		{[]string{"threads", "1,,2", "10", dir}, 1, `bad thread count ""`},
		{[]string{"threads", "2,2", "10", dir}, 1, "given twice"},
		{[]string{"threads", "1", "0", dir}, 1, `bad iteration count "0"`},
		{[]string{"threads", "1", "ten", dir}, 1, `bad iteration count "ten"`},
		{[]string{"threads", "2", "10", filepath.Join(dir, "missing")}, 1, "2 threads: thread 0: setup: mkdir " + filepath.Join(dir, "missing", "t0")},
	} {
		var out, errOut strings.Builder
		code := Worker(tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.msg) {
			t.Errorf("Worker(%q) = %d, stderr %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.msg)
		}
		if strings.Contains(out.String(), ResultPrefix) {
			t.Errorf("Worker(%q) printed a result: %q", tc.args, out.String())
		}
	}
}

// TestThreadsWorker runs the threads worker on the host and linked, with
// a tiny iteration count, and checks one result per thread count with
// N*ITERS iterations done, and that the directory is left as found (the
// linked run's directory does not even exist on the host).
func TestThreadsWorker(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		dir  string
	}{
		{"native", nil, dir},
		{"linked", []string{"--linked"}, filepath.Join(dir, "absent")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const iters = 30
			args := append([]string{"threads"}, tc.args...)
			args = append(args, "1,2,4", "30", tc.dir)
			var out, errOut strings.Builder
			if code := Worker(args, &out, &errOut); code != 0 {
				t.Fatalf("Worker(%q) = %d: %s", args, code, errOut.String())
			}
			rs := parseResults([]byte(out.String()))
			if len(rs) != 3 {
				t.Fatalf("%d results, want 3:\n%s", len(rs), out.String())
			}
			for i, n := range []int{1, 2, 4} {
				var r threads.Result
				if err := json.Unmarshal(rs[i], &r); err != nil {
					t.Fatal(err)
				}
				if r.Threads != n || r.Iters != iters || r.Done != n*iters || len(r.ThreadSec) != n || r.IterPerSec <= 0 {
					t.Errorf("result %d: %+v, want %d threads and %d iterations done", i, r, n, n*iters)
				}
			}
			ss, err := parseThreads([]int{1, 2, 4})([]byte(out.String()), 0, 1)
			if err != nil || len(ss) != 3 || ss[2].Item != "4" || ss[2].Unit != ThreadsUnit {
				t.Errorf("parseThreads = %+v, %v", ss, err)
			}
			ents, err := os.ReadDir(dir)
			if err != nil || len(ents) != 0 {
				t.Errorf("%s holds %d entries after the run (%v)", dir, len(ents), err)
			}
		})
	}
}
