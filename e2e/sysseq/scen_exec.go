package main

// Running programs stored in the work directory: a copy of sysseq itself
// (an ELF), "#!" scripts for /bin/sh and for that copy, by relative and
// absolute path, from a subdirectory, through execveat(fd, "",
// AT_EMPTY_PATH), through a shell's PATH lookup, and the errors Linux's
// exec gives (ENOENT, ENOTDIR, EACCES, ENOEXEC, ETXTBSY, ELOOP).
//
// Each exec runs in a child (sysseq -exec ...), which makes the raw call
// itself and prints its errno when it fails; a program that starts prints
// its argv (sysseq -info). The parent prints what the child printed and
// how it ended.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	register("exec", scenExec)
	register("exec_dirfd", scenExecDirfd)
	register("fchdir_exec", scenFchdirExec)
}

// scenExecDirfd runs a program by execveat relative to a directory fd of
// the work directory.
func scenExecDirfd(s *S) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		panic(err)
	}
	s.mkdir("sub", 0o755)
	s.writeFile("sub/prog", string(self), 0o755)
	s.execExpect("execveat(dirfd of sub, \"prog\")", 7, "-", "execveat", "d:sub", "prog", "0", "p0", "-info", "dirfd")
	s.execExpect("execveat(dirfd of sub, \"missing\")", 100, "-", "execveat", "d:sub", "missing", "0", "m")
}

// scenFchdirExec enters a directory below the work directory by fchdir
// (as a program that saved its place with open(".") does), climbs out of
// it and of the work directory with "..", and runs programs relative to
// it: a copy of sysseq, a "#!" script one level up, and the host's sysseq
// by a path that climbs out. Then the same through a directory fd:
// "..": out of the work directory from it, and execveat relative to it
// (a script through a close-on-exec dirfd cannot be opened by its
// interpreter: ENOENT).
func scenFchdirExec(s *S) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		panic(err)
	}
	host, err := os.Executable()
	if err != nil {
		panic(err)
	}
	host = "@UP" + strings.TrimPrefix(host, "/")
	up := strings.Repeat("../", 16)
	s.mkdir("a", 0o755).OK()
	s.mkdir("a/b", 0o755).OK()
	s.mkdir("a/b/c", 0o755).OK()
	s.writeFile("a/b/prog", string(self), 0o755)
	s.writeFile("a/run.sh", "#!/bin/sh\necho script \"$0\" \"$@\"\nexit 7\n", 0o755)

	top := s.open(".", rdonly|odir, 0).OK()
	fd := s.open("a/b", rdonly|odir, 0).OK()
	s.fchdir(fd).OK()
	s.getcwd(4096)
	above(s, "../../..")
	s.content(up + "etc/passwd")
	s.content("c/../" + up + "etc/passwd")
	s.stat("../../a/b/prog")
	mustWrite("f", "written after fchdir")
	s.content("../b/f")
	s.fchdir(top).OK()
	s.content("a/b/f")

	// Through the directory fd.
	for _, p := range []string{up + "etc/passwd", "c/../" + up + "etc/passwd", "../../a/b/f"} {
		g := s.openat(fd, p, rdonly, 0).OK()
		s.read(g, 64).OK()
		s.close(g).OK()
	}
	s.fstatat(fd, "../../a/b/prog", 0)
	s.close(fd).OK()
	// And through an O_PATH one.
	pfd := s.open("a/b", opath|odir, 0).OK()
	g := s.openat(pfd, up+"etc/passwd", rdonly, 0).OK()
	s.read(g, 64).OK()
	s.close(g).OK()
	s.fchdir(pfd).OK()
	s.content("c/../" + up + "etc/passwd")
	s.fchdir(top).OK()
	s.close(pfd).OK()
	s.close(top).OK()

	s.execExpect("fchdir to a/b, ./prog", 7, "f:a/b", "execve", "-", "./prog", "0", "p0", "-info", "exe", "x")
	s.execExpect("fchdir to a/b, c/../prog", 7, "f:a/b", "execve", "-", "c/../prog", "0", "p0", "-info", "y")
	s.execExpect("fchdir to a/b, ../run.sh", 7, "f:a/b", "execve", "-", "../run.sh", "0", "p0", "z")
	s.execExpect("fchdir to a/b, the host's sysseq by ..", 7, "f:a/b", "execve", "-", host, "0", "p0", "-info", "host")
	s.execExpect("fchdir to a/b, ./missing", 100, "f:a/b", "execve", "-", "./missing", "0", "m")
	s.execExpect("execveat(dirfd of a, \"b/prog\")", 7, "-", "execveat", "d:a", "b/prog", "0", "p0", "-info", "exe", "b")
	s.execExpect("execveat(dirfd of a/b, \"../run.sh\")", 7, "-", "execveat", "d:a/b", "../run.sh", "0", "p0", "s")
	s.execExpect("execveat(close-on-exec dirfd of a/b, \"../run.sh\")", 100, "-", "execveat", "dc:a/b", "../run.sh", "0", "p0", "s")
	s.execExpect("execveat(close-on-exec dirfd of a/b, \"prog\")", 7, "-", "execveat", "dc:a/b", "prog", "0", "p0", "-info", "c")
	s.execExpect("execveat(O_PATH dirfd of a/b, \"prog\")", 7, "-", "execveat", "p:a/b", "prog", "0", "p0", "-info", "o")
	s.execExpect("execveat(dirfd of a/b, the host's sysseq by ..)", 7, "-", "execveat", "d:a/b", host, "0", "p0", "-info", "host")
}

