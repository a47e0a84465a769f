package policy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Mount is one ramfs mount in the target's view of the file system.
type Mount struct {
	Path   string // absolute, cleaned path inside the target's view, e.g. "/data"
	Source string // host directory or archive to preload from, "" = start empty
}

// Table is a validated set of mounts: absolute, clean, distinct paths, none
// of them "/" and none nested inside another. A Table is immutable and safe
// for concurrent use.
type Table struct {
	mounts []Mount
	// prefixes[i] is mounts[i].Path + "/", kept so that Match does not
	// allocate: it runs for every path syscall the target makes.
	prefixes []string
}

// NewTable validates m and returns the table. Mount paths are cleaned with
// filepath.Clean (so "/data/" and "/data/./x/.." are accepted as "/data");
// they must be absolute and must not be "/", which would hide the whole host
// file system from the target. Two mounts may not share a path, and no mount
// may lie inside another. Mounts keep the order of m: the index Match returns
// is an index into m (and into Mounts()).
func NewTable(m []Mount) (*Table, error) {
	t := &Table{
		mounts:   make([]Mount, 0, len(m)),
		prefixes: make([]string, 0, len(m)),
	}
	var errs []error
	for _, mt := range m {
		p, err := checkMountPath(mt.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		mt.Path = p
		for _, prev := range t.mounts {
			switch {
			case prev.Path == p:
				errs = append(errs, fmt.Errorf("mount %s is given twice", p))
			case isUnder(p, prev.Path):
				errs = append(errs, fmt.Errorf("mount %s is inside mount %s: nested mounts are not supported", p, prev.Path))
			case isUnder(prev.Path, p):
				errs = append(errs, fmt.Errorf("mount %s is inside mount %s: nested mounts are not supported", prev.Path, p))
			}
		}
		t.mounts = append(t.mounts, mt)
		t.prefixes = append(t.prefixes, p+"/")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// checkMountPath returns the cleaned form of a mount path, or an error that
// says what is wrong with it.
func checkMountPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("mount path is empty")
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("mount path %q is not absolute", p)
	}
	c := filepath.Clean(p)
	if c == "/" {
		return "", fmt.Errorf("mount path %q is the root directory: a mount there would hide the whole host file system", p)
	}
	return c, nil
}

// isUnder reports whether the clean absolute path p lies strictly below the
// clean absolute directory dir, comparing whole components ("/data2" is not
// under "/data").
func isUnder(p, dir string) bool {
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// Mounts returns a copy of the mounts, in the order given to NewTable, with
// their paths cleaned.
func (t *Table) Mounts() []Mount {
	if t == nil {
		return nil
	}
	return append([]Mount(nil), t.mounts...)
}

// Len returns the number of mounts.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.mounts)
}

// Match finds the mount that contains p. p must be absolute and clean (as
// filepath.Clean leaves it): the caller has already resolved the target's
// dirfd, cwd and "..". On a match it returns the mount's index in Mounts()
// and the remainder of p relative to the mount root: "" for the mount root
// itself, "a/b" for a path below it. Containment is component-wise: "/data2"
// is not inside "/data". A p that is not absolute and clean never matches.
//
// Match does not allocate; a nil Table matches nothing.
func (t *Table) Match(p string) (idx int, rel string, ok bool) {
	if t == nil || !isCleanAbs(p) {
		return 0, "", false
	}
	for i, m := range t.mounts {
		if p == m.Path {
			return i, "", true
		}
		if strings.HasPrefix(p, t.prefixes[i]) {
			return i, p[len(t.prefixes[i]):], true
		}
	}
	return 0, "", false
}

// isCleanAbs reports whether p is absolute and unchanged by filepath.Clean,
// without allocating: no empty, "." or ".." component and no trailing slash
// (except for "/" itself).
func isCleanAbs(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	for rest := p[1:]; ; {
		elem, tail, more := strings.Cut(rest, "/")
		if elem == "" || elem == "." || elem == ".." {
			return false
		}
		if !more {
			return true
		}
		rest = tail
	}
}

// ParseMountFlag parses the value of a --mount flag: "PATH" (an empty ramfs
// mount at PATH) or "PATH=HOSTDIR" (a mount at PATH preloaded from HOSTDIR, a
// host directory or archive). A relative PATH or HOSTDIR is made absolute
// against cwd. The split is at the first '=', so PATH cannot contain one.
// The mount path is validated as NewTable does; nesting and duplicates can
// only be checked by NewTable.
func ParseMountFlag(v, cwd string) (Mount, error) {
	path, src, hasSrc := strings.Cut(v, "=")
	if path == "" {
		return Mount{}, fmt.Errorf("--mount %q: missing mount path (want PATH or PATH=HOSTDIR)", v)
	}
	if hasSrc && src == "" {
		return Mount{}, fmt.Errorf("--mount %q: empty host directory after '=' (want PATH or PATH=HOSTDIR)", v)
	}
	abs := func(p string) (string, error) {
		if filepath.IsAbs(p) {
			return filepath.Clean(p), nil
		}
		if !filepath.IsAbs(cwd) {
			return "", fmt.Errorf("--mount %q: cannot resolve relative path %q: working directory %q is not absolute", v, p, cwd)
		}
		return filepath.Join(cwd, p), nil
	}
	var m Mount
	var err error
	if m.Path, err = abs(path); err != nil {
		return Mount{}, err
	}
	if m.Path, err = checkMountPath(m.Path); err != nil {
		return Mount{}, fmt.Errorf("--mount %q: %w", v, err)
	}
	if hasSrc {
		if m.Source, err = abs(src); err != nil {
			return Mount{}, err
		}
	}
	return m, nil
}
