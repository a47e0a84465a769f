package threads

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/bench/fsys"
)

// TestRun runs the workload with 1, 2 and 4 threads on the host and on a
// linked ramfs and checks the counts, that every thread's files are in
// place afterwards (through the same Sys, so the linked ramfs is what is
// looked at), that nothing of the linked run reached the host, and that
// Remove leaves the directory empty.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		sys  func(dir string) (fsys.Sys, error)
	}{
		{"raw", func(string) (fsys.Sys, error) { return fsys.Raw{}, nil }},
		{"linked", func(dir string) (fsys.Sys, error) { return fsys.NewLinked([]string{dir}, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := tc.sys(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 2, 4} {
				const iters = 25
				r, err := Run(s, n, iters, dir)
				if err != nil {
					t.Fatalf("%d threads: %v", n, err)
				}
				if r.Threads != n || r.Iters != iters || r.Done != n*iters || r.Warmup != Warmup(iters) {
					t.Errorf("%d threads: result %+v, want %d done", n, r, n*iters)
				}
				if len(r.ThreadSec) != n || r.ElapsedSec <= 0 || r.IterPerSec <= 0 {
					t.Errorf("%d threads: times %+v", n, r)
				}
				for _, ts := range r.ThreadSec {
					if ts <= 0 || ts > r.ElapsedSec {
						t.Errorf("%d threads: a thread took %v of %v s", n, ts, r.ElapsedSec)
					}
				}
				for k := range n {
					if err := Check(s, dir, k, Warmup(iters)+iters); err != nil {
						t.Errorf("%d threads: %v", n, err)
					}
					// The check must be able to fail: one rename
					// fewer puts the file under the other name.
					if err := Check(s, dir, k, Warmup(iters)+iters-1); err == nil {
						t.Errorf("%d threads: Check accepted the state of one iteration earlier", n)
					}
				}
				if err := Check(s, dir, n, 1); err == nil {
					t.Errorf("%d threads: Check accepted a thread that never ran", n)
				}
				ents, _ := os.ReadDir(dir)
				if tc.name == "raw" && len(ents) != n {
					t.Errorf("%d threads: %d entries in %s, want %d", n, len(ents), dir, n)
				}
				if tc.name == "linked" && len(ents) != 0 {
					t.Errorf("the linked run made %d entries on the host", len(ents))
				}
				if err := Remove(s, n, dir); err != nil {
					t.Fatal(err)
				}
				var st unix.Stat_t
				if err := s.Stat(Dir(dir, 0), &st); !errors.Is(err, unix.ENOENT) {
					t.Errorf("after Remove: stat %s = %v, want ENOENT", Dir(dir, 0), err)
				}
			}
		})
	}
}

// failing fails the rename of one thread's directory at its nth call.
type failing struct {
	fsys.Sys
	dir   string
	n     int32
	calls atomic.Int32
}

func (f *failing) Rename(from, to string) error {
	if strings.HasPrefix(from, f.dir+"/") && f.calls.Add(1) == f.n {
		return unix.EIO
	}
	return f.Sys.Rename(from, to)
}

// TestRunErrors checks that a failing call in one thread, in the timed
// loop or in setup, fails the run and names the thread and the call.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	iters := 20
	// Thread 1 fails in its timed loop (after its warm-up's renames).
	f := &failing{Sys: fsys.Raw{}, dir: Dir(dir, 1), n: int32(Warmup(iters) + 6)} // the 6th timed rename
	_, err := Run(f, 2, iters, dir)
	if err == nil || !strings.Contains(err.Error(), "thread 1: iteration 5: rename") || !errors.Is(err, unix.EIO) {
		t.Errorf("Run = %v, want thread 1's rename error at iteration 5", err)
	}
	if strings.Contains(err.Error(), "thread 0") {
		t.Errorf("thread 0 did not fail but is named: %v", err)
	}
	if err := Remove(fsys.Raw{}, 2, dir); err != nil {
		t.Fatal(err)
	}

	// The same in the warm-up.
	f = &failing{Sys: fsys.Raw{}, dir: Dir(dir, 0), n: 1}
	if _, err := Run(f, 3, iters, dir); err == nil || !strings.Contains(err.Error(), "thread 0: setup: warm-up iteration 0: rename") {
		t.Errorf("Run = %v, want thread 0's warm-up error", err)
	}
	Remove(fsys.Raw{}, 3, dir)

	// A directory that cannot be made.
	missing := filepath.Join(dir, "missing")
	if _, err := Run(fsys.Raw{}, 2, iters, missing); err == nil || !strings.Contains(err.Error(), "thread 0: setup: mkdir "+missing+"/t0") {
		t.Errorf("Run in a missing directory = %v", err)
	}
	// Leftovers of an earlier run are refused, not reused.
	if err := os.Mkdir(Dir(dir, 1), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(fsys.Raw{}, 2, iters, dir); err == nil || !errors.Is(err, unix.EEXIST) {
		t.Errorf("Run over an existing t1 = %v, want EEXIST", err)
	}
	for _, bad := range [][2]int{{0, 1}, {MaxThreads + 1, 1}, {1, 0}} {
		if _, err := Run(fsys.Raw{}, bad[0], bad[1], dir); err == nil {
			t.Errorf("Run(%d threads, %d iterations) accepted", bad[0], bad[1])
		}
	}
}

func TestParseCounts(t *testing.T) {
	for in, want := range map[string][]int{"1,2,4": {1, 2, 4}, " 8 ": {8}, "4,1": {4, 1}} {
		got, err := ParseCounts(in)
		if err != nil || len(got) != len(want) {
			t.Errorf("ParseCounts(%q) = %v, %v; want %v", in, got, err, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("ParseCounts(%q) = %v, want %v", in, got, want)
			}
		}
	}
	for _, in := range []string{"", "0", "1,,2", "x", "1,2,1", "-1", "257", "2.5"} {
		if got, err := ParseCounts(in); err == nil {
			t.Errorf("ParseCounts(%q) = %v, want an error", in, got)
		}
	}
}