// runExec is sysseq -exec CHDIR KIND FD PATH FLAGS ARGV...: chdir to
// CHDIR ("-": stay; "f:PATH": open PATH and fchdir to it), open FD ("-": none, "r:PATH" read-only, "p:PATH"
// O_PATH, "d:PATH" a directory; opened without O_CLOEXEC, "c" after the
// letter adds it), then execve(PATH, ARGV) (KIND "execve") or
// execveat(FD, PATH, ARGV, FLAGS) (KIND "execveat"; FLAGS a number). "@FD"
// in PATH becomes FD's number, "@UP" enough "../" to reach "/" from
// anywhere.
func runExec(args []string) int {
	if len(args) < 6 {
		fmt.Println("usage: -exec CHDIR KIND FD PATH FLAGS ARGV...")
		return 2
	}
	if p, ok := strings.CutPrefix(args[0], "f:"); ok {
		v, e := sysOpen(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if e == 0 {
			_, _, e = unix.Syscall(unix.SYS_FCHDIR, uintptr(v), 0, 0)
			unix.Close(int(v))
		}
		if e != 0 {
			fmt.Printf("fchdir = %s\n", errName(e))
			return 2
		}
	} else if args[0] != "-" {
		if _, e := sysPath1(unix.SYS_CHDIR, args[0], 0, 0); e != 0 {
			fmt.Printf("chdir = %s\n", errName(e))
			return 2
		}
	}
	fd := -100 // AT_FDCWD
	if spec := args[2]; spec != "-" {
		kind, p, _ := strings.Cut(spec, ":")
		flags := 0
		switch kind[0] {
		case 'r':
			flags = unix.O_RDONLY
		case 'p':
			flags = unix.O_PATH
		case 'd':
			flags = unix.O_RDONLY | unix.O_DIRECTORY
		}
		if strings.HasSuffix(kind, "c") {
			flags |= unix.O_CLOEXEC
		}
		v, e := sysOpen(p, flags, 0)
		if e != 0 {
			fmt.Printf("open = %s\n", errName(e))
			return 2
		}
		fd = int(v)
		fmt.Printf("fd %d\n", fd)
	}
	flags, _ := strconv.Atoi(args[4])
	p := strings.ReplaceAll(args[3], "@FD", strconv.Itoa(fd))
	p = strings.ReplaceAll(p, "@UP", strings.Repeat("../", 16))
	path, err := unix.BytePtrFromString(p)
	if err != nil {
		return 2
	}
	argv, envv := cStrings(args[5:]), cStrings(os.Environ())
	var e unix.Errno
	if args[1] == "execve" {
		_, _, e = unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
			uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	} else {
		_, _, e = unix.RawSyscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(path)),
			uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), uintptr(flags), 0)
	}
	fmt.Printf("%s = %s\n", args[1], errName(e))
	return 100
}

// whileRunning runs ./prog (sysseq -info wait) and calls f while it
// runs: the program waits for its stdin to close.
func (s *S) whileRunning(f func()) {
	cmd := exec.Command(os.Args[0], "-exec", "-", "execve", "-", "./prog", "0", "p0", "-info", "wait")
	in, err := cmd.StdinPipe()
	if err != nil {
		panic(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		panic(err)
	}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	first := make([]byte, 0, 256)
	b := make([]byte, 1)
	for {
		n, err := out.Read(b)
		if n == 0 || err != nil || b[0] == '\n' {
			break
		}
		first = append(first, b[0])
	}
	s.printf("running: %s", first)
	f()
	in.Close()
	rest, _ := io.ReadAll(out)
	status := 0
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			status = ee.ExitCode()
		}
	}
	s.printf("then: %s", strings.TrimSpace(string(rest)))
	s.check("exit status of the running program", status, 7)
}

