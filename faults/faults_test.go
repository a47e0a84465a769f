package faults

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// validSyscalls is the list Parse's errors give, spelled out here so that
// a change of the table shows.
const validSyscalls = "chmod, chown, close, copy_file_range, creat, fallocate, fchmod, fchmodat, " +
	"fchown, fchownat, fdatasync, fstat, fsync, ftruncate, getdents64, link, linkat, lseek, " +
	"lstat, mkdir, mkdirat, newfstatat, open, openat, openat2, pread64, preadv, preadv2, " +
	"pwrite64, pwritev, pwritev2, read, readv, rename, renameat, renameat2, rmdir, sendfile, " +
	"stat, statx, symlink, symlinkat, truncate, unlink, unlinkat, utimensat, write, writev"

func TestParse(t *testing.T) {
	const conds = "want after=N, every=N, nth=N or path=GLOB, separated by commas"
	const usage = "want SYSCALL:ERRNO[:CONDITIONS], for example write:ENOSPC:after=100"
	errnoList := strings.Join(errnoNames, ", ")
	for _, tc := range []struct {
		spec string
		want Rule
		err  string
	}{
		{spec: "write:ENOSPC", want: Rule{Syscall: "write", Nr: 1, Errno: syscall.ENOSPC}},
		{spec: "  write:ENOSPC  ", want: Rule{Spec: "write:ENOSPC", Syscall: "write", Nr: 1, Errno: syscall.ENOSPC}},
		{spec: "WRITE:enospc", want: Rule{Syscall: "write", Nr: 1, Errno: syscall.ENOSPC}},
		{spec: "write:ENOSPC:after=100", want: Rule{Syscall: "write", Nr: 1, Errno: syscall.ENOSPC, After: 100}},
		{spec: "write:ENOSPC:after=0", want: Rule{Syscall: "write", Nr: 1, Errno: syscall.ENOSPC}},
		{spec: "fsync:EIO:every=10", want: Rule{Syscall: "fsync", Nr: 74, Errno: syscall.EIO, Every: 10}},
		{spec: "openat:EMFILE:path=*.tmp", want: Rule{Syscall: "openat", Nr: 257, Errno: syscall.EMFILE, Path: "*.tmp"}},
		{spec: "read:EIO:nth=3", want: Rule{Syscall: "read", Nr: 0, Errno: syscall.EIO, Nth: 3}},
		{spec: "write:EIO:after=10,every=2", want: Rule{Syscall: "write", Nr: 1, Errno: syscall.EIO, After: 10, Every: 2}},
		{spec: "pwrite64:EDQUOT:after=1, nth=2, path=/data/*", want: Rule{Syscall: "pwrite64", Nr: 18, Errno: syscall.EDQUOT, After: 1, Nth: 2, Path: "/data/*"}},
		{spec: "open:EACCES:path=/a:b/*", want: Rule{Syscall: "open", Nr: 2, Errno: syscall.EACCES, Path: "/a:b/*"}},
		{spec: "statx:ENOENT", want: Rule{Syscall: "statx", Nr: 332, Errno: syscall.ENOENT}},
		{spec: "openat2:ENOSYS", want: Rule{Syscall: "openat2", Nr: 437, Errno: syscall.ENOSYS}},
		{spec: "copy_file_range:EXDEV", want: Rule{Syscall: "copy_file_range", Nr: 326, Errno: syscall.EXDEV}},
		{spec: "getdents64:EIO", want: Rule{Syscall: "getdents64", Nr: 217, Errno: syscall.EIO}},
		{spec: "newfstatat:EHWPOISON", want: Rule{Syscall: "newfstatat", Nr: 262, Errno: 133}},
		{spec: "read:EWOULDBLOCK", want: Rule{Syscall: "read", Nr: 0, Errno: syscall.EAGAIN}},
		{spec: "fallocate:EOPNOTSUPP", want: Rule{Syscall: "fallocate", Nr: 285, Errno: syscall.EOPNOTSUPP}},
		{spec: "fallocate:ENOTSUP", want: Rule{Syscall: "fallocate", Nr: 285, Errno: syscall.EOPNOTSUPP}},

		{spec: "", err: "faults: empty rule; " + usage},
		{spec: "   ", err: "faults: empty rule; " + usage},
		{spec: "write", err: `faults: rule "write": no errno; ` + usage},
		{spec: "write:", err: `faults: rule "write:": no errno; ` + usage},
		{spec: ":EIO", err: `faults: rule ":EIO": no syscall; ` + usage},
		{spec: "wrte:EIO", err: `faults: rule "wrte:EIO": unknown syscall "wrte"; valid: ` + validSyscalls},
		{spec: "mmap:EIO", err: `faults: rule "mmap:EIO": unknown syscall "mmap"; valid: ` + validSyscalls},
		{spec: "write:ENOSPACE", err: `faults: rule "write:ENOSPACE": unknown errno "ENOSPACE"; valid: ` + errnoList},
		{spec: "write:28", err: `faults: rule "write:28": unknown errno "28"; valid: ` + errnoList},
		{spec: "write:EIO:", err: `faults: rule "write:EIO:": empty condition; ` + conds},
		{spec: "write:EIO:after=1,", err: `faults: rule "write:EIO:after=1,": empty condition; ` + conds},
		{spec: "write:EIO:after", err: `faults: rule "write:EIO:after": condition "after" is not KEY=VALUE; ` + conds},
		{spec: "write:EIO:when=3", err: `faults: rule "write:EIO:when=3": unknown condition "when=3"; ` + conds},
		{spec: "write:EIO:after=x", err: `faults: rule "write:EIO:after=x": after=x: want a whole number >= 0`},
		{spec: "write:EIO:after=-1", err: `faults: rule "write:EIO:after=-1": after=-1: want a whole number >= 0`},
		{spec: "write:EIO:every=0", err: `faults: rule "write:EIO:every=0": every=0: want a whole number >= 1`},
		{spec: "write:EIO:nth=", err: `faults: rule "write:EIO:nth=": nth=: want a whole number >= 1`},
		{spec: "write:EIO:nth=99999999999999999999", err: `faults: rule "write:EIO:nth=99999999999999999999": nth=99999999999999999999: want a whole number >= 1`},
		{spec: "write:EIO:after=1,after=2", err: `faults: rule "write:EIO:after=1,after=2": condition after given twice`},
		{spec: "write:EIO:nth=2,every=3", err: `faults: rule "write:EIO:nth=2,every=3": nth and every cannot be combined (nth picks one call, every a series)`},
		{spec: "write:EIO:path=", err: `faults: rule "write:EIO:path=": path=: want a glob, for example path=*.tmp`},
		{spec: "write:EIO:path=[", err: `faults: rule "write:EIO:path=[": path=[: syntax error in pattern`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := Parse(tc.spec)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error\n%v\nwant\n%s", err, tc.err)
				}
				if got != (Rule{}) {
					t.Errorf("rule %+v with the error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want.Spec == "" {
				want.Spec = tc.spec
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestTables(t *testing.T) {
	if got := strings.Join(Syscalls(), ", "); got != validSyscalls {
		t.Errorf("Syscalls() = %s", got)
	}
	nrs := map[int]string{}
	for name, nr := range fileSyscalls {
		if other, dup := nrs[nr]; dup {
			t.Errorf("%s and %s have the same number %d", name, other, nr)
		}
		nrs[nr] = name
	}
	// 131 named errnos of 1..133 (41 and 58 are unused) plus 4 aliases.
	if len(errnos) != 135 || len(errnoNames) != 135 {
		t.Errorf("%d errnos, %d names", len(errnos), len(errnoNames))
	}
	for name, e := range map[string]syscall.Errno{"EPERM": 1, "ENOSPC": 28, "EMFILE": 24, "EDQUOT": 122, "EAGAIN": 11, "ENOTSUP": 95, "EDEADLK": 35, "EDEADLOCK": 35, "EUCLEAN": 117} {
		if errnos[name] != e {
			t.Errorf("%s = %d, want %d", name, errnos[name], e)
		}
	}
}

func TestRuleString(t *testing.T) {
	r := Rule{Syscall: "write", Nr: 1, Errno: syscall.ENOSPC, After: 10, Every: 2, Path: "*.tmp"}
	if s := r.String(); s != "write:ENOSPC:after=10,every=2,path=*.tmp" {
		t.Errorf("String() = %s", s)
	}
	back, err := Parse(r.String())
	if err != nil {
		t.Fatal(err)
	}
	back.Spec = ""
	if back != r {
		t.Errorf("round trip: %+v", back)
	}
}

func mustParse(t *testing.T, specs ...string) []Rule {
	t.Helper()
	var rules []Rule
	for _, s := range specs {
		r, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	return rules
}

// call is one Check and its expected outcome; errno 0 means no injection.
type call struct {
	nr    int
	path  string
	errno syscall.Errno
}

// failing returns n calls of nr on p, those whose 1-based index is in fail
// failing with e.
func failing(nr int, p string, n int, e syscall.Errno, fail ...int) []call {
	cs := make([]call, n)
	for i := range cs {
		cs[i] = call{nr: nr, path: p}
		if slices.Contains(fail, i+1) {
			cs[i].errno = e
		}
	}
	return cs
}

func TestCheck(t *testing.T) {
	const (
		read   = 0
		write  = 1
		openat = 257
		fsync  = 74
	)
	all := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i + 1
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		rules    []string
		calls    []call
		injected map[string]int64
	}{
		{
			name:     "always",
			rules:    []string{"write:ENOSPC"},
			calls:    append(failing(write, "", 3, syscall.ENOSPC, 1, 2, 3), failing(read, "", 2, 0)...),
			injected: map[string]int64{"write:ENOSPC": 3},
		},
		{
			name:     "after",
			rules:    []string{"write:ENOSPC:after=3"},
			calls:    failing(write, "/f", 6, syscall.ENOSPC, 4, 5, 6),
			injected: map[string]int64{"write:ENOSPC:after=3": 3},
		},
		{
			name:     "every",
			rules:    []string{"fsync:EIO:every=3"},
			calls:    failing(fsync, "", 10, syscall.EIO, 3, 6, 9),
			injected: map[string]int64{"fsync:EIO:every=3": 3},
		},
		{
			name:     "every=1",
			rules:    []string{"fsync:EIO:every=1"},
			calls:    failing(fsync, "", 4, syscall.EIO, all(4)...),
			injected: map[string]int64{"fsync:EIO:every=1": 4},
		},
		{
			name:     "nth",
			rules:    []string{"read:EIO:nth=3"},
			calls:    failing(read, "", 6, syscall.EIO, 3),
			injected: map[string]int64{"read:EIO:nth=3": 1},
		},
		{
			name:     "after and every",
			rules:    []string{"write:EIO:after=10,every=2"},
			calls:    failing(write, "", 17, syscall.EIO, 12, 14, 16),
			injected: map[string]int64{"write:EIO:after=10,every=2": 3},
		},
		{
			name:     "after and nth",
			rules:    []string{"write:EIO:after=5,nth=2"},
			calls:    failing(write, "", 10, syscall.EIO, 7),
			injected: map[string]int64{"write:EIO:after=5,nth=2": 1},
		},
		{
			name:  "path on the base name",
			rules: []string{"openat:EMFILE:path=*.tmp,nth=2"},
			calls: []call{
				{openat, "/d/a.tmp", 0},
				{openat, "/d/a.txt", 0}, // not counted
				{openat, "", 0},         // no path: not counted
				{write, "/d/b.tmp", 0},  // another syscall
				{openat, "rel/b.tmp", syscall.EMFILE},
				{openat, "/d/c.tmp", 0},
			},
			injected: map[string]int64{"openat:EMFILE:path=*.tmp,nth=2": 1},
		},
		{
			name:  "path on the whole path",
			rules: []string{"openat:EACCES:path=/data/*/x"},
			calls: []call{
				{openat, "/data/a/x", syscall.EACCES},
				{openat, "/data/a/b/x", 0},
				{openat, "/other/a/x", 0},
				{openat, "x", 0},
			},
			injected: map[string]int64{"openat:EACCES:path=/data/*/x": 1},
		},
		{
			name:  "two rules: all count, the first that fires wins",
			rules: []string{"write:EIO:nth=2", "write:ENOSPC:after=1", "read:EBADF:nth=1"},
			calls: []call{
				{write, "", 0},
				{write, "", syscall.EIO},    // both fire; the first wins
				{write, "", syscall.ENOSPC}, // nth=2 counted call 2 too
				{read, "", syscall.EBADF},
				{read, "", 0},
			},
			injected: map[string]int64{"write:EIO:nth=2": 1, "write:ENOSPC:after=1": 1, "read:EBADF:nth=1": 1},
		},
		{
			name:     "same spec twice: summed",
			rules:    []string{"write:EIO:nth=1", "write:EIO:nth=1"},
			calls:    failing(write, "", 2, syscall.EIO, 1),
			injected: map[string]int64{"write:EIO:nth=1": 1},
		},
		{
			name:     "unused rule is reported with 0",
			rules:    []string{"unlink:EBUSY"},
			calls:    failing(write, "", 2, 0),
			injected: map[string]int64{"unlink:EBUSY": 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSet(mustParse(t, tc.rules...))
			for i, c := range tc.calls {
				e, inject := s.Check(c.nr, c.path)
				if inject != (c.errno != 0) || e != c.errno {
					t.Errorf("call %d (nr %d, %q): got (%v, %v), want %v", i+1, c.nr, c.path, e, inject, c.errno)
				}
			}
			if got := s.Injected(); !maps.Equal(got, tc.injected) {
				t.Errorf("Injected() = %v, want %v", got, tc.injected)
			}
		})
	}
}

func TestNilAndEmptySet(t *testing.T) {
	var s *Set
	if e, inject := s.Check(1, "/x"); inject || e != 0 {
		t.Errorf("nil set injected %v", e)
	}
	if len(s.Injected()) != 0 || s.Nrs() != nil {
		t.Error("nil set has rules")
	}
	s = NewSet(nil)
	if _, inject := s.Check(1, "/x"); inject {
		t.Error("empty set injected")
	}
	s = NewSet(mustParse(t, "write:EIO", "fsync:EIO", "write:ENOSPC", "open:EPERM"))
	if nrs := s.Nrs(); !slices.Equal(nrs, []int{1, 2, 74}) {
		t.Errorf("Nrs() = %v", nrs)
	}
}

// TestConcurrent checks under -race that counts are exact when many
// goroutines check at once: which call fails depends on the interleaving,
// how many do not.
func TestConcurrent(t *testing.T) {
	const goroutines, perG = 8, 1000
	const total = goroutines * perG
	s := NewSet(mustParse(t,
		"write:ENOSPC:after=100",
		"fsync:EIO:every=7",
		"read:EIO:nth=500",
		"openat:EMFILE:path=*.tmp,every=2",
	))
	var mu sync.Mutex
	got := map[string]int64{}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			local := map[string]int64{}
			for i := range perG {
				for _, c := range []struct {
					nr   int
					path string
				}{{1, ""}, {74, ""}, {0, ""}, {257, fmt.Sprintf("/d/%d-%d.tmp", g, i)}, {257, "/d/x.txt"}} {
					if e, inject := s.Check(c.nr, c.path); inject {
						local[fmt.Sprintf("%d:%v", c.nr, e)]++
					}
				}
			}
			mu.Lock()
			for k, v := range local {
				got[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	want := map[string]int64{
		"1:" + syscall.ENOSPC.Error():   total - 100,
		"74:" + syscall.EIO.Error():     total / 7,
		"0:" + syscall.EIO.Error():      1,
		"257:" + syscall.EMFILE.Error(): total / 2,
	}
	if !maps.Equal(got, want) {
		t.Errorf("injections %v, want %v", got, want)
	}
	wantInjected := map[string]int64{
		"write:ENOSPC:after=100":           total - 100,
		"fsync:EIO:every=7":                total / 7,
		"read:EIO:nth=500":                 1,
		"openat:EMFILE:path=*.tmp,every=2": total / 2,
	}
	if inj := s.Injected(); !maps.Equal(inj, wantInjected) {
		t.Errorf("Injected() = %v, want %v", inj, wantInjected)
	}
}
