package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A --save destination that is, contains or is inside the host directory
// behind a mount or an overlay (however it is spelled: through a symlink
// too) is refused before the program starts, with status 125, and the host
// directories are left exactly as they were.
func TestSaveRefusesHostDirs(t *testing.T) {
	requireFsshim(t)
	p := workDir(t)
	d, o := filepath.Join(p, "d"), filepath.Join(p, "o")
	for _, dir := range []string{d, o, filepath.Join(p, "other")} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "host-data"), []byte("must survive "+dir+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(d, filepath.Join(p, "link")); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(workDir(t), "ran")
	for _, tc := range []struct {
		name string
		args []string
		prot string // the directory the message must name
	}{
		{"parent", []string{"--mount", d, "--save", d + "=" + p}, d},
		{"itself", []string{"--mount", d, "--save", d + "=" + d}, d},
		{"symlink", []string{"--mount", d, "--save", d + "=" + filepath.Join(p, "link")}, d},
		{"through-symlink", []string{"--mount", d, "--save", d + "=" + filepath.Join(p, "link", "sub")}, d},
		{"tar-inside", []string{"--mount", d, "--save", d + "=" + filepath.Join(p, "link", "out.tar")}, d},
		{"overlay", []string{"--mount", d, "--overlay", o, "--save", d + "=" + o}, o},
		{"overlay-tar", []string{"--mount", d, "--overlay", o, "--save", d + "=" + filepath.Join(o, "out.tar.gz")}, o},
		{"overlay-to-mount", []string{"--mount", d, "--overlay", o, "--save", o + "=" + d}, d},
		{"second-save", []string{"--mount", d, "--save", d + "=" + filepath.Join(p, "ok"), "--save", d + "=" + p}, d},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, p)
			args := append(tc.args, "--", "sh", "-c", `echo ran > "$1"`, "sh", marker)
			_, stderr, exit := runFsshimArgs(t, args...)
			if exit != 125 || !strings.Contains(stderr, "--save") || !strings.Contains(stderr, tc.prot) {
				t.Errorf("exit %d, stderr %q: want 125 and a message naming --save and %s", exit, stderr, tc.prot)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the program ran")
				os.Remove(marker)
			}
			if after := snapshot(t, p); after != before {
				t.Errorf("the host tree changed\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}

	// A destination beside the mount, sharing its name as a prefix, is
	// fine, and the mount's host directory is still left alone.
	t.Run("allowed", func(t *testing.T) {
		before := snapshot(t, d)
		dd, tarball := filepath.Join(p, "dd"), filepath.Join(p, "d.tar")
		args := []string{"--mount", d, "--save", d + "=" + dd, "--save", d + "=" + tarball,
			"--", "sh", "-c", `echo saved > "$1/f"`, "sh", d}
		_, stderr, exit := runFsshimArgs(t, args...)
		if exit != 0 {
			t.Fatalf("exit %d: %s", exit, stderr)
		}
		if b, err := os.ReadFile(filepath.Join(dd, "f")); err != nil || string(b) != "saved\n" {
			t.Errorf("saved f = %q, %v", b, err)
		}
		if st, err := os.Stat(tarball); err != nil || st.Size() == 0 {
			t.Errorf("archive: %v", err)
		}
		if after := snapshot(t, d); after != before {
			t.Errorf("the host directory behind the mount changed\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}