// runInfo is sysseq -info [exe] ARGS...: a program that was executed
// prints its argv (and with "exe" the file /proc/self/exe names, with the
// working directory shown as $CWD) and exits 7; with ARGS starting "wait"
// it first reads its stdin to the end.
func runInfo(args []string) int {
	showExe := len(args) > 0 && args[0] == "exe"
	if showExe {
		args = args[1:]
	}
	fmt.Printf("started: argv0=%q args=%q\n", os.Args[0], args)
	if len(args) > 0 && args[0] == "wait" {
		io.ReadAll(os.Stdin)
		fmt.Println("stdin closed")
	}
	if showExe {
		exe, _ := os.Readlink("/proc/self/exe")
		cwd, _ := os.Getwd()
		fmt.Printf("exe=%s\n", strings.Replace(exe, cwd, "$CWD", 1))
	}
	return 7
}

// execExpect runs sysseq -exec with args, prints its output (the work
// directory as $W) and checks the exit status: 7 when the
// program started, 100 when the exec failed.
func (s *S) execExpect(what string, want int, args ...string) {
	cmd := exec.Command(os.Args[0], append([]string{"-exec"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		panic(fmt.Sprintf("running a child: %v", err))
	}
	s.printf("exec %s:", what)
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		s.printf("  %s", strings.ReplaceAll(l, s.work, "$W"))
	}
	s.check("exit status of "+what, status, want)
}

// cStrings is a NULL-terminated array of C strings.
func cStrings(ss []string) []*byte {
	out := make([]*byte, 0, len(ss)+1)
	for _, x := range ss {
		b, err := unix.BytePtrFromString(x)
		if err != nil {
			b, _ = unix.BytePtrFromString("")
		}
		out = append(out, b)
	}
	return append(out, nil)
}

func (s *S) writeFile(name, data string, mode uint32) {
	fd := s.open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, mode).OK()
	for off := 0; off < len(data); {
		n := len(data) - off
		if n > 1<<16 {
			n = 1 << 16
		}
		v, e := sysWrite(fd, []byte(data[off:off+n]))
		if e != 0 {
			s.fail("write "+name, "success")
			break
		}
		off += int(v)
	}
	s.close(fd)
	s.chmod(name, mode).OK()
}

