package main

import (
	"path"
	"strconv"

	"golang.org/x/sys/unix"
)

// Linux resolves /proc/PID/root, /proc/PID/cwd and /proc/PID/fd/N as jumps
// to the process's root, working directory or open directory
// (nd_jump_link), not as names: a path through them lands where the
// directory is, a mount included.
func init() {
	register("magic_root", scenMagicRoot)
	register("magic_cwd", scenMagicCwd)
	register("magic_fd", scenMagicFD)
	register("magic_nomagiclinks", scenMagicNoMagiclinks)
}

// jumpOps creates, opens, stats, makes and removes through the directory
// prefix pre, which names the directory here (relative to the work
// directory, "" or ending in "/") by way of a magic link.
func jumpOps(s *S, pre, here string) {
	fd := s.open(pre+"/x", wronly|creat|excl, 0o644).OK()
	s.write(fd, "via "+s.q(pre)).OK()
	s.close(fd).OK()
	s.content(here + "x")
	_, a := s.stat(pre + "/x")
	_, b := s.stat(here + "x")
	s.sameFile(s.q(pre+"/x"), here+"x", a, b, true)
	fd = s.open(pre+"/x", rdonly, 0).OK()
	s.read(fd, 100).OK()
	s.close(fd).OK()
	s.open(pre+"/x", wronly|creat|excl, 0o644).Err(unix.EEXIST)
	s.mkdir(pre+"/d", 0o755).OK()
	s.stat(here + "d")
	s.mkdir(pre+"/d", 0o755).Err(unix.EEXIST)
	fd = s.open(pre+"/d/y", wronly|creat, 0o600).OK()
	s.close(fd).OK()
	s.stat(here + "d/y")
	s.lstat(pre + "/d/../d/y")
	s.unlink(pre + "/d/y").OK()
	s.stat(here + "d/y")
	s.rmdir(pre + "/d").OK()
	s.stat(here + "d")
	s.unlink(pre + "/x").OK()
	s.stat(here + "x")
	s.unlink(pre + "/x").Err(unix.ENOENT)
	s.stat(pre + "/nope")
}

func scenMagicRoot(s *S) {
	jumpOps(s, "/proc/self/root"+s.work, "")
	jumpOps(s, "/proc/thread-self/root"+s.work, "")
	jumpOps(s, "/proc/"+strconv.Itoa(unix.Getpid())+"/root"+s.work, "")
	mustWrite("f", "f")
	_, a := s.stat("/proc/self/root" + s.work + "/../" + path.Base(s.work) + "/f")
	_, b := s.stat("f")
	s.sameFile(s.q("/proc/self/root"+s.work+"/../"+path.Base(s.work)+"/f"), "f", a, b, true)
	s.stat("/proc/self/root/proc/self/root" + s.work + "/f")
}

func scenMagicCwd(s *S) {
	// sysseq runs with the work directory as its working directory.
	jumpOps(s, "/proc/self/cwd", "")
	jumpOps(s, "/proc/thread-self/cwd", "")
	jumpOps(s, "/proc/"+strconv.Itoa(unix.Getpid())+"/cwd", "")
	s.mkdir("sub", 0o755).OK()
	s.chdir("sub").OK()
	fd := s.open("/proc/self/cwd/in-sub", wronly|creat, 0o644).OK()
	s.close(fd).OK()
	s.stat("/proc/self/cwd/../sub/in-sub")
	s.chdir(s.work).OK()
	s.stat("sub/in-sub")
	s.unlink("/proc/self/cwd/sub/in-sub").OK()
	s.rmdir("/proc/self/cwd/sub").OK()
	s.stat("sub")
}

// openParent opens the work directory's parent with O_PATH by absolute
// path, without printing it (the path differs from run to run).
func openParent(s *S) int {
	fd, err := unix.Open(path.Dir(s.work), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		panic("open parent of work directory: " + err.Error())
	}
	s.note("O_PATH fd on the work directory's parent: %d", fd)
	return fd
}

func scenMagicFD(s *S) {
	pfd := openParent(s)
	base := path.Base(s.work)
	jumpOps(s, "/proc/self/fd/"+strconv.Itoa(pfd)+"/"+base, "")
	jumpOps(s, "/dev/fd/"+strconv.Itoa(pfd)+"/"+base, "")
	// A directory fd opened inside the work directory.
	s.mkdir("d2", 0o755).OK()
	dfd := s.open("d2", rdonly|odir, 0).OK()
	jumpOps(s, "/proc/self/fd/"+strconv.Itoa(dfd), "d2/")
	s.close(dfd).OK()
	s.rmdir("d2").OK()
	s.close(pfd).OK()
	// The link of a regular file's fd names it, and once it is
	// unlinked says so; a removed directory's too.
	ffd := s.open("lf", rdwr|creat, 0o644).OK()
	s.readlink("/proc/self/fd/"+strconv.Itoa(ffd), 200).OK()
	s.unlink("lf").OK()
	s.readlink("/proc/self/fd/"+strconv.Itoa(ffd), 200).OK()
	s.fstat(ffd)
	s.close(ffd).OK()
	s.mkdir("d3", 0o755).OK()
	dfd = s.open("d3", rdonly|odir, 0).OK()
	s.rmdir("d3").OK()
	s.readlink("/proc/self/fd/"+strconv.Itoa(dfd), 200).OK()
	s.close(dfd).OK()
}

func scenMagicNoMagiclinks(s *S) {
	pfd := openParent(s)
	base := path.Base(s.work)
	mustWrite("f", "data")
	for _, p := range []string{
		"/proc/self/root" + s.work + "/f",
		"/proc/thread-self/root" + s.work + "/f",
		"/proc/self/cwd/f",
		"/proc/self/fd/" + strconv.Itoa(pfd) + "/" + base + "/f",
	} {
		fd := s.openat2(cwd, p, rdonly, 0, 0).OK()
		s.read(fd, 100).Is(4)
		s.close(fd).OK()
		s.openat2(cwd, p, rdonly, 0, unix.RESOLVE_NO_MAGICLINKS).Err(unix.ELOOP)
		s.openat2(cwd, p, wronly|creat, 0o644, unix.RESOLVE_NO_MAGICLINKS).Err(unix.ELOOP)
		s.openat2(cwd, p, rdonly, 0, unix.RESOLVE_NO_SYMLINKS).Err(unix.ELOOP)
	}
	s.openat2(cwd, "/proc/self/cwd/new", wronly|creat, 0o644, unix.RESOLVE_NO_MAGICLINKS).Err(unix.ELOOP)
	s.stat("new")
	// Not followed: the link itself.
	fd := s.openat2(cwd, "/proc/self/cwd", opath|nofol, 0, unix.RESOLVE_NO_MAGICLINKS).OK()
	s.close(fd).OK()
	fd = s.openat2(cwd, "/proc/self/cwd", rdonly|odir, 0, 0).OK()
	s.close(fd).OK()
	s.openat2(cwd, "/proc/self/cwd", rdonly|odir, 0, unix.RESOLVE_NO_MAGICLINKS).Err(unix.ELOOP)
	s.close(pfd).OK()
}
