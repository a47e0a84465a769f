package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"fsshim/bench/micro"
)

// WriteTable prints the report's summary: a header naming the work, one
// row per workload row (or micro op) and transport with the median, the
// range over the runs and the ratio to native, then the errors.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintln(w, r.Description)
	fmt.Fprintf(w, "%d run(s) per transport, interleaved; host: Linux %s, %d CPUs, %s\n\n", r.Runs, r.Host.Kernel, r.Host.CPUs, r.Host.Go)
	writeRows(w, r.Rows, r.Workload == Postmark)
	fmt.Fprintln(w)
	if r.Workload == Postmark {
		fmt.Fprintln(w, "tx/s: transactions per second of the transaction phase; total s: creation + transactions + deletion.")
		fmt.Fprintln(w, "Debian's postmark reports whole seconds only: its row is the wall time of the whole process (start-up included).")
	} else {
		fmt.Fprintln(w, "ns/op: mean over one timed loop per run (monotonic clock, after a warm-up); median and range over the runs.")
		for _, o := range micro.Ops {
			fmt.Fprintf(w, "  %-22s %s\n", o.Title+":", o.Does)
		}
	}
	fmt.Fprintln(w, "× native: cost of the same work relative to native (time ÷ native time, or native rate ÷ rate); above 1 is slower.")
	for _, t := range r.Transports {
		if !t.Available {
			fmt.Fprintf(w, "unavailable: %s: %s\n", t.Name, t.Reason)
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s %s run %d: %s\n", e.Workload, e.Transport, e.Run, e.Err)
		}
	}
}

// writeRows lays the rows out in aligned columns. Rows without a figure
// print their status after the transport.
func writeRows(w io.Writer, rows []Row, totals bool) {
	head := []string{"workload", "transport", "runs", "median", "min – max", "unit", "× native"}
	right := []bool{false, false, true, true, true, false, true}
	if totals {
		head = append(head[:6:6], "total s", "× native")
		right = append(right[:6:6], true, true)
	}
	type line struct {
		cells  []string
		status string
	}
	var lines []line
	last := ""
	for _, row := range rows {
		title := row.Title
		if title == last {
			title = ""
		}
		last = row.Title
		if row.Status != "" {
			lines = append(lines, line{cells: []string{title, row.Transport}, status: row.Status})
			continue
		}
		c := []string{
			title, row.Transport, fmt.Sprint(row.N),
			FormatValue(row.Median, row.Unit),
			FormatValue(row.Min, row.Unit) + " – " + FormatValue(row.Max, row.Unit),
			row.Unit,
		}
		if totals {
			t := "–"
			if row.TotalSec > 0 {
				t = fmt.Sprintf("%.3f", row.TotalSec)
			}
			c = append(c, t)
		}
		c = append(c, formatRatio(row.Ratio))
		lines = append(lines, line{cells: c})
	}
	width := make([]int, len(head))
	for i, h := range head {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, l := range lines {
		for i, c := range l.cells {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	pad := func(s string, i int) string {
		n := width[i] - utf8.RuneCountInString(s)
		if right[i] {
			return strings.Repeat(" ", n) + s
		}
		return s + strings.Repeat(" ", n)
	}
	out := func(cells []string, status string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(pad(c, i))
		}
		if status != "" {
			b.WriteString("  " + status)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	out(head, "")
	for _, l := range lines {
		out(l.cells, l.status)
	}
}
