package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	raceBinOnce sync.Once
	raceBin     string
	raceBinErr  string
)

// fsshimRace builds fsshim with the race detector (once per test binary),
// so a supervisor whose receivers share state without a lock stops with
// a report instead of passing by luck.
func fsshimRace(t *testing.T) string {
	t.Helper()
	raceBinOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			raceBinErr = err.Error()
			return
		}
		bin := filepath.Join(binDir, "fsshim-race")
		if out, err := goBuild(root, bin, "./cmd/fsshim", "-race"); err != nil {
			raceBinErr = fmt.Sprintf("go build -race ./cmd/fsshim: %v\n%s", err, out)
			return
		}
		raceBin = bin
	})
	if raceBinErr != "" {
		t.Fatalf("fsshim with -race did not build:\n%s", raceBinErr)
	}
	return raceBin
}

// TestReceiversRace runs the threaded integrity programs under unotify
// with several receivers serving their calls at once, in both data modes,
// with a supervisor built with the race detector: every byte read back
// must be right, and the supervisor must report no data race.
func TestReceiversRace(t *testing.T) {
	requireFsshim(t)
	bin := fsshimRace(t)
	for _, prog := range []struct{ name, iters string }{{"threads_open", "500"}, {"threads_rw", "100"}} {
		helper := requireHelper(t, prog.name)
		for _, data := range []string{"passthrough", "forward"} {
			for _, recv := range []string{"2", "4"} {
				t.Run(fmt.Sprintf("%s/%s/receivers=%s", prog.name, data, recv), func(t *testing.T) {
					w := workDir(t)
					r, err := execute(proc{args: []string{bin, "--data", data, "--receivers", recv, "--mount", w, "--", helper, w, prog.iters}, timeout: 3 * time.Minute})
					if err != nil {
						t.Fatal(err)
					}
					if strings.Contains(r.stderr, "DATA RACE") {
						t.Fatalf("the supervisor raced:\n%s", r.stderr)
					}
					if r.exit != 0 || !strings.HasSuffix(r.stdout, "\nok\n") {
						t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exit, r.stdout, r.stderr)
					}
				})
			}
		}
	}
}
