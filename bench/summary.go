package bench

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"fsshim/bench/micro"
)

// Row is one line of the summary: one workload row (and micro op) on one
// transport.
type Row struct {
	Workload  string `json:"workload"`
	Item      string `json:"item,omitempty"`
	Title     string `json:"title"`
	Transport string `json:"transport"`
	// Status is "" for a measured row, else why there is no figure
	// ("unavailable: ...", "failed: ...", "n/a: ...").
	Status string  `json:"status,omitempty"`
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Unit   string  `json:"unit"`
	// HigherBetter is true for rates (tx/s), false for times.
	HigherBetter bool `json:"higher_better"`
	// Ratio is the cost of the work relative to native (time over native
	// time, or native rate over rate): 1 is native speed, 3 three times
	// slower. 0 when there is no native figure.
	Ratio float64 `json:"ratio_to_native"`
	// TotalSec is PostMark's median total time (creation, transactions,
	// deletion) in seconds; 0 for other workloads.
	TotalSec float64 `json:"total_s,omitempty"`
	// Threads is the thread count of a threads row; 0 for other
	// workloads.
	Threads int `json:"threads,omitempty"`
	// Scaling, for a threads row, is the median over the same
	// transport's median at the report's smallest thread count (1 by
	// default): how much more work N threads get through than one.
	// 0 when either figure is missing.
	Scaling float64 `json:"scaling,omitempty"`
}

// higherBetter reports whether a unit is a rate.
func higherBetter(unit string) bool { return unit == "tx/s" || unit == ThreadsUnit }

// threadsTitle names a threads row.
func threadsTitle(n int) string {
	if n == 1 {
		return "1 thread"
	}
	return strconv.Itoa(n) + " threads"
}

// Summarize turns the samples into rows: per workload row and item, one
// row per transport of the report, in transport order, with unavailable
// and failed transports marked.
func Summarize(r *Report) []Row {
	type key struct{ w, item, t string }
	vals := map[key][]float64{}
	totals := map[key][]float64{}
	units := map[key]string{}
	for _, s := range r.Samples {
		k := key{s.Workload, s.Item, s.Transport}
		vals[k] = append(vals[k], s.Value)
		units[k] = s.Unit
		if s.Workload == Postmark {
			var pr PostmarkResult
			if json.Unmarshal(s.Raw, &pr) == nil {
				totals[k] = append(totals[k], pr.ElapsedSec)
			}
		}
	}
	failed := map[key]string{}
	for _, e := range r.Errors {
		failed[key{e.Workload, "", e.Transport}] = firstLine(e.Err)
	}

	type group struct{ w, item, title, unit string }
	var groups []group
	switch r.Workload {
	case Postmark:
		groups = append(groups, group{Postmark, "", "PostMark (Go, bench/postmark)", "tx/s"})
		hasC := false
		for _, s := range r.Samples {
			hasC = hasC || s.Workload == PostmarkC
		}
		for _, e := range r.Errors {
			hasC = hasC || e.Workload == PostmarkC
		}
		if hasC {
			groups = append(groups, group{PostmarkC, "", "PostMark (C, Debian), wall time", "s"})
		}
	case Micro:
		want := map[string]bool{}
		for _, n := range r.Ops {
			want[n] = true
		}
		for _, s := range r.Samples {
			want[s.Item] = true
		}
		for _, o := range micro.Ops {
			if want[o.Name] || len(want) == 0 {
				groups = append(groups, group{Micro, o.Name, o.Title, "ns/op"})
			}
		}
	case Threads:
		counts := slices.Clone(r.Threads)
		for _, s := range r.Samples {
			if n, err := strconv.Atoi(s.Item); err == nil && !slices.Contains(counts, n) {
				counts = append(counts, n)
			}
		}
		slices.Sort(counts)
		for _, n := range counts {
			groups = append(groups, group{Threads, strconv.Itoa(n), threadsTitle(n), ThreadsUnit})
		}
	case Programs:
		for _, p := range programRows {
			groups = append(groups, group{p.w, "", p.title, p.unit})
		}
	}

	var rows []Row
	for _, g := range groups {
		var native float64
		for _, t := range r.Transports {
			row := Row{Workload: g.w, Item: g.item, Title: g.title, Transport: t.Name, Unit: g.unit, HigherBetter: higherBetter(g.unit)}
			if g.w == Threads {
				row.Threads, _ = strconv.Atoi(g.item)
			}
			if o, ok := micro.Lookup(g.item); ok && g.w == Micro && o.RowTitles[t.Name] != "" {
				row.Title = o.RowTitles[t.Name]
			}
			k := key{g.w, g.item, t.Name}
			v := slices.Clone(vals[k])
			switch {
			case !t.Available:
				row.Status = "unavailable (see below)"
			case cProgram(g.w) && t.Name == Linked:
				row.Status = "n/a: a C program cannot be linked with emul"
			case len(v) == 0:
				if msg, ok := failed[key{g.w, "", t.Name}]; ok {
					row.Status = "failed: " + msg
				} else {
					row.Status = "failed: no result"
				}
			default:
				sort.Float64s(v)
				row.N, row.Min, row.Max, row.Median = len(v), v[0], v[len(v)-1], median(v)
				if tt := totals[k]; len(tt) > 0 {
					tt = slices.Clone(tt)
					sort.Float64s(tt)
					row.TotalSec = median(tt)
				}
				if t.Name == Native {
					native = row.Median
				}
			}
			rows = append(rows, row)
		}
		for i := range rows {
			row := &rows[i]
			if row.Workload != g.w || row.Item != g.item || row.N == 0 || native == 0 || row.Median == 0 {
				continue
			}
			if row.HigherBetter {
				row.Ratio = native / row.Median
			} else {
				row.Ratio = row.Median / native
			}
		}
	}
	if r.Workload == Threads {
		rows = threadsScaling(rows, r.Transports)
	}
	return rows
}

// threadsScaling sets each threads row's Scaling against the same
// transport's row of the smallest thread count and orders the rows by
// transport, then thread count, so each transport's scaling reads down
// one block.
func threadsScaling(rows []Row, ts []TransportStatus) []Row {
	base := map[string]Row{}
	for _, row := range rows {
		if b, ok := base[row.Transport]; !ok || row.Threads < b.Threads {
			base[row.Transport] = row
		}
	}
	for i := range rows {
		if b := base[rows[i].Transport]; rows[i].N > 0 && b.N > 0 && b.Median > 0 {
			rows[i].Scaling = rows[i].Median / b.Median
		}
	}
	order := map[string]int{}
	for i, t := range ts {
		order[t.Name] = i
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if d := order[a.Transport] - order[b.Transport]; d != 0 {
			return d
		}
		return a.Threads - b.Threads
	})
	return rows
}

// median of sorted values.
func median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// FormatValue prints a figure with the precision its unit deserves.
func FormatValue(v float64, unit string) string {
	switch unit {
	case "s":
		return fmt.Sprintf("%.3f", v)
	case "ns/op":
		if v < 100 {
			return fmt.Sprintf("%.1f", v)
		}
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// formatRatio prints a ratio to native with two significant-ish digits.
func formatRatio(r float64) string {
	switch {
	case r == 0:
		return "–"
	case r < 10:
		return fmt.Sprintf("%.2f", r)
	case r < 100:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.0f", r)
}
