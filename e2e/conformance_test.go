package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/conformance.md from this run")

const conformanceFile = "../docs/conformance.md"

// TestConformanceReport runs every differential scenario natively and under
// each transport, as root and as an unprivileged user, and renders the
// outcome as docs/conformance.md: per scenario, how many operations it
// checks and whether fsshim matched Linux line for line. The committed file
// must equal what this run produces (regenerate with -update), so the
// report in the repository is always the suite's current result.
func TestConformanceReport(t *testing.T) {
	bin := requireHelper(t, "sysseq")
	if os.Geteuid() != 0 {
		t.Skip("the report covers root and an unprivileged user; it is made as root (CI runs as root)")
	}
	for _, tr := range transports {
		requireTransport(t, tr)
	}
	stdout, _, exit := runNative(t, bin, "-list")
	if exit != 0 {
		t.Fatal("sysseq -list failed")
	}
	names := strings.Fields(stdout)
	users := []struct {
		name string
		uid  int
	}{{"root", 0}, {"nobody", nobody}}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Conformance: fsshim against Linux tmpfs\n\n")
	fmt.Fprintf(&b, "Made by `go test ./e2e -run TestConformanceReport -update` (as root) and checked by the same test\n")
	fmt.Fprintf(&b, "without `-update`: the suite fails when this file is not its current result.\n\n")
	fmt.Fprintf(&b, "Each scenario of `e2e/sysseq` runs natively in a tmpfs directory and under fsshim with the\n")
	fmt.Fprintf(&b, "directory inside a `--mount`; *ops* is the number of operations it prints and checks, a cell\n")
	fmt.Fprintf(&b, "says whether every line matched Linux. Known differences are listed in `e2e/known_test.go`.\n\n")
	head := "| scenario | ops |"
	sep := "| --- | ---: |"
	for _, u := range users {
		for _, tr := range transports {
			head += fmt.Sprintf(" %s, %s |", tr, u.name)
			sep += " --- |"
		}
	}
	fmt.Fprintln(&b, head)
	fmt.Fprintln(&b, sep)
	total, pass := 0, 0
	totalOps := 0
	for _, name := range names {
		var cells []string
		ops := -1
		for _, u := range users {
			c := progCase{name: name, uid: u.uid, args: func(w string) []string { return []string{bin, name, w} }}
			nw := c.own(t, workDir(t))
			nat, err := execute(proc{args: c.args(nw), uid: u.uid})
			if err != nil || nat.exit != 0 {
				t.Fatalf("%s as %s: native run failed (%v, exit %d): %s", name, u.name, err, nat.exit, nat.stderr)
			}
			nat = c.norm(nat, nw)
			if u.uid == 0 {
				ops = strings.Count(nat.stdout, "\n")
			}
			for _, tr := range transports {
				fw, _ := mountDir(t)
				c.own(t, fw)
				got, err := execute(proc{args: fsshimTransportArgs(tr, []string{fw}, c.args(fw)...), uid: u.uid})
				if err != nil {
					t.Fatal(err)
				}
				got = c.norm(got, fw)
				total++
				if n, _, _ := firstDiff(nat.stdout, got.stdout); n == 0 && got.exit == nat.exit {
					pass++
					cells = append(cells, "pass")
				} else if _, known := knownDifference(name, tr); known {
					cells = append(cells, fmt.Sprintf("known difference (line %d)", n))
				} else {
					cells = append(cells, fmt.Sprintf("**differs at line %d**", n))
				}
			}
		}
		totalOps += ops
		fmt.Fprintf(&b, "| %s | %d | %s |\n", name, ops, strings.Join(cells, " | "))
	}
	fmt.Fprintf(&b, "\n%d scenarios, %d operations each way; %d of %d runs match Linux exactly.\n", len(names), totalOps, pass, total)
	if *update {
		if err := os.WriteFile(conformanceFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(conformanceFile)
	if err != nil {
		t.Fatalf("%v (make it with: go test ./e2e -run TestConformanceReport -update)", err)
	}
	if !bytes.Equal(old, b.Bytes()) {
		n, a, c := firstDiff(string(old), b.String())
		t.Errorf("docs/conformance.md is not the suite's current result (line %d):\ncommitted: %s\nthis run:  %s\nregenerate with: go test ./e2e -run TestConformanceReport -update", n, a, c)
	}
}
