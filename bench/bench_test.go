package bench

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fsshim/bench/postmark"
)

func TestDefaultPostmarkConfig(t *testing.T) {
	c := DefaultPostmarkConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := postmark.DefaultConfig()
	want.Number, want.Transactions, want.Subdirectories, want.Buffering = 1000, 5000, 10, false
	if !reflect.DeepEqual(c, want) {
		t.Errorf("DefaultPostmarkConfig() =\n%+v\nwant\n%+v", c, want)
	}
	if len(Locations(c)) != 0 {
		t.Errorf("the default has locations %v; the harness chooses them", Locations(c))
	}
	if got := DescribeConfig(c); got != "1000 files of 500–10000 B, 5000 transactions, 10 subdirectories, unbuffered I/O in 512/512 B blocks, seed 42" {
		t.Errorf("DescribeConfig = %q", got)
	}
}

// TestConfigTextRoundTrip checks that the configuration the harness
// writes for the workers and for Debian's postmark reads back as itself.
func TestConfigTextRoundTrip(t *testing.T) {
	for _, c := range []postmark.Config{
		DefaultPostmarkConfig(),
		func() postmark.Config {
			c := DefaultPostmarkConfig()
			c.Locations = []postmark.Location{{Path: "/a/b", Weight: 2}, {Path: "/c", Weight: 1}}
			c.Location = "/a/b"
			c.Size = [2]int64{4096, 4096}
			c.BiasRead, c.BiasCreate, c.Buffering, c.Subdirectories = -1, 3, true, 0
			c.Report, c.Seed, c.Read, c.Write = "terse", 7, 4096, 1024
			return c
		}(),
	} {
		text := ConfigText(c)
		got, cmds, err := postmark.ParseConfig(strings.NewReader(text))
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if !reflect.DeepEqual(cmds, []string{"run", "quit"}) {
			t.Errorf("commands %q, want run, quit", cmds)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of\n%s gave\n%+v\nwant\n%+v", text, got, c)
		}
	}
}

func sample(w, item, tr string, run int, v float64, unit string) Sample {
	return Sample{Workload: w, Item: item, Transport: tr, Run: run, Value: v, Unit: unit}
}

func TestSummarize(t *testing.T) {
	r := &Report{
		Workload: Postmark,
		Transports: []TransportStatus{
			{Name: Native, Available: true}, {Name: Unotify, Available: true},
			{Name: Ptrace, Reason: "no ptrace"}, {Name: Linked, Available: true},
		},
		Samples: []Sample{
			sample(Postmark, "", Native, 1, 1000, "tx/s"),
			sample(Postmark, "", Native, 2, 3000, "tx/s"),
			sample(Postmark, "", Native, 3, 2000, "tx/s"),
			sample(Postmark, "", Unotify, 1, 200, "tx/s"),
			sample(Postmark, "", Unotify, 2, 250, "tx/s"),
			sample(PostmarkC, "", Native, 1, 0.5, "s"),
			sample(PostmarkC, "", Unotify, 1, 2, "s"),
		},
		Errors: []RunError{{Workload: Postmark, Transport: Linked, Run: 1, Err: "boom\nmore"}},
	}
	rows := Summarize(r)
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8 (2 workload rows x 4 transports): %+v", len(rows), rows)
	}
	nat, uno, pt, lk := rows[0], rows[1], rows[2], rows[3]
	if nat.N != 3 || nat.Median != 2000 || nat.Min != 1000 || nat.Max != 3000 || nat.Ratio != 1 {
		t.Errorf("native row %+v", nat)
	}
	if uno.N != 2 || uno.Median != 225 || uno.Ratio != 2000.0/225 {
		t.Errorf("unotify row %+v (a rate: ratio is native/median)", uno)
	}
	if pt.N != 0 || !strings.HasPrefix(pt.Status, "unavailable") {
		t.Errorf("ptrace row %+v, want unavailable", pt)
	}
	if lk.N != 0 || lk.Status != "failed: boom" {
		t.Errorf("linked row %+v, want failed", lk)
	}
	cu, cl := rows[5], rows[7]
	if cu.Ratio != 4 || cu.HigherBetter {
		t.Errorf("C unotify row %+v (a time: ratio is median/native)", cu)
	}
	if !strings.HasPrefix(cl.Status, "n/a") {
		t.Errorf("C linked row %+v, want n/a", cl)
	}
}

