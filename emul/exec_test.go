package emul

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// dirShadow is an ExecShadow over a test directory for mount /m.
type dirShadow struct{ fd int }

func (s dirShadow) ShadowRoot(p string) (int, bool) { return s.fd, p == "/m" }

// cwdHost is a Host whose working directory the test moves (the
// kernel's, which a continued chdir changes).
type cwdHost struct{ cwd *string }

func (h cwdHost) FDPath(tgid, fd int) (string, error) { return "", syscall.EBADF }
func (h cwdHost) Cwd(tgid int) (string, error)        { return *h.cwd, nil }

// execRig is a rig with an exec shadow in a temporary directory.
func execRig(t *testing.T) (*rig, string, *string) {
	r := newRig(t)
	cwdPath := "/"
	r.k.host = cwdHost{&cwdPath}
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	r.k.SetExecShadow(dirShadow{fd})
	return r, dir, &cwdPath
}

func (r *rig) writeFile(p, data string, mode uint32) {
	r.t.Helper()
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str(p), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, uint64(mode))
	if len(data) > 0 {
		r.ok(unix.SYS_WRITE, uint64(fd), r.mem.str(data), uint64(len(data)))
	}
	r.ok(unix.SYS_CLOSE, uint64(fd))
	r.ok(unix.SYS_CHMOD, r.mem.str(p), uint64(mode))
}

func (r *rig) execve(p string) Result {
	return r.call(unix.SYS_EXECVE, r.mem.str(p), 0, 0)
}

func (r *rig) mustContinue(what string, res Result) {
	r.t.Helper()
	if res.Action != Continue {
		r.t.Fatalf("%s: %v err %v, want continue", what, res.Action, res.Err)
	}
}

func (r *rig) mustFail(what string, res Result, want syscall.Errno) {
	r.t.Helper()
	if res.Action != Return || res.Err != want {
		r.t.Fatalf("%s: %v err %v, want %v", what, res.Action, res.Err, want)
	}
}

func shadowHas(t *testing.T, dir, rel, data string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil || string(b) != data {
		t.Fatalf("shadow %s = %q, %v; want %q", rel, b, err, data)
	}
	fi, _ := os.Stat(filepath.Join(dir, rel))
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("shadow %s mode %v, want rwxr-xr-x", rel, fi.Mode())
	}
}

// Without a shadow the kernel cannot be shown the file: EXDEV, never the
// host's file behind the mount. Host programs run as before.
func TestExecWithoutShadow(t *testing.T) {
	r := newRig(t)
	r.writeFile("/m/p", "#!/bin/sh\n", 0o755)
	r.mustFail("exec /m/p", r.execve("/m/p"), syscall.EXDEV)
	r.mustContinue("exec /bin/sh", r.execve("/bin/sh"))
}

func TestExecStagesCopy(t *testing.T) {
	r, dir, _ := execRig(t)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/d"), 0o755)
	r.writeFile("/m/d/p", "\x7fELF...", 0o755)
	r.mustContinue("exec /m/d/p", r.execve("/m/d/p"))
	shadowHas(t, dir, "d/p", "\x7fELF...")
	if !r.p.execBy[1] || !r.p.CredsStale {
		t.Errorf("a continued exec must mark the process (execBy %v, CredsStale %v)", r.p.execBy, r.p.CredsStale)
	}
	// A changed file is copied again.
	r.writeFile("/m/d/p", "changed", 0o755)
	r.mustContinue("exec changed", r.execve("/m/d/p"))
	shadowHas(t, dir, "d/p", "changed")
	// A directory of the shadow where a file is now gives way.
	r.ok(unix.SYS_RENAME, r.mem.str("/m/d"), r.mem.str("/m/e"))
	r.writeFile("/m/d", "file now", 0o755)
	r.mustContinue("exec /m/d", r.execve("/m/d"))
	shadowHas(t, dir, "d", "file now")
	// The same file again after a directory of its name was in the shadow
	// for a while: copied again.
	r.ok(unix.SYS_RENAME, r.mem.str("/m/d"), r.mem.str("/m/f"))
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/d"), 0o755)
	r.mustContinue("chdir /m/d", r.call(unix.SYS_CHDIR, r.mem.str("/m/d")))
	r.call(unix.SYS_CHDIR, r.mem.str("/"))
	r.ok(unix.SYS_RMDIR, r.mem.str("/m/d"))
	r.ok(unix.SYS_RENAME, r.mem.str("/m/f"), r.mem.str("/m/d"))
	r.mustContinue("exec /m/d again", r.execve("/m/d"))
	shadowHas(t, dir, "d", "file now")
}

