package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fsshim/bench"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "r.json")
	r := &bench.Report{
		Workload:   bench.Micro,
		Transports: []bench.TransportStatus{{Name: bench.Native, Available: true}, {Name: bench.Linked, Available: true}},
		Samples: []bench.Sample{
			{Workload: bench.Micro, Item: "stat", Transport: bench.Native, Run: 1, Value: 400, Unit: "ns/op"},
			{Workload: bench.Micro, Item: "stat", Transport: bench.Linked, Run: 1, Value: 90, Unit: "ns/op"},
		},
	}
	r.Rows = bench.Summarize(r)
	if err := r.WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "c.png")
	var stderr bytes.Buffer
	if code := run([]string{js, png}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("chart: %v, %v", st, err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{js}, 2, "want RESULTS.json"},
		{[]string{filepath.Join(dir, "none.json"), png}, 1, "no such file"},
		{[]string{js, filepath.Join(dir, "c.txt")}, 1, "unknown image format"},
		{[]string{"--help"}, 0, "Usage:"},
	} {
		stderr.Reset()
		if code := run(c.args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("fsshim-chart %q: exit %d, %q; want exit %d saying %q", c.args, code, stderr.String(), c.code, c.msg)
		}
	}
}
