package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"fsshim/bench/micro"
	"fsshim/bench/threads"
)

// WriteTable prints the report's summary: a header naming the work, one
// row per workload row (or micro op) and transport with the median, the
// range over the runs and the ratio to native, then the errors.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintln(w, r.Description)
	fmt.Fprintf(w, "%d run(s) per transport, interleaved; host: Linux %s, %d CPUs, %s", r.Runs, r.Host.Kernel, r.Host.CPUs, r.Host.Go)
	if r.LoadStart > 0 || r.LoadEnd > 0 {
		fmt.Fprintf(w, "; load average %.2f at start, %.2f at end", r.LoadStart, r.LoadEnd)
	}
	fmt.Fprint(w, "\n\n")
	// The load at the end counts the runs' own threads; the one at the
	// start, before them, is other work's.
	if r.Workload == Threads && r.LoadStart > 0.5*float64(r.Host.CPUs) {
		fmt.Fprintf(w, "Note: other work kept the machine busy (load %.1f on %d CPUs before the runs): the threads competed with it for CPUs, so the scaling understates what idle CPUs give.\n\n",
			r.LoadStart, r.Host.CPUs)
	}
	if r.Workload == Threads {
		writeScaling(w, r.Rows, r.Threads)
		fmt.Fprintln(w)
		writeThreadRows(w, r.Rows)
	} else {
		writeRows(w, r.Rows, r.Workload == Postmark)
	}
	fmt.Fprintln(w)
	switch r.Workload {
	case Threads:
		fmt.Fprintln(w, "iter/s: timed iterations of all threads together per second, from the barrier's release to the last thread's end (monotonic clock); median and range over the runs.")
		fmt.Fprintln(w, "One iteration of one thread: "+threads.Does+".")
		fmt.Fprintln(w, "Before the clock: "+threads.Setup+".")
		fmt.Fprintf(w, "× %s: the transport's median ÷ its median at %s (the scaling; up to N with a CPU per thread).\n", scalingBase(r.Rows), scalingBase(r.Rows))
	case Programs:
		fmt.Fprintln(w, "s: wall time of the whole process, supervisor start-up included; median and range over the runs.")
		fmt.Fprintf(w, "  %-12s %s\n", ProgDD+":", strings.Join(ddArgv, " ")+": no mount touched, so none of its calls needs fsshim")
		fmt.Fprintf(w, "  %-12s %s\n", ProgUntar+":", "tar -xf of the tree's tarball into the mount (a directory on /dev/shm natively), find | wc -l, du -s, rm -r")
		fmt.Fprintf(w, "  %-12s %s\n", ProgFiles+":", fmt.Sprintf("MB by which MemAvailable fell while %d files of %d B existed (%d to a directory), fsshim's memory and its tmpfs included", r.Files, SmallFileSize, smallFilesPerDir))
	case Postmark:
		fmt.Fprintln(w, "tx/s: transactions per second of the transaction phase; total s: creation + transactions + deletion.")
		fmt.Fprintln(w, "Debian's postmark reports whole seconds only: its row is the wall time of the whole process (start-up included).")
	default:
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

// scalingBase names the threads rows' scaling base: their smallest
// thread count.
func scalingBase(rows []Row) string {
	n := 0
	for _, row := range rows {
		if n == 0 || row.Threads < n {
			n = row.Threads
		}
	}
	return threadsTitle(max(n, 1))
}

// writeScaling prints the threads rows' scaling as a matrix: one line per
// transport, one column per thread count.
func writeScaling(w io.Writer, rows []Row, counts []int) {
	fmt.Fprintf(w, "thread scaling (median iter/s at N threads ÷ at %s):\n", scalingBase(rows))
	head := []string{""}
	right := []bool{false}
	col := map[int]int{}
	for _, row := range rows {
		if _, ok := col[row.Threads]; !ok && (len(counts) == 0 || slices.Contains(counts, row.Threads)) {
			col[row.Threads] = len(head)
			head = append(head, threadsTitle(row.Threads))
			right = append(right, true)
		}
	}
	var lines []tableLine
	var cur *tableLine
	for _, row := range rows {
		if cur == nil || cur.cells[0] != row.Transport {
			lines = append(lines, tableLine{cells: make([]string, len(head))})
			cur = &lines[len(lines)-1]
			cur.cells[0] = row.Transport
			for i := 1; i < len(head); i++ {
				cur.cells[i] = "–"
			}
		}
		if i, ok := col[row.Threads]; ok && row.Scaling > 0 {
			cur.cells[i] = fmt.Sprintf("%.2f", row.Scaling)
		}
		if row.Status != "" {
			cur.status = row.Status
		}
	}
	writeColumns(w, head, right, lines)
}

// writeThreadRows lays the threads rows out by transport, the scaling
// beside the median.
func writeThreadRows(w io.Writer, rows []Row) {
	head := []string{"transport", "threads", "runs", "median", "unit", "× " + scalingBase(rows), "min – max", "× native"}
	right := []bool{false, true, true, true, false, true, true, true}
	var lines []tableLine
	last := ""
	for _, row := range rows {
		tr := row.Transport
		if tr == last {
			tr = ""
		}
		last = row.Transport
		if row.Status != "" {
			lines = append(lines, tableLine{cells: []string{tr, fmt.Sprint(row.Threads)}, status: row.Status})
			continue
		}
		lines = append(lines, tableLine{cells: []string{
			tr, fmt.Sprint(row.Threads), fmt.Sprint(row.N),
			FormatValue(row.Median, row.Unit), row.Unit, formatRatio(row.Scaling),
			FormatValue(row.Min, row.Unit) + " – " + FormatValue(row.Max, row.Unit),
			formatRatio(row.Ratio),
		}})
	}
	writeColumns(w, head, right, lines)
}

// tableLine is one line of writeColumns: its cells, or the first cells
// and a status that runs on past the columns.
type tableLine struct {
	cells  []string
	status string
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
	var lines []tableLine
	last := ""
	for _, row := range rows {
		title := row.Title
		if title == last {
			title = ""
		}
		last = row.Title
		if row.Status != "" {
			lines = append(lines, tableLine{cells: []string{title, row.Transport}, status: row.Status})
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
		lines = append(lines, tableLine{cells: c})
	}
	writeColumns(w, head, right, lines)
}

// writeColumns prints head and lines in aligned columns, right-aligned
// where right says so.
func writeColumns(w io.Writer, head []string, right []bool, lines []tableLine) {
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
