package bench

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

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
	}

	var rows []Row
	for _, g := range groups {
		var native float64
		for _, t := range r.Transports {
			row := Row{Workload: g.w, Item: g.item, Title: g.title, Transport: t.Name, Unit: g.unit, HigherBetter: g.unit == "tx/s"}
			if o, ok := micro.Lookup(g.item); ok && g.w == Micro && o.RowTitles[t.Name] != "" {
				row.Title = o.RowTitles[t.Name]
			}
			k := key{g.w, g.item, t.Name}
			v := slices.Clone(vals[k])
			switch {
			case !t.Available:
				row.Status = "unavailable (see below)"
			case g.w == PostmarkC && t.Name == Linked:
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
