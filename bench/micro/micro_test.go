package micro

import (
	"os"
	"testing"

	"fsshim/bench/fsys"
)

// TestOpsRun runs every op a few times on the host and on a linked ramfs,
// and checks each leaves its directory as it found it.
func TestOpsRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		sys  func(dir string) (fsys.Sys, error)
	}{
		{"raw", func(string) (fsys.Sys, error) { return fsys.Raw{}, nil }},
		{"linked", func(dir string) (fsys.Sys, error) { return fsys.NewLinked([]string{dir}, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := tc.sys(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range Ops {
				r, err := Run(s, op, 300, dir)
				if err != nil {
					t.Fatalf("%s: %v", op.Name, err)
				}
				if r.NsPerOp <= 0 || r.Iters != op.Iterations(300) {
					t.Errorf("%s: %+v", op.Name, r)
				}
				ents, _ := os.ReadDir(dir)
				if len(ents) != 0 {
					t.Fatalf("%s left %d entries in %s", op.Name, len(ents), dir)
				}
			}
		})
	}
}

func TestParseOps(t *testing.T) {
	all, err := ParseOps("all")
	if err != nil || len(all) != len(Ops) {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	two, err := ParseOps("stat, bare")
	if err != nil || len(two) != 2 || two[0].Name != "stat" || two[1].Name != "bare" {
		t.Fatalf("stat,bare: %v, %v", two, err)
	}
	if _, err := ParseOps("stat,nope"); err == nil {
		t.Fatal("unknown op accepted")
	}
	if n := (Op{Divisor: 20}).Iterations(10); n != 1 {
		t.Errorf("Iterations(10)/20 = %d, want 1", n)
	}
}