func TestExecErrors(t *testing.T) {
	r, dir, _ := execRig(t)
	r.writeFile("/m/p", "x", 0o755)
	r.writeFile("/m/data", "x", 0o644)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/d"), 0o755)
	r.ok(unix.SYS_SYMLINK, r.mem.str("p"), r.mem.str("/m/l"))
	r.mustFail("missing", r.execve("/m/missing"), syscall.ENOENT)
	r.mustFail("p/x", r.execve("/m/p/x"), syscall.ENOTDIR)
	r.mustFail("p/", r.execve("/m/p/"), syscall.ENOTDIR)
	r.mustFail("no x bit", r.execve("/m/data"), syscall.EACCES)
	r.mustFail("directory", r.execve("/m/d"), syscall.EACCES)
	r.mustFail("mount root", r.execve("/m"), syscall.EACCES)
	r.mustFail("nofollow", r.call(unix.SYS_EXECVEAT, cwd, r.mem.str("/m/l"), 0, 0, unix.AT_SYMLINK_NOFOLLOW), syscall.ELOOP)
	r.mustContinue("symlink followed", r.execve("/m/l"))
	// Open for writing: ETXTBSY until closed.
	w := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/p"), unix.O_WRONLY, 0)
	r.mustFail("open for writing", r.execve("/m/p"), syscall.ETXTBSY)
	r.ok(unix.SYS_CLOSE, uint64(w))
	r.mustContinue("closed", r.execve("/m/p"))
	// An unprivileged caller needs the execute bit of its class.
	r.writeFile("/m/own", "x", 0o700)
	r.p.Creds = Creds{Uid: 65534, Gid: 65534}
	r.mustFail("other's 0700 file", r.execve("/m/own"), syscall.EACCES)
	r.mustContinue("0755 file", r.execve("/m/p"))
	if _, err := os.Stat(filepath.Join(dir, "own")); err == nil {
		t.Error("a refused exec left a copy")
	}
}

// A script's interpreter in a mount is checked and copied with it.
func TestExecScriptInterpreter(t *testing.T) {
	r, dir, _ := execRig(t)
	r.writeFile("/m/i", "interp", 0o644)
	r.writeFile("/m/s", "#! /m/i -x\nbody\n", 0o755)
	r.mustFail("interpreter without x", r.execve("/m/s"), syscall.EACCES)
	r.ok(unix.SYS_CHMOD, r.mem.str("/m/i"), 0o755)
	r.mustContinue("script", r.execve("/m/s"))
	shadowHas(t, dir, "i", "interp")
	r.writeFile("/m/t", "#!/m/gone\n", 0o755)
	r.mustFail("missing interpreter", r.execve("/m/t"), syscall.ENOENT)
	for head, want := range map[string]string{"#!/bin/sh\n": "/bin/sh", "#!\t/a b\n": "/a", "#!/x": "/x", "#!\n": "", "ELF": ""} {
		got, ok := scriptInterp([]byte(head))
		if got != want || ok != (want != "") {
			t.Errorf("scriptInterp(%q) = %q, %v; want %q", head, got, ok, want)
		}
	}
}

