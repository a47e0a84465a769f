package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"fsshim/faults"
	"fsshim/policy"
)

// setup is what the flags ask for, checked: all fsshim needs to know
// before it builds the file systems and starts the program.
type setup struct {
	options
	transport policy.Transport
	capacity  int64 // bytes per mount
	cwd       string
	table     *policy.Table
	overlays  map[string]bool // the mount paths served as overlays
	saves     []save
	faults    []faults.Rule
}

// check turns the flags into a setup. Its errors end fsshim with
// exitError; they name the flag at fault.
func check(o options) (*setup, error) {
	s := &setup{options: o}
	var err error
	if s.transport, err = policy.ParseTransport(o.transport); err != nil {
		return nil, err
	}
	if o.pin && o.receivers > 1 {
		return nil, fmt.Errorf("--pin with --receivers %d: pinned, fsshim has one CPU to serve calls on, so one receiver", o.receivers)
	}
	switch {
	case o.receivers < 0:
		return nil, fmt.Errorf("--receivers %d: want 1 or more (0: one per two CPUs)", o.receivers)
	case o.receivers > 0 && s.transport == policy.Ptrace:
		return nil, errors.New("--receivers is for --transport unotify (ptrace's tracer serves from its one thread)")
	}
	if s.capacity, err = capacity(o.size); err != nil {
		return nil, err
	}
	if s.cwd, err = os.Getwd(); err != nil {
		return nil, fmt.Errorf("cannot find the current directory: %v", err)
	}
	if s.table, s.overlays, err = mountTable(o.mounts, o.overlays, s.cwd); err != nil {
		return nil, err
	}
	if s.saves, err = parseSaves(o.saves, s.cwd, s.table); err != nil {
		return nil, fmt.Errorf("--save %v", err)
	}
	if s.faults, err = parseInjects(o.injects); err != nil {
		return nil, err
	}
	if o.maxInodes < 0 {
		return nil, errors.New("--max-inodes must be 0 or more")
	}
	return s, nil
}

// capacity reads --size; without it a mount may hold half of physical
// memory, as tmpfs.
func capacity(size string) (int64, error) {
	n, err := defaultSize()
	if err != nil {
		return 0, err
	}
	if size == "" {
		return n, nil
	}
	if n, err = parseSize(size); err != nil {
		return 0, fmt.Errorf("--size: %v", err)
	}
	return n, nil
}

// mountTable reads --mount and --overlay (relative paths against cwd).
// With neither, the current directory is served as an overlay. It returns
// the table and the set of its paths that are overlays.
func mountTable(mountFlags, overlayFlags []string, cwd string) (*policy.Table, map[string]bool, error) {
	var mounts []policy.Mount
	for _, v := range mountFlags {
		m, err := policy.ParseMountFlag(v, cwd)
		if err != nil {
			return nil, nil, fmt.Errorf("--mount %s: %v", v, err)
		}
		mounts = append(mounts, m)
	}
	overlays := map[string]bool{}
	for _, v := range overlayFlags {
		p, err := overlayPath(v, cwd)
		if err != nil {
			return nil, nil, fmt.Errorf("--overlay %s: %v", v, err)
		}
		overlays[p] = true
		mounts = append(mounts, policy.Mount{Path: p})
	}
	if len(mounts) == 0 {
		p, err := overlayPath(cwd, cwd)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot serve the current directory: %v", err)
		}
		if p == "/" {
			return nil, nil, errors.New("the current directory is /, which cannot be served from the ramfs; give --mount PATH or --overlay PATH")
		}
		overlays[p] = true
		mounts = []policy.Mount{{Path: p}}
	}
	table, err := policy.NewTable(mounts)
	if err != nil {
		return nil, nil, err
	}
	return table, overlays, nil
}

// parseInjects reads the --inject rules.
func parseInjects(vals []string) ([]faults.Rule, error) {
	var rules []faults.Rule
	for _, v := range vals {
		r, err := faults.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("--inject %s: %v", v, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// overlayPath resolves an --overlay PATH (relative to cwd) to the absolute
// path of a host directory, symlinks resolved: the program's working
// directory is seen through /proc as that real path.
func overlayPath(v, cwd string) (string, error) {
	if v == "" {
		return "", errors.New("empty path")
	}
	p := v
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist (an overlay serves an existing host directory; use --mount for an empty one)", p)
		}
		return "", err
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", p)
	}
	return real, nil
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10)
}

// parseSize reads "123", "64K", "512M", "2G" (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty size")
	}
	switch strings.ToUpper(t[len(t)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	}
	if mult != 1 {
		t = t[:len(t)-1]
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive size (examples: 1048576, 512K, 64M, 2G)", s)
	}
	if v > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v * mult, nil
}

// defaultSize is half of physical memory, as tmpfs defaults to.
func defaultSize() (int64, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0, fmt.Errorf("sysinfo: %v", err)
	}
	return int64(si.Totalram) * int64(si.Unit) / 2, nil
}
