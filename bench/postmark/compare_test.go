package postmark

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// comparisons are configurations run by both Debian's postmark and Run;
// every count must agree. "@" is the run's own temporary directory.
var comparisons = []struct {
	name     string
	settings string
}{
	{"small", "set number 100\nset transactions 500\n"},
	{"subdirectories", "set number 200\nset transactions 1000\nset subdirectories 5\nset buffering false\n"},
	{"seed", "set number 150\nset transactions 800\nset seed 1234\n"},
	{"sizes-blocks", "set number 120\nset transactions 600\nset size 100 20000\nset read 1000\nset write 3000\nset buffering false\n"},
	{"big-blocks-buffered", "set number 80\nset transactions 400\nset size 1000 40000\nset read 9000\nset write 5000\n"},
	{"bias", "set number 300\nset transactions 400\nset bias read 2\nset bias create 3\nset seed 7\n"},
	{"bias-extremes", "set number 100\nset transactions 300\nset bias read 10\nset bias create 10\nset buffering false\n"},
	{"no-create-delete", "set number 50\nset transactions 300\nset bias create -1\nset bias read 0\nset size 200 3000\n"},
	{"fixed-size", "set number 100\nset transactions 300\nset size 2000\nset write 333\nset read 777\n"},
	{"weighted-locations", "set location @/a\nset location +@/b 3\nset location +@/c 2\nset subdirectories 3\nset number 150\nset transactions 500\nset seed 99\n"},
}

