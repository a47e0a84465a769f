package postmark

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// failFS is Raw whose Nth write (counting from 1) fails with ENOSPC, and
// whose Nth read optionally comes back short.
type failFS struct {
	Raw
	failWrite, writes int
	shortRead, reads  int
	open              map[int]bool
}

func (f *failFS) Open(p string, flags int, mode uint32) (int, error) {
	fd, err := f.Raw.Open(p, flags, mode)
	if err == nil {
		f.open[fd] = true
	}
	return fd, err
}

func (f *failFS) Close(fd int) error {
	delete(f.open, fd)
	return f.Raw.Close(fd)
}

func (f *failFS) Write(fd int, p []byte) (int, error) {
	f.writes++
	if f.writes == f.failWrite {
		return 0, unix.ENOSPC
	}
	return f.Raw.Write(fd, p)
}

func (f *failFS) Read(fd int, p []byte) (int, error) {
	f.reads++
	n, err := f.Raw.Read(fd, p)
	if f.reads == f.shortRead && n > 0 {
		n--
	}
	return n, err
}

func TestRunReturnsFSErrors(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		for _, nth := range []int{1, 37, 300} {
			dir := t.TempDir()
			cfg := DefaultConfig()
			cfg.Number, cfg.Transactions, cfg.Subdirectories = 50, 400, 3
			cfg.Buffering, cfg.Location = buffered, dir
			fs := &failFS{failWrite: nth, open: map[int]bool{}}
			res, err := Run(fs, cfg)
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("buffered=%v write %d: err = %v, want ENOSPC", buffered, nth, err)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the file", err)
			}
			if fs.writes != nth {
				t.Errorf("buffered=%v: %d writes after failing write %d", buffered, fs.writes, nth)
			}
			if len(fs.open) != 0 {
				t.Errorf("buffered=%v write %d: %d descriptors left open", buffered, nth, len(fs.open))
			}
			if nth == 1 && res.Created != 1 {
				t.Errorf("result after first write failed: %+v", res)
			}
			assertEmpty(t, dir) // best-effort cleanup removed files and subdirectories
		}
	}
}

func TestRunShortRead(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		dir := t.TempDir()
		cfg := DefaultConfig()
		cfg.Number, cfg.Transactions = 20, 100
		cfg.Buffering, cfg.Location = buffered, dir
		fs := &failFS{shortRead: 3, open: map[int]bool{}}
		_, err := Run(fs, cfg)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("buffered=%v: err = %v, want ErrUnexpectedEOF", buffered, err)
		}
		assertEmpty(t, dir)
	}
}

func TestRunMissingLocation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Location = filepath.Join(t.TempDir(), "missing")
	_, err := Run(Raw{}, cfg)
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("err = %v, want ENOENT", err)
	}
}

func TestReportLayout(t *testing.T) {
	r := Result{Created: 349, CreatedAlone: 100, CreatedMixed: 249, Read: 252, Appended: 248,
		Deleted: 349, DeletedAlone: 98, DeletedMixed: 251, BytesRead: 1719418, BytesWritten: 2292558,
		Transactions: 500, Elapsed: 2 * time.Second, CreateTime: 500 * time.Millisecond,
		TransactionTime: time.Second, DeleteTime: 500 * time.Millisecond}
	var b bytes.Buffer
	cfg := DefaultConfig()
	r.Report(&b, cfg)
	want := `Time:
	2.000000 seconds total
	1.000000 seconds of transactions (500 per second)

Files:
	349 created (174 per second)
		Creation alone: 100 files (200 per second)
		Mixed with transactions: 249 files (249 per second)
	252 read (252 per second)
	248 appended (248 per second)
	349 deleted (174 per second)
		Deletion alone: 98 files (196 per second)
		Mixed with transactions: 251 files (251 per second)

Data:
	1.64 megabytes read (839.56 kilobytes per second)
	2.19 megabytes written (1.09 megabytes per second)
`
	if b.String() != want {
		t.Errorf("verbose report:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	cfg.Report = "terse"
	r.Report(&b, cfg)
	if want := "2.000000 1.000000 500.00 174.50 200.00 249.00 252.00 248.00 174.50 196.00 251.00 859709.00 1146279.00\n"; b.String() != want {
		t.Errorf("terse report %q, want %q", b.String(), want)
	}
	if _, err := parseTerse(b.String()); err != nil {
		t.Error(err)
	}
}

func TestMainCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "pm.cfg")
	cfgText := "# two runs\nset location " + dir + "\nset number 30\nset transactions 100\nrun\nset report terse\nset seed 9\nrun\nquit\n"
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := Main(Raw{}, []string{cfgPath}, strings.NewReader(""), &out); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	s := out.String()
	for _, want := range []string{Version, "Reading configuration from file", "Creating files...Done",
		"Performing transactions..........Done", "Deleting files...Done", "seconds total"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if _, err := parseVerbose(s); err != nil {
		t.Error(err)
	}
	if _, err := parseTerse(s); err != nil {
		t.Error(err)
	}
	if strings.Contains(s, "pm>") {
		t.Errorf("prompted although the file said quit:\n%s", s)
	}
	assertEmpty(t, dir)

	// Interactive: settings, show, a report to a file, an unknown command,
	// a bad value, end of input without quit.
	repPath := filepath.Join(t.TempDir(), "report.txt")
	in := "set location " + dir + "\nset number 20\nset transactions 5\nshow\nrun " + repPath + "\nfoo\nset number x\n"
	out.Reset()
	t.Chdir(t.TempDir()) // no .pmrc here
	code := Main(Raw{}, nil, strings.NewReader(in), &out)
	if code != 1 {
		t.Errorf("exit %d, want 1 after a bad value", code)
	}
	s = out.String()
	for _, want := range []string{"pm>", "The base number of files is 20", "Transactions: 5",
		"Working directory: \n\t" + dir + " (weight=1)\n", "Using Unix buffered file I/O",
		"Performing transactions.....Done", "Eh?", "Error: invalid number of files"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	rep, err := os.ReadFile(repPath)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := parseVerbose(string(rep)); err != nil || c.CreatedAlone != 20 {
		t.Errorf("report file %+v %v:\n%s", c, err, rep)
	}
	assertEmpty(t, dir)

	if code := Main(Raw{}, []string{"a", "b"}, strings.NewReader(""), io.Discard); code != 2 {
		t.Errorf("two arguments: exit %d, want 2", code)
	}
	out.Reset()
	if code := Main(Raw{}, []string{filepath.Join(dir, "none.cfg")}, strings.NewReader("quit\n"), &out); code != 1 ||
		!strings.Contains(out.String(), "cannot read configuration file") {
		t.Errorf("missing file: exit %d:\n%s", code, out.String())
	}
}
