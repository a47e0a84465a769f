package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fsshim/bench"
)

func sample(w, tr string, v float64, unit string) bench.Sample {
	return bench.Sample{Workload: w, Transport: tr, Run: 1, Value: v, Unit: unit}
}

func report() *bench.Report {
	r := &bench.Report{
		Workload:    bench.Postmark,
		Description: "PostMark: test",
		Transports: []bench.TransportStatus{
			{Name: bench.Native, Available: true}, {Name: bench.Unotify, Available: true}, {Name: bench.Ptrace, Reason: "x"},
		},
		Samples: []bench.Sample{
			sample(bench.Postmark, bench.Native, 1000, "tx/s"),
			sample(bench.Postmark, bench.Unotify, 100, "tx/s"),
			sample(bench.PostmarkC, bench.Native, 0.5, "s"),
			sample(bench.PostmarkC, bench.Unotify, 2, "s"),
		},
	}
	r.Rows = bench.Summarize(r)
	return r
}

func TestWrite(t *testing.T) {
	r := report()
	dir := t.TempDir()
	for _, f := range []string{"a.png", "a.svg"} {
		p := filepath.Join(dir, f)
		if err := Write(r, p); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(p); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v, %v", f, st, err)
		}
	}
	if err := Write(r, filepath.Join(dir, "a.txt")); err == nil {
		t.Error("Write accepted .txt")
	}
	if err := Write(&bench.Report{Workload: bench.Micro}, filepath.Join(dir, "e.svg")); err == nil {
		t.Error("Write drew a report without rows")
	}
}

// The chart is drawn from the JSON file fsshim bench writes: what the
// chart needs must survive the round trip.
func TestWriteFromJSON(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "r.json")
	if err := report().WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	r, err := bench.ReadJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "r.svg")
	if err := Write(r, svg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	// The labels of the PostMark rows carry the medians.
	for _, want := range []string{"1000 tx/s", "100 tx/s", "unotify", "native"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if _, err := bench.ReadJSON(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("ReadJSON of a missing file succeeded")
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("not json"), 0o644)
	if _, err := bench.ReadJSON(filepath.Join(dir, "bad.json")); err == nil {
		t.Error("ReadJSON of a broken file succeeded")
	}
}
