package postmark

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// recFS is Raw recording each call in a form that strace output of the C
// program can be brought to; paths are shown relative to base.
type recFS struct {
	Raw
	base   string
	events []string
}

func (f *recFS) rel(p string) string {
	if f.base != "" {
		return strings.TrimPrefix(p, f.base+"/")
	}
	return p
}

func (f *recFS) add(format string, a ...any) { f.events = append(f.events, fmt.Sprintf(format, a...)) }

func openEvent(path string, flags int, mode uint32) string {
	if flags&unix.O_CREAT != 0 {
		return fmt.Sprintf("open %s %#x %o", path, flags, mode)
	}
	return fmt.Sprintf("open %s %#x", path, flags)
}

func (f *recFS) Open(p string, flags int, mode uint32) (int, error) {
	fd, err := f.Raw.Open(p, flags, mode)
	f.add("%s = %v", openEvent(f.rel(p), flags, mode), err)
	return fd, err
}
func (f *recFS) Close(fd int) error { f.add("close"); return f.Raw.Close(fd) }
func (f *recFS) Read(fd int, p []byte) (int, error) {
	n, err := f.Raw.Read(fd, p)
	f.add("read %d = %d", len(p), n)
	return n, err
}
func (f *recFS) Write(fd int, p []byte) (int, error) {
	n, err := f.Raw.Write(fd, p)
	f.add("write %d = %d", len(p), n)
	return n, err
}
func (f *recFS) Lseek(fd int, off int64, whence int) (int64, error) {
	f.add("lseek %d %d", off, whence)
	return f.Raw.Lseek(fd, off, whence)
}
func (f *recFS) Unlink(p string) error { f.add("unlink %s", f.rel(p)); return f.Raw.Unlink(p) }
func (f *recFS) Rmdir(p string) error  { f.add("rmdir %s", f.rel(p)); return f.Raw.Rmdir(p) }
func (f *recFS) Mkdir(p string, m uint32) error {
	f.add("mkdir %s %o", f.rel(p), m)
	return f.Raw.Mkdir(p, m)
}
func (f *recFS) Fstat(fd int, st *unix.Stat_t) error { f.add("fstat"); return f.Raw.Fstat(fd, st) }

var (
	reCall  = regexp.MustCompile(`^(\w+)\((.*)\)\s+= (-?\d+)`)
	reQuote = regexp.MustCompile(`"([^"]*)"`)
	oflags  = map[string]int{
		"O_RDONLY": unix.O_RDONLY, "O_WRONLY": unix.O_WRONLY, "O_RDWR": unix.O_RDWR,
		"O_CREAT": unix.O_CREAT, "O_TRUNC": unix.O_TRUNC, "O_APPEND": unix.O_APPEND,
	}
)

// straceEvents turns strace output of the C program into recFS events for
// the calls on files and directories under base.
func straceEvents(t *testing.T, trace, base string) []string {
	var ev []string
	work := map[string]bool{} // fds open on work files
	sc := bufio.NewScanner(strings.NewReader(trace))
	for sc.Scan() {
		m := reCall.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name, args, ret := m[1], strings.Split(m[2], ", "), m[3]
		path := ""
		if q := reQuote.FindStringSubmatch(m[2]); q != nil {
			path = q[1]
		}
		under := strings.HasPrefix(path, base+"/")
		rel := strings.TrimPrefix(path, base+"/")
		switch name {
		case "openat":
			if !under {
				continue
			}
			flags := 0
			for _, f := range strings.Split(args[2], "|") {
				v, ok := oflags[f]
				if !ok {
					t.Fatalf("flag %q in %s", f, sc.Text())
				}
				flags |= v
			}
			mode := uint64(0)
			if len(args) > 3 {
				mode, _ = strconv.ParseUint(args[3], 8, 32)
			}
			ev = append(ev, openEvent(rel, flags, uint32(mode))+" = <nil>")
			work[ret] = true
		case "read", "write":
			if work[args[0]] {
				ev = append(ev, fmt.Sprintf("%s %s = %s", name, args[len(args)-1], ret))
			}
		case "lseek":
			if work[args[0]] {
				wh := map[string]int{"SEEK_SET": 0, "SEEK_CUR": 1, "SEEK_END": 2}[args[2]]
				ev = append(ev, fmt.Sprintf("lseek %s %d", args[1], wh))
			}
		case "newfstatat", "fstat":
			if work[args[0]] {
				ev = append(ev, "fstat")
			}
		case "close":
			if work[args[0]] {
				ev = append(ev, "close")
				delete(work, args[0])
			}
		case "unlink", "rmdir":
			if under {
				ev = append(ev, name+" "+rel)
			}
		case "mkdir":
			if under {
				ev = append(ev, "mkdir "+rel+" "+strings.TrimPrefix(args[1], "0"))
			}
		}
	}
	return ev
}

// Under strace, the C program and Run with the same configuration make
// the same calls in the same order with the same sizes: the same file
// names, sizes, append amounts and transaction choices, and (buffered)
// the same stdio pattern of writes, reads, lseeks and fstats.
func TestSyscallSequenceMatchesPostmark(t *testing.T) {
	needPostmark(t)
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed: syscall sequences not compared (counts are, in TestCountsMatchPostmark)")
	}
	cases := []struct{ name, settings string }{
		{"buffered", "set number 30\nset transactions 200\n"},
		{"unbuffered-subdirs", "set number 30\nset transactions 200\nset buffering false\nset subdirectories 3\nset read 700\nset write 300\n"},
		{"buffered-big-blocks", "set number 20\nset transactions 150\nset size 100 30000\nset read 9000\nset write 5000\nset seed 5\n"},
		{"buffered-exact-blocks", "set number 20\nset transactions 150\nset size 4096 12288\nset read 4096\nset write 8192\n"},
		{"weighted-locations", "set location @/a 2\nset location +@/b\nset number 25\nset transactions 120\nset bias read 7\nset bias create 4\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			text := withDir(t, tc.settings, dir)
			cfgPath := filepath.Join(t.TempDir(), "pm.cfg")
			if err := os.WriteFile(cfgPath, []byte(text+"run\nquit\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var trace bytes.Buffer
			cmd := exec.Command(strace, "-qq", "-s", "0", "-e", "signal=none",
				"-e", "trace=openat,read,write,lseek,close,unlink,unlinkat,mkdir,mkdirat,rmdir,newfstatat,fstat",
				postmarkBin, cfgPath)
			cmd.Dir = t.TempDir()
			cmd.Stderr = &trace
			if err := cmd.Run(); err != nil {
				t.Fatalf("strace postmark: %v\n%s", err, trace.String())
			}
			want := straceEvents(t, trace.String(), dir)
			if len(want) < 100 || !strings.Contains(strings.Join(want, "\n"), "write ") {
				t.Fatalf("too few calls parsed from strace (%d):\n%s", len(want), trace.String())
			}

			cfg, _, err := ParseConfig(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			rec := &recFS{base: dir}
			if _, err := Run(rec, cfg); err != nil {
				t.Fatal(err)
			}
			got := rec.events
			for i := 0; i < len(got) || i < len(want); i++ {
				g, w := "<end>", "<end>"
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					lo := max(0, i-5)
					t.Fatalf("call %d differs: go %q, postmark %q\ngo context: %q\npostmark context: %q",
						i, g, w, got[lo:min(len(got), i+3)], want[lo:min(len(want), i+3)])
				}
			}
			t.Logf("%d calls identical", len(got))
		})
	}
}
