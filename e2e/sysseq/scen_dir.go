package main

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

func init() {
	register("getdents", scenGetdents)
	register("getdents_while_deleting", scenGetdentsDelete)
	register("getdents_order", scenGetdentsOrder)
	register("cwd", scenCwd)
	register("dotdot", scenDotdot)
}

func scenGetdents(s *S) {
	s.mkdir("d", 0o755).OK()
	for i := 1; i <= 5; i++ {
		mustWrite(fmt.Sprintf("d/f%02d", i), "")
	}
	s.mkdir("d/sub", 0o755).OK()
	s.symlink("f01", "d/lnk").OK()
	s.mknod("d/fif", unix.S_IFIFO|0o644, 0).OK()
	dfd := s.open("d", rdonly|odir, 0).OK()
	s.getdents64(dfd, 4096)
	r, _ := s.getdents64(dfd, 4096)
	r.Is(0)
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	// Every name is 3 bytes long, so each record is 24 bytes and the
	// number of calls does not depend on the order.
	s.listdir(unix.SYS_GETDENTS64, dfd, 64)
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	s.getdents64(dfd, 10)
	s.getdents64(dfd, 0)
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	s.listdir(unix.SYS_GETDENTS, dfd, 4096)
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	s.listdir(unix.SYS_GETDENTS, dfd, 48)
	// A dup shares the directory position.
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	d2 := s.dup(dfd).OK()
	_, first := s.getdents64(d2, 4096)
	s.check("entries read through the dup", len(first), 10)
	r, _ = s.getdents64(dfd, 4096)
	r.Is(0)
	s.close(d2).OK()
	s.close(dfd).OK()

	fd := s.open("d/f01", rdonly, 0).OK()
	s.getdents64(fd, 4096)
	s.close(fd).OK()
	s.getdents64(999, 4096)
	pfd := s.open("d", opath, 0).OK()
	s.getdents64(pfd, 4096)
	s.close(pfd).OK()

	s.mkdir("empty", 0o755).OK()
	efd := s.open("empty", rdonly|odir, 0).OK()
	s.listdir(unix.SYS_GETDENTS64, efd, 4096)
	s.close(efd).OK()
	// A directory removed while open lists nothing.
	efd = s.open("empty", rdonly|odir, 0).OK()
	s.rmdir("empty").OK()
	s.getdents64(efd, 4096)
	s.fstat(efd)
	s.close(efd).OK()
}

func scenGetdentsDelete(s *S) {
	s.mkdir("d", 0o755).OK()
	initial := map[string]bool{}
	for i := 0; i < 50; i++ {
		n := fmt.Sprintf("e%02d", i)
		mustWrite("d/"+n, "")
		initial[n] = true
	}
	dfd := s.open("d", rdonly|odir, 0).OK()
	// 240 bytes hold ten 24-byte records. Which ten is file-system
	// specific, so only the count prints.
	b := make([]byte, 240)
	v, e := sysGetdents(unix.SYS_GETDENTS64, dfd, b)
	var first []dirent
	if e == 0 {
		first = parseDirents64(b[:v])
	}
	s.ret(v, e, fmt.Sprintf("%d entries", len(first)), "getdents64(%d, 240)", dfd).Is(240)
	seen := map[string]int{}
	for _, d := range first {
		seen[d.name]++
	}
	// Remove every odd entry and add five new ones, then read on.
	for i := 1; i < 50; i += 2 {
		if _, e := sysPath1(unix.SYS_UNLINK, fmt.Sprintf("d/e%02d", i), 0, 0); e != 0 {
			panic(e)
		}
	}
	for i := 0; i < 5; i++ {
		mustWrite(fmt.Sprintf("d/n%02d", i), "")
	}
	s.note("removed 25 odd entries, added 5")
	for {
		b := make([]byte, 240)
		v, e := sysGetdents(unix.SYS_GETDENTS64, dfd, b)
		if e != 0 {
			s.ret(v, e, "", "getdents64(%d, 240)", dfd)
			break
		}
		if v == 0 {
			break
		}
		for _, d := range parseDirents64(b[:v]) {
			seen[d.name]++
		}
	}
	dup, unknown, missing := 0, 0, 0
	for n, c := range seen {
		if c > 1 {
			dup++
		}
		if !initial[n] && n != "." && n != ".." && !(len(n) == 3 && n[0] == 'n') {
			unknown++
		}
	}
	for i := 0; i < 50; i += 2 {
		if seen[fmt.Sprintf("e%02d", i)] != 1 {
			missing++
		}
	}
	s.check("names returned twice", dup, 0)
	s.check("names never created", unknown, 0)
	s.check("surviving names not returned exactly once", missing, 0)
	s.check(". and .. returned", seen["."] == 1 && seen[".."] == 1, true)
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	all := s.listdir(unix.SYS_GETDENTS64, dfd, 240)
	s.check("entries after rewind", len(all), 2+25+5)
	// Remove everything while reading one entry at a time.
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	count := 0
	for {
		b := make([]byte, 24)
		v, e := sysGetdents(unix.SYS_GETDENTS64, dfd, b)
		if e != 0 || v == 0 {
			s.ret(v, e, "", "getdents64(%d, 24) at the end", dfd)
			break
		}
		for _, d := range parseDirents64(b[:v]) {
			count++
			if d.name != "." && d.name != ".." {
				if _, e := sysPath1(unix.SYS_UNLINK, "d/"+d.name, 0, 0); e != 0 {
					panic(e)
				}
			}
		}
	}
	s.check("entries seen while removing each", count, 32)
	s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	s.listdir(unix.SYS_GETDENTS64, dfd, 4096)
	s.close(dfd).OK()
	s.rmdir("d").OK()
}

