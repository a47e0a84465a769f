package main

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The supervisor is meant to be one static binary: a plain
// `go build ./cmd/fsshim` must link no cgo (so no libc), and none of the
// packages that bring it in (net, os/user) or that only the chart needs.

// unwanted reports why the supervisor must not link pkg, or "".
func unwanted(pkg string) string {
	switch pkg {
	case "runtime/cgo":
		return "cgo makes the binary dynamic"
	case "net", "os/user":
		return "it uses cgo where a C compiler is installed"
	case "net/http", "crypto/tls":
		return "the supervisor makes no network connection"
	}
	for _, p := range []string{"gonum.org/", "codeberg.org/", "git.sr.ht/", "github.com/ajstarks/", "golang.org/x/image/"} {
		if strings.HasPrefix(pkg, p) {
			return "the chart is drawn by fsshim-chart"
		}
	}
	return ""
}

func goTool(t *testing.T) string {
	t.Helper()
	g, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	return g
}

func TestSupervisorDependencies(t *testing.T) {
	out, err := exec.Command(goTool(t), "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "fsshim/cmd/fsshim").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	importers := map[string][]string{}
	var all []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		all = append(all, f[0])
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	if !slices.Contains(all, "fsshim/tracer") {
		t.Fatalf("go list -deps does not list fsshim/tracer:\n%s", out)
	}
	for _, pkg := range all {
		if why := unwanted(pkg); why != "" {
			t.Errorf("fsshim links %s (imported by %s): %s", pkg, strings.Join(importers[pkg], ", "), why)
		}
	}
}

func TestSupervisorIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fsshim")
	}
	exe := filepath.Join(t.TempDir(), "fsshim")
	if out, err := exec.Command(goTool(t), "build", "-o", exe, "fsshim/cmd/fsshim").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("fsshim has a %v program header: it is a dynamic executable", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("fsshim needs shared libraries %v (%v)", libs, err)
	}
}

// The check itself: it must name what it is there to keep out.
func TestUnwanted(t *testing.T) {
	for _, p := range []string{"runtime/cgo", "net", "os/user", "crypto/tls", "gonum.org/v1/plot", "codeberg.org/go-pdf/fpdf"} {
		if unwanted(p) == "" {
			t.Errorf("unwanted(%q) is empty", p)
		}
	}
	for _, p := range []string{"fsshim/tracer", "golang.org/x/sys/unix", "os", "net/netip"} {
		if unwanted(p) != "" {
			t.Errorf("unwanted(%q) = %q", p, unwanted(p))
		}
	}
}
