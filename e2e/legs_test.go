package e2e

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// progCase is one program run twice: natively in a tmpfs work directory,
// and under fsshim with a work directory of the same shape inside a
// --mount. The program must create everything it uses inside the work
// directory itself, since the mount starts empty.
type progCase struct {
	name string
	// tools are programs that must be installed, as name -> Debian package.
	tools map[string]string
	// helpers are programs built by TestMain that the case runs.
	helpers []string
	// args returns the command line for the work directory w.
	args    func(w string) []string
	stdin   string
	timeout time.Duration
	// normalize is applied to stdout (and stderr) of both legs after the
	// work directory has been replaced by $W.
	normalize func(string) string
	// compareStderr compares stderr too; by default it only shows on
	// failure.
	compareStderr bool
	wantExit      int
	// verify checks the native output beyond its exit status, so that an
	// oracle that went wrong is not taken for the truth.
	verify func(stdout string) error
	// uid, when not 0, runs both legs as that user (uid and gid), in work
	// directories it owns; fsshim itself runs as that user too.
	uid int
	// legs are the fsshim legs to run, transports when nil.
	legs []string
}

// known is the key of the case in knownDifferences.
func (c progCase) known() string { return strings.TrimSuffix(c.name, asNobody) }

// runCase runs c as the subtest c.name with the subtests native and
// fsshim-TRANSPORT for each of c.legs (transports when nil).
func runCase(t *testing.T, c progCase) {
	t.Helper()
	t.Run(c.name, func(t *testing.T) {
		for tool, pkg := range c.tools {
			requireTool(t, tool, pkg)
		}
		for _, h := range c.helpers {
			requireHelper(t, h)
		}
		nw := c.own(t, workDir(t))
		var once sync.Once
		var nat result
		var natErr error
		oracle := func() (result, error) {
			once.Do(func() {
				nat, natErr = execute(proc{args: c.args(nw), stdin: c.stdin, timeout: c.timeout, uid: c.uid})
				nat = c.norm(nat, nw)
				if natErr == nil && nat.exit != c.wantExit {
					natErr = fmt.Errorf("native run exited %d, want %d", nat.exit, c.wantExit)
				}
				if natErr == nil && c.verify != nil {
					natErr = c.verify(nat.stdout)
				}
				if natErr != nil {
					natErr = fmt.Errorf("%v\nstdout:\n%s\nstderr:\n%s", natErr, indent(nat.stdout), indent(nat.stderr))
				}
			})
			return nat, natErr
		}
		t.Run("native", func(t *testing.T) {
			r, err := oracle()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("exit %d in %v\nstdout:\n%s\nstderr:\n%s", r.exit, r.took.Round(time.Millisecond), indent(r.stdout), indent(r.stderr))
			// A second run in another directory must print the same: an
			// oracle that varies would make the fsshim leg fail for nothing.
			w2 := c.own(t, workDir(t))
			again, err := execute(proc{args: c.args(w2), stdin: c.stdin, timeout: c.timeout, uid: c.uid})
			if err != nil {
				t.Fatal(err)
			}
			again = c.norm(again, w2)
			if n, x, y := firstDiff(r.stdout, again.stdout); n != 0 || again.exit != r.exit {
				t.Errorf("the native run is not deterministic: line %d\nfirst:  %s\nsecond: %s\nexit %d and %d", n, x, y, r.exit, again.exit)
			}
		})
		legs := c.legs
		if legs == nil {
			legs = transports
		}
		for _, tr := range legs {
			t.Run("fsshim-"+tr, func(t *testing.T) {
				requireTransport(t, tr)
				want, err := oracle()
				if err != nil {
					t.Fatalf("the native oracle failed, nothing to compare with: %v", err)
				}
				fw, checkHost := mountDir(t)
				c.own(t, fw)
				got, err := execute(proc{args: fsshimTransportArgs(tr, []string{fw}, c.args(fw)...), stdin: c.stdin, timeout: c.timeout, uid: c.uid})
				if err != nil {
					t.Fatal(err)
				}
				checkHost()
				got = c.norm(got, fw)
				compareResults(t, c, tr, want, got)
			})
		}
	})
}

func (c progCase) norm(r result, w string) result {
	r.stdout = normalizeWork(r.stdout, w)
	r.stderr = normalizeWork(r.stderr, w)
	if c.normalize != nil {
		r.stdout = c.normalize(r.stdout)
		r.stderr = c.normalize(r.stderr)
	}
	return r
}

// compareResults reports the first difference between the native and the
// fsshim run, with both outputs in full.
func compareResults(t *testing.T, c progCase, tr string, want, got result) {
	t.Helper()
	diff := difference(c, want, got)
	if why, known := knownDifference(c.known(), tr); known {
		// A difference the project knows and has not fixed yet: it must
		// still be there, so that a fix updates the list.
		if diff == "" {
			t.Errorf("%s now matches Linux: remove it from knownDifferences (%s)", c.name, why)
			return
		}
		t.Logf("known difference, %s:\n%s", why, diff)
		return
	}
	if diff != "" {
		t.Error(diff)
		return
	}
	t.Logf("native %v, fsshim %v", want.took.Round(time.Millisecond), got.took.Round(time.Millisecond))
}

// difference describes the first difference between the native and the
// fsshim run, with both outputs in full, or returns "".
func difference(c progCase, want, got result) string {
	both := fmt.Sprintf("native stdout:\n%s\nfsshim stdout:\n%s\nnative stderr:\n%s\nfsshim stderr:\n%s",
		indent(want.stdout), indent(got.stdout), indent(want.stderr), indent(got.stderr))
	if n, a, b := firstDiff(want.stdout, got.stdout); n != 0 {
		return fmt.Sprintf("%s: stdout differs at line %d\nnative: %s\nfsshim: %s\n%s", c.name, n, a, b, both)
	}
	if got.exit != want.exit {
		return fmt.Sprintf("%s: exit status %d under fsshim, %d natively\n%s", c.name, got.exit, want.exit, both)
	}
	if c.compareStderr {
		if n, a, b := firstDiff(want.stderr, got.stderr); n != 0 {
			return fmt.Sprintf("%s: stderr differs at line %d\nnative: %s\nfsshim: %s\n%s", c.name, n, a, b, both)
		}
	}
	return ""
}

// asNobody ends the name of a case run as an unprivileged user.
const asNobody = "_as_nobody"

// nobody is the unprivileged user the _as_nobody cases run as.
const nobody = 65534

// own gives directory w to the case's user, so that it can work there as
// it could in its own directory; it returns w.
func (c progCase) own(t *testing.T, w string) string {
	t.Helper()
	if c.uid != 0 {
		if err := os.Chown(w, c.uid, c.uid); err != nil {
			t.Fatal(err)
		}
	}
	return w
}
