package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fsshim/bench"
)

// fakeChart puts an fsshim-chart into $PATH that runs script (sh) with
// the arguments fsshim passes.
func fakeChart(t *testing.T, script string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, chartCommand), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func benchReport() *bench.Report {
	return &bench.Report{Workload: bench.Micro, Description: "test", Runs: 7}
}

func TestDrawChart(t *testing.T) {
	dir := t.TempDir()
	args, copied := filepath.Join(dir, "args"), filepath.Join(dir, "copied.json")
	fakeChart(t, `cp "$1" "`+copied+`" && echo "$1" "$2" > "`+args+`"`)
	given := func() []string {
		b, err := os.ReadFile(args)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
	file := filepath.Join(dir, "c.png")
	if err := drawChart(benchReport(), "", file); err != nil {
		t.Fatal(err)
	}
	// Without --json the results go through a temporary file, removed
	// afterwards.
	a := given()
	if len(a) != 2 || a[1] != file {
		t.Fatalf("fsshim-chart was given %q, want RESULTS %s", a, file)
	}
	if r, err := bench.ReadJSON(copied); err != nil || r.Runs != 7 {
		t.Errorf("results given to fsshim-chart: %+v, %v", r, err)
	}
	if _, err := os.Stat(a[0]); err == nil {
		t.Errorf("temporary results %s left behind", a[0])
	}
	if _, err := os.Stat(file + ".json"); err == nil {
		t.Errorf("results left beside the chart although it was drawn")
	}

	// With --json (written already) that file is what the chart is drawn
	// from.
	js := filepath.Join(dir, "given.json")
	if err := benchReport().WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	if err := drawChart(benchReport(), js, file); err != nil {
		t.Fatal(err)
	}
	if a := given(); len(a) != 2 || a[0] != js || a[1] != file {
		t.Errorf("fsshim-chart was given %q, want %s %s", a, js, file)
	}
}

func TestDrawChartFails(t *testing.T) {
	dir := t.TempDir()
	fakeChart(t, `echo "fsshim-chart: $2: unknown image format" >&2; exit 1`)
	err := drawChart(benchReport(), "", filepath.Join(dir, "c.txt"))
	if err == nil || !strings.Contains(err.Error(), "unknown image format") {
		t.Errorf("drawChart = %v, want fsshim-chart's own message", err)
	}
}

// Without fsshim-chart the results are kept beside the chart and the
// error says how to draw them.
func TestDrawChartMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	file := filepath.Join(t.TempDir(), "c.svg")
	err := drawChart(benchReport(), "", file)
	if err == nil {
		t.Fatal("drawChart succeeded without fsshim-chart")
	}
	for _, want := range []string{"go build ./cmd/fsshim-chart", file + ".json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if r, err := bench.ReadJSON(file + ".json"); err != nil || r.Runs != 7 {
		t.Errorf("kept results: %+v, %v", r, err)
	}
}
