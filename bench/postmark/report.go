package postmark

import (
	"fmt"
	"io"
	"time"
)

const (
	kilobyte = 1024
	megabyte = kilobyte * kilobyte
)

// secs converts a phase duration to seconds for rates, never zero.
func secs(d time.Duration) float64 {
	if d <= 0 {
		return 1e-9
	}
	return d.Seconds()
}

// perSec is count per second, truncated as PostMark's integer division is.
func perSec(n int, d time.Duration) int64 {
	return int64(float64(n) / secs(d))
}

// scaleBytes formats a byte amount the way PostMark's scalef does:
// megabytes above one megabyte, else kilobytes, "0.000000 bytes" for 0.
func scaleBytes(v float64) string {
	switch {
	case v/megabyte > 1:
		return fmt.Sprintf("%.2f megabytes", v/megabyte)
	case v/kilobyte != 0:
		return fmt.Sprintf("%.2f kilobytes", v/kilobyte)
	}
	return fmt.Sprintf("%f bytes", v)
}

// dataTotals returns the byte totals as PostMark would print them: its
// single-precision running sums (exact up to 16 MiB).
func (r Result) dataTotals() (read, written float64) {
	rf, wf := r.bytesReadF, r.bytesWrittenF
	if rf == 0 && r.BytesRead != 0 {
		rf = float32(r.BytesRead)
	}
	if wf == 0 && r.BytesWritten != 0 {
		wf = float32(r.BytesWritten)
	}
	return float64(rf), float64(wf)
}

// Report writes the result in PostMark 1.51's verbose or terse layout
// (cfg.Report), with times from the monotonic clock in seconds to the
// microsecond instead of PostMark's whole seconds, and rates computed
// from those times.
//
// Verbose:
//
//	Time:
//		0.123456 seconds total
//		0.100000 seconds of transactions (5000 per second)
//
//	Files:
//		349 created (2826 per second)
//	...
//
// Terse is one line of 13 numbers: total seconds, transaction seconds,
// transactions/s, created/s, created-alone/s (creation phase),
// created-mixed/s, read/s, appended/s, deleted/s, deleted-alone/s
// (deletion phase), deleted-mixed/s, bytes read/s, bytes written/s.
// (PostMark 1.51 prints created/s where deleted/s belongs; the two are
// equal after a complete run.)
func (r Result) Report(w io.Writer, cfg Config) {
	read, written := r.dataTotals()
	el, tr := secs(r.Elapsed), secs(r.TransactionTime)
	if cfg.Report == "terse" {
		fmt.Fprintf(w, "%.6f %.6f %.2f ", el, tr, float64(r.Transactions)/tr)
		fmt.Fprintf(w, "%.2f %.2f %.2f ", float64(r.Created)/el,
			float64(r.CreatedAlone)/secs(r.CreateTime), float64(r.CreatedMixed)/tr)
		fmt.Fprintf(w, "%.2f %.2f ", float64(r.Read)/tr, float64(r.Appended)/tr)
		fmt.Fprintf(w, "%.2f %.2f %.2f ", float64(r.Deleted)/el,
			float64(r.DeletedAlone)/secs(r.DeleteTime), float64(r.DeletedMixed)/tr)
		fmt.Fprintf(w, "%.2f %.2f\n", read/el, written/el)
		return
	}
	fmt.Fprintf(w, "Time:\n")
	fmt.Fprintf(w, "\t%.6f seconds total\n", el)
	fmt.Fprintf(w, "\t%.6f seconds of transactions (%d per second)\n", tr, perSec(r.Transactions, r.TransactionTime))
	fmt.Fprintf(w, "\nFiles:\n")
	fmt.Fprintf(w, "\t%d created (%d per second)\n", r.Created, perSec(r.Created, r.Elapsed))
	fmt.Fprintf(w, "\t\tCreation alone: %d files (%d per second)\n", r.CreatedAlone, perSec(r.CreatedAlone, r.CreateTime))
	fmt.Fprintf(w, "\t\tMixed with transactions: %d files (%d per second)\n", r.CreatedMixed, perSec(r.CreatedMixed, r.TransactionTime))
	fmt.Fprintf(w, "\t%d read (%d per second)\n", r.Read, perSec(r.Read, r.TransactionTime))
	fmt.Fprintf(w, "\t%d appended (%d per second)\n", r.Appended, perSec(r.Appended, r.TransactionTime))
	fmt.Fprintf(w, "\t%d deleted (%d per second)\n", r.Deleted, perSec(r.Deleted, r.Elapsed))
	fmt.Fprintf(w, "\t\tDeletion alone: %d files (%d per second)\n", r.DeletedAlone, perSec(r.DeletedAlone, r.DeleteTime))
	fmt.Fprintf(w, "\t\tMixed with transactions: %d files (%d per second)\n", r.DeletedMixed, perSec(r.DeletedMixed, r.TransactionTime))
	fmt.Fprintf(w, "\nData:\n")
	fmt.Fprintf(w, "\t%s read (%s per second)\n", scaleBytes(read), scaleBytes(read/el))
	fmt.Fprintf(w, "\t%s written (%s per second)\n", scaleBytes(written), scaleBytes(written/el))
}
