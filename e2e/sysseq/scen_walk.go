package main

import (
	"fmt"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func init() {
	register("rename_order", scenRenameOrder)
	register("magic_task", scenMagicTask)
	register("climb_out", scenClimbOut)
	register("climb_out_deep", scenClimbOutDeep)
	register("dotdot_host", scenDotdotHost)
	register("symlink_host_into", scenSymlinkHostInto)
	register("symlink_out", scenSymlinkOut)
}

// scenSymlinkHostInto goes through host symlinks to the work directory:
// Linux follows them into it, in any position, absolute or relative, one
// after another, and ".." after them is the parent of where they led.
// Under fsshim the kernel would meet the mount's shadow there, so emul
// must walk such paths as the kernel does.
func scenSymlinkHostInto(s *S) {
	tmp := s.hostTemp()
	defer os.RemoveAll(tmp)
	s.mkdir("sub", 0o755).OK()
	links := [][2]string{
		{s.work, "w"},            // absolute, to the mount's root
		{s.work + "/sub", "s"},   // absolute, into it
		{"w/sub", "rel"},         // relative, through another link
		{s.work + "/f", "file"},  // to a file in it
		{s.work + "/new", "new"}, // to a name not there yet
	}
	for _, l := range links {
		if err := os.Symlink(l[0], tmp+"/"+l[1]); err != nil {
			panic(err)
		}
	}
	mustWrite("f", "in the work directory")
	s.content(tmp + "/w/f")
	s.stat(tmp + "/w/f")
	s.content(tmp + "/s/../f")
	s.content(tmp + "/file")
	s.lstat(tmp + "/file")
	s.stat(tmp + "/rel")
	s.stat(tmp + "/rel/../f")
	s.stat(tmp + "/s/../../" + path.Base(s.work) + "/f")
	// Made, changed and removed through the links.
	fd := s.open(tmp+"/w/g", wronly|creat, 0o600).OK()
	s.write(fd, "through a host symlink")
	s.close(fd)
	s.content("g")
	s.mkdir(tmp+"/rel/d", 0o755).OK()
	s.stat("sub/d")
	s.rename(tmp+"/w/g", tmp+"/s/d/h").OK()
	s.content("sub/d/h")
	s.chmod(tmp+"/s/d/h", 0o640).OK()
	s.stat("sub/d/h")
	s.close(s.open(tmp+"/new", wronly|creat, 0o644).OK())
	s.stat("new")
	s.open(tmp+"/w/nope/x", rdonly, 0).Err(unix.ENOENT)
	s.open(tmp+"/file/x", rdonly, 0).Err(unix.ENOTDIR)
	s.unlink(tmp + "/s/d/h").OK()
	s.rmdir(tmp + "/rel/d").OK()
	s.unlink(tmp + "/w/new").OK()
	s.unlink("f").OK()
	s.rmdir("sub").OK()
}

// scenSymlinkOut follows symlinks made in the work directory that lead
// out of it: absolute ones to host files and directories, relative ones
// that climb out, one through another, and ".." after one. Linux goes on
// on the host, for reading, writing, creating, removing and running.
func scenSymlinkOut(s *S) {
	tmp := s.hostTemp()
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(tmp+"/hostfile", []byte("on the host\n"), 0o644); err != nil {
		panic(err)
	}
	if err := os.Mkdir(tmp+"/hostdir", 0o755); err != nil {
		panic(err)
	}
	up := strings.Repeat("../", strings.Count(s.work, "/")+2) // from a/b
	s.mkdir("a", 0o755).OK()
	s.mkdir("a/b", 0o755).OK()
	s.symlink(tmp+"/hostfile", "abs").OK()
	s.symlink(tmp+"/hostdir", "a/dir").OK()
	s.symlink(up+tmp[1:]+"/hostfile", "a/b/rel").OK()
	s.symlink("a/b", "inner").OK()
	s.symlink("/etc", "etc").OK()
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	s.masks = append(s.masks, [2]string{self, "$SYSSEQ"})
	s.symlink(self, "prog").OK()
	s.content("abs")
	s.stat("abs")
	s.content("a/b/rel")
	s.content("inner/rel")
	s.content("inner/../dir/../hostfile")
	s.access("etc/passwd", unix.R_OK).OK() // root's: its owner shows as 65534 to nobody under fsshim
	s.access("abs", unix.R_OK).OK()
	s.readlink("a/dir/..", 64)
	fd := s.open("a/dir/new", wronly|creat, 0o600).OK()
	s.write(fd, "made through a symlink")
	s.close(fd)
	s.content(tmp + "/hostdir/new")
	s.mkdir("a/dir/sub", 0o755).OK()
	s.rename("a/dir/new", "a/dir/sub/moved").OK()
	s.chmod("a/dir/sub/moved", 0o640).OK()
	s.stat(tmp + "/hostdir/sub/moved")
	s.truncate("abs", 3).OK()
	s.content(tmp + "/hostfile")
	s.unlink("a/dir/sub/moved").OK()
	s.rmdir("a/dir/sub").OK()
	s.execExpect("a symlink to a host program", 7, "-", "execve", "-", "./prog", "0", "p0", "-info", "out")
	s.chdir("a/dir").OK()
	s.content("../hostfile")
	s.chdir(s.work).OK()
	for _, n := range []string{"abs", "a/dir", "a/b/rel", "inner", "etc", "prog"} {
		s.unlink(n).OK()
	}
	s.rmdir("a/b").OK()
	s.rmdir("a").OK()
}

// scenDotdotHost follows ".." after host symlinks as Linux does: ".." is
// the parent of the directory a symlink leads to, not of the link's name.
// Each path here would land in the work directory if ".." were taken
// lexically; Linux finds no such file.
func scenDotdotHost(s *S) {
	tmp := s.hostTemp()
	defer os.RemoveAll(tmp)
	s.mkdir("sub", 0o755).OK()
	mustWrite("f", "in the work directory")
	for target, link := range map[string]string{s.work + "/sub": "s", "/dev/fd": "fd"} {
		if err := os.Symlink(target, tmp+"/"+link); err != nil {
			panic(err)
		}
	}
	// $TMP/s/.. is the work directory: three ".." are above its parent.
	s.stat(tmp + "/s/../../.." + s.work + "/f")
	s.open(tmp+"/s/../../.."+s.work+"/g", wronly|creat, 0o644).Err(unix.ENOENT)
	s.stat(tmp + "/s/../../../proc/self/cwd/f")
	s.stat(tmp + "/nope/../../.." + s.work + "/f")
	s.stat("/dev/fd/../.." + s.work + "/f")
	s.stat(tmp + "/fd/../../.." + s.work + "/f")
	s.stat("/dev/fd/../../proc/self/cwd/f")
	s.stat("/dev/fd/../fd/0/..")
	s.stat("g")
	s.unlink("f").OK()
	s.rmdir("sub").OK()
}

// scenClimbOut climbs out of the work directory with "..": Linux goes on in
// the host directories above it, and back in. sysseq entered the work
// directory by its absolute path (as a shell's cd does), so under fsshim
// the work directory is the mount's root and the working directory.
func scenClimbOut(s *S) {
	base := path.Base(s.work)
	up := strings.Repeat("../", 16)
	above(s, "..")
	s.stat("../" + base)
	s.access("..", unix.R_OK|unix.X_OK)
	fd := s.open("..", rdonly|odir, 0).OK()
	s.listdir(unix.SYS_GETDENTS64, fd, 4096)
	s.close(fd).OK()
	s.content(up + "etc/passwd")
	s.chdir("..").OK()
	s.stat(base)
	s.chdir(base).OK()
	above(s, "..")
	mustWrite("f", "in the work directory")
	s.content("../" + base + "/f")
	s.content(up + "proc/self/cwd/f")
	s.chdir("../" + base).OK()
	s.content("f")
	s.unlink("f").OK()
}

// above checks that p is the directory above the work directory (mode
// 0755). That directory is root's, and an unprivileged fsshim's user
// namespace shows root as the overflow id: its owner is not printed.
func above(s *S, p string) {
	var st unix.Stat_t
	err := unix.Stat(p, &st)
	s.check("mode of "+s.q(p), fmt.Sprintf("%v %o", err, st.Mode), fmt.Sprintf("<nil> %o", unix.S_IFDIR|0o755))
}

// scenClimbOutDeep climbs out of a directory below the work directory.
// Linux reads the host; fsshim answers EXDEV (e2e/known_test.go).
func scenClimbOutDeep(s *S) {
	up := strings.Repeat("../", 16)
	s.mkdir("a", 0o755).OK()
	s.chdir("a").OK()
	above(s, "../..")
	s.content(up + "etc/passwd")
	s.chdir(s.work).OK()
	s.rmdir("a").OK()
}

// scenMagicTask goes through the magic links of a thread that is not the
// thread group's leader: Linux names them under /proc/PID/task/TID/ and,
// although no listing shows it, under /proc/TID/ too (proc_pid_lookup
// finds any thread), each leading to the process's working directory; a
// task that is not one of its threads is not there.
func scenMagicTask(s *S) {
	// A goroutine locked to a thread other than the leader: one that
	// lands on the leader keeps it, so the next cannot.
	tids := make(chan int)
	done := make(chan struct{})
	defer close(done)
	t := unix.Getpid()
	for t == unix.Getpid() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			tids <- unix.Gettid()
			<-done
		}()
		t = <-tids
	}
	tid := strconv.Itoa(t)
	pid := strconv.Itoa(unix.Getpid())
	s.masks = append(s.masks, [2]string{"/" + tid + "/", "/$TID/"}, [2]string{"/task/" + pid + "/", "/task/$PID/"})
	s.mkdir("sub", 0o755).OK()
	s.chdir("sub").OK()
	for _, pre := range []string{
		"/proc/self/task/" + tid + "/cwd",
		"/proc/" + pid + "/task/" + tid + "/cwd",
		"/proc/" + pid + "/task/" + pid + "/cwd",
		"/proc/" + tid + "/cwd",
	} {
		jumpOps(s, pre, "")
	}
	s.stat("/proc/" + tid + "/cwd/../sub")
	// A task that is not one of the process's threads is not there.
	mustWrite("f", "f")
	s.stat("/proc/self/task/1/cwd/f")
	s.stat("/proc/" + pid + "/task/1/root" + s.work + "/sub/f")
	s.unlink("f").OK()
	s.chdir("..").OK()
	s.rmdir("sub").OK()
}