func TestWriteTable(t *testing.T) {
	r := &Report{
		Workload:    Micro,
		Description: "micro-benchmarks: test",
		Runs:        2,
		Host:        Host{Kernel: "6.18", CPUs: 2, Go: "go1.26"},
		Transports: []TransportStatus{
			{Name: Native, Available: true}, {Name: Ptrace, Reason: "`fsshim --transport ptrace -- true` failed"},
			{Name: Linked, Available: true},
		},
		Samples: []Sample{
			sample(Micro, "bare", Native, 1, 150, "ns/op"),
			sample(Micro, "bare", Native, 2, 170, "ns/op"),
			sample(Micro, "bare", Linked, 1, 80.25, "ns/op"),
			sample(Micro, "bare", Linked, 2, 90.5, "ns/op"),
			sample(Micro, "stat", Native, 1, 1000, "ns/op"),
			sample(Micro, "stat", Linked, 1, 123456, "ns/op"),
		},
	}
	r.Rows = Summarize(r)
	var b strings.Builder
	r.WriteTable(&b)
	got := b.String()
	want := `micro-benchmarks: test
2 run(s) per transport, interleaved; host: Linux 6.18, 2 CPUs, go1.26

workload                    transport  runs  median        min – max  unit   × native
dup(-1)                     native        2     160        150 – 170  ns/op      1.00
                            ptrace     unavailable (see below)
syscall as a function call  linked        2    85.4      80.2 – 90.5  ns/op      0.53
stat                        native        1    1000      1000 – 1000  ns/op      1.00
                            ptrace     unavailable (see below)
                            linked        1  123456  123456 – 123456  ns/op       123
`
	if !strings.HasPrefix(got, want) {
		t.Errorf("table:\n%s\nwant it to start with:\n%s", got, want)
	}
	if !strings.Contains(got, "\nunavailable: ptrace: `fsshim --transport ptrace -- true` failed\n") {
		t.Errorf("table does not say why ptrace is unavailable:\n%s", got)
	}
}

func TestFormatRatio(t *testing.T) {
	for r, want := range map[float64]string{0: "–", 1: "1.00", 0.256: "0.26", 9.994: "9.99", 26.84: "26.8", 123.4: "123"} {
		if got := formatRatio(r); got != want {
			t.Errorf("formatRatio(%v) = %q, want %q", r, got, want)
		}
	}
}

