// Package faults holds the fault-injection rules of --inject
// SYSCALL:ERRNO[:CONDITIONS]: which calls of a file syscall fail, and with
// which errno, instead of being served.
//
// A rule counts the calls of its syscall whose path matches its path
// filter (all of them without one), starting at 1. Conditions, separated by
// commas, choose which of those calls fail:
//
//	after=N   calls 1..N succeed; the count of every and nth starts after them
//	every=N   every N-th call fails (N, 2N, ... past after)
//	nth=N     only the N-th call fails (past after)
//	path=GLOB only calls whose path matches GLOB are counted (path.Match
//	          against the base name or the whole path; no commas)
//
// Without after, every and nth, every counted call fails. Examples:
// write:ENOSPC, write:ENOSPC:after=100, fsync:EIO:every=10,
// openat:EMFILE:path=*.tmp, read:EIO:nth=3, write:EIO:after=10,every=2
// (calls 12, 14, 16, ... fail).
//
// SYSCALL is an x86-64 file syscall name (see Syscalls); ERRNO a Linux
// errno name (ENOSPC), with the aliases EWOULDBLOCK, EDEADLOCK, EOPNOTSUPP
// and EUCLEAN.
package faults

import (
	"fmt"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Rule is one parsed --inject rule.
type Rule struct {
	// Spec is the rule as written (without surrounding spaces); Set.Injected
	// reports by it.
	Spec    string
	Syscall string // name, as in the kernel's syscall_64.tbl
	Nr      int    // x86-64 syscall number
	Errno   syscall.Errno

	After int64  // the first After counted calls succeed
	Every int64  // 0, or only every Every-th call past After fails
	Nth   int64  // 0, or only the Nth call past After fails
	Path  string // glob the call's path must match to be counted; "" counts all
}

// String returns Spec, or for a Rule made by hand its canonical spec.
func (r Rule) String() string {
	if r.Spec != "" {
		return r.Spec
	}
	s := r.Syscall + ":" + unix.ErrnoName(r.Errno)
	var conds []string
	if r.After > 0 {
		conds = append(conds, "after="+strconv.FormatInt(r.After, 10))
	}
	if r.Every > 0 {
		conds = append(conds, "every="+strconv.FormatInt(r.Every, 10))
	}
	if r.Nth > 0 {
		conds = append(conds, "nth="+strconv.FormatInt(r.Nth, 10))
	}
	if r.Path != "" {
		conds = append(conds, "path="+r.Path)
	}
	if len(conds) > 0 {
		s += ":" + strings.Join(conds, ",")
	}
	return s
}

// matches reports whether a call with path p is counted by r. An empty
// path (a call that names no file) matches no filter.
func (r *Rule) matches(p string) bool {
	if r.Path == "" {
		return true
	}
	if p == "" {
		return false
	}
	if ok, _ := path.Match(r.Path, path.Base(p)); ok {
		return true
	}
	ok, _ := path.Match(r.Path, p)
	return ok
}

// fails reports whether the c-th counted call fails.
func (r *Rule) fails(c int64) bool {
	if c <= r.After {
		return false
	}
	k := c - r.After
	switch {
	case r.Nth > 0:
		return k == r.Nth
	case r.Every > 0:
		return k%r.Every == 0
	}
	return true
}

const (
	usage      = "want SYSCALL:ERRNO[:CONDITIONS], for example write:ENOSPC:after=100"
	conditions = "want after=N, every=N, nth=N or path=GLOB, separated by commas"
)

// Parse parses one rule, SYSCALL:ERRNO[:CONDITIONS] (see the package doc).
// Names are case-insensitive. The errors say what is wrong and list the
// valid choices.
func Parse(spec string) (Rule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Rule{}, fmt.Errorf("faults: empty rule; %s", usage)
	}
	fail := func(format string, args ...any) (Rule, error) {
		return Rule{}, fmt.Errorf("faults: rule %q: %s", spec, fmt.Sprintf(format, args...))
	}
	parts := strings.SplitN(spec, ":", 3)
	name := strings.ToLower(strings.TrimSpace(parts[0]))
	switch {
	case len(fileSyscalls) == 0:
		return fail("fault injection knows the syscall numbers of x86-64 only, not of %s", runtime.GOARCH)
	case name == "":
		return fail("no syscall; %s", usage)
	case len(parts) < 2 || strings.TrimSpace(parts[1]) == "":
		return fail("no errno; %s", usage)
	}
	r := Rule{Spec: spec, Syscall: name}
	var ok bool
	if r.Nr, ok = fileSyscalls[name]; !ok {
		return fail("unknown syscall %q; valid: %s", parts[0], strings.Join(Syscalls(), ", "))
	}
	errName := strings.ToUpper(strings.TrimSpace(parts[1]))
	if r.Errno, ok = errnos[errName]; !ok {
		return fail("unknown errno %q; valid: %s", parts[1], strings.Join(errnoNames, ", "))
	}
	if len(parts) < 3 {
		return r, nil
	}
	seen := map[string]bool{}
	for _, c := range strings.Split(parts[2], ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			return fail("empty condition; %s", conditions)
		}
		key, val, found := strings.Cut(c, "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if !found {
			return fail("condition %q is not KEY=VALUE; %s", c, conditions)
		}
		if seen[key] {
			return fail("condition %s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "after":
			r.After, err = number(key, val, 0)
		case "every":
			r.Every, err = number(key, val, 1)
		case "nth":
			r.Nth, err = number(key, val, 1)
		case "path":
			if val == "" {
				return fail("path=: want a glob, for example path=*.tmp")
			}
			if _, err := path.Match(val, ""); err != nil {
				return fail("path=%s: %v", val, err)
			}
			r.Path = val
		default:
			return fail("unknown condition %q; %s", c, conditions)
		}
		if err != nil {
			return fail("%v", err)
		}
	}
	if r.Nth > 0 && r.Every > 0 {
		return fail("nth and every cannot be combined (nth picks one call, every a series)")
	}
	return r, nil
}

