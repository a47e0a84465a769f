// Command sysseq runs a named scenario of raw file system calls inside a
// work directory and prints one canonical line per operation, so that two
// runs (one on the host kernel's tmpfs, one under fsshim) can be compared
// line by line.
//
//	sysseq -list            print the scenario names
//	sysseq SCENARIO WORKDIR run SCENARIO with WORKDIR as the current directory
//	sysseq -child MODE ...  a scenario's helper process (scen_special.go)
//
// A line names the call, its arguments (paths relative to the work
// directory, which prints as $W), and the result: a value or an errno name,
// followed by what the call returned through memory (data read, stat
// fields, directory entries, link text). Nothing host-specific is printed:
// no inode or device numbers, no current times; relations between them are
// printed instead.
//
// Each call also carries the result the scenario expects on Linux. A call
// that does not meet its expectation is reported on stderr and makes the
// exit status 1, so the native run checks the scenarios themselves.
// Exit status: 0 all expectations met, 1 some were not, 2 usage or a panic.
//
// Scenarios never walk above the work directory: under fsshim the work
// directory is the root of a mount, and its parent is the host's.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

type scenario struct {
	name string
	run  func(s *S)
}

// scenarios is filled by the init functions of the scen_*.go files.
var scenarios []scenario

func register(name string, run func(s *S)) {
	scenarios = append(scenarios, scenario{name, run})
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-list" {
		names := make([]string, 0, len(scenarios))
		for _, sc := range scenarios {
			names = append(names, sc.name)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "-child" {
		// The other end of a FIFO or socket (scen_special.go), or
		// another user's calls (childModes).
		if f := childModes[os.Args[2]]; f != nil {
			os.Exit(f(os.Args[3:]))
		}
		os.Exit(runChild(os.Args[2], os.Args[3:]))
	}
	if len(os.Args) >= 2 && os.Args[1] == "-exec" {
		os.Exit(runExec(os.Args[2:])) // scen_exec.go
	}
	if len(os.Args) >= 2 && os.Args[1] == "-info" {
		os.Exit(runInfo(os.Args[2:])) // scen_exec.go
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sysseq -list | sysseq SCENARIO WORKDIR")
		os.Exit(2)
	}
	var run func(*S)
	for _, sc := range scenarios {
		if sc.name == os.Args[1] {
			run = sc.run
		}
	}
	if run == nil {
		fmt.Fprintf(os.Stderr, "sysseq: unknown scenario %q\n", os.Args[1])
		os.Exit(2)
	}
	work := os.Args[2]
	unix.Umask(0o22)
	if _, e := sysPath1(unix.SYS_CHDIR, work, 0, 0); e != 0 {
		fmt.Fprintf(os.Stderr, "sysseq: chdir %s: %v\n", work, e)
		os.Exit(2)
	}
	s := &S{name: os.Args[1], work: work, uid: uint32(os.Getuid()), gid: uint32(os.Getgid())}
	defer func() {
		if r := recover(); r != nil {
			fmt.Printf("PANIC: %v\n", r)
			fmt.Fprintf(os.Stderr, "sysseq %s: panic: %v\n", s.name, r)
			os.Exit(2)
		}
		if s.failed > 0 {
			fmt.Fprintf(os.Stderr, "sysseq %s: %d expectation(s) not met\n", s.name, s.failed)
			os.Exit(1)
		}
	}()
	s.note("fds open at start: %v", openFds())
	run(s)
}

// openFds lists the descriptors the program starts with (the Go runtime's
// own and inherited ones), so that a leaked descriptor shows at once
// instead of as a shifted number on every open.
func openFds() []int {
	var fds []int
	for fd := 0; fd < 256; fd++ {
		if _, e := sysFcntl(fd, unix.F_GETFD, 0); e == 0 {
			fds = append(fds, fd)
		}
	}
	return fds
}

// S is the state of one scenario run.
type S struct {
	name     string
	work     string
	uid, gid uint32
	failed   int
	// masks are further (text, stand-in) pairs q replaces: numbers that
	// differ from run to run, such as a thread's id.
	masks [][2]string
}

// R is the result of one printed call.
type R struct {
	s    *S
	line string
	V    int64
	E    unix.Errno
}

func (s *S) printf(format string, a ...any) {
	fmt.Printf(format+"\n", a...)
}

// ret prints "desc = value detail" or "desc = ERRNO" and returns the
// result for checking.
func (s *S) ret(v int64, e unix.Errno, detail string, desc string, a ...any) R {
	line := fmt.Sprintf(desc, a...)
	if e != 0 {
		line += " = " + errName(e)
	} else {
		line += fmt.Sprintf(" = %d", v)
		if detail != "" {
			line += " " + detail
		}
	}
	s.printf("%s", line)
	return R{s: s, line: line, V: v, E: e}
}

func (s *S) fail(line, want string) {
	s.failed++
	fmt.Fprintf(os.Stderr, "sysseq %s: EXPECTATION: %s: want %s\n", s.name, line, want)
}

// OK expects success and returns the value.
func (r R) OK() int {
	if r.E != 0 {
		r.s.fail(r.line, "success")
	}
	return int(r.V)
}

// Is expects the value v.
func (r R) Is(v int64) int {
	if r.E != 0 || r.V != v {
		r.s.fail(r.line, fmt.Sprint(v))
	}
	return int(r.V)
}

// Err expects the errno e.
func (r R) Err(e unix.Errno) {
	if r.E != e {
		r.s.fail(r.line, errName(e))
	}
}

// check prints "check: what = got" and expects want.
func (s *S) check(what string, got, want any) {
	line := fmt.Sprintf("check %s = %v", what, got)
	s.printf("%s", line)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		s.fail(line, fmt.Sprint(want))
	}
}

