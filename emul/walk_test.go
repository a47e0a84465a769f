package emul

import (
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// jumpHost is a Host whose processes hold the host directories fds.
type jumpHost struct {
	cwd string
	fds map[int]string
}

func (h jumpHost) FDPath(tgid, fd int) (string, error) {
	if p, ok := h.fds[fd]; ok {
		return p, nil
	}
	return "", errors.New("no")
}
func (h jumpHost) Cwd(tgid int) (string, error) { return h.cwd, nil }

func newJumpRig(t *testing.T) *rig {
	fs := ramfs.New(ramfs.Options{})
	k := NewKernel([]*Mount{{Path: "/m", FS: fs}}, jumpHost{cwd: "/", fds: map[int]string{70: "/", 71: "/m", 72: "/etc"}})
	k.OnFault = func(m string) { t.Log("fault:", m) }
	p := k.Process(1, nil)
	return &rig{t: t, k: k, p: p, mem: newArena(), nextFD: 3}
}

// exists checks that path names a file in the mount.
func (r *rig) exists(path string) {
	r.t.Helper()
	r.ok(unix.SYS_NEWFSTATAT, cwd, r.mem.str(path), r.mem.alloc(sizeofStat), 0)
}

func (r *rig) continued(nr int, args ...uint64) {
	r.t.Helper()
	if res := r.call(nr, args...); res.Action != Continue {
		r.t.Fatalf("syscall %d%v: got %v err %v, want continue", nr, args, res.Action, res.Err)
	}
}

func TestProcRootIsAJump(t *testing.T) {
	r := newJumpRig(t)
	for _, p := range []string{"/proc/self/root", "/proc/thread-self/root", "/proc/1/root", "/proc/1/task/1/root", "/proc/self/root/proc/self/root"} {
		fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str(p+"/m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
		r.ok(unix.SYS_CLOSE, uint64(fd))
		r.exists("/m/x")
		r.ok(unix.SYS_UNLINK, r.mem.str(p+"/m/x"))
		r.errno(syscall.ENOENT, unix.SYS_NEWFSTATAT, cwd, r.mem.str("/m/x"), r.mem.alloc(sizeofStat), 0)
		r.ok(unix.SYS_MKDIR, r.mem.str(p+"/m/d"), 0o755)
		r.ok(unix.SYS_RMDIR, r.mem.str(p+"/m/d"))
	}
	// Not a process of the program's: the kernel decides.
	r.continued(unix.SYS_OPENAT, cwd, r.mem.str("/proc/77/root/m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	// The link itself: not followed.
	r.continued(unix.SYS_OPENAT, cwd, r.mem.str("/proc/self/root"), unix.O_PATH|unix.O_NOFOLLOW, 0)
	r.continued(unix.SYS_READLINKAT, cwd, r.mem.str("/proc/self/root"), r.mem.alloc(64), 64)
	r.continued(unix.SYS_NEWFSTATAT, cwd, r.mem.str("/proc/self/root/etc"), r.mem.alloc(sizeofStat), 0)
}

func TestProcCwdIsAJump(t *testing.T) {
	r := newJumpRig(t)
	// The host working directory "/".
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/proc/self/cwd/m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.exists("/m/x")
	// An emulated one.
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/w"), 0o755)
	r.ok(unix.SYS_CHDIR, r.mem.str("/m/w"))
	fd = r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/proc/self/cwd/y"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.exists("/m/w/y")
	r.exists("/proc/1/cwd/../x")
	r.readlinkContinues("/proc/self/cwd")
	// Above the mount: the kernel's own working directory is "/", so the
	// string cannot be continued.
	r.errno(syscall.EXDEV, unix.SYS_NEWFSTATAT, cwd, r.mem.str("/proc/self/cwd/../../etc"), r.mem.alloc(sizeofStat), 0)
}

func (r *rig) readlinkContinues(path string) {
	r.t.Helper()
	r.continued(unix.SYS_READLINKAT, cwd, r.mem.str(path), r.mem.alloc(64), 64)
}

func TestProcFDIsAJump(t *testing.T) {
	r := newJumpRig(t)
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/proc/self/fd/70/m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.exists("/m/x")
	r.exists("/dev/fd/70/m/x")
	r.exists("/proc/self/fd/71/x")
	r.exists("/proc/self/fd/72/../m/x")
	r.continued(unix.SYS_NEWFSTATAT, cwd, r.mem.str("/proc/self/fd/72/passwd"), r.mem.alloc(sizeofStat), 0)
	r.continued(unix.SYS_NEWFSTATAT, cwd, r.mem.str("/proc/self/fd/73/x"), r.mem.alloc(sizeofStat), 0)
	r.readlinkContinues("/proc/self/fd/70")
}

func TestNoMagiclinks(t *testing.T) {
	r := newJumpRig(t)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/w"), 0o755)
	dfd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/w"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	how := r.mem.alloc(24)
	for _, res := range []uint64{unix.RESOLVE_NO_MAGICLINKS, unix.RESOLVE_NO_SYMLINKS} {
		b := r.mem.bytesAt(how, 24)
		le.PutUint64(b, unix.O_RDONLY)
		le.PutUint64(b[8:], 0)
		le.PutUint64(b[16:], res)
		for _, p := range []string{"/proc/self/root/m", "/proc/self/cwd/m", "/proc/self/fd/70/m", "/proc/self/fd/" + itoa(int(dfd))} {
			r.errno(syscall.ELOOP, unix.SYS_OPENAT2, cwd, r.mem.str(p), how, 24)
		}
	}
	b := r.mem.bytesAt(how, 24)
	le.PutUint64(b, unix.O_RDONLY)
	le.PutUint64(b[16:], unix.RESOLVE_NO_XDEV)
	r.errno(syscall.EXDEV, unix.SYS_OPENAT2, cwd, r.mem.str("/proc/self/root/m"), how, 24)
	le.PutUint64(b[16:], 0)
	fd := r.ok(unix.SYS_OPENAT2, cwd, r.mem.str("/proc/self/root/m/w"), how, 24)
	r.ok(unix.SYS_CLOSE, uint64(fd))
}

// movingHost is a Host whose directories can move between calls, as a
// rename on the host moves them under a process's feet.
type movingHost struct {
	cwd string
	fds map[int]string
}

func (h *movingHost) FDPath(tgid, fd int) (string, error) {
	if p, ok := h.fds[fd]; ok {
		return p, nil
	}
	return "", errors.New("no")
}
func (h *movingHost) Cwd(tgid int) (string, error) { return h.cwd, nil }

// The host directory behind a dirfd and the host working directory are
// asked of the kernel at each walk: once they moved, a relative path
// starts where they are now.
func TestHostDirsAreNotCached(t *testing.T) {
	h := &movingHost{cwd: "/etc", fds: map[int]string{72: "/etc"}}
	k := NewKernel([]*Mount{{Path: "/m", FS: ramfs.New(ramfs.Options{})}}, h)
	r := &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
	r.continued(unix.SYS_OPENAT, 72, r.mem.str("m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.continued(unix.SYS_OPENAT, cwd, r.mem.str("m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	h.fds[72], h.cwd = "/", "/"
	fd := r.ok(unix.SYS_OPENAT, 72, r.mem.str("m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.exists("/m/x")
	r.ok(unix.SYS_MKDIR, r.mem.str("m/d"), 0o755)
	r.exists("/m/d")
	h.fds[72], h.cwd = "/etc", "/etc"
	r.continued(unix.SYS_MKDIRAT, 72, r.mem.str("m/d"), 0o755)
	r.continued(unix.SYS_MKDIR, r.mem.str("m/d"), 0o755)
}

// dirHost is a movingHost that also describes host directories
// (HostDirer): dirs holds their modes; owners are root's.
type dirHost struct {
	movingHost
	dirs map[string]uint32
}

func (h *dirHost) HostDir(tgid int, hp string) (uint32, uint32, uint32, error) {
	if m, ok := h.dirs[hp]; ok {
		return m, 0, 0, nil
	}
	return 0, 0, 0, syscall.ENOENT
}

// A chdir to a mount's root whose host directory the kernel can enter
// runs in the kernel too, so that the kernel's working directory agrees
// with emul's and ".." above the mount may be left to the kernel; one to a
// directory only the ramfs has, or by a way the kernel would not take,
// is emul's alone.
func TestChdirToMountRootMovesTheKernel(t *testing.T) {
	h := &dirHost{movingHost: movingHost{cwd: "/", fds: map[int]string{}}, dirs: map[string]uint32{"/": syscall.S_IFDIR | 0o755, "/m": syscall.S_IFDIR | 0o755}}
	fs := ramfs.New(ramfs.Options{})
	fs.Chmod(fs.Root(), 0o755)
	k := NewKernel([]*Mount{{Path: "/m", FS: fs}}, h)
	r := &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/w"), 0o755)
	r.continued(unix.SYS_CHDIR, r.mem.str("/m"))
	h.cwd = "/m"
	r.exists(".")
	r.continued(unix.SYS_NEWFSTATAT, cwd, r.mem.str("../etc"), r.mem.alloc(sizeofStat), 0)
	r.ok(unix.SYS_CHDIR, r.mem.str("w"))
	r.errno(syscall.EXDEV, unix.SYS_NEWFSTATAT, cwd, r.mem.str("../../etc"), r.mem.alloc(sizeofStat), 0)
	r.ok(unix.SYS_CHDIR, r.mem.str(".."))
	r.continued(unix.SYS_NEWFSTATAT, cwd, r.mem.str("../etc"), r.mem.alloc(sizeofStat), 0)
	r.ok(unix.SYS_CHDIR, r.mem.str("/m/w/.."))
	h.cwd = "/"
	r.continued(unix.SYS_CHDIR, r.mem.str("/m"))
	// The kernel's chdir could fail where emul's succeeds: emul's alone.
	fs.Chmod(fs.Root(), 0o700)
	r.ok(unix.SYS_CHDIR, r.mem.str("/m"))
	delete(h.dirs, "/m")
	fs.Chmod(fs.Root(), 0o755)
	r.ok(unix.SYS_CHDIR, r.mem.str("/m"))
	// Nor where the caller may not search a directory above the mount.
	h.dirs["/m"] = syscall.S_IFDIR | 0o755
	r.p.Creds = Creds{Uid: 1000, Gid: 1000, Ruid: 1000, Rgid: 1000}
	r.continued(unix.SYS_CHDIR, r.mem.str("/m"))
	h.dirs["/"] = syscall.S_IFDIR | 0o700
	r.ok(unix.SYS_CHDIR, r.mem.str("/m"))
}

// linkHost is a movingHost whose host tree has symlinks (HostLinker):
// links maps a path to its target, dirs lists directories; anything else
// does not exist.
type linkHost struct {
	movingHost
	links map[string]string
	dirs  map[string]bool
	asked int
}

func (h *linkHost) HostLstat(tgid int, hp string) (uint32, string, error) {
	h.asked++
	if t, ok := h.links[hp]; ok {
		return syscall.S_IFLNK, t, nil
	}
	if h.dirs[hp] {
		return syscall.S_IFDIR, "", nil
	}
	return 0, "", syscall.ENOENT
}

// ".." after host components the walk took on trust is applied to what
// the kernel finds there (the directory a symlink leads to) when the walk
// then reaches a mount or a magic link; a path that stays on the host is
// left to the kernel without asking.
func TestHostDotdotAfterSymlinks(t *testing.T) {
	h := &linkHost{
		movingHost: movingHost{cwd: "/", fds: map[int]string{}},
		links:      map[string]string{"/t/s": "/m/d", "/t/r": "s/..", "/t/loop": "/t/loop", "/dev/fd": "/proc/self/fd"},
		dirs:       map[string]bool{"/t": true, "/dev": true, "/proc": true, "/proc/self": true, "/proc/self/fd": true},
	}
	k := NewKernel([]*Mount{{Path: "/m", FS: ramfs.New(ramfs.Options{})}}, h)
	r := &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/d"), 0o755)
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/t/s/../../m/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.exists("/m/x")
	r.exists("/t/r/../../m/x")
	r.exists("/t/s/../d/../../m/x")
	stat := func(p string) uint64 { return r.mem.str(p) }
	buf := r.mem.alloc(sizeofStat)
	r.errno(syscall.ENOENT, unix.SYS_NEWFSTATAT, cwd, stat("/t/nope/../../m/x"), buf, 0)
	r.errno(syscall.ELOOP, unix.SYS_NEWFSTATAT, cwd, stat("/t/loop/../../m/x"), buf, 0)
	// /dev/fd/../.. is /proc: no mount there.
	r.continued(unix.SYS_NEWFSTATAT, cwd, stat("/dev/fd/../../m/x"), buf, 0)
	// Paths that stay on the host are the kernel's: nothing is asked.
	h.asked = 0
	r.continued(unix.SYS_NEWFSTATAT, cwd, stat("/t/s/x"), buf, 0)
	r.continued(unix.SYS_NEWFSTATAT, cwd, stat("/t/nope/../x"), buf, 0)
	r.exists("/m/d/../x")
	if h.asked != 0 {
		t.Errorf("%d host lookups for paths that stay on the host", h.asked)
	}
	how := r.mem.alloc(24)
	b := r.mem.bytesAt(how, 24)
	le.PutUint64(b, unix.O_RDONLY)
	le.PutUint64(b[16:], unix.RESOLVE_NO_SYMLINKS)
	r.errno(syscall.ELOOP, unix.SYS_OPENAT2, cwd, r.mem.str("/t/s/../../m/x"), how, 24)
}
