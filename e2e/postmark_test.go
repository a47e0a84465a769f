package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// postmarkTemplate reads testdata/postmark-small.cfg, whose line
// "set location W" is replaced by the work directory of each run.
func postmarkTemplate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "postmark-small.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := "\n" + string(b)
	if !strings.Contains(cfg, "\nset location W\n") {
		t.Fatalf("testdata/postmark-small.cfg has no line %q", "set location W")
	}
	return cfg[1:]
}

var (
	postmarkRate  = regexp.MustCompile(` \([0-9.]+ (per second|megabytes per second)\)`)
	postmarkCount = regexp.MustCompile(`^\s*(\d+) created`)
	postmarkDel   = regexp.MustCompile(`^\s*(\d+) deleted`)
)

// postmarkSummary keeps the "Files:" and "Data:" sections of a PostMark
// report, without the rates: the counts and sizes are fixed by the random
// seed (PostMark's default, 42), the times are not.
func postmarkSummary(out string) string {
	var keep []string
	on := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "Files:" || l == "Data:":
			on = true
		case l == "" || strings.HasPrefix(l, "Time:"):
			on = false
		}
		if on {
			keep = append(keep, postmarkRate.ReplaceAllString(l, ""))
		}
	}
	return strings.Join(keep, "\n") + "\n"
}

// TestPostmark runs Debian's postmark (the NetApp benchmark) with 500
// files and 2000 transactions in 10 subdirectories, natively on tmpfs and
// under fsshim --mount, and compares the file and data counts.
func TestPostmark(t *testing.T) {
	pm := requireTool(t, "postmark", "postmark")
	tmpl := postmarkTemplate(t)
	cfgDir := t.TempDir()
	runCase(t, progCase{
		name:  "small",
		tools: map[string]string{"postmark": "postmark"},
		args: func(w string) []string {
			// The config lives on the host, outside the mount.
			p := filepath.Join(cfgDir, filepath.Base(filepath.Dir(w))+".cfg")
			cfg := strings.Replace(tmpl, "set location W\n", "set location "+w+"\n", 1)
			if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
				panic(err)
			}
			return []string{pm, p}
		},
		normalize: postmarkSummary,
		verify: func(out string) error {
			var created, deleted string
			for _, l := range strings.Split(out, "\n") {
				if m := postmarkCount.FindStringSubmatch(l); m != nil {
					created = m[1]
				}
				if m := postmarkDel.FindStringSubmatch(l); m != nil {
					deleted = m[1]
				}
			}
			if created == "" || created != deleted || !strings.Contains(out, "Creation alone: 500 files") {
				return fmt.Errorf("postmark report lacks 500 initial files or created != deleted (%q, %q)", created, deleted)
			}
			return nil
		},
	})
}
