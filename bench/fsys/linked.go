package fsys

import (
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/linked"
	"fsshim/ramfs"
)

// Linked is Sys over a *linked.Linked: every call goes through the same
// emul dispatcher the supervisor uses, as a function call.
type Linked struct {
	*linked.Linked
}

var _ Sys = Linked{}

// NewLinked returns a Linked serving each of paths (made absolute against
// the current directory, duplicates dropped) from its own empty ramfs of
// the given capacity (0: unlimited).
func NewLinked(paths []string, capacity int64) (Linked, error) {
	seen := map[string]bool{}
	var ms []*emul.Mount
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return Linked{}, err
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		ms = append(ms, &emul.Mount{Path: abs, FS: ramfs.New(ramfs.Options{Capacity: capacity})})
	}
	return Linked{linked.New(ms)}, nil
}

func errOf(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Fstat is fstat(fd) through the linked dispatcher.
func (l Linked) Fstat(fd int, st *unix.Stat_t) error {
	_, e := l.Syscall(unix.SYS_FSTAT, uintptr(fd), uintptr(statPtr(st)), 0, 0, 0, 0)
	return errOf(e)
}

// Bare is dup(-1) through the linked dispatcher: emul's fd table is the
// process's, and emul answers EBADF for an fd that names nothing, as the
// kernel does (the syscall as a function call).
func (l Linked) Bare() error {
	_, e := l.Syscall(unix.SYS_DUP, ^uintptr(0), 0, 0, 0, 0, 0)
	return errOf(e)
}
