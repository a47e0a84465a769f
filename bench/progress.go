package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// progress reports the harness's runs: a bar on a terminal, redrawn in
// place and cleared at the end, else one line per run.
type progress struct {
	w       io.Writer
	tty     bool
	total   int
	n       int
	desc    string
	started time.Time
}

// barWidth is the bar's length in cells.
const barWidth = 30

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, started: time.Now()}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.tty = true
	}
	return p
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *progress) start(desc string) {
	p.desc = desc
	if p.tty {
		p.draw()
	}
}

func (p *progress) done(desc, result string) {
	p.n++
	switch {
	case p.tty:
		p.draw()
	case p.w != nil:
		fmt.Fprintf(p.w, "bench: [%d/%d] %s: %s\n", p.n, p.total, desc, result)
	}
}

func (p *progress) finish() {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// draw rewrites the terminal line: the run under way, the bar, the count
// and, once a run has ended, the time elapsed and the time the remaining
// runs should take at the pace so far.
func (p *progress) draw() {
	n, total := p.n, max(p.total, 1)
	fill := barWidth * min(n, total) / total
	line := fmt.Sprintf("fsshim bench: %s |%s%s| %d/%d", p.desc,
		strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill), n, p.total)
	if n > 0 {
		el := time.Since(p.started)
		left := el / time.Duration(n) * time.Duration(max(total-n, 0))
		line += fmt.Sprintf(" [%s, about %s left]", el.Round(time.Second), left.Round(time.Second))
	}
	fmt.Fprint(p.w, "\r\x1b[K"+line)
}
