package tracer

import (
	"bytes"
	"os"
	"slices"
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
//
// A directory's placeholder may be the exec shadow's directory of the
// same path (emul/exec.go), whose name in /proc/PID/fd is that path and
// says nothing of the description: it is known by kcmp among the
// descriptions on a shadow directory of that path, or, where kcmp cannot
// answer, by the directory it is (device and inode) when only one
// description is on it.
type placeholders struct {
	mu  sync.Mutex
	fds map[uint64]int // description id -> fsshim's fd on its placeholder
	// dirs lists the descriptions on each shadow directory, byPath
	// those on each shadow directory's path (what /proc/PID/fd shows of
	// them), oldest first, dirOf the directory of each.
	dirs   map[devIno][]uint64
	byPath map[string][]uint64
	dirOf  map[uint64]shadowDir
	self   int
	// noKcmp is set once kcmp answered ENOSYS.
	noKcmp bool
}

// devIno names a directory a placeholder is.
type devIno struct{ dev, ino uint64 }

// shadowDir is the shadow directory a placeholder is: its identity and
// its path.
type shadowDir struct {
	devIno
	path string
}

func newPlaceholders() *placeholders {
	return &placeholders{fds: map[uint64]int{}, dirs: map[devIno][]uint64{}, byPath: map[string][]uint64{}, dirOf: map[uint64]shadowDir{}, self: os.Getpid()}
}

// add records fd (fsshim's own, now owned by ph) as the placeholder of id;
// dir is the path of the shadow directory it is, or "" (emul.File.ShadowDir).
func (ph *placeholders) add(id uint64, fd int, dir string) {
	var st unix.Stat_t
	if dir != "" && (unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR) {
		dir = ""
	}
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if old, ok := ph.fds[id]; ok {
		ph.dropLocked(id, old)
	}
	ph.fds[id] = fd
	if dir != "" {
		sd := shadowDir{devIno{st.Dev, st.Ino}, dir}
		ph.dirOf[id] = sd
		ph.dirs[sd.devIno] = append(ph.dirs[sd.devIno], id)
		ph.byPath[dir] = append(ph.byPath[dir], id)
	}
}

// dropLocked closes fd, the copy of id's placeholder, and forgets both.
func (ph *placeholders) dropLocked(id uint64, fd int) {
	if sd, ok := ph.dirOf[id]; ok {
		delete(ph.dirOf, id)
		other := func(x uint64) bool { return x == id }
		if ids := slices.DeleteFunc(ph.dirs[sd.devIno], other); len(ids) == 0 {
			delete(ph.dirs, sd.devIno)
		} else {
			ph.dirs[sd.devIno] = ids
		}
		if ids := slices.DeleteFunc(ph.byPath[sd.path], other); len(ids) == 0 {
			delete(ph.byPath, sd.path)
		} else {
			ph.byPath[sd.path] = ids
		}
	}
	unix.Close(fd)
	delete(ph.fds, id)
}

// closeAll drops every copy (the run is over).
func (ph *placeholders) closeAll() {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	for id, fd := range ph.fds {
		unix.Close(fd)
		delete(ph.fds, id)
	}
	clear(ph.dirs)
	clear(ph.byPath)
	clear(ph.dirOf)
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

// Holds implements emul.FDOracle: kcmp's answer, else the fd's name (or,
// for a shadow directory, the directory it is).
func (ph *placeholders) Holds(tgid, fd int, f *emul.File) bool {
	if s, answered := ph.same(tgid, fd, f.ID()); answered {
		return s
	}
	if f.ShadowDir() != "" {
		return slices.Contains(ph.onDir(tgid, fd), f.ID())
	}
	id, ok := placeholderAt(tgid, fd)
	return ok && id == f.ID()
}

// Find implements emul.FDOracle.
func (ph *placeholders) Find(tgid, fd int) uint64 {
	var buf [unix.PathMax]byte
	n, err := unix.Readlink("/proc/"+strconv.Itoa(tgid)+"/fd/"+strconv.Itoa(fd), buf[:])
	if err != nil {
		return 0
	}
	if id, ok := placeholderID(string(buf[:n])); ok {
		if ph.holdsID(tgid, fd, id) {
			return id
		}
		return 0
	}
	return ph.findDir(tgid, fd, buf[:n])
}

// onDir returns the descriptions whose placeholders are the directory fd
// of tgid is, if it is one.
func (ph *placeholders) onDir(tgid, fd int) []uint64 {
	ph.mu.Lock()
	none := len(ph.dirs) == 0
	ph.mu.Unlock()
	if none {
		return nil
	}
	var st unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(tgid)+"/fd/"+strconv.Itoa(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return slices.Clone(ph.dirs[devIno{st.Dev, st.Ino}])
}

// findDir returns the description whose placeholder fd of tgid is, when
// that is a shadow directory and link the fd's name in /proc/PID/fd: the
// one of the descriptions on a shadow directory of that path kcmp finds,
// newest first (or, where kcmp cannot tell, the only one on the
// directory fd is), or 0.
func (ph *placeholders) findDir(tgid, fd int, link []byte) uint64 {
	link = bytes.TrimSuffix(link, []byte(" (deleted)"))
	ph.mu.Lock()
	ids := slices.Clone(ph.byPath[string(link)])
	ph.mu.Unlock()
	unanswered := false
	for i := len(ids) - 1; i >= 0; i-- {
		s, answered := ph.same(tgid, fd, ids[i])
		if s {
			return ids[i]
		}
		unanswered = unanswered || !answered
	}
	if unanswered {
		if on := ph.onDir(tgid, fd); len(on) == 1 {
			return on[0]
		}
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
		ph.dropLocked(f.ID(), fd)
	}
}

// namesShadowDir reports whether link, an fd's name in /proc/PID/fd, is
// the path of a shadow directory some placeholder is (scanFDs).
func (ph *placeholders) namesShadowDir(link []byte) bool {
	link = bytes.TrimSuffix(link, []byte(" (deleted)"))
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return len(ph.byPath[string(link)]) > 0
}

// verified keeps of a table read from /proc (scanFDs) the entries that
// are fsshim's placeholders in the kernel's eyes, and adds those of
// others (fds scanFDs could not name, by their names, which are shadow
// directories' paths) that are placeholders of shadow directories.
func (ph *placeholders) verified(tgid int, fds map[int]uint64, others map[int]string) map[int]uint64 {
	for fd, id := range fds {
		if !ph.holdsID(tgid, fd, id) {
			delete(fds, fd)
		}
	}
	for fd, link := range others {
		if id := ph.findDir(tgid, fd, []byte(link)); id != 0 {
			fds[fd] = id
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
