package policy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNewTable(t *testing.T) {
	tests := []struct {
		name    string
		in      []Mount
		want    []Mount // cleaned, in input order
		wantErr []string
	}{
		{name: "empty", in: nil, want: []Mount{}},
		{
			name: "two",
			in:   []Mount{{Path: "/data"}, {Path: "/src", Source: "/home/u/src"}},
			want: []Mount{{Path: "/data"}, {Path: "/src", Source: "/home/u/src"}},
		},
		{
			name: "cleaned",
			in:   []Mount{{Path: "/data/"}, {Path: "/a//b/./c/.."}, {Path: "/x/../y"}},
			want: []Mount{{Path: "/data"}, {Path: "/a/b"}, {Path: "/y"}},
		},
		{
			name: "siblings with a common prefix",
			in:   []Mount{{Path: "/data"}, {Path: "/data2"}, {Path: "/dat"}},
			want: []Mount{{Path: "/data"}, {Path: "/data2"}, {Path: "/dat"}},
		},
		{name: "root", in: []Mount{{Path: "/"}}, wantErr: []string{`"/"`, "whole host"}},
		{name: "root after cleaning", in: []Mount{{Path: "/data/.."}}, wantErr: []string{"whole host"}},
		{name: "relative", in: []Mount{{Path: "data"}}, wantErr: []string{`"data"`, "not absolute"}},
		{name: "dot relative", in: []Mount{{Path: "./data"}}, wantErr: []string{"not absolute"}},
		{name: "empty path", in: []Mount{{Path: ""}}, wantErr: []string{"empty"}},
		{name: "duplicate", in: []Mount{{Path: "/data"}, {Path: "/data/"}}, wantErr: []string{"/data", "twice"}},
		{
			name:    "nested after parent",
			in:      []Mount{{Path: "/data"}, {Path: "/data/sub"}},
			wantErr: []string{"/data/sub is inside mount /data", "nested"},
		},
		{
			name:    "nested before parent",
			in:      []Mount{{Path: "/a/b/c"}, {Path: "/a"}},
			wantErr: []string{"/a/b/c is inside mount /a", "nested"},
		},
		{
			name:    "every error reported",
			in:      []Mount{{Path: "rel"}, {Path: "/"}, {Path: "/d"}, {Path: "/d"}},
			wantErr: []string{"rel", "whole host", "twice"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := NewTable(tc.in)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("NewTable(%v) = %v, want an error mentioning %q", tc.in, tb.Mounts(), tc.wantErr)
				}
				if tb != nil {
					t.Errorf("NewTable(%v) returned a table and an error", tc.in)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("NewTable(%v) error %q does not mention %q", tc.in, err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("NewTable(%v): %v", tc.in, err)
			}
			if got := tb.Mounts(); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Mounts() = %v, want %v", got, tc.want)
			}
			if tb.Len() != len(tc.want) {
				t.Errorf("Len() = %d, want %d", tb.Len(), len(tc.want))
			}
		})
	}
}

func TestMountsIsACopy(t *testing.T) {
	tb, err := NewTable([]Mount{{Path: "/data"}})
	if err != nil {
		t.Fatal(err)
	}
	tb.Mounts()[0].Path = "/changed"
	if got := tb.Mounts()[0].Path; got != "/data" {
		t.Errorf("changing Mounts()' result changed the table: %q", got)
	}
}