// A chdir into a mount is let run after the shadow has the directory, so
// the kernel's working directory follows; a relative exec then finds its
// copy there. After an fchdir to a directory whose placeholder is not the
// shadow's directory (here the ExecShadow has no view of the shadow, so
// the kernel cannot follow) a relative exec's copy goes where the kernel
// looks, or is refused when that is outside the mounts.
func TestExecRelative(t *testing.T) {
	r, dir, kcwd := execRig(t)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/a"), 0o755)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/a/b"), 0o755)
	r.writeFile("/m/a/p", "prog", 0o755)
	r.mustContinue("chdir", r.call(unix.SYS_CHDIR, r.mem.str("/m/a/b")))
	if fi, err := os.Stat(filepath.Join(dir, "a/b")); err != nil || !fi.IsDir() {
		t.Fatalf("the shadow lacks a/b: %v", err)
	}
	*kcwd = "/m/a/b" // the kernel ran the chdir
	r.mustContinue("../p", r.execve("../p"))
	shadowHas(t, dir, "a/p", "prog")
	// A relative chdir from there.
	r.mustContinue("chdir ..", r.call(unix.SYS_CHDIR, r.mem.str("..")))
	*kcwd = "/m/a"
	r.mustContinue("./p", r.execve("./p"))
	// fchdir to a memfd placeholder: emul's alone.
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/a/b"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if res := r.call(unix.SYS_FCHDIR, uint64(fd)); res.Action != Return || res.Err != 0 {
		t.Fatalf("fchdir: %v %v", res.Action, res.Err)
	}
	// The kernel is still in /m/a: the copy of emul's ../p (/m/a/p)
	// goes where the kernel looks, /m/p.
	r.mustContinue("relative exec after fchdir", r.execve("../p"))
	shadowHas(t, dir, "p", "prog")
	*kcwd = "/" // a kernel working directory outside the mounts
	r.mustFail("relative exec after fchdir, kernel outside", r.execve("../p"), syscall.EXDEV)
	child := r.k.Process(2, r.p)
	c := Call{Tid: 2, Proc: child, Nr: unix.SYS_EXECVE, Mem: r.mem}
	c.Args[0] = r.mem.str("../p")
	r.mustFail("a forked child's relative exec", r.k.Handle(&c), syscall.EXDEV)
	r.mustContinue("absolute exec after fchdir", r.execve("/m/a/p"))
	// A dirfd of the mount on a memfd placeholder: the kernel would walk
	// from a file.
	r.mustFail("execveat(dirfd)", r.call(unix.SYS_EXECVEAT, uint64(fd), r.mem.str("../p"), 0, 0, 0), syscall.EXDEV)
	// An absolute chdir brings the kernel back in step.
	if res := r.call(unix.SYS_CHDIR, r.mem.str("..")); res.Action != Return || res.Err != 0 {
		t.Fatalf("relative chdir while astray: %v %v, want emul's answer", res.Action, res.Err)
	}
	r.mustContinue("chdir abs", r.call(unix.SYS_CHDIR, r.mem.str("/m/a")))
	*kcwd = "/m/a"
	r.mustContinue("./p again", r.execve("./p"))
}

// fexecve of an emulated fd runs its placeholder, filled first; so does an
// exec of its /proc/self/fd/N or /dev/fd/N link.
func TestExecEmptyPath(t *testing.T) {
	r, _, _ := execRig(t)
	r.writeFile("/m/p", "prog", 0o755)
	r.writeFile("/m/data", "data", 0o644)
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/p"), unix.O_RDONLY, 0)
	res := r.call(unix.SYS_EXECVEAT, uint64(fd), r.mem.str(""), 0, 0, unix.AT_EMPTY_PATH)
	if res.Action != Continue || res.Fill == nil || res.FillFD != int(fd) {
		t.Fatalf("fexecve: %+v, want continue filling fd %d", res, fd)
	}
	for _, link := range []string{"/proc/self/fd/", "/dev/fd/", "/proc/1/fd/"} {
		res := r.execve(link + strconv.Itoa(int(fd)))
		if res.Action != Continue || res.Fill == nil || res.FillFD != int(fd) {
			t.Fatalf("exec of %s%d: %+v, want continue filling fd %d", link, fd, res, fd)
		}
	}
	dfd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/data"), unix.O_RDONLY, 0)
	r.mustFail("exec of /dev/fd/N without x", r.execve("/dev/fd/"+strconv.Itoa(int(dfd))), syscall.EACCES)
	r.mustFail("fexecve without x", r.call(unix.SYS_EXECVEAT, uint64(dfd), r.mem.str(""), 0, 0, unix.AT_EMPTY_PATH), syscall.EACCES)
	if res := r.call(unix.SYS_EXECVEAT, uint64(fd), r.mem.str("x"), 0, 0, 0x8000); res.Action != Continue {
		t.Errorf("unknown flags: %v, want continue (the kernel's EINVAL)", res.Action)
	}
}

