package tracer

import (
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// placeholders is fsshim's own reference to every placeholder it gave a
// target, by description id, and the emul.FDOracle built on them: whether
// a target's fd is a given placeholder is the kernel's answer to
// kcmp(KCMP_FILE) between the target's fd and fsshim's copy (the same
// struct file, not a look-alike: a memfd the program names "fsshim-1"
// itself is not one). Holding the copy costs fsshim one fd per open
// description (Go raises RLIMIT_NOFILE to its hard limit).
//
// Where kcmp cannot answer (a kernel without it, or a target fsshim may
// not inspect, EPERM), the placeholder's name in /proc/PID/fd is compared
// instead.
type placeholders struct {
	mu   sync.Mutex
	fds  map[uint64]int // description id -> fsshim's fd on its placeholder
	self int
	// noKcmp is set once kcmp answered ENOSYS.
	noKcmp bool
}

func newPlaceholders() *placeholders {
	return &placeholders{fds: map[uint64]int{}, self: os.Getpid()}
}

// add records fd (fsshim's own, now owned by ph) as the placeholder of id.
func (ph *placeholders) add(id uint64, fd int) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if old, ok := ph.fds[id]; ok {
		unix.Close(old)
	}
	ph.fds[id] = fd
}

// closeAll drops every copy (the run is over).
func (ph *placeholders) closeAll() {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	for id, fd := range ph.fds {
		unix.Close(fd)
		delete(ph.fds, id)
	}
}

const kcmpFile = 0 // KCMP_FILE

// same asks kcmp whether fd of tgid is the placeholder of description
// id. answered is false where kcmp cannot tell: fsshim holds no copy of
// that placeholder, the kernel has no kcmp, or fsshim may not inspect the
// target (EPERM).
func (ph *placeholders) same(tgid, fd int, id uint64) (same, answered bool) {
	switch ph.compare(tgid, fd, id) {
	case fdSame:
		return true, true
	case fdUnknown:
		return false, false
	}
	return false, true
}

// fdCompare is kcmp's answer on a target's fd and a placeholder.
type fdCompare int

const (
	fdUnknown fdCompare = iota // kcmp cannot tell (see same)
	fdSame                     // the fd holds the placeholder
	fdOther                    // the fd is open on another file
	fdClosed                   // the fd is not open, or the target is gone
)

// compare is same with the reason for a "no".
func (ph *placeholders) compare(tgid, fd int, id uint64) fdCompare {
	ph.mu.Lock()
	own, ok := ph.fds[id]
	noKcmp := ph.noKcmp
	ph.mu.Unlock()
	if !ok || noKcmp {
		return fdUnknown
	}
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(ph.self), uintptr(tgid), kcmpFile, uintptr(own), uintptr(fd), 0)
	switch e {
	case 0:
		if r == 0 {
			return fdSame
		}
		return fdOther
	case unix.ENOSYS:
		ph.mu.Lock()
		ph.noKcmp = true
		ph.mu.Unlock()
		return fdUnknown
	case unix.EPERM:
		return fdUnknown
	}
	return fdClosed // EBADF: fd is not open in the target; ESRCH: it is gone
}

// Holds implements emul.FDOracle: kcmp's answer, else the fd's name.
func (ph *placeholders) Holds(tgid, fd int, f *emul.File) bool {
	if s, answered := ph.same(tgid, fd, f.ID()); answered {
		return s
	}
	id, ok := placeholderAt(tgid, fd)
	return ok && id == f.ID()
}

// Find implements emul.FDOracle.
func (ph *placeholders) Find(tgid, fd int) uint64 {
	if id, ok := placeholderAt(tgid, fd); ok && ph.holdsID(tgid, fd, id) {
		return id
	}
	return 0
}

// holdsID reports whether fd of tgid, named as the placeholder of id, is
// it: kcmp's answer, else whether id is a placeholder fsshim made.
func (ph *placeholders) holdsID(tgid, fd int, id uint64) bool {
	if s, answered := ph.same(tgid, fd, id); answered {
		return s
	}
	ph.mu.Lock()
	_, known := ph.fds[id]
	ph.mu.Unlock()
	return known
}

// Forget implements emul.FDOracle.
func (ph *placeholders) Forget(f *emul.File) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if fd, ok := ph.fds[f.ID()]; ok {
		unix.Close(fd)
		delete(ph.fds, f.ID())
	}
}

// verified keeps of a table read from /proc (scanFDs) the entries that
// are fsshim's placeholders in the kernel's eyes.
func (ph *placeholders) verified(tgid int, fds map[int]uint64) map[int]uint64 {
	for fd, id := range fds {
		if !ph.holdsID(tgid, fd, id) {
			delete(fds, fd)
		}
	}
	return fds
}

// placeholderAt reads which placeholder name fd of tgid carries.
func placeholderAt(tgid, fd int) (uint64, bool) {
	var buf [128]byte
	n, err := unix.Readlink("/proc/"+strconv.Itoa(tgid)+"/fd/"+strconv.Itoa(fd), buf[:])
	if err != nil {
		return 0, false
	}
	return placeholderID(string(buf[:n]))
}

var _ emul.FDOracle = (*placeholders)(nil)