func scenExec(s *S) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		panic(err)
	}
	s.writeFile("prog", string(self), 0o755)
	s.writeFile("s.sh", "#!/bin/sh\necho script \"$0\" \"$@\"\n", 0o755)
	s.writeFile("i.sh", "#!"+s.work+"/prog -info\nnot read\n", 0o755)
	s.writeFile("bad.sh", "#!"+s.work+"/data\n", 0o755)
	s.writeFile("gone.sh", "#!"+s.work+"/nothere\n", 0o755)
	s.writeFile("data", "just data\n", 0o644)
	s.writeFile("garbage", "hello\n", 0o755)
	s.writeFile("empty", "", 0o755)
	s.mkdir("sub", 0o755).OK()
	s.symlink("prog", "lnk").OK()
	s.symlink("loop2", "loop1").OK()
	s.symlink("loop1", "loop2").OK()

	// Programs that start.
	s.execExpect("./prog", 7, "-", "execve", "-", "./prog", "0", "p0", "-info", "exe", "a", "b c")
	s.execExpect("$W/prog", 7, "-", "execve", "-", s.work+"/prog", "0", "p0", "-info", "exe", "abs")
	s.execExpect("../prog from sub", 7, "sub", "execve", "-", "../prog", "0", "p0", "-info", "exe", "up")
	s.execExpect("prog by execveat(AT_FDCWD)", 7, "-", "execveat", "-", "prog", "0", "p0", "-info", "exe", "at")
	s.execExpect("./s.sh", 0, "-", "execve", "-", "./s.sh", "0", "s0", "x", "y")
	s.execExpect("../s.sh from sub", 0, "sub", "execve", "-", "../s.sh", "0", "s0", "z")
	s.execExpect("./i.sh (interpreter in the mount)", 7, "-", "execve", "-", "./i.sh", "0", "i0", "q")
	s.execExpect("lnk (a symlink to prog)", 7, "-", "execve", "-", "lnk", "0", "l0", "-info", "sym")
	s.execExpect("fexecve of prog", 7, "-", "execveat", "r:prog", "", strconv.Itoa(unix.AT_EMPTY_PATH), "f0", "-info", "fd")
	s.execExpect("fexecve of prog by O_PATH", 7, "-", "execveat", "p:prog", "", strconv.Itoa(unix.AT_EMPTY_PATH), "f0", "-info", "opath")
	s.execExpect("fexecve of s.sh", 0, "-", "execveat", "r:s.sh", "", strconv.Itoa(unix.AT_EMPTY_PATH), "f0", "w")
	s.execExpect("/proc/self/fd/N of prog", 7, "-", "execve", "r:prog", "/proc/self/fd/@FD", "0", "f0", "-info", "procfd")
	s.execExpect("/dev/fd/N of s.sh", 0, "-", "execve", "r:s.sh", "/dev/fd/@FD", "0", "f0", "devfd")
	s.execExpect("/proc/self/fd/N of data", 100, "-", "execve", "r:data", "/proc/self/fd/@FD", "0", "m")
	// A shell finds programs through PATH.
	cmd := exec.Command("/bin/sh", "-c", "cd sub && PATH=..:/usr/bin:/bin && s.sh viapath && prog -info pathlookup; echo status $?")
	out, _ := cmd.CombinedOutput()
	s.printf("sh PATH lookup:")
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		s.printf("  %s", strings.ReplaceAll(l, s.work, "$W"))
	}

	// Errors.
	s.execExpect("missing", 100, "-", "execve", "-", "./missing", "0", "m")
	s.execExpect("prog/x", 100, "-", "execve", "-", "./prog/x", "0", "m")
	s.execExpect("prog/", 100, "-", "execve", "-", "./prog/", "0", "m")
	s.execExpect("data (no x bit)", 100, "-", "execve", "-", "./data", "0", "m")
	s.execExpect("sub (a directory)", 100, "-", "execve", "-", "./sub", "0", "m")
	s.execExpect("garbage", 100, "-", "execve", "-", "./garbage", "0", "m")
	s.execExpect("empty", 100, "-", "execve", "-", "./empty", "0", "m")
	s.execExpect("bad.sh (interpreter without x)", 100, "-", "execve", "-", "./bad.sh", "0", "m")
	s.execExpect("gone.sh (missing interpreter)", 100, "-", "execve", "-", "./gone.sh", "0", "m")
	s.execExpect("loop1", 100, "-", "execve", "-", "./loop1", "0", "m")
	s.execExpect("lnk with AT_SYMLINK_NOFOLLOW", 100, "-", "execveat", "-", "lnk", strconv.Itoa(unix.AT_SYMLINK_NOFOLLOW), "m")
	s.execExpect("fexecve of data", 100, "-", "execveat", "r:data", "", strconv.Itoa(unix.AT_EMPTY_PATH), "m")
	s.execExpect("fexecve of s.sh, close-on-exec", 100, "-", "execveat", "rc:s.sh", "", strconv.Itoa(unix.AT_EMPTY_PATH), "m")
	w := s.open("prog", unix.O_WRONLY, 0).OK()
	s.execExpect("prog open for writing", 100, "-", "execve", "-", "./prog", "0", "m")
	s.close(w)
	s.execExpect("prog closed again", 7, "-", "execve", "-", "./prog", "0", "p0", "-info", "again")
	// A running program cannot be opened for writing or truncated.
	s.whileRunning(func() {
		s.open("prog", unix.O_WRONLY, 0).Err(unix.ETXTBSY)
		s.open("prog", unix.O_RDWR, 0).Err(unix.ETXTBSY)
		s.truncate("prog", 0).Err(unix.ETXTBSY)
		r := s.open("prog", unix.O_RDONLY, 0)
		s.close(r.OK())
	})
	w = s.open("prog", unix.O_WRONLY, 0).OK()
	s.close(w)
	// A changed program runs as changed.
	s.writeFile("s.sh", "#!/bin/sh\necho changed \"$0\"\n", 0o755)
	s.execExpect("./s.sh changed", 0, "-", "execve", "-", "./s.sh", "0", "s0")
	s.unlink("s.sh").OK()
	s.execExpect("./s.sh removed", 100, "-", "execve", "-", "./s.sh", "0", "s0")
}
