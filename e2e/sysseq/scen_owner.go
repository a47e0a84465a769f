package main

// Changing the owner of files that belong to someone else. The work
// directory's files all belong to the user sysseq runs as, so the calls of
// another user run in a child process (sysseq -child as-user UID GID ...)
// that root starts with other ids; run unprivileged, the scenario keeps to
// what an owner may do.

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func init() {
	register("chown_others", scenChownOthers)
	childModes["as-user"] = childAsUser
}

// childModes are the sysseq -child modes of scenarios outside
// scen_special.go: MODE -> what the child runs, returning its exit status.
var childModes = map[string]func(args []string) int{}

// The ids the files are given and the other user's.
const (
	fileOwner = 12345
	otherUser = 23456
)

func scenChownOthers(s *S) {
	for _, f := range []struct {
		name string
		mode uint32
	}{{"plain", 0o644}, {"suid", 0o4755}, {"sgid", 0o2755}, {"sgid_nox", 0o2745}, {"sgid_nox2", 0o2745}} {
		mustWrite(f.name, "x")
		if s.uid == 0 {
			s.chown(unix.SYS_CHOWN, f.name, fileOwner, fileOwner).OK()
		}
		s.chmod(f.name, f.mode).OK()
	}
	s.mkdir("dir", 0o755).OK()
	s.chmod("dir", 0o2755).OK()
	s.symlink("plain", "link").OK()
	if s.uid != 0 {
		// Only root can give files away: the owner's own rules.
		s.note("unprivileged: the owner's calls only")
		s.ownerCalls()
		return
	}
	s.chown(unix.SYS_CHOWN, "dir", fileOwner, fileOwner).OK()
	s.chown(unix.SYS_LCHOWN, "link", fileOwner, fileOwner).OK()
	// Another user outside the files' group, then one inside it, then the
	// owner outside its files' group.
	s.asUser(otherUser, otherUser, "other")
	s.asUser(otherUser, fileOwner, "other-in-group")
	s.asUser(fileOwner, otherUser, "owner")
	for _, n := range []string{"plain", "suid", "sgid", "sgid_nox", "sgid_nox2", "dir", "link"} {
		s.lstat(n)
	}
}

// asUser runs the child's calls with the given fsuid and fsgid (no
// supplementary groups) and prints what it printed.
func (s *S) asUser(uid, gid int, role string) {
	c := &child{cmd: exec.Command(os.Args[0], "-child", "as-user", strconv.Itoa(uid), strconv.Itoa(gid), role)}
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = os.Stderr
	if err := c.cmd.Start(); err != nil {
		panic(fmt.Sprintf("starting a child: %v", err))
	}
	s.note("child as %s started", role)
	s.wait(c)
}

// childAsUser is sysseq -child as-user UID GID ROLE, run in the work
// directory: the calls of ROLE ("other", "other-in-group", "owner") on the
// files scenChownOthers made. Exit status 1 when an expectation is not met.
func childAsUser(args []string) int {
	if len(args) != 3 {
		fmt.Println("usage: -child as-user UID GID ROLE")
		return 2
	}
	uid, _ := strconv.Atoi(args[0])
	gid, _ := strconv.Atoi(args[1])
	work, err := os.Getwd()
	if err != nil {
		fmt.Println("getwd:", err)
		return 2
	}
	s := &S{name: "chown_others child", work: work, uid: uint32(uid), gid: uint32(gid)}
	switch args[2] {
	case "other":
		s.otherCalls(map[string]unix.Errno{"suid": unix.EPERM, "sgid": unix.EPERM, "sgid_nox": unix.EPERM})
	case "other-in-group":
		// In the file's group, set-group-ID without group execute stays:
		// nothing to clear, so nothing to refuse.
		s.otherCalls(map[string]unix.Errno{"suid": unix.EPERM, "sgid": unix.EPERM})
	case "owner":
		s.ownerCalls()
	default:
		fmt.Printf("unknown role %q\n", args[2])
		return 2
	}
	if s.failed > 0 {
		return 1
	}
	return 0
}

// otherCalls are a non-owner's chown(-1, -1) of every file, which Linux
// allows unless a set-ID bit would have to be cleared (a mode change, which
// needs ownership), and its refused real changes.
func (s *S) otherCalls(refused map[string]unix.Errno) {
	for _, n := range []string{"plain", "suid", "sgid", "sgid_nox", "dir"} {
		before := quiet(n)
		tick()
		r := s.chown(unix.SYS_CHOWN, n, -1, -1)
		if e := refused[n]; e != 0 {
			r.Err(e)
			s.timeRel(n+" after a refused chown", before, quiet(n), "atime unchanged, mtime unchanged, ctime unchanged")
			continue
		}
		r.OK()
		s.timeRel(n+" after chown(-1, -1)", before, quiet(n), "atime unchanged, mtime unchanged, ctime advanced")
		s.lstat(n)
	}
	s.chown(unix.SYS_LCHOWN, "link", -1, -1).OK()
	s.fchownat(cwd, "link", -1, -1, unix.AT_SYMLINK_NOFOLLOW).OK()
	fd := s.open("plain", rdonly, 0).OK()
	s.fchown(fd, -1, -1).OK()
	s.close(fd).OK()
	s.chown(unix.SYS_CHOWN, "plain", fileOwner, -1).Err(unix.EPERM)
	s.chown(unix.SYS_CHOWN, "plain", -1, fileOwner).Err(unix.EPERM)
	s.chown(unix.SYS_CHOWN, "plain", int(s.uid), -1).Err(unix.EPERM)
	s.chown(unix.SYS_CHOWN, "plain", -1, int(s.gid)).Err(unix.EPERM)
	s.lstat("plain")
}

// ownerCalls are the owner's: chown(-1, -1) clears set-user-ID, and
// set-group-ID when group-executable or when the owner is outside the
// file's group; a change to a group the owner is not in is refused.
func (s *S) ownerCalls() {
	for _, n := range []string{"plain", "suid", "sgid", "sgid_nox", "dir"} {
		s.chown(unix.SYS_CHOWN, n, -1, -1).OK()
		s.lstat(n)
	}
	s.chown(unix.SYS_CHOWN, "sgid_nox2", -1, int(s.gid)).OK()
	s.lstat("sgid_nox2")
	s.chown(unix.SYS_CHOWN, "plain", -1, 54321).Err(unix.EPERM)
	s.chown(unix.SYS_CHOWN, "plain", 54321, -1).Err(unix.EPERM)
	s.chown(unix.SYS_CHOWN, "plain", int(s.uid), -1).OK()
}