func scenCwd(s *S) {
	top := s.open(".", rdonly|odir, 0).OK()
	s.getcwd(4096)
	s.mkdir("a", 0o755).OK()
	s.mkdir("a/b", 0o755).OK()
	s.chdir("a").OK()
	s.getcwd(4096)
	s.chdir("b").OK()
	s.getcwd(4096)
	mustWrite("g", "in b")
	s.content(s.work + "/a/b/g")
	s.chdir("..").OK()
	s.getcwd(4096)
	s.content("b/g")
	s.chdir("missing").Err(unix.ENOENT)
	s.chdir("b/g").Err(unix.ENOTDIR)
	s.chdir("").Err(unix.ENOENT)
	fd := s.open("b", rdonly|odir, 0).OK()
	s.fchdir(fd).OK()
	s.getcwd(4096)
	s.close(fd).OK()
	ffd := s.open("g", rdonly, 0).OK()
	s.fchdir(ffd).Err(unix.ENOTDIR)
	s.close(ffd).OK()
	pfd := s.open("..", opath, 0).OK()
	s.fchdir(pfd).OK()
	s.getcwd(4096)
	s.close(pfd).OK()
	s.chdir(s.work).OK()
	s.getcwd(4096)
	s.symlink("a/b", "lb").OK()
	s.chdir("lb").OK()
	s.getcwd(4096)
	s.stat("g")
	s.fchdir(top).OK()
	s.getcwd(4096)
	s.getcwd(5)
	s.getcwd(0)
	s.chdir("./a/../a/./b/").OK()
	s.getcwd(4096)

	// The current directory is removed under us.
	s.fchdir(top).OK()
	s.mkdir("gone", 0o755).OK()
	s.chdir("gone").OK()
	s.rmdir("../gone").OK()
	s.getcwd(4096)
	s.stat(".")
	fd = s.open(".", rdonly|odir, 0).OK()
	s.getdents64(fd, 4096)
	s.close(fd).OK()
	s.open("new", wronly|creat, 0o644).Err(unix.ENOENT)
	s.mkdir("newdir", 0o755).Err(unix.ENOENT)
	s.chdir("..").OK()
	s.getcwd(4096)
	s.fchdir(top).OK()
	s.close(top).OK()
	dfd := s.open(".", rdonly|odir, 0).OK()
	s.listdir(unix.SYS_GETDENTS64, dfd, 4096)
	s.close(dfd).OK()
}

func scenDotdot(s *S) {
	s.mkdir("a", 0o755).OK()
	s.mkdir("a/b", 0o755).OK()
	s.mkdir("c", 0o755).OK()
	mustWrite("c/f", "cf")
	s.stat("a/b/..")
	s.sameFile("a/b/..", "a", quiet("a/b/.."), quiet("a"), true)
	s.sameFile("a/./b/.", "a/b", quiet("a/./b/."), quiet("a/b"), true)
	s.content("a/b/../../c/f")
	s.content("a/./b/../../c/./f")
	s.content(".//c//f")
	s.content("c/f/..")
	s.content("c/f/.")
	s.content("c/missing/../f")
	s.symlink("../c", "a/lc").OK()
	s.content("a/lc/f")
	// ".." after a symlink is the parent of its target.
	s.sameFile("a/lc/..", ".", quiet("a/lc/.."), quiet("."), true)
	s.sameFile("a/lc/../a", "a", quiet("a/lc/../a"), quiet("a"), true)
	s.mkdir("a/b/d", 0o755).OK()
	s.chdir("a/b/d").OK()
	s.content("../../../c/f")
	s.content("./../.././../c/f")
	s.chdir("../../..").OK()
	s.getcwd(4096)
	mustWrite("...", "dots")
	s.stat("...")
	s.content("a/../...")
	s.stat("a/b/../b/../../a")
	s.open("a/b/..", wronly|creat, 0o644).Err(unix.EISDIR)
	fd := s.open("a/..", rdonly|odir, 0).OK()
	s.close(fd).OK()
	s.mkdir("a/b/..", 0o755).Err(unix.EEXIST)
	s.mkdir("a/b/../new", 0o755).OK()
	s.stat("a/new")
	dfd := s.open("a/b", rdonly|odir, 0).OK()
	s.fstatat(dfd, "..", 0)
	s.fstatat(dfd, "../../c/f", 0)
	s.close(dfd).OK()
	names := []string{}
	for _, d := range s.listQuiet("a") {
		names = append(names, d.name)
	}
	sort.Strings(names)
	s.check("entries of a", names, []string{".", "..", "b", "lc", "new"})
}

