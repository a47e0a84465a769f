// Command fsshim-chart draws the ladder chart of an fsshim bench run from
// the results file that `fsshim bench --json` writes:
//
//	fsshim-chart RESULTS.json CHART.png
//
// `fsshim bench --plot` runs it. It is a command of its own so that the
// fsshim supervisor links no drawing, font or PDF code and stays a static
// binary.
package main

import (
	"fmt"
	"io"
	"os"

	"fsshim/bench"
	"fsshim/bench/chart"
)

const usage = `fsshim-chart draws the ladder chart of an fsshim bench run: one line per
workload row (or micro-benchmark op), one marker per transport at its median
with a bar over the range of runs, on a log axis.

Usage:
  fsshim-chart RESULTS.json CHART.png|.svg

RESULTS.json is what 'fsshim bench --json FILE' wrote ('fsshim bench --plot
CHART' runs fsshim-chart itself). The chart's format follows its extension:
.png or .svg (also .pdf, .eps, .jpg, .tif).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stderr, usage)
		return 0
	}
	if len(args) != 2 {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "fsshim-chart: want RESULTS.json CHART.png|.svg")
		return 2
	}
	r, err := bench.ReadJSON(args[0])
	if err == nil {
		err = chart.Write(r, args[1])
	}
	if err != nil {
		fmt.Fprintf(stderr, "fsshim-chart: %v\n", err)
		return 1
	}
	return 0
}
