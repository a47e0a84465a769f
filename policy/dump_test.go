package policy

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func dumpTable(t *testing.T) *Table {
	t.Helper()
	tb, err := NewTable([]Mount{{Path: "/data"}, {Path: "/src", Source: "/home/u/src"}})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestDumpGolden pins the whole output. After an intended change to the
// table or the program, run: go test ./policy/ -run TestDumpGolden -update
func TestDumpGolden(t *testing.T) {
	for _, tr := range []Transport{Unotify, Ptrace} {
		t.Run(tr.String(), func(t *testing.T) {
			got, err := Dump(dumpTable(t), tr)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Dump(dumpTable(t), tr)
			if err != nil {
				t.Fatal(err)
			}
			if got != again {
				t.Fatalf("Dump is not deterministic")
			}
			golden := filepath.Join("testdata", "dump_"+tr.String()+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Dump(%v) differs from %s (run with -update if intended):\n%s", tr, golden, got)
			}
		})
	}
}

func TestDumpMentionsEverything(t *testing.T) {
	for _, tr := range []Transport{Unotify, Ptrace} {
		out, err := Dump(dumpTable(t), tr)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"/data  (empty)", "/src  (from /home/u/src)", "transport " + tr.String(),
			"AUDIT_ARCH_X86_64", "kill_process", "errno(ENOSYS)", "MAP_ANONYMOUS"} {
			if !strings.Contains(out, want) {
				t.Errorf("Dump(%v) does not mention %q", tr, want)
			}
		}
		// Every rule has its own line, with class and action.
		for _, r := range Rules() {
			act := retName(expected(r, tr))
			re := regexp.MustCompile(`(?m)^\s+` + strconv.Itoa(r.Nr) +
				`\s+` + regexp.QuoteMeta(r.Name) + `\s+` + r.Class.String() + `\s+` + regexp.QuoteMeta(act))
			if !re.MatchString(out) {
				t.Errorf("Dump(%v) has no line for %v with action %s", tr, r, act)
			}
		}
		// One line per instruction.
		prog, err := Program(tr)
		if err != nil {
			t.Fatal(err)
		}
		lines := regexp.MustCompile(`(?m)^\s*\d+: `).FindAllString(out, -1)
		if len(lines) != len(prog) {
			t.Errorf("Dump(%v) shows %d instructions, program has %d", tr, len(lines), len(prog))
		}
	}
}

func TestDumpNilTable(t *testing.T) {
	out, err := Dump(nil, Unotify)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "mounts (0):\n  (none") {
		t.Errorf("Dump(nil) does not say there are no mounts:\n%s", out)
	}
}