// scenRenameOrder checks which error rename answers when several apply, in
// the order fs/namei.c:do_renameat2 and vfs_rename check them: "." and
// "..", a missing source, RENAME_NOREPLACE on an existing target, a
// directory moved below itself or replaced from below, and a rename onto
// the same inode come before the permission checks on the directories; the
// types of source and target after them. The directory is read-only, so an
// ordinary user gets EACCES wherever the permission check comes first.
func scenRenameOrder(s *S) {
	afterPerm := func(r R, e unix.Errno) {
		if s.uid == 0 {
			r.Err(e)
		} else {
			r.Err(unix.EACCES)
		}
	}
	s.mkdir("ro", 0o755).OK()
	mustWrite("ro/a", "a")
	s.link("ro/a", "ro/hl").OK()
	s.mkdir("ro/d", 0o755).OK()
	s.mkdir("ro/d/sub", 0o755).OK()
	mustWrite("ro/d/f", "f")
	s.chmod("ro", 0o555).OK()
	s.chmod("ro/d", 0o555).OK()

	s.rename("ro/a", "ro/.").Err(unix.EBUSY)
	s.rename("ro/nope", "ro/x").Err(unix.ENOENT)
	s.renameat2(cwd, "ro/a", cwd, "ro/hl", unix.RENAME_NOREPLACE).Err(unix.EEXIST)
	s.renameat2(cwd, "ro/a", cwd, "ro/nope", unix.RENAME_EXCHANGE).Err(unix.ENOENT)
	s.rename("ro/d", "ro/d/sub/x").Err(unix.EINVAL)
	s.rename("ro/d/sub", "ro/d/sub/y").Err(unix.EINVAL)
	s.renameat2(cwd, "ro/d", cwd, "ro/d/sub", unix.RENAME_EXCHANGE).Err(unix.EINVAL)
	s.rename("ro/d/f", "ro").Err(unix.ENOTEMPTY)
	s.renameat2(cwd, "ro/d/f", cwd, "ro", unix.RENAME_EXCHANGE).Err(unix.EINVAL)
	// The same inode under two names: nothing to do, both names stay.
	s.rename("ro/a", "ro/hl").OK()
	s.content("ro/a")
	s.content("ro/hl")
	afterPerm(s.rename("ro/a", "ro/d"), unix.EISDIR)
	afterPerm(s.rename("ro/d", "ro/a"), unix.ENOTDIR)
	afterPerm(s.rename("ro/a", "ro/b"), 0)

	s.chmod("ro/d", 0o755).OK()
	s.chmod("ro", 0o755).OK()
}

// hostTemp makes a directory on the host, outside the work directory, that
// the scenario's output names $TMP (the same on both legs); the caller
// removes it.
func (s *S) hostTemp() string {
	tmp, err := os.MkdirTemp("", "sysseq-")
	if err != nil {
		panic(err)
	}
	s.masks = append(s.masks, [2]string{tmp, "$TMP"})
	return tmp
}
