package ramfs

import (
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps ramfs pure Go: its non-test files import only the
// standard library, and neither unsafe, os, net, cgo nor any fsshim package.
// hostcopy may also use os and fsshim/ramfs.
func TestImports(t *testing.T) {
	forbidden := map[string]bool{"unsafe": true, "C": true, "os": true, "os/exec": true, "net": true, "runtime/cgo": true, "plugin": true}
	for _, tc := range []struct {
		dir     string
		allowed map[string]bool
		banned  map[string]bool
	}{
		{".", nil, forbidden},
		{"hostcopy", map[string]bool{"fsshim/ramfs": true}, map[string]bool{"unsafe": true, "C": true}},
	} {
		files, err := filepath.Glob(filepath.Join(tc.dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", tc.dir, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, err := strconv.Unquote(imp.Path.Value)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.banned[path]:
					t.Errorf("%s imports %s, which is not allowed", file, path)
				case tc.allowed[path]:
				case !isStdlib(path):
					t.Errorf("%s imports %s, which is not in the standard library", file, path)
				}
			}
		}
	}
}

func isStdlib(path string) bool {
	if strings.Contains(strings.Split(path, "/")[0], ".") || strings.HasPrefix(path, "fsshim") {
		return false
	}
	pkg, err := build.Default.Import(path, "", build.FindOnly)
	return err == nil && pkg.Goroot
}
