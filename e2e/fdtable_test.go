package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFDTable runs cprog/fdtable.c: fd-table changes fsshim does not see
// (a CLONE_FILES sharer's close, close-on-exec at an exec) must not make a
// host fd read as an emulated file, and memfds named like fsshim's
// placeholders must not be taken for them.
func TestFDTable(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed (Debian package gcc, libc6-dev)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "fdtable")
	if out, err := exec.Command(gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", bin,
		filepath.Join(root, "e2e", "cprog", "fdtable.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc fdtable.c: %v\n%s", err, out)
	}
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
