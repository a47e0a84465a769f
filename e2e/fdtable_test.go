package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFDTable runs cprog/fdtable.c: fd-table changes fsshim does not see
// (a CLONE_FILES sharer's close, close-on-exec at an exec) must not make a
// host fd read as an emulated file, and memfds named like fsshim's
// placeholders must not be taken for them.
func TestFDTable(t *testing.T) {
	bin := requireHelper(t, "fdtable")
	host := filepath.Join(t.TempDir(), "hostfile")
	if err := os.WriteFile(host, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCase(t, progCase{
		name: "fdtable",
		args: func(w string) []string { return []string{bin, w, host} },
		verify: func(out string) error {
			if !strings.HasSuffix(out, "\nok\n") {
				return fmt.Errorf("fdtable did not end with ok")
			}
			return nil
		},
	})
}
