package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"fsshim/bench"
)

// chartCommand draws `fsshim bench --plot`. The chart is a command of its
// own (cmd/fsshim-chart): its drawing, font and PDF packages would pull
// net, os/user and crypto/tls, and with them cgo, into the supervisor,
// which is meant to be a static binary.
const chartCommand = "fsshim-chart"

// drawChart draws rep to file with fsshim-chart, reading the results from
// jsonFile (--json, written already) or else from a temporary copy. When
// fsshim-chart cannot be found the results are kept (in jsonFile, or in
// file+".json") and the error says how to draw them.
func drawChart(rep *bench.Report, jsonFile, file string) error {
	exe, lookErr := findChart()
	results := jsonFile
	if results == "" {
		results = file + ".json"
		if lookErr == nil {
			tmp, err := os.CreateTemp("", "fsshim-bench-*.json")
			if err != nil {
				return err
			}
			tmp.Close()
			defer os.Remove(tmp.Name())
			results = tmp.Name()
		}
		if err := rep.WriteJSON(results); err != nil {
			return err
		}
	}
	if lookErr != nil {
		return fmt.Errorf("%v; the results are in %s: draw them with %s %s %s", lookErr, results, chartCommand, results, file)
	}
	out, err := exec.Command(exe, results, file).CombinedOutput()
	if msg := strings.TrimSpace(string(out)); err != nil && msg != "" {
		return errors.New(msg)
	}
	return err
}

// findChart finds fsshim-chart beside the running fsshim (as `go build -o
// DIR ./cmd/...` or `go install ./cmd/...` put them) or else in $PATH.
func findChart() (string, error) {
	self, err := os.Executable()
	if err == nil {
		p := filepath.Join(filepath.Dir(self), chartCommand)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(chartCommand); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s, which draws the chart, is neither beside fsshim nor in $PATH (build it with: go build ./cmd/%s)", chartCommand, chartCommand)
}
