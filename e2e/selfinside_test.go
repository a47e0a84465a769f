package e2e

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFsshimInsideServedDirectory runs a copy of fsshim kept in the very
// directory it serves: the default overlay of the current directory, and a
// --mount of it. The isolation covers that directory before fsshim starts
// its second stage, so the stage must be started by the kernel's link to
// the binary, not by its path (which then names nothing).
func TestFsshimInsideServedDirectory(t *testing.T) {
	requireFsshim(t)
	for _, c := range []struct {
		name  string
		flags func(dir string) []string
	}{
		{"default overlay", func(string) []string { return nil }},
		{"mount", func(dir string) []string { return []string{"--mount", dir} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := workDir(t)
			bin := filepath.Join(dir, "fsshim")
			copyFile(t, fsshimBin, bin, 0o755)
			args := append(append([]string{bin}, c.flags(dir)...), "--", "sh", "-c", "echo inside > f && cat f")
			r, err := execute(proc{args: args, dir: dir, timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if r.exit != 0 || strings.TrimSpace(r.stdout) != "inside" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.exit, r.stdout, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "f")); err == nil {
				t.Errorf("the program's file reached the host directory")
			}
		})
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