func (s *S) listQuiet(dir string) []dirent {
	fd, e := sysOpen(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if e != 0 {
		panic(e)
	}
	defer sysClose(int(fd))
	var all []dirent
	for {
		b := make([]byte, 4096)
		v, e := sysGetdents(unix.SYS_GETDENTS64, int(fd), b)
		if e != 0 {
			panic(e)
		}
		if v == 0 {
			return all
		}
		all = append(all, parseDirents64(b[:v])...)
	}
}

// orderOf lists fd from its position to the end in the file system's own
// order, each name with the d_off getdents64 gives it (the position to
// resume after it), one record per call so every position is seen.
func (s *S) orderOf(fd int) string {
	var parts []string
	for {
		b := make([]byte, 32) // one record of a name up to 12 bytes
		v, e := sysGetdents(unix.SYS_GETDENTS64, fd, b)
		if e != 0 {
			return fmt.Sprintf("error %v", e)
		}
		if v == 0 {
			return strings.Join(parts, " ")
		}
		off := int64(binary.LittleEndian.Uint64(b[8:16]))
		parts = append(parts, fmt.Sprintf("%s@%d", parseDirents64(b[:v])[0].name, off))
	}
}

// scenGetdentsOrder prints listings in the order the file system gives,
// with positions: after creates, a removal, renames within and across
// directories, a replacing rename, a hard link and a mkdir; then resumes
// from a saved position after more changes, and seeks back to one.
func scenGetdentsOrder(s *S) {
	s.mkdir("d", 0o755).OK()
	s.mkdir("o", 0o755).OK()
	for _, n := range []string{"a", "b", "c", "x", "y"} {
		mustWrite("d/"+n, "")
	}
	fd := s.open("d", rdonly|odir, 0).OK()
	s.printf("listing: %s", s.orderOf(fd))
	s.unlink("d/b").OK()
	mustWrite("d/b2", "")
	s.rename("d/a", "d/z").OK()
	s.rename("d/x", "d/c").OK()
	mustWrite("o/m", "")
	s.rename("o/m", "d/m").OK()
	s.link("d/y", "d/h").OK()
	s.mkdir("d/sub", 0o755).OK()
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	s.printf("after changes: %s", s.orderOf(fd))
	// An exchange within the directory, and one with another directory:
	// where the two names go in the listing is the file system's choice.
	s.renameat2(unix.AT_FDCWD, "d/c", unix.AT_FDCWD, "d/h", unix.RENAME_EXCHANGE).OK()
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	s.printf("after an exchange: %s", s.orderOf(fd))
	mustWrite("o/e", "")
	s.renameat2(unix.AT_FDCWD, "o/e", unix.AT_FDCWD, "d/z", unix.RENAME_EXCHANGE).OK()
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	s.printf("after an exchange with o/e: %s", s.orderOf(fd))
	s.rename("o/e", "d/e").OK()
	// Read three records, keep the position, change the directory, resume.
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	var pos int64
	for range 3 {
		b := make([]byte, 32)
		v, e := sysGetdents(unix.SYS_GETDENTS64, fd, b)
		if e != 0 || v == 0 {
			panic(fmt.Sprintf("getdents64: %d %v", v, e))
		}
		pos = int64(binary.LittleEndian.Uint64(b[8:16]))
	}
	mustWrite("d/new", "")
	s.unlink("d/y").OK()
	s.printf("resumed after changes: %s", s.orderOf(fd))
	s.lseek(fd, pos, unix.SEEK_SET).Is(pos)
	s.printf("sought back: %s", s.orderOf(fd))
	s.close(fd).OK()
	e := s.open("o", rdonly|odir, 0).OK()
	s.printf("emptied: %s", s.orderOf(e))
	s.close(e).OK()
}
