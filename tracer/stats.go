package tracer

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"fsshim/emul"
)

// Stats collects, per syscall number, how calls were served and where the
// time went. The handler time is emul's own work (what a linked,
// unikernel-style build pays); the round trip is the supervisor's whole
// service of the call from the moment RECV returned to the moment the
// answer was sent, plus the kernel's hand-off (Handoff, measured by a
// calibration run) — the part a unikernel would not pay is the difference.
type Stats struct {
	mu   sync.Mutex
	rows map[int]*statRow
	// Name maps a syscall number to its name.
	Name func(nr int) string
	// Handoff is the measured cost of the kernel's two context switches
	// per call (added to every round trip); 0 if not calibrated.
	Handoff time.Duration
	// Wall is the target's wall-clock time.
	Wall time.Duration
}

type statRow struct {
	nr                        int
	calls, emul, cont, failed int64
	handler, rtt              *hdrhistogram.Histogram
	handlerSum, rttSum        time.Duration
}

// NewStats returns an empty collector.
func NewStats(name func(int) string) *Stats {
	return &Stats{rows: map[int]*statRow{}, Name: name}
}

func newHist() *hdrhistogram.Histogram {
	// 1 ns to 100 s, 3 significant digits.
	return hdrhistogram.New(1, 100_000_000_000, 3)
}

func (s *Stats) record(nr int, o emul.Outcome, handler, service time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rows[nr]
	if r == nil {
		r = &statRow{nr: nr, handler: newHist(), rtt: newHist()}
		s.rows[nr] = r
	}
	r.calls++
	switch o {
	case emul.Emulated:
		r.emul++
	case emul.Continued:
		r.cont++
	case emul.Failed:
		r.failed++
	}
	if handler < 0 {
		handler = 0
	}
	r.handler.RecordValue(int64(handler))
	r.handlerSum += handler
	r.rtt.RecordValue(int64(service))
	r.rttSum += service
}

// Row is one syscall's figures, as printed and as written to JSON.
type Row struct {
	Syscall      string  `json:"syscall"`
	Nr           int     `json:"nr"`
	Calls        int64   `json:"calls"`
	Emulated     int64   `json:"emulated"`
	Host         int64   `json:"host"`
	Failed       int64   `json:"failed"`
	HandlerMean  float64 `json:"handler_mean_ns"`
	HandlerP99   float64 `json:"handler_p99_ns"`
	RoundMean    float64 `json:"round_trip_mean_ns"`
	RoundP99     float64 `json:"round_trip_p99_ns"`
	HandlerTotal float64 `json:"handler_total_ns"`
	RoundTotal   float64 `json:"round_trip_total_ns"`
}

// Report is the whole --stats output.
type Report struct {
	WallNs       float64 `json:"wall_ns"`
	HandoffNs    float64 `json:"handoff_ns"`
	Rows         []Row   `json:"syscalls"`
	Total        Row     `json:"total"`
	SwitchNs     float64 `json:"world_switch_ns"`
	SwitchShare  float64 `json:"world_switch_share"`
	HandlerShare float64 `json:"handler_share"`
	// Injected counts the faults each --inject rule caused.
	Injected map[string]int64 `json:"injected_faults,omitempty"`
}

// Report computes the figures, rows sorted by round-trip total.
func (s *Stats) Report() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := float64(s.Handoff)
	rep := Report{WallNs: float64(s.Wall), HandoffNs: h}
	var tot Row
	tot.Syscall = "total"
	tot.Nr = -1
	for _, r := range s.rows {
		name := fmt.Sprintf("syscall_%d", r.nr)
		if s.Name != nil {
			if n := s.Name(r.nr); n != "" {
				name = n
			}
		}
		row := Row{
			Syscall:      name,
			Nr:           r.nr,
			Calls:        r.calls,
			Emulated:     r.emul,
			Host:         r.cont,
			Failed:       r.failed,
			HandlerMean:  r.handler.Mean(),
			HandlerP99:   float64(r.handler.ValueAtQuantile(99)),
			RoundMean:    r.rtt.Mean() + h,
			RoundP99:     float64(r.rtt.ValueAtQuantile(99)) + h,
			HandlerTotal: float64(r.handlerSum),
			RoundTotal:   float64(r.rttSum) + h*float64(r.calls),
		}
		rep.Rows = append(rep.Rows, row)
		tot.Calls += row.Calls
		tot.Emulated += row.Emulated
		tot.Host += row.Host
		tot.Failed += row.Failed
		tot.HandlerTotal += row.HandlerTotal
		tot.RoundTotal += row.RoundTotal
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		if rep.Rows[i].RoundTotal != rep.Rows[j].RoundTotal {
			return rep.Rows[i].RoundTotal > rep.Rows[j].RoundTotal
		}
		return rep.Rows[i].Nr < rep.Rows[j].Nr
	})
	if tot.Calls > 0 {
		tot.HandlerMean = tot.HandlerTotal / float64(tot.Calls)
		tot.RoundMean = tot.RoundTotal / float64(tot.Calls)
	}
	rep.Total = tot
	rep.SwitchNs = tot.RoundTotal - tot.HandlerTotal
	if s.Wall > 0 {
		rep.SwitchShare = rep.SwitchNs / float64(s.Wall)
		rep.HandlerShare = tot.HandlerTotal / float64(s.Wall)
	}
	return rep
}

func us(ns float64) string { return fmt.Sprintf("%.2f", ns/1000) }

// WriteTable prints the report in the spirit of strace -c: one row a
// syscall, sorted by time, a total row.
func (r Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "syscall\tcalls\temulated\thost\tfailed\thandler µs\thandler p99\tround trip µs\tround p99\ttotal ms\t")
	line := func(r Row, p99 bool) {
		hp, rp := us(r.HandlerP99), us(r.RoundP99)
		if !p99 {
			hp, rp = "", ""
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%.3f\t\n", r.Syscall, r.Calls, r.Emulated, r.Host, r.Failed,
			us(r.HandlerMean), hp, us(r.RoundMean), rp, r.RoundTotal/1e6)
	}
	for _, row := range r.Rows {
		line(row, true)
	}
	fmt.Fprintln(tw, strings.Repeat("-", 7)+"\t\t\t\t\t\t\t\t\t\t")
	line(r.Total, false)
	tw.Flush()
	fmt.Fprintf(w, "wall %.3f ms; handler %.3f ms (%.1f%%); world switch %.3f ms (%.1f%%); hand-off %.2f µs/call\n",
		r.WallNs/1e6, r.Total.HandlerTotal/1e6, 100*r.HandlerShare, r.SwitchNs/1e6, 100*r.SwitchShare, r.HandoffNs/1000)
	specs := make([]string, 0, len(r.Injected))
	for s := range r.Injected {
		specs = append(specs, s)
	}
	sort.Strings(specs)
	for _, s := range specs {
		fmt.Fprintf(w, "injected %d faults: --inject %s\n", r.Injected[s], s)
	}
}

// WriteJSON writes the report as JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// median returns the median service time recorded for nr.
func (s *Stats) median(nr int) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rows[nr]
	if r == nil {
		return 0
	}
	return time.Duration(r.rtt.ValueAtQuantile(50))
}
