package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 2)
	p.start("postmark native run 1")
	p.done("postmark native run 1", "100 tx/s")
	p.start("postmark linked run 1")
	p.done("postmark linked run 1", "FAILED: boom")
	p.finish()
	want := "bench: [1/2] postmark native run 1: 100 tx/s\nbench: [2/2] postmark linked run 1: FAILED: boom\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	newProgress(nil, 1).done("x", "y") // no writer: nothing, no panic
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 4)
	p.tty = true
	p.start("micro unotify run 1")
	if got := b.String(); !strings.Contains(got, "micro unotify run 1 |"+strings.Repeat(" ", barWidth)+"| 0/4") {
		t.Errorf("empty bar: %q", got)
	}
	b.Reset()
	p.done("micro unotify run 1", "ok")
	quarter := strings.Repeat("=", barWidth/4) + strings.Repeat(" ", barWidth-barWidth/4)
	if got := b.String(); !strings.HasPrefix(got, "\r\x1b[K") || !strings.Contains(got, "|"+quarter+"| 1/4") || !strings.Contains(got, "left]") {
		t.Errorf("bar after one run of four: %q", got)
	}
	for range 3 {
		p.done("d", "ok")
	}
	if got := b.String(); !strings.Contains(got, "|"+strings.Repeat("=", barWidth)+"| 4/4") {
		t.Errorf("full bar: %q", got)
	}
	b.Reset()
	p.finish()
	if b.String() != "\r\x1b[K" {
		t.Errorf("finish wrote %q, want the line cleared", b.String())
	}
}
