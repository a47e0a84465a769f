package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"

	"fsshim/emul"
	"fsshim/persist"
	"fsshim/policy"
)

// save is one --save: a mount and where its contents go when the program
// ends.
type save struct {
	mount, dest string
	tar, gz     bool
	guard       persist.Guard // checked again when saving
}

// parseSaves reads --save PATH=DEST values; PATH must be a mount.
func parseSaves(vals []string, cwd string, table *policy.Table) ([]save, error) {
	var out []save
	for _, v := range vals {
		p, dest, ok := strings.Cut(v, "=")
		if !ok || p == "" || dest == "" {
			return nil, fmt.Errorf("%s: want PATH=HOSTDIR or PATH=FILE.tar", v)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		p = filepath.Clean(p)
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(cwd, dest)
		}
		i, rel, ok := table.Match(p)
		if !ok || rel != "" {
			return nil, fmt.Errorf("%s: %s is not a --mount path", v, p)
		}
		m := table.Mounts()[i]
		if under(dest, m.Path) {
			return nil, fmt.Errorf("%s: the destination is inside the mount itself", v)
		}
		sv := save{mount: m.Path, dest: dest, guard: saveGuard(table)}
		if err := sv.guard.Check(dest); err != nil {
			return nil, fmt.Errorf("%s: %v", v, err)
		}
		switch {
		case strings.HasSuffix(dest, ".tar"):
			sv.tar = true
		case strings.HasSuffix(dest, ".tar.gz"), strings.HasSuffix(dest, ".tgz"):
			sv.tar, sv.gz = true, true
		}
		out = append(out, sv)
	}
	return out, nil
}

func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// writeSaves carries out every --save, whatever happened to the program,
// and returns code, or exitError when a save failed and code was 0.
func writeSaves(saves []save, k *emul.Kernel, ems []*emul.Mount, code int, stderr io.Writer) int {
	for _, sv := range saves {
		err := sv.run(k, ems)
		if _, ok := err.(*persist.XattrError); ok {
			// Saved, data and all; only attributes the destination
			// refused are missing. A warning, not a failure.
			fmt.Fprintf(stderr, "fsshim: --save %s=%s: warning: %v\n", sv.mount, sv.dest, err)
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "fsshim: --save %s=%s failed, the previous copy is unchanged: %v\n", sv.mount, sv.dest, err)
			if code == 0 {
				code = exitError
			}
		}
	}
	return code
}

func (sv save) run(k *emul.Kernel, ems []*emul.Mount) error {
	for _, m := range ems {
		if m.Path != sv.mount {
			continue
		}
		if m.Lower != nil {
			// The save is of the merged view: the lower files the
			// program left alone are copied up first.
			if err := k.CopyUpAll(m); err != nil {
				if errors.Is(err, syscall.ENOSPC) {
					return fmt.Errorf("the merged view of overlay %s does not fit in --size", m.Path)
				}
				return fmt.Errorf("merging overlay %s: %w", m.Path, err)
			}
		}
		if sv.tar {
			return sv.guard.SaveTar(m.FS, m.FS.Root(), sv.dest, sv.gz)
		}
		return sv.guard.SaveDir(m.FS, m.FS.Root(), sv.dest)
	}
	return fmt.Errorf("no mount %s", sv.mount)
}
