package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fsshim/emul"
	"fsshim/policy"
)

// Every syscall the filter routes to the supervisor must have a handler in
// emul, or the supervisor would answer ENOSYS for a call the program
// expects to work.
func TestEveryRoutedSyscallHasAHandler(t *testing.T) {
	for _, r := range policy.Rules() {
		if r.Class == policy.Deny {
			if emul.Handles(r.Nr) {
				t.Errorf("%s is denied by the filter but has an emul handler", r.Name)
			}
			continue
		}
		if !emul.Handles(r.Nr) {
			t.Errorf("%s (%d, %v) is routed but emul has no handler", r.Name, r.Nr, r.Class)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "512K": 512 << 10, "64M": 64 << 20, "2G": 2 << 30, "1t": 1 << 40} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "12Q", "K", "1.5G", "99999999999999999999"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestOverlayPath(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "f"), nil, 0o644)
	os.Symlink("d", filepath.Join(dir, "l"))
	for in, want := range map[string]string{"d": dir + "/d", "l": dir + "/d", dir + "/d/": dir + "/d", ".": dir} {
		if got, err := overlayPath(in, dir); err != nil || got != want {
			t.Errorf("overlayPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{"missing": "does not exist", "f": "not a directory", "": "empty"} {
		if _, err := overlayPath(in, dir); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("overlayPath(%q): %v, want an error saying %q", in, err, msg)
		}
	}
}

// TestCheckTransportFlags: the flags that belong to one transport are
// refused with the other, and a negative receiver count is refused, each
// with the flag named.
func TestCheckTransportFlags(t *testing.T) {
	for _, c := range []struct {
		o    options
		want string // "" for accepted
	}{
		{options{transport: "unotify", receivers: 2}, ""},
		{options{transport: "unotify", receivers: -1}, "--receivers -1"},
		{options{transport: "ptrace", receivers: 2}, "--receivers is for --transport unotify"},
		{options{transport: "ptrace", pin: true}, ""},
		{options{transport: "unotify", pin: true}, ""},
		{options{transport: "unotify", pin: true, receivers: 1}, ""},
		{options{transport: "unotify", pin: true, receivers: 2}, "--pin with --receivers 2"},
	} {
		c.o.data = "passthrough"
		if c.o.transport == "ptrace" {
			c.o.data = "forward"
		}
		_, err := check(c.o)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v, want accepted", c.o, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v, want an error naming %q", c.o, err, c.want)
		}
	}
}