// TestUnavailableTransport checks that a supervising transport whose
// probe fails is listed as unavailable, gets no job, and shows in the
// table and the JSON as such, never with a figure.
func TestUnavailableTransport(t *testing.T) {
	rep, err := Run(Options{
		Exe: "/nonexistent/fsshim", Workload: Micro, Transports: []string{Unotify, Ptrace}, Runs: 2,
		ScratchBase: t.TempDir(),
		probe: func(tr string) error {
			if tr == Ptrace {
				return errors.New("ptrace transport missing")
			}
			return errors.New("no seccomp")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []TransportStatus{{Name: Unotify, Reason: "no seccomp"}, {Name: Ptrace, Reason: "ptrace transport missing"}}
	if !reflect.DeepEqual(rep.Transports, want) {
		t.Errorf("transports %+v, want %+v", rep.Transports, want)
	}
	if len(rep.Samples) != 0 || len(rep.Errors) != 0 {
		t.Errorf("samples %v, errors %v: nothing should have run", rep.Samples, rep.Errors)
	}
	for _, row := range rep.Rows {
		if row.N != 0 || !strings.HasPrefix(row.Status, "unavailable") {
			t.Errorf("row %+v, want unavailable", row)
		}
	}
	js := filepath.Join(t.TempDir(), "r.json")
	if err := rep.WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	var back Report
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Transports, want) {
		t.Errorf("JSON transports %+v (%v), want %+v", back.Transports, err, want)
	}
}

// TestProbeFails runs the real probe against a stand-in fsshim that
// refuses the transport, as a build without ptrace does.
func TestProbeFails(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fsshim")
	script := "#!/bin/sh\necho 'fsshim: --transport ptrace is not available in this build' >&2\nexit 125\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	err := probe(exe, Ptrace, dir)
	if err == nil || !strings.Contains(err.Error(), "not available in this build") || !strings.Contains(err.Error(), "exit status 125") {
		t.Errorf("probe = %v, want the failure and its message", err)
	}
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := probe(ok, Ptrace, dir); err != nil {
		t.Errorf("probe of a working fsshim = %v", err)
	}
}

func TestParseResults(t *testing.T) {
	out := "noise\n" + ResultPrefix + `{"op":"stat","iters":3,"ns_per_op":12.5}` + "\nmore noise " + ResultPrefix + "x\n"
	ss, err := parseMicro(1)([]byte(out), 0, 1)
	if err != nil || len(ss) != 1 || ss[0].Item != "stat" || ss[0].Value != 12.5 || ss[0].Unit != "ns/op" {
		t.Fatalf("parseMicro = %+v, %v", ss, err)
	}
	if _, err := parseMicro(2)([]byte(out), 0, 1); err == nil {
		t.Error("parseMicro accepted a missing op")
	}
}

// TestThreadsSummary checks the threads rows: ordered by transport, then
// thread count; the scaling against the same transport's smallest count;
// the ratio to native at the same count; the scaling matrix and the
// table.
func TestThreadsSummary(t *testing.T) {
	r := &Report{
		Workload:    Threads,
		Description: "thread scaling: test",
		Runs:        2,
		Host:        Host{Kernel: "6.18", CPUs: 2, Go: "go1.26"},
		Threads:     []int{1, 2},
		Transports: []TransportStatus{
			{Name: Native, Available: true}, {Name: Unotify, Available: true},
			{Name: Ptrace, Reason: "no ptrace"}, {Name: Linked, Available: true},
		},
		Samples: []Sample{
			sample(Threads, "1", Native, 1, 1000, ThreadsUnit),
			sample(Threads, "2", Native, 1, 1900, ThreadsUnit),
			sample(Threads, "1", Native, 2, 1200, ThreadsUnit),
			sample(Threads, "2", Native, 2, 2100, ThreadsUnit),
			sample(Threads, "1", Unotify, 1, 100, ThreadsUnit),
			sample(Threads, "2", Unotify, 1, 160, ThreadsUnit),
		},
		Errors: []RunError{{Workload: Threads, Transport: Linked, Run: 1, Err: "2 threads: thread 1: iteration 3: rename: EIO"}},
	}
	r.Rows = Summarize(r)
	type want struct {
		tr               string
		n                int
		median, scaling  float64
		ratio            float64
		status           string
		higherBetterRate bool
	}
	wants := []want{
		{Native, 1, 1100, 1, 1, "", true},
		{Native, 2, 2000, 2000.0 / 1100, 1, "", true},
		{Unotify, 1, 100, 1, 11, "", true},
		{Unotify, 2, 160, 1.6, 12.5, "", true},
		{Ptrace, 1, 0, 0, 0, "unavailable (see below)", true},
		{Ptrace, 2, 0, 0, 0, "unavailable (see below)", true},
		{Linked, 1, 0, 0, 0, "failed: 2 threads: thread 1: iteration 3: rename: EIO", true},
		{Linked, 2, 0, 0, 0, "failed: 2 threads: thread 1: iteration 3: rename: EIO", true},
	}
	if len(r.Rows) != len(wants) {
		t.Fatalf("%d rows, want %d: %+v", len(r.Rows), len(wants), r.Rows)
	}
	for i, w := range wants {
		row := r.Rows[i]
		if row.Transport != w.tr || row.Threads != w.n || row.Median != w.median || row.Scaling != w.scaling ||
			row.Ratio != w.ratio || row.Status != w.status || row.HigherBetter != w.higherBetterRate || row.Unit != ThreadsUnit {
			t.Errorf("row %d: %+v, want %+v", i, row, w)
		}
	}
	r.LoadStart, r.LoadEnd = 0.4, 1.5
	var b strings.Builder
	r.WriteTable(&b)
	if got := b.String(); !strings.Contains(got, "; load average 0.40 at start, 1.50 at end\n") || strings.Contains(got, "Note: other work") {
		t.Errorf("table of a quiet machine:\n%s", got)
	}
	r.LoadStart = 3.25
	b.Reset()
	r.WriteTable(&b)
	got := b.String()
	for _, s := range []string{
		"Note: other work kept the machine busy (load 3.2 on 2 CPUs before the runs)",
		"thread scaling (median iter/s at N threads ÷ at 1 thread):\n" +
			"         1 thread  2 threads\n" +
			"native       1.00       1.82\n" +
			"unotify      1.00       1.60\n" +
			"ptrace          –          –  unavailable (see below)\n" +
			"linked          –          –  failed: 2 threads: thread 1: iteration 3: rename: EIO\n",
		"transport  threads  runs  median  unit    × 1 thread    min – max  × native\n" +
			"native           1     2    1100  iter/s        1.00  1000 – 1200      1.00\n" +
			"                 2     2    2000  iter/s        1.82  1900 – 2100      1.00\n" +
			"unotify          1     1     100  iter/s        1.00    100 – 100      11.0\n" +
			"                 2     1     160  iter/s        1.60    160 – 160      12.5\n" +
			"ptrace           1  unavailable (see below)\n",
		"One iteration of one thread: in the thread's own directory",
		"\nunavailable: ptrace: no ptrace\n",
	} {
		if !strings.Contains(got, s) {
			t.Errorf("table lacks\n%s\nin:\n%s", s, got)
		}
	}
}

// TestUntarCheck: the untar row's output is accepted only when find
// listed every entry of the tree and the directory it was unpacked in.
func TestUntarCheck(t *testing.T) {
	check := untarCheck(5)
	for out, ok := range map[string]bool{"6\n": true, "  6 \n": true, "5\n": false, "7\n": false, "": false, "six\n": false} {
		if err := check([]byte(out)); (err == nil) != ok {
			t.Errorf("output %q: %v, want accepted %v", out, err, ok)
		}
	}
}
