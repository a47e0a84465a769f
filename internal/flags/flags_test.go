package flags

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

type vars struct {
	mount []string
	size  string
	stats bool
	n     int
	big   int64
	mode  string
}

func newSet(out *bytes.Buffer, interspersed bool) (*FlagSet, *vars) {
	v := &vars{}
	fs := NewFlagSet("t")
	fs.SetOutput(out)
	fs.SetInterspersed(interspersed)
	fs.StringArrayVar(&v.mount, "mount", []string{"default"}, "serve `PATH`; repeatable")
	fs.StringVar(&v.size, "size", "", "capacity")
	fs.BoolVar(&v.stats, "stats", false, "print figures")
	fs.IntVar(&v.n, "runs", 3, "`N` runs")
	fs.Int64Var(&v.big, "max", 0, "at most `N`")
	fs.StringVar(&v.mode, "transport", "unotify", "how")
	return fs, v
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args         []string
		interspersed bool
		want         vars
		rest         []string
	}{
		{nil, false, vars{mount: []string{"default"}, n: 3, mode: "unotify"}, []string{}},
		{[]string{"--mount", "/a", "--mount=/b=c", "--", "prog", "--mount", "x"}, false,
			vars{mount: []string{"/a", "/b=c"}, n: 3, mode: "unotify"}, []string{"prog", "--mount", "x"}},
		{[]string{"--stats", "prog", "--stats=false"}, false,
			vars{mount: []string{"default"}, stats: true, n: 3, mode: "unotify"}, []string{"prog", "--stats=false"}},
		{[]string{"--stats", "prog", "--stats=false", "x"}, true,
			vars{mount: []string{"default"}, n: 3, mode: "unotify"}, []string{"prog", "x"}},
		{[]string{"--runs", "0x10", "--max=-7", "--size=", "--transport", "ptrace", "-", ""}, false,
			vars{mount: []string{"default"}, n: 16, big: -7, mode: "ptrace"}, []string{"-", ""}},
	} {
		var out bytes.Buffer
		fs, v := newSet(&out, c.interspersed)
		if err := fs.Parse(c.args); err != nil {
			t.Errorf("Parse(%q): %v", c.args, err)
			continue
		}
		if !reflect.DeepEqual(*v, c.want) || !reflect.DeepEqual(fs.Args(), c.rest) {
			t.Errorf("Parse(%q) = %+v, args %q; want %+v, %q", c.args, *v, fs.Args(), c.want, c.rest)
		}
		if fs.NArg() != len(c.rest) || fs.Arg(len(c.rest)) != "" {
			t.Errorf("Parse(%q): NArg %d, Arg past the end %q", c.args, fs.NArg(), fs.Arg(len(c.rest)))
		}
		if out.Len() != 0 {
			t.Errorf("Parse(%q) printed %q", c.args, out.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	for args, want := range map[string][]string{
		"unknown flag: --bogus":                                              {"--bogus"},
		"unknown shorthand flag: 'x' in -xyz":                                {"-xyz"},
		"bad flag syntax: ---x":                                              {"---x"},
		"bad flag syntax: --=x":                                              {"--=x"},
		"flag needs an argument: --size":                                     {"--size"},
		`invalid argument "x" for "--runs" flag: must be an integer`:         {"--runs", "x"},
		`invalid argument "1.5" for "--max" flag: must be an integer`:        {"--max=1.5"},
		`invalid argument "maybe" for "--stats" flag: must be true or false`: {"--stats=maybe"},
	} {
		var out bytes.Buffer
		fs, _ := newSet(&out, true)
		err := fs.Parse(want)
		if err == nil || err.Error() != args {
			t.Errorf("Parse(%q) = %v, want %q", want, err, args)
		}
		if out.Len() != 0 {
			t.Errorf("Parse(%q) printed %q; errors are the caller's to print", want, out.String())
		}
	}
}

func TestHelp(t *testing.T) {
	const defaults = "" +
		"      --max N                at most N\n" +
		"      --mount PATH           serve PATH; repeatable (default [default])\n" +
		"      --runs N               N runs (default 3)\n" +
		"      --size string          capacity\n" +
		"      --stats[=true|false]   print figures\n" +
		"      --transport string     how (default \"unotify\")\n"
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--stats", "-hx"}} {
		var out bytes.Buffer
		fs, _ := newSet(&out, false)
		if err := fs.Parse(args); !errors.Is(err, ErrHelp) {
			t.Errorf("Parse(%q) = %v, want ErrHelp", args, err)
		}
		if want := "Usage of t:\n" + defaults; out.String() != want {
			t.Errorf("Parse(%q) printed\n%s\nwant\n%s", args, out.String(), want)
		}
	}
	var out bytes.Buffer
	fs, _ := newSet(&out, false)
	called := false
	fs.Usage = func() { called = true }
	if err := fs.Parse([]string{"--help"}); !errors.Is(err, ErrHelp) || !called || out.Len() != 0 {
		t.Errorf("own Usage: err %v, called %v, printed %q", err, called, out.String())
	}
	// A defined --help is a flag like any other.
	fs = NewFlagSet("t")
	help := fs.Bool("help", false, "")
	if err := fs.Parse([]string{"--help"}); err != nil || !*help {
		t.Errorf("defined --help: %v, %v", err, *help)
	}
}

func TestDefinedTwice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a flag defined twice did not panic")
		}
	}()
	fs := NewFlagSet("t")
	fs.String("a", "", "")
	fs.Int("a", 0, "")
}