func number(key, val string, least int64) (int64, error) {
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n < least {
		return 0, fmt.Errorf("%s=%s: want a whole number >= %d", key, val, least)
	}
	return n, nil
}

// Syscalls returns the syscall names rules may name, sorted.
func Syscalls() []string {
	names := make([]string, 0, len(fileSyscalls))
	for name := range fileSyscalls {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// errnos maps errno names to values: Linux's, 1 to 133, as unix.ErrnoName
// spells them, plus aliases.
var errnos = map[string]syscall.Errno{
	"EWOULDBLOCK": unix.EWOULDBLOCK,
	"EDEADLOCK":   unix.EDEADLOCK,
	"EOPNOTSUPP":  unix.EOPNOTSUPP,
	"EUCLEAN":     unix.EUCLEAN,
}

// errnoNames are the keys of errnos, sorted.
var errnoNames []string

func init() {
	for e := syscall.Errno(1); e <= 133; e++ {
		if name := unix.ErrnoName(e); name != "" {
			errnos[name] = e
		}
	}
	for name := range errnos {
		errnoNames = append(errnoNames, name)
	}
	slices.Sort(errnoNames)
}

// Set is a list of rules with their counters. It is safe for concurrent
// use; a nil *Set injects nothing.
type Set struct {
	rules []*state
	byNr  map[int][]*state // read-only after NewSet
}

type state struct {
	Rule
	calls    atomic.Int64 // counted calls
	injected atomic.Int64 // calls failed
}

// NewSet returns a Set of the rules, with all counts at zero.
func NewSet(rules []Rule) *Set {
	s := &Set{byNr: make(map[int][]*state)}
	for _, r := range rules {
		st := &state{Rule: r}
		s.rules = append(s.rules, st)
		s.byNr[r.Nr] = append(s.byNr[r.Nr], st)
	}
	return s
}

// Check counts a call of syscall nr on path (the path it names, or the
// path of the file its fd refers to; "" if none) and reports whether it is
// to fail, with which errno. Every rule for nr whose path filter matches
// counts the call; the first of them (in the order given to NewSet) whose
// conditions pick the call injects its errno, and only it counts an
// injection.
func (s *Set) Check(nr int, path string) (errno syscall.Errno, inject bool) {
	if s == nil {
		return 0, false
	}
	for _, r := range s.byNr[nr] {
		if !r.matches(path) {
			continue
		}
		c := r.calls.Add(1)
		if !inject && r.fails(c) {
			r.injected.Add(1)
			errno, inject = r.Errno, true
		}
	}
	return errno, inject
}

// Injected returns how many calls each rule failed so far, keyed by the
// rule's spec (rules with the same spec are summed); rules that failed
// none are included with 0.
func (s *Set) Injected() map[string]int64 {
	m := make(map[string]int64)
	if s == nil {
		return m
	}
	for _, r := range s.rules {
		m[r.String()] += r.injected.Load()
	}
	return m
}

// Nrs returns the syscall numbers the rules name, sorted and without
// duplicates: the calls a transport must route to be able to fail them.
func (s *Set) Nrs() []int {
	if s == nil {
		return nil
	}
	var nrs []int
	for nr := range s.byNr {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	return nrs
}
