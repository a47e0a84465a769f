package postmark

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const postmarkBin = "/usr/bin/postmark"

// needPostmark skips the test when Debian's postmark is not installed.
func needPostmark(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(postmarkBin); err != nil {
		t.Skipf("%s not installed (apt-get install postmark): %v", postmarkBin, err)
	}
}

// counts are the numbers a verbose report prints that do not depend on time.
type counts struct {
	Created, CreatedAlone, CreatedMixed int
	Read, Appended                      int
	Deleted, DeletedAlone, DeletedMixed int
	DataRead, DataWritten               string // e.g. "1.64 megabytes"
}

var (
	reCreated = regexp.MustCompile(`(?m)^\t(\d+) created \(`)
	reCAlone  = regexp.MustCompile(`(?m)^\t\tCreation alone: (\d+) files \(`)
	reMixed   = regexp.MustCompile(`(?m)^\t\tMixed with transactions: (\d+) files \(`)
	reRead    = regexp.MustCompile(`(?m)^\t(\d+) read \(`)
	reAppend  = regexp.MustCompile(`(?m)^\t(\d+) appended \(`)
	reDeleted = regexp.MustCompile(`(?m)^\t(\d+) deleted \(`)
	reDAlone  = regexp.MustCompile(`(?m)^\t\tDeletion alone: (\d+) files \(`)
	reDRead   = regexp.MustCompile(`(?m)^\t(\S+ \S+) read \(\S+ \S+ per second\)$`)
	reDWrite  = regexp.MustCompile(`(?m)^\t(\S+ \S+) written \(\S+ \S+ per second\)$`)
	reTerse   = regexp.MustCompile(`(?m)^([0-9.]+)( [0-9.]+){12}$`)
)

// parseVerbose extracts the counts of the first verbose report in out.
func parseVerbose(out string) (counts, error) {
	var c counts
	num := func(re *regexp.Regexp, dst *int) error {
		m := re.FindStringSubmatch(out)
		if m == nil {
			return fmt.Errorf("no match for %s in report:\n%s", re, out)
		}
		*dst, _ = strconv.Atoi(m[1])
		return nil
	}
	str := func(re *regexp.Regexp, dst *string) error {
		m := re.FindStringSubmatch(out)
		if m == nil {
			return fmt.Errorf("no match for %s in report:\n%s", re, out)
		}
		*dst = m[1]
		return nil
	}
	mixed := reMixed.FindAllStringSubmatch(out, 2)
	if len(mixed) != 2 {
		return c, fmt.Errorf("want two 'Mixed with transactions' lines in:\n%s", out)
	}
	c.CreatedMixed, _ = strconv.Atoi(mixed[0][1])
	c.DeletedMixed, _ = strconv.Atoi(mixed[1][1])
	return c, errors.Join(
		num(reCreated, &c.Created), num(reCAlone, &c.CreatedAlone),
		num(reRead, &c.Read), num(reAppend, &c.Appended),
		num(reDeleted, &c.Deleted), num(reDAlone, &c.DeletedAlone),
		str(reDRead, &c.DataRead), str(reDWrite, &c.DataWritten))
}

// parseTerse returns the 13 numbers of the first terse report line in out.
func parseTerse(out string) ([]float64, error) {
	m := reTerse.FindString(out)
	if m == "" {
		return nil, fmt.Errorf("no terse report line in:\n%s", out)
	}
	var v []float64
	for _, f := range strings.Fields(m) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, err
		}
		v = append(v, x)
	}
	return v, nil
}

func countsOf(r Result, cfg Config) counts {
	read, written := r.dataTotals()
	return counts{
		Created: r.Created, CreatedAlone: r.CreatedAlone, CreatedMixed: r.CreatedMixed,
		Read: r.Read, Appended: r.Appended,
		Deleted: r.Deleted, DeletedAlone: r.DeletedAlone, DeletedMixed: r.DeletedMixed,
		DataRead: scaleBytes(read), DataWritten: scaleBytes(written),
	}
}

// withDir makes the location directories a config names under it
// ("@" stands for dir), and returns the config text with "@" replaced.
// With no `set location` line the config gets `set location @`.
func withDir(t testing.TB, settings, dir string) string {
	t.Helper()
	if !strings.Contains(settings, "set location") {
		settings = "set location @\n" + settings
	}
	text := strings.ReplaceAll(settings, "@", dir)
	for _, line := range strings.Split(settings, "\n") {
		if rest, ok := strings.CutPrefix(line, "set location "); ok {
			p := strings.Fields(strings.TrimLeft(rest, "+"))[0]
			if err := os.MkdirAll(strings.ReplaceAll(p, "@", dir), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return text
}

// runC runs Debian's postmark on a config text in a directory of its own
// and returns its standard output.
func runC(t testing.TB, text string) string {
	t.Helper()
	cdir := t.TempDir()
	cfgPath := filepath.Join(cdir, "pm.cfg")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(postmarkBin, cfgPath)
	cmd.Dir = cdir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("postmark: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	if errb.Len() > 0 {
		t.Fatalf("postmark wrote to stderr:\n%s", errb.String())
	}
	return out.String()
}

// assertEmpty fails unless dir holds nothing but empty directories
// that the test itself made (keep).
func assertEmpty(t testing.TB, dir string, keep ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		for _, k := range keep {
			if p == k {
				return nil
			}
		}
		t.Errorf("left behind: %s", p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