func TestCountsMatchPostmark(t *testing.T) {
	needPostmark(t)
	for _, tc := range comparisons {
		t.Run(tc.name, func(t *testing.T) {
			// Debian's postmark: a verbose and a terse run of the same
			// configuration (each run reseeds, so both are the same run).
			cdir := t.TempDir()
			out := runC(t, withDir(t, tc.settings, cdir)+"set report verbose\nrun\nset report terse\nrun\nquit\n")
			want, err := parseVerbose(out)
			if err != nil {
				t.Fatal(err)
			}
			terse, err := parseTerse(out)
			if err != nil {
				t.Fatal(err)
			}

			// The Go run, in a directory of its own.
			gdir := t.TempDir()
			text := withDir(t, tc.settings, gdir)
			cfg, cmds, err := ParseConfig(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			if len(cmds) != 0 {
				t.Fatalf("commands %q", cmds)
			}
			res, err := Run(Raw{}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var rep bytes.Buffer
			res.Report(&rep, cfg)
			got, err := parseVerbose(rep.String())
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("report counts differ\n  go: %+v\npostmark: %+v", got, want)
			}
			if c := countsOf(res, cfg); c != want {
				t.Errorf("Result differs from postmark\n  go: %+v\npostmark: %+v", c, want)
			}
			if res.Transactions != cfg.Transactions {
				t.Errorf("transactions %d, want %d", res.Transactions, cfg.Transactions)
			}
			nloc := max(1, len(cfg.locations()))
			wantDirs := 0
			if cfg.Subdirectories > 1 {
				wantDirs = cfg.Subdirectories * nloc
				if !strings.Contains(out, "Creating subdirectories...Done") {
					t.Errorf("postmark made no subdirectories")
				}
			}
			if res.Subdirectories != wantDirs {
				t.Errorf("subdirectories %d, want %d", res.Subdirectories, wantDirs)
			}

			// The terse report prints (float)bytes/elapsed with two decimals,
			// elapsed being whole seconds (at least 1): the same single-
			// precision division of Run's byte totals must print the same,
			// and with a one-second run those are the exact byte totals.
			rf, wf := res.dataTotals()
			el := float32(terse[0])
			for i, v := range []float64{rf, wf} {
				if g, w := fmt.Sprintf("%.2f", float32(v)/el), fmt.Sprintf("%.2f", terse[11+i]); g != w {
					t.Errorf("terse bytes field %d: go %s, postmark %s (elapsed %v s)", 12+i, g, w, el)
				}
			}
			if terse[0] == 1 && rf < 1<<24 && (int64(terse[11]) != res.BytesRead || int64(terse[12]) != res.BytesWritten) {
				t.Errorf("exact bytes read/written: go %d/%d, postmark %v/%v", res.BytesRead, res.BytesWritten, terse[11], terse[12])
			}
			t.Logf("%+v bytes %d/%d", got, res.BytesRead, res.BytesWritten)

			// PostMark removes everything it made.
			var keep []string
			for _, l := range cfg.locations() {
				keep = append(keep, l.Path)
			}
			assertEmpty(t, gdir, keep...)
			assertEmpty(t, cdir, strings.Split(strings.ReplaceAll(strings.Join(keep, "\n"), gdir, cdir), "\n")...)
		})
	}
}

// With too few files for the transactions PostMark stops, says so, and
// prints no report; Run returns ErrOutOfFiles after cleaning up.
func TestOutOfFilesMatchesPostmark(t *testing.T) {
	needPostmark(t)
	settings := "set number 10\nset transactions 500\nset bias create 0\n"
	out := runC(t, withDir(t, settings, t.TempDir())+"run\nquit\n")
	if !strings.Contains(out, "out of files!") || strings.Contains(out, "Time:") {
		t.Fatalf("postmark output:\n%s", out)
	}
	dir := t.TempDir()
	cfg, _, err := ParseConfig(strings.NewReader(withDir(t, settings, dir)))
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res, err := RunProgress(Raw{}, cfg, &progress)
	if !errors.Is(err, ErrOutOfFiles) {
		t.Fatalf("err = %v, want ErrOutOfFiles", err)
	}
	if res.Transactions >= cfg.Transactions || res.Created != res.Deleted {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(progress.String(), "out of files!") {
		t.Errorf("progress: %q", progress.String())
	}
	assertEmpty(t, dir)
}

// The source text and the first file sizes for seed 42, size 500..5000,
// as Debian's postmark writes them (read off its strace).
func TestGeneratorMatchesPostmark(t *testing.T) {
	g := newMT(42)
	src := make([]byte, 10000)
	for i := range src {
		src[i] = byte(32 + g.rnd(95))
	}
	if want := "LeZebJ6S5~qPv$C$py}hmKd H58nM4~."; string(src[:len(want)]) != want {
		t.Errorf("source starts %q, want %q", src[:len(want)], want)
	}
	if want := "KDIbi>%L^u%*$D'*;G;y}#9ur[!US]=o"; string(src[4096:4096+len(want)]) != want {
		t.Errorf("source at 4096 is %q, want %q", src[4096:4096+len(want)], want)
	}
	var sizes []int64
	for range 3 {
		sizes = append(sizes, 500+g.rnd(4500))
	}
	if fmt.Sprint(sizes) != "[2915 4320 508]" {
		t.Errorf("first sizes %v, want [2915 4320 508]", sizes)
	}
	if g.rnd(0) != 0 || g.rnd(-3) != 0 {
		t.Error("RND of x <= 0 must be 0")
	}
}

func TestRunLeavesLocationEmpty(t *testing.T) {
	for _, buffered := range []bool{true, false} {
		dir := t.TempDir()
		cfg := DefaultConfig()
		cfg.Number, cfg.Transactions, cfg.Subdirectories = 60, 300, 4
		cfg.Buffering = buffered
		cfg.Location = dir
		res, err := Run(Raw{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != res.Deleted || res.Created == 0 {
			t.Errorf("created %d deleted %d", res.Created, res.Deleted)
		}
		assertEmpty(t, dir)
	}
}

// Relative names with no location, as PostMark uses the current directory.
func TestRunRelativeNames(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg := DefaultConfig()
	cfg.Number, cfg.Transactions, cfg.Subdirectories = 20, 50, 2
	rec := &recFS{}
	if _, err := Run(rec, cfg); err != nil {
		t.Fatal(err)
	}
	for _, e := range rec.events {
		if strings.Contains(e, "/tmp") || strings.Contains(e, " /") {
			t.Fatalf("absolute path in %q", e)
		}
	}
	if rec.events[0] != "mkdir s0 700" {
		t.Errorf("first call %q", rec.events[0])
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("left %d entries", len(ents))
	}
}
