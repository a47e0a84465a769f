package postmark

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	want := Config{Size: [2]int64{500, 10000}, Number: 500, Seed: 42, Transactions: 500,
		Read: 512, Write: 512, Buffering: true, BiasRead: 5, BiasCreate: 5, Report: "verbose"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseConfig(t *testing.T) {
	def := DefaultConfig()
	with := func(f func(*Config)) Config { c := DefaultConfig(); f(&c); return c }
	tests := []struct {
		name string
		in   string
		want Config
		cmds []string
		err  string // substring of the error, "" for none
	}{
		{"empty", "", def, nil, ""},
		{"comments and blanks", "# a comment\n\n   \n  # indented\n", def, nil, ""},
		{"size pair", "set size 100 2000\n", with(func(c *Config) { c.Size = [2]int64{100, 2000} }), nil, ""},
		{"size single", "set size 4096\n", with(func(c *Config) { c.Size = [2]int64{4096, 4096} }), nil, ""},
		{"size high below low means fixed", "set size 1000 500\n", with(func(c *Config) { c.Size = [2]int64{1000, 1000} }), nil, ""},
		{"size zero", "set size 0 100\n", def, nil, "line 1: no file size"},
		{"number", "set number 1000\n", with(func(c *Config) { c.Number = 1000 }), nil, ""},
		{"number atoi", "set number 12abc\n", with(func(c *Config) { c.Number = 12 }), nil, ""},
		{"number bad", "set number 10\nset number x\n", def, nil, "line 2: invalid number of files"},
		{"number zero", "set number 0\n", def, nil, "invalid number of files"},
		{"seed", "set seed 7\n", with(func(c *Config) { c.Seed = 7 }), nil, ""},
		{"transactions", "set transactions 20000\n", with(func(c *Config) { c.Transactions = 20000 }), nil, ""},
		{"transactions negative", "set transactions -5\n", def, nil, "no transactions specified"},
		{"subdirectories", "set subdirectories 10\n", with(func(c *Config) { c.Subdirectories = 10 }), nil, ""},
		{"blocks", "set read 4096\nset write 1024\n", with(func(c *Config) { c.Read, c.Write = 4096, 1024 }), nil, ""},
		{"buffering false", "set buffering false\n", with(func(c *Config) { c.Buffering = false }), nil, ""},
		{"buffering true", "set buffering false\nset buffering true\n", def, nil, ""},
		{"buffering bad", "set buffering yes\n", def, nil, "true/false"},
		{"bias", "set bias read 0\nset bias create 10\n", with(func(c *Config) { c.BiasRead, c.BiasCreate = 0, 10 }), nil, ""},
		{"bias off", "set bias read -1\nset bias create -1\n", with(func(c *Config) { c.BiasRead, c.BiasCreate = -1, -1 }), nil, ""},
		{"bias too big", "set bias read 11\n", def, nil, "no bias specified"},
		{"bias too small", "set bias create -2\n", def, nil, "no bias specified"},
		{"report terse", "set report terse\n", with(func(c *Config) { c.Report = "terse" }), nil, ""},
		{"report bad", "set report short\n", def, nil, "'verbose' or 'terse'"},
		{"location", "set location /mnt/x\n", with(func(c *Config) {
			c.Location, c.Locations = "/mnt/x", []Location{{"/mnt/x", 1}}
		}), nil, ""},
		{"locations weighted", "set location /a 2\nset location +/b\nset location +/c 5\nset location -/b\n", with(func(c *Config) {
			c.Location, c.Locations = "/a", []Location{{"/a", 2}, {"/c", 5}}
		}), nil, ""},
		{"location replaces", "set location /a\nset location +/b\nset location /c\n", with(func(c *Config) {
			c.Location, c.Locations = "/c", []Location{{"/c", 1}}
		}), nil, ""},
		{"location remove missing", "set location -/nope\n", def, nil, "cannot find location"},
		{"location bad weight", "set location /a x\n", def, nil, "invalid weight"},
		{"commands", "set number 5\nshow\nrun\nrun out.txt\nhelp set\nquit\nset number x\n",
			with(func(c *Config) { c.Number = 5 }), []string{"show", "run", "run out.txt", "help", "quit"}, ""},
		{"exit alias", "run\nexit\nrun\n", def, []string{"run", "quit"}, ""},
		{"crlf and trailing blanks", "set report terse \r\nrun\r\n", with(func(c *Config) { c.Report = "terse" }), []string{"run"}, ""},
		{"unknown command", "set number 5\nfrobnicate\n", def, nil, "line 2: unknown command \"frobnicate\""},
		{"unknown setting", "set colour blue\n", def, nil, "line 1: unknown command \"set colour\""},
		{"shell escape", "!ls\n", def, nil, "shell escapes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, cmds, err := ParseConfig(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("config\n got %+v\nwant %+v", got, tc.want)
			}
			if !reflect.DeepEqual(cmds, tc.cmds) {
				t.Errorf("commands %q, want %q", cmds, tc.cmds)
			}
		})
	}
}

func TestParseConfigLoad(t *testing.T) {
	dir := t.TempDir()
	inner := filepath.Join(dir, "inner.cfg")
	if err := os.WriteFile(inner, []byte("set number 77\nset bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ParseConfig(strings.NewReader("set seed 3\nload " + inner + "\n"))
	if err == nil || !strings.Contains(err.Error(), "inner.cfg: line 2") {
		t.Fatalf("err = %v, want one naming inner.cfg line 2", err)
	}
	if err := os.WriteFile(inner, []byte("set number 77\nrun\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, cmds, err := ParseConfig(strings.NewReader("set seed 3\nload " + inner + "\nshow\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Seed != 3 || c.Number != 77 || !reflect.DeepEqual(cmds, []string{"run", "show"}) {
		t.Errorf("config %+v commands %q", c, cmds)
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Size = [2]int64{0, 10} },
		func(c *Config) { c.Size = [2]int64{10, 5} },
		func(c *Config) { c.Number = 0 },
		func(c *Config) { c.Read = 0 },
		func(c *Config) { c.BiasCreate = 11 },
		func(c *Config) { c.Report = "xml" },
		func(c *Config) { c.Locations = []Location{{"/a", 0}} },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("case %d: %+v validated", i, c)
		}
		if _, err := Run(Raw{}, c); err == nil {
			t.Errorf("case %d: Run accepted %+v", i, c)
		}
	}
}
