package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestDifferential runs every sysseq scenario natively on tmpfs and under
// fsshim, and compares the outputs line by line. The native leg must exit
// 0: sysseq checks its own expectations of Linux, so a scenario that does
// not do what it says fails there first.
func TestDifferential(t *testing.T) {
	bin := requireHelper(t, "sysseq")
	stdout, stderr, exit := runNative(t, bin, "-list")
	if exit != 0 {
		t.Fatalf("sysseq -list exited %d: %s", exit, stderr)
	}
	names := strings.Fields(stdout)
	if len(names) < 30 {
		t.Fatalf("sysseq lists only %d scenarios: %q", len(names), names)
	}
	for _, name := range names {
		runCase(t, progCase{
			name:    name,
			helpers: []string{"sysseq"},
			args:    func(w string) []string { return []string{bin, name, w} },
		})
	}
	// As root most permission checks pass by privilege; the same scenarios
	// run again as an unprivileged user exercise them.
	if os.Geteuid() != 0 {
		return // the runs above were unprivileged already
	}
	for _, name := range names {
		runCase(t, progCase{
			name:    name + asNobody,
			helpers: []string{"sysseq"},
			args:    func(w string) []string { return []string{bin, name, w} },
			uid:     nobody,
		})
	}
}
