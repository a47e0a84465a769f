package bench

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sys/unix"
)

// progress reports the harness's runs: a bar on a terminal, else one
// line per run.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int
	n     int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetDescription("fsshim bench"),
		)
	}
	return p
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *progress) start(desc string) {
	if p.bar != nil {
		p.bar.Describe(desc)
	}
}

func (p *progress) done(desc, result string) {
	p.n++
	switch {
	case p.bar != nil:
		p.bar.Add(1)
	case p.w != nil:
		fmt.Fprintf(p.w, "bench: [%d/%d] %s: %s\n", p.n, p.total, desc, result)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