// Without exec shadows (--no-isolation) a walk that climbs out of a mount
// through its directories is left to the kernel only where the host has
// those directories behind the mount, which the kernel then walks; else
// it is answered EXDEV, not left to fail or land elsewhere.
func TestClimbOutWithoutShadow(t *testing.T) {
	h := &linkHost{movingHost: movingHost{cwd: "/", fds: map[int]string{}}, dirs: map[string]bool{"/m/x": true}}
	k := NewKernel([]*Mount{{Path: "/m", FS: ramfs.New(ramfs.Options{})}}, h)
	r := &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/x"), 0o755)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/x/y"), 0o755)
	buf := r.mem.alloc(sizeofStat)
	r.continued(unix.SYS_NEWFSTATAT, cwd, r.mem.str("/m/x/../../etc"), buf, 0)
	r.errno(syscall.EXDEV, unix.SYS_NEWFSTATAT, cwd, r.mem.str("/m/x/y/../../../etc"), buf, 0)
	h.dirs["/m/x/y"] = true
	r.continued(unix.SYS_NEWFSTATAT, cwd, r.mem.str("/m/x/y/../../../etc"), buf, 0)
	h.links = map[string]string{"/m/x/y": "/t"}
	delete(h.dirs, "/m/x/y")
	r.errno(syscall.EXDEV, unix.SYS_NEWFSTATAT, cwd, r.mem.str("/m/x/y/../../../etc"), buf, 0)
}

// viewShadow is a dirShadow that also serves the program's view of the
// shadow (in a test, the same directory).
type viewShadow struct{ dirShadow }

func (s viewShadow) ShadowView(p string) (int, bool) { return s.fd, p == "/m" }

// A directory of a mount opened for reading, or O_PATH, gets the shadow's
// directory of the same path as its placeholder: an fchdir to it is
// continued (the kernel's working directory follows), and an execveat
// relative to it puts the copy where the kernel looks from there. Without
// the program's view of the shadow neither can be.
func TestDirPlaceholderIsShadowDir(t *testing.T) {
	r, dir, _ := execRig(t)
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(root) })
	r.k.SetExecShadow(viewShadow{dirShadow{root}})
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/a"), 0o755)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/a/b"), 0o755)
	r.writeFile("/m/a/b/p", "\x7fELF...", 0o755)
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/a/b"), unix.O_RDONLY|unix.O_DIRECTORY)
	if f := r.k.fileLocked(r.p, int(fd)); f == nil || f.ShadowDir() != "/m/a/b" {
		t.Fatalf("placeholder of /m/a/b: %v", f)
	}
	if fi, err := os.Stat(filepath.Join(dir, "a/b")); err != nil || !fi.IsDir() {
		t.Fatalf("shadow directory a/b: %v %v", fi, err)
	}
	r.mustContinue("fchdir", r.call(unix.SYS_FCHDIR, uint64(fd)))
	if r.p.fs.kernelAstray {
		t.Error("fchdir to a shadow placeholder left the kernel astray")
	}
	r.mustContinue("execveat(fd, p)", r.call(unix.SYS_EXECVEAT, uint64(fd), r.mem.str("p"), 0, 0, 0))
	shadowHas(t, dir, "a/b/p", "\x7fELF...")
	pfd := r.ok(unix.SYS_OPEN, r.mem.str("/m/a"), unix.O_PATH)
	r.writeFile("/m/a/b/p", "\x7fELF2", 0o755)
	r.mustContinue("execveat(O_PATH fd, b/p)", r.call(unix.SYS_EXECVEAT, uint64(pfd), r.mem.str("b/p"), 0, 0, 0))
	shadowHas(t, dir, "a/b/p", "\x7fELF2")

	r.k.SetExecShadow(dirShadow{root})
	dfd := r.ok(unix.SYS_OPEN, r.mem.str("/m/a"), unix.O_RDONLY|unix.O_DIRECTORY)
	if f := r.k.fileLocked(r.p, int(dfd)); f == nil || f.ShadowDir() != "" {
		t.Fatalf("placeholder of /m/a without a view: %v", f.ShadowDir())
	}
	r.ok(unix.SYS_FCHDIR, uint64(dfd))
	if !r.p.fs.kernelAstray {
		t.Error("fchdir to a placeholder the kernel cannot walk from did not mark the kernel astray")
	}
	r.mustFail("execveat(memfd placeholder, b/p)", r.call(unix.SYS_EXECVEAT, uint64(dfd), r.mem.str("b/p"), 0, 0, 0), syscall.EXDEV)
}