// note prints a line that carries no expectation.
func (s *S) note(format string, a ...any) {
	s.printf("# "+format, a...)
}

func errName(e unix.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno(%d)", int(e))
}

// q formats a path argument: relative paths as quoted text, the work
// directory prefix as $W, and very long paths abbreviated.
func (s *S) q(p string) string {
	// The work directory also shows after a prefix (/proc/self/root$W),
	// and the program's own pid in /proc/PID paths.
	p = strings.ReplaceAll(p, s.work, "$W")
	p = strings.ReplaceAll(p, "/proc/"+strconv.Itoa(os.Getpid())+"/", "/proc/$PID/")
	for _, m := range s.masks {
		p = strings.ReplaceAll(p, m[0], m[1])
	}
	if len(p) > 80 {
		return fmt.Sprintf("<%d bytes: %q...>", len(p), p[:24])
	}
	return fmt.Sprintf("%q", p)
}

// data formats bytes read as quoted text, abbreviated past 64 bytes with a
// checksum so that any difference still shows.
func data(b []byte) string {
	if len(b) <= 64 {
		return fmt.Sprintf("%q", b)
	}
	var sum uint32 = 2166136261
	for _, c := range b {
		sum = (sum ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("%q...(%d bytes, fnv %08x)", b[:32], len(b), sum)
}

func dirfdName(fd int) string {
	if fd == unix.AT_FDCWD {
		return "AT_FDCWD"
	}
	return fmt.Sprint(fd)
}

type flagName struct {
	v    int
	name string
}

func flagString(v int, names []flagName) string {
	var parts []string
	for _, f := range names {
		if f.v != 0 && v&f.v == f.v {
			parts = append(parts, f.name)
			v &^= f.v
		}
	}
	if v != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	return strings.Join(parts, "|")
}

var openFlagNames = []flagName{
	{unix.O_TMPFILE, "O_TMPFILE"}, {unix.O_SYNC, "O_SYNC"},
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DSYNC, "O_DSYNC"}, {unix.O_ASYNC, "O_ASYNC"}, {unix.O_DIRECT, "O_DIRECT"},
	{oLargefile, "O_LARGEFILE"}, {unix.O_DIRECTORY, "O_DIRECTORY"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"},
}

// oLargefile is the kernel's O_LARGEFILE, which F_GETFL reports on x86_64
// although x/sys/unix defines O_LARGEFILE as 0 there.
const oLargefile = 0o100000

// oflags formats open flags: the access mode first, then the other bits.
func oflags(f int) string {
	acc := []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[f&unix.O_ACCMODE]
	rest := f &^ unix.O_ACCMODE
	if rest == 0 {
		return acc
	}
	return acc + "|" + flagString(rest, openFlagNames)
}

var atFlagNames = []flagName{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},
}

func atflags(f int) string {
	if f == 0 {
		return "0"
	}
	return flagString(f, atFlagNames)
}

func ftype(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "reg"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "lnk"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "sock"
	case unix.S_IFCHR:
		return "chr"
	case unix.S_IFBLK:
		return "blk"
	}
	return fmt.Sprintf("type(%#o)", mode&unix.S_IFMT)
}

func (s *S) owner(uid, gid uint32) string {
	u, g := fmt.Sprint(uid), fmt.Sprint(gid)
	if uid == s.uid {
		u = "me"
	}
	if gid == s.gid {
		g = "me"
	}
	return "uid=" + u + " gid=" + g
}

// fmtStat prints the portable part of a stat result. The size of a
// directory is left out here (it is file-system specific); the stat_sizes
// scenario prints it on its own.
func (s *S) fmtStat(st *unix.Stat_t) string {
	t := ftype(st.Mode)
	out := fmt.Sprintf("{%s mode=%04o nlink=%d %s", t, st.Mode&0o7777, st.Nlink, s.owner(st.Uid, st.Gid))
	switch t {
	case "dir":
	case "chr", "blk":
		out += fmt.Sprintf(" rdev=%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	default:
		out += fmt.Sprintf(" size=%d blocks=%d", st.Size, st.Blocks)
	}
	return out + "}"
}

func ts(t unix.Timespec) string {
	return fmt.Sprintf("%d.%09d", t.Sec, t.Nsec)
}

// later reports how b relates to a.
func later(a, b unix.Timespec) string {
	switch {
	case b.Sec > a.Sec || b.Sec == a.Sec && b.Nsec > a.Nsec:
		return "advanced"
	case b == a:
		return "unchanged"
	}
	return "went back"
}

// timeRel prints how the three times moved between two stat results.
func (s *S) timeRel(what string, a, b *unix.Stat_t, want string) {
	got := fmt.Sprintf("atime %s, mtime %s, ctime %s", later(a.Atim, b.Atim), later(a.Mtim, b.Mtim), later(a.Ctim, b.Ctim))
	s.check("times of "+what, got, want)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