func TestMatch(t *testing.T) {
	tb, err := NewTable([]Mount{{Path: "/data"}, {Path: "/tmp/work/"}, {Path: "/data2"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		p       string
		ok      bool
		idx     int
		wantRel string
	}{
		{p: "/data", ok: true, idx: 0, wantRel: ""},
		{p: "/data/a", ok: true, idx: 0, wantRel: "a"},
		{p: "/data/a/b", ok: true, idx: 0, wantRel: "a/b"},
		{p: "/data/.hidden", ok: true, idx: 0, wantRel: ".hidden"},
		{p: "/data2", ok: true, idx: 2, wantRel: ""},
		{p: "/data2/x", ok: true, idx: 2, wantRel: "x"},
		{p: "/tmp/work", ok: true, idx: 1, wantRel: ""},
		{p: "/tmp/work/f", ok: true, idx: 1, wantRel: "f"},
		{p: "/data3", ok: false},
		{p: "/dat", ok: false},
		{p: "/datab/x", ok: false},
		{p: "/tmp", ok: false},
		{p: "/tmp/workshop", ok: false},
		{p: "/", ok: false},
		{p: "/etc/passwd", ok: false},
		// Not absolute and clean: never a match, whatever it looks like.
		{p: "", ok: false},
		{p: "data/a", ok: false},
		{p: "/data/", ok: false},
		{p: "/data/../etc", ok: false},
		{p: "/data//a", ok: false},
		{p: "/data/./a", ok: false},
	}
	for _, tc := range tests {
		idx, rel, ok := tb.Match(tc.p)
		if ok != tc.ok || (ok && (idx != tc.idx || rel != tc.wantRel)) {
			t.Errorf("Match(%q) = %d, %q, %v; want %d, %q, %v", tc.p, idx, rel, ok, tc.idx, tc.wantRel, tc.ok)
		}
	}

	var empty *Table
	if _, _, ok := empty.Match("/data"); ok {
		t.Errorf("nil table matched /data")
	}
	tb0, _ := NewTable(nil)
	if _, _, ok := tb0.Match("/data"); ok {
		t.Errorf("empty table matched /data")
	}
}

// Match runs for every path syscall of the target: it must not allocate.
func TestMatchDoesNotAllocate(t *testing.T) {
	tb, err := NewTable([]Mount{{Path: "/data"}, {Path: "/srv/x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/data/a/b", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/srv/x", "/data/../x"} {
		if n := testing.AllocsPerRun(100, func() { tb.Match(p) }); n != 0 {
			t.Errorf("Match(%q) allocates %v times", p, n)
		}
	}
}

func TestParseMountFlag(t *testing.T) {
	tests := []struct {
		v, cwd  string
		want    Mount
		wantErr string
	}{
		{v: "/data", cwd: "/home/u", want: Mount{Path: "/data"}},
		{v: "/data/", cwd: "/home/u", want: Mount{Path: "/data"}},
		{v: "/data=/srv/fixtures", cwd: "/home/u", want: Mount{Path: "/data", Source: "/srv/fixtures"}},
		{v: "/data=fixtures/", cwd: "/home/u", want: Mount{Path: "/data", Source: "/home/u/fixtures"}},
		{v: "/data=./t.tar", cwd: "/home/u", want: Mount{Path: "/data", Source: "/home/u/t.tar"}},
		{v: "data", cwd: "/home/u", want: Mount{Path: "/home/u/data"}},
		{v: "./a/../b=/x", cwd: "/home/u/", want: Mount{Path: "/home/u/b", Source: "/x"}},
		{v: "../w", cwd: "/home/u", want: Mount{Path: "/home/w"}},
		{v: "/d=/a=b", cwd: "/", want: Mount{Path: "/d", Source: "/a=b"}},
		{v: "", cwd: "/home/u", wantErr: "missing mount path"},
		{v: "=/srv", cwd: "/home/u", wantErr: "missing mount path"},
		{v: "/data=", cwd: "/home/u", wantErr: "empty host directory"},
		{v: "/", cwd: "/home/u", wantErr: "whole host"},
		{v: "..", cwd: "/home", wantErr: "whole host"},
		{v: "data", cwd: "", wantErr: "not absolute"},
		{v: "data", cwd: "home/u", wantErr: "not absolute"},
		{v: "/data=src", cwd: "", wantErr: "not absolute"},
	}
	for _, tc := range tests {
		got, err := ParseMountFlag(tc.v, tc.cwd)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMountFlag(%q, %q) = %v, %v; want error mentioning %q", tc.v, tc.cwd, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMountFlag(%q, %q) = %v, %v; want %v", tc.v, tc.cwd, got, err, tc.want)
		}
	}
}

// Flags parsed one by one still meet NewTable's checks together.
func TestParseMountFlagThenNewTable(t *testing.T) {
	var ms []Mount
	for _, v := range []string{"/data", "data/sub"} {
		m, err := ParseMountFlag(v, "/")
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if _, err := NewTable(ms); err == nil || !strings.Contains(err.Error(), "/data/sub is inside mount /data") {
		t.Errorf("NewTable(%v) error = %v, want nested-mount error", ms, err)
	}
}

func TestIsCleanAbs(t *testing.T) {
	for _, p := range []string{"", "/", "a", "./a", "/a", "/a/b", "/a/", "//a", "/a//b", "/.", "/..", "/a/.", "/a/..",
		"/a/./b", "/a/../b", "/...", "/a/.b", "/a/..b", "/a./b", "/.../x", "/a/b/"} {
		want := len(p) > 0 && p[0] == '/' && filepath.Clean(p) == p
		if got := isCleanAbs(p); got != want {
			t.Errorf("isCleanAbs(%q) = %v, want %v", p, got, want)
		}
	}
}

func FuzzIsCleanAbs(f *testing.F) {
	for _, p := range []string{"/", "/a/b", "/a/../b", "//", "/a/", "/.x"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want := len(p) > 0 && p[0] == '/' && filepath.Clean(p) == p
		if got := isCleanAbs(p); got != want {
			t.Errorf("isCleanAbs(%q) = %v, filepath.Clean says %v", p, got, want)
		}
	})
}
