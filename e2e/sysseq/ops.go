package main

// Printing wrappers: each issues one syscall through sys_unsafe.go and
// prints its canonical line.

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func (s *S) open(path string, flags int, mode uint32) R {
	v, e := sysOpen(path, flags, mode)
	return s.ret(v, e, "", "open(%s, %s, %#o)", s.q(path), oflags(flags), mode)
}

func (s *S) creat(path string, mode uint32) R {
	v, e := sysCreat(path, mode)
	return s.ret(v, e, "", "creat(%s, %#o)", s.q(path), mode)
}

func (s *S) openat(dirfd int, path string, flags int, mode uint32) R {
	v, e := sysOpenat(dirfd, path, flags, mode)
	return s.ret(v, e, "", "openat(%s, %s, %s, %#o)", dirfdName(dirfd), s.q(path), oflags(flags), mode)
}

var resolveNames = []flagName{
	{unix.RESOLVE_NO_XDEV, "RESOLVE_NO_XDEV"}, {unix.RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS"},
	{unix.RESOLVE_NO_SYMLINKS, "RESOLVE_NO_SYMLINKS"}, {unix.RESOLVE_BENEATH, "RESOLVE_BENEATH"},
	{unix.RESOLVE_IN_ROOT, "RESOLVE_IN_ROOT"},
}

func (s *S) openat2(dirfd int, path string, flags int, mode uint32, resolve uint64) R {
	return s.openat2sz(dirfd, path, flags, mode, resolve, unix.SizeofOpenHow)
}

func (s *S) openat2sz(dirfd int, path string, flags int, mode uint32, resolve uint64, size uintptr) R {
	how := &unix.OpenHow{Flags: uint64(flags), Mode: uint64(mode), Resolve: resolve}
	v, e := sysOpenat2(dirfd, path, how, size)
	rs := "0"
	if resolve != 0 {
		rs = flagString(int(resolve), resolveNames)
	}
	sz := ""
	if size != unix.SizeofOpenHow {
		sz = fmt.Sprintf(", size=%d", size)
	}
	return s.ret(v, e, "", "openat2(%s, %s, {%s, %#o, %s}%s)", dirfdName(dirfd), s.q(path), oflags(flags), mode, rs, sz)
}

func (s *S) close(fd int) R {
	v, e := sysClose(fd)
	return s.ret(v, e, "", "close(%d)", fd)
}

func (s *S) write(fd int, b string) R {
	v, e := sysWrite(fd, []byte(b))
	return s.ret(v, e, "", "write(%d, %s)", fd, data([]byte(b)))
}

// read reads up to n bytes and prints them.
func (s *S) read(fd int, n int) R {
	b := make([]byte, n)
	v, e := sysRead(fd, b)
	det := ""
	if e == 0 {
		det = data(b[:v])
	}
	return s.ret(v, e, det, "read(%d, %d)", fd, n)
}

func (s *S) pread(fd int, n int, off int64) R {
	b := make([]byte, n)
	v, e := sysPread(fd, b, off)
	det := ""
	if e == 0 {
		det = data(b[:v])
	}
	return s.ret(v, e, det, "pread64(%d, %d, %d)", fd, n, off)
}

func (s *S) pwrite(fd int, b string, off int64) R {
	v, e := sysPwrite(fd, []byte(b), off)
	return s.ret(v, e, "", "pwrite64(%d, %s, %d)", fd, data([]byte(b)), off)
}

var vecNames = map[uintptr]string{
	unix.SYS_READV: "readv", unix.SYS_WRITEV: "writev", unix.SYS_PREADV: "preadv",
	unix.SYS_PWRITEV: "pwritev", unix.SYS_PREADV2: "preadv2", unix.SYS_PWRITEV2: "pwritev2",
}

var rwfNames = []flagName{
	{unix.RWF_HIPRI, "RWF_HIPRI"}, {unix.RWF_DSYNC, "RWF_DSYNC"}, {unix.RWF_SYNC, "RWF_SYNC"},
	{unix.RWF_NOWAIT, "RWF_NOWAIT"}, {unix.RWF_APPEND, "RWF_APPEND"}, {unix.RWF_NOAPPEND, "RWF_NOAPPEND"},
}

func isRead(nr uintptr) bool {
	return nr == unix.SYS_READV || nr == unix.SYS_PREADV || nr == unix.SYS_PREADV2
}

// vecArgs formats the arguments after the fd of a vectored call.
func vecArgs(nr uintptr, off int64, flags int) string {
	switch nr {
	case unix.SYS_READV, unix.SYS_WRITEV:
		return ""
	case unix.SYS_PREADV, unix.SYS_PWRITEV:
		return fmt.Sprintf(", %d", off)
	}
	fs := "0"
	if flags != 0 {
		fs = flagString(flags, rwfNames)
	}
	return fmt.Sprintf(", %d, %s", off, fs)
}

// readvec reads into buffers of the given sizes and prints what each got.
func (s *S) readvec(nr uintptr, fd int, sizes []int, off int64, flags int) R {
	bufs := make([][]byte, len(sizes))
	for i, n := range sizes {
		bufs[i] = make([]byte, n)
	}
	v, e := sysVec(nr, fd, bufs, len(bufs), off, flags)
	det := ""
	if e == 0 {
		left := v
		var parts []string
		for _, b := range bufs {
			n := min(int64(len(b)), left)
			left -= n
			parts = append(parts, data(b[:n]))
		}
		det = "[" + strings.Join(parts, " ") + "]"
	}
	return s.ret(v, e, det, "%s(%d, %v%s)", vecNames[nr], fd, sizes, vecArgs(nr, off, flags))
}

func (s *S) writevec(nr uintptr, fd int, parts []string, off int64, flags int) R {
	bufs := make([][]byte, len(parts))
	var shown []string
	for i, p := range parts {
		bufs[i] = []byte(p)
		shown = append(shown, data(bufs[i]))
	}
	v, e := sysVec(nr, fd, bufs, len(bufs), off, flags)
	return s.ret(v, e, "", "%s(%d, [%s]%s)", vecNames[nr], fd, strings.Join(shown, " "), vecArgs(nr, off, flags))
}

var whenceNames = map[int]string{
	unix.SEEK_SET: "SEEK_SET", unix.SEEK_CUR: "SEEK_CUR", unix.SEEK_END: "SEEK_END",
	unix.SEEK_DATA: "SEEK_DATA", unix.SEEK_HOLE: "SEEK_HOLE",
}

func (s *S) lseek(fd int, off int64, whence int) R {
	v, e := sysLseek(fd, off, whence)
	w, ok := whenceNames[whence]
	if !ok {
		w = fmt.Sprint(whence)
	}
	return s.ret(v, e, "", "lseek(%d, %d, %s)", fd, off, w)
}

func (s *S) dup(fd int) R {
	v, e := sysDup(fd)
	return s.ret(v, e, "", "dup(%d)", fd)
}

func (s *S) dup2(a, b int) R {
	v, e := sysDup2(a, b)
	return s.ret(v, e, "", "dup2(%d, %d)", a, b)
}

func (s *S) dup3(a, b, flags int) R {
	v, e := sysDup3(a, b, flags)
	fs := "0"
	if flags != 0 {
		fs = flagString(flags, openFlagNames)
	}
	return s.ret(v, e, "", "dup3(%d, %d, %s)", a, b, fs)
}

var fcntlNames = map[int]string{
	unix.F_DUPFD: "F_DUPFD", unix.F_GETFD: "F_GETFD", unix.F_SETFD: "F_SETFD",
	unix.F_GETFL: "F_GETFL", unix.F_SETFL: "F_SETFL", unix.F_DUPFD_CLOEXEC: "F_DUPFD_CLOEXEC",
	unix.F_GETLK: "F_GETLK", unix.F_SETLK: "F_SETLK", unix.F_SETLKW: "F_SETLKW",
	unix.F_OFD_GETLK: "F_OFD_GETLK", unix.F_OFD_SETLK: "F_OFD_SETLK",
}

// fcntl issues an integer-argument fcntl. F_GETFL results print as flags,
// F_GETFD results as FD_CLOEXEC or 0.
func (s *S) fcntl(fd, cmd int, arg int) R {
	v, e := sysFcntl(fd, cmd, uintptr(arg))
	name, ok := fcntlNames[cmd]
	if !ok {
		name = fmt.Sprint(cmd)
	}
	argS := fmt.Sprint(arg)
	switch cmd {
	case unix.F_SETFL:
		argS = flagString(arg, openFlagNames)
	case unix.F_SETFD:
		if arg == unix.FD_CLOEXEC {
			argS = "FD_CLOEXEC"
		}
	}
	det := ""
	if e == 0 {
		switch cmd {
		case unix.F_GETFL:
			det = oflags(int(v))
		case unix.F_GETFD:
			det = map[bool]string{true: "FD_CLOEXEC", false: "(none)"}[v&unix.FD_CLOEXEC != 0]
		}
	}
	return s.ret(v, e, det, "fcntl(%d, %s, %s)", fd, name, argS)
}

func (s *S) stat(path string) (R, *unix.Stat_t) {
	st, e := sysStat(unix.SYS_STAT, path)
	return s.retStat(st, e, "stat(%s)", s.q(path))
}

func (s *S) lstat(path string) (R, *unix.Stat_t) {
	st, e := sysStat(unix.SYS_LSTAT, path)
	return s.retStat(st, e, "lstat(%s)", s.q(path))
}

func (s *S) fstat(fd int) (R, *unix.Stat_t) {
	st, e := sysFstat(fd)
	return s.retStat(st, e, "fstat(%d)", fd)
}

func (s *S) fstatat(dirfd int, path string, flags int) (R, *unix.Stat_t) {
	st, e := sysNewfstatat(dirfd, path, flags)
	return s.retStat(st, e, "newfstatat(%s, %s, %s)", dirfdName(dirfd), s.q(path), atflags(flags))
}

func (s *S) retStat(st *unix.Stat_t, e unix.Errno, desc string, a ...any) (R, *unix.Stat_t) {
	det := ""
	if e == 0 {
		det = s.fmtStat(st)
	}
	return s.ret(0, e, det, desc, a...), st
}

// quiet returns the lstat of path without printing; it is used to compute
// relations (same inode, times moved) that are then printed.
func quiet(path string) *unix.Stat_t {
	st, e := sysStat(unix.SYS_LSTAT, path)
	if e != 0 {
		panic(fmt.Sprintf("lstat %q: %v", path, e))
	}
	return st
}

func quietFd(fd int) *unix.Stat_t {
	st, e := sysFstat(fd)
	if e != 0 {
		panic(fmt.Sprintf("fstat %d: %v", fd, e))
	}
	return st
}

// sameFile prints whether two stat results name the same inode, and checks
// the expectation.
func (s *S) sameFile(a, b string, sa, sb *unix.Stat_t, want bool) {
	s.check(fmt.Sprintf("same inode (%s, %s)", a, b), sa.Ino == sb.Ino && sa.Dev == sb.Dev, want)
}

func (s *S) mkdir(path string, mode uint32) R {
	v, e := sysPath1(unix.SYS_MKDIR, path, uintptr(mode), 0)
	return s.ret(v, e, "", "mkdir(%s, %#o)", s.q(path), mode)
}

func (s *S) mkdirat(dirfd int, path string, mode uint32) R {
	v, e := sysAt1(unix.SYS_MKDIRAT, dirfd, path, uintptr(mode), 0, 0)
	return s.ret(v, e, "", "mkdirat(%s, %s, %#o)", dirfdName(dirfd), s.q(path), mode)
}

func (s *S) rmdir(path string) R {
	v, e := sysPath1(unix.SYS_RMDIR, path, 0, 0)
	return s.ret(v, e, "", "rmdir(%s)", s.q(path))
}

func (s *S) unlink(path string) R {
	v, e := sysPath1(unix.SYS_UNLINK, path, 0, 0)
	return s.ret(v, e, "", "unlink(%s)", s.q(path))
}

func (s *S) unlinkat(dirfd int, path string, flags int) R {
	v, e := sysAt1(unix.SYS_UNLINKAT, dirfd, path, uintptr(flags), 0, 0)
	return s.ret(v, e, "", "unlinkat(%s, %s, %s)", dirfdName(dirfd), s.q(path), atflags(flags))
}

func (s *S) rename(a, b string) R {
	v, e := sysPath2(unix.SYS_RENAME, a, b)
	return s.ret(v, e, "", "rename(%s, %s)", s.q(a), s.q(b))
}

func (s *S) renameat(d1 int, a string, d2 int, b string) R {
	v, e := sysAt2(unix.SYS_RENAMEAT, d1, a, d2, b, 0)
	return s.ret(v, e, "", "renameat(%s, %s, %s, %s)", dirfdName(d1), s.q(a), dirfdName(d2), s.q(b))
}

var renameNames = []flagName{
	{unix.RENAME_NOREPLACE, "RENAME_NOREPLACE"}, {unix.RENAME_EXCHANGE, "RENAME_EXCHANGE"},
	{unix.RENAME_WHITEOUT, "RENAME_WHITEOUT"},
}

func (s *S) renameat2(d1 int, a string, d2 int, b string, flags int) R {
	v, e := sysAt2(unix.SYS_RENAMEAT2, d1, a, d2, b, flags)
	fs := "0"
	if flags != 0 {
		fs = flagString(flags, renameNames)
	}
	return s.ret(v, e, "", "renameat2(%s, %s, %s, %s, %s)", dirfdName(d1), s.q(a), dirfdName(d2), s.q(b), fs)
}

func (s *S) link(a, b string) R {
	v, e := sysPath2(unix.SYS_LINK, a, b)
	return s.ret(v, e, "", "link(%s, %s)", s.q(a), s.q(b))
}

func (s *S) linkat(d1 int, a string, d2 int, b string, flags int) R {
	v, e := sysAt2(unix.SYS_LINKAT, d1, a, d2, b, flags)
	return s.ret(v, e, "", "linkat(%s, %s, %s, %s, %s)", dirfdName(d1), s.q(a), dirfdName(d2), s.q(b), atflags(flags))
}

func (s *S) symlink(target, path string) R {
	v, e := sysPath2(unix.SYS_SYMLINK, target, path)
	return s.ret(v, e, "", "symlink(%s, %s)", s.q(target), s.q(path))
}

func (s *S) symlinkat(target string, dirfd int, path string) R {
	v, e := sysSymlinkat(target, dirfd, path)
	return s.ret(v, e, "", "symlinkat(%s, %s, %s)", s.q(target), dirfdName(dirfd), s.q(path))
}

// relLen adjusts a length returned by the kernel for text that contains
// the work directory, which prints as $W: the length printed is that of
// the text as printed.
func (s *S) relLen(v int64, text string) int64 {
	return v - int64(strings.Count(text, s.work)*(len(s.work)-len("$W")))
}

func (s *S) readlink(path string, n int) R {
	b := make([]byte, n)
	v, e := sysReadlink(path, b)
	det := ""
	if e == 0 {
		det = s.q(string(b[:v]))
		v = s.relLen(v, string(b[:v]))
	}
	return s.ret(v, e, det, "readlink(%s, %d)", s.q(path), n)
}

func (s *S) readlinkat(dirfd int, path string, n int) R {
	b := make([]byte, n)
	v, e := sysReadlinkat(dirfd, path, b)
	det := ""
	if e == 0 {
		det = s.q(string(b[:v]))
		v = s.relLen(v, string(b[:v]))
	}
	return s.ret(v, e, det, "readlinkat(%s, %s, %d)", dirfdName(dirfd), s.q(path), n)
}

func (s *S) chdir(path string) R {
	v, e := sysPath1(unix.SYS_CHDIR, path, 0, 0)
	return s.ret(v, e, "", "chdir(%s)", s.q(path))
}

func (s *S) fchdir(fd int) R {
	v, e := sysFd(unix.SYS_FCHDIR, uintptr(fd), 0, 0, 0)
	return s.ret(v, e, "", "fchdir(%d)", fd)
}

// getcwd prints the directory relative to the work directory.
func (s *S) getcwd(n int) R {
	b := make([]byte, n)
	v, e := sysGetcwd(b)
	det := ""
	if e == 0 {
		det = s.q(string(bytes.TrimRight(b[:v], "\x00")))
		v = s.relLen(v, string(b[:v]))
	}
	return s.ret(v, e, det, "getcwd(%d)", n)
}

var dtNames = map[byte]string{
	unix.DT_UNKNOWN: "unknown", unix.DT_FIFO: "fifo", unix.DT_CHR: "chr", unix.DT_DIR: "dir",
	unix.DT_BLK: "blk", unix.DT_REG: "reg", unix.DT_LNK: "lnk", unix.DT_SOCK: "sock",
}

// dirent is one parsed directory entry.
type dirent struct {
	name string
	typ  string
}

// parseDirents64 parses a getdents64 buffer.
func parseDirents64(b []byte) []dirent {
	var out []dirent
	for len(b) >= 19 {
		reclen := int(b[16]) | int(b[17])<<8
		if reclen < 19 || reclen > len(b) {
			panic(fmt.Sprintf("bad dirent64 reclen %d", reclen))
		}
		name := b[19:reclen]
		name = name[:bytes.IndexByte(name, 0)]
		out = append(out, dirent{string(name), dtNames[b[18]]})
		b = b[reclen:]
	}
	return out
}

// parseDirentsOld parses a buffer of the old getdents: d_ino and d_off
// are longs, the type is the last byte of the record.
func parseDirentsOld(b []byte) []dirent {
	var out []dirent
	for len(b) >= 18 {
		reclen := int(b[16]) | int(b[17])<<8
		if reclen < 18 || reclen > len(b) {
			panic(fmt.Sprintf("bad dirent reclen %d", reclen))
		}
		name := b[18 : reclen-1]
		name = name[:bytes.IndexByte(name, 0)]
		out = append(out, dirent{string(name), dtNames[b[reclen-1]]})
		b = b[reclen:]
	}
	return out
}

func fmtDirents(ds []dirent, sorted bool) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.name + ":" + d.typ
	}
	if sorted {
		sort.Strings(parts)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// getdents64 reads one buffer of entries; the names print sorted because
// the order is file-system specific.
func (s *S) getdents64(fd int, n int) (R, []dirent) {
	b := make([]byte, n)
	v, e := sysGetdents(unix.SYS_GETDENTS64, fd, b)
	var ds []dirent
	det := ""
	if e == 0 {
		ds = parseDirents64(b[:v])
		det = fmt.Sprintf("%d entries %s", len(ds), fmtDirents(ds, true))
	}
	return s.ret(v, e, det, "getdents64(%d, %d)", fd, n), ds
}

// listdir reads a directory fd to the end with a buffer of n bytes and
// prints the sorted names and the end-of-directory result. How many calls
// it took is not printed: tmpfs itself does not always fill the buffer the
// same way from one run to the next.
func (s *S) listdir(nr uintptr, fd int, n int) []dirent {
	var all []dirent
	for {
		b := make([]byte, n)
		v, e := sysGetdents(nr, fd, b)
		if e != 0 {
			s.ret(v, e, "", "listdir(%d, %d)", fd, n)
			return nil
		}
		if v == 0 {
			break
		}
		if nr == unix.SYS_GETDENTS64 {
			all = append(all, parseDirents64(b[:v])...)
		} else {
			all = append(all, parseDirentsOld(b[:v])...)
		}
	}
	name := "getdents64"
	if nr != unix.SYS_GETDENTS64 {
		name = "getdents"
	}
	s.printf("%s(%d, %d) until 0: %d entries %s", name, fd, n, len(all), fmtDirents(all, true))
	return all
}

func (s *S) truncate(path string, n int64) R {
	v, e := sysPath1(unix.SYS_TRUNCATE, path, uintptr(n), 0)
	return s.ret(v, e, "", "truncate(%s, %d)", s.q(path), n)
}

func (s *S) ftruncate(fd int, n int64) R {
	v, e := sysFd(unix.SYS_FTRUNCATE, uintptr(fd), uintptr(n), 0, 0)
	return s.ret(v, e, "", "ftruncate(%d, %d)", fd, n)
}

var fallocNames = []flagName{
	{unix.FALLOC_FL_KEEP_SIZE, "KEEP_SIZE"}, {unix.FALLOC_FL_PUNCH_HOLE, "PUNCH_HOLE"},
	{unix.FALLOC_FL_COLLAPSE_RANGE, "COLLAPSE_RANGE"}, {unix.FALLOC_FL_ZERO_RANGE, "ZERO_RANGE"},
	{unix.FALLOC_FL_INSERT_RANGE, "INSERT_RANGE"}, {unix.FALLOC_FL_UNSHARE_RANGE, "UNSHARE_RANGE"},
}

func (s *S) fallocate(fd int, mode int, off, n int64) R {
	v, e := sysFd(unix.SYS_FALLOCATE, uintptr(fd), uintptr(mode), uintptr(off), uintptr(n))
	ms := "0"
	if mode != 0 {
		ms = flagString(mode, fallocNames)
	}
	return s.ret(v, e, "", "fallocate(%d, %s, %d, %d)", fd, ms, off, n)
}

func (s *S) fdcall(nr uintptr, name string, fd int) R {
	v, e := sysFd(nr, uintptr(fd), 0, 0, 0)
	return s.ret(v, e, "", "%s(%d)", name, fd)
}

func (s *S) chmod(path string, mode uint32) R {
	v, e := sysPath1(unix.SYS_CHMOD, path, uintptr(mode), 0)
	return s.ret(v, e, "", "chmod(%s, %#o)", s.q(path), mode)
}

func (s *S) fchmod(fd int, mode uint32) R {
	v, e := sysFd(unix.SYS_FCHMOD, uintptr(fd), uintptr(mode), 0, 0)
	return s.ret(v, e, "", "fchmod(%d, %#o)", fd, mode)
}

func (s *S) fchmodat(dirfd int, path string, mode uint32) R {
	v, e := sysAt1(unix.SYS_FCHMODAT, dirfd, path, uintptr(mode), 0, 0)
	return s.ret(v, e, "", "fchmodat(%s, %s, %#o)", dirfdName(dirfd), s.q(path), mode)
}

func (s *S) fchmodat2(dirfd int, path string, mode uint32, flags int) R {
	v, e := sysAt1(unix.SYS_FCHMODAT2, dirfd, path, uintptr(mode), uintptr(flags), 0)
	return s.ret(v, e, "", "fchmodat2(%s, %s, %#o, %s)", dirfdName(dirfd), s.q(path), mode, atflags(flags))
}

func (s *S) idName(id int, mine uint32) string {
	if id == -1 {
		return "-1"
	}
	if uint32(id) == mine {
		return "me"
	}
	return fmt.Sprint(id)
}

func (s *S) chown(nr uintptr, path string, uid, gid int) R {
	name := map[uintptr]string{unix.SYS_CHOWN: "chown", unix.SYS_LCHOWN: "lchown"}[nr]
	v, e := sysPath1(nr, path, uintptr(uid), uintptr(gid))
	return s.ret(v, e, "", "%s(%s, %s, %s)", name, s.q(path), s.idName(uid, s.uid), s.idName(gid, s.gid))
}

func (s *S) fchown(fd int, uid, gid int) R {
	v, e := sysFd(unix.SYS_FCHOWN, uintptr(fd), uintptr(uid), uintptr(gid), 0)
	return s.ret(v, e, "", "fchown(%d, %s, %s)", fd, s.idName(uid, s.uid), s.idName(gid, s.gid))
}

func (s *S) fchownat(dirfd int, path string, uid, gid int, flags int) R {
	v, e := sysAt1(unix.SYS_FCHOWNAT, dirfd, path, uintptr(uid), uintptr(gid), uintptr(flags))
	return s.ret(v, e, "", "fchownat(%s, %s, %s, %s, %s)", dirfdName(dirfd), s.q(path), s.idName(uid, s.uid), s.idName(gid, s.gid), atflags(flags))
}

func tsArg(t unix.Timespec) string {
	switch t.Nsec {
	case unix.UTIME_NOW:
		return "UTIME_NOW"
	case unix.UTIME_OMIT:
		return "UTIME_OMIT"
	}
	return ts(t)
}

func (s *S) utimensat(dirfd int, path *string, times []unix.Timespec, flags int) R {
	v, e := sysUtimensat(dirfd, path, times, flags)
	ps := "NULL"
	if path != nil {
		ps = s.q(*path)
	}
	tsS := "NULL"
	if times != nil {
		tsS = "[" + tsArg(times[0]) + " " + tsArg(times[1]) + "]"
	}
	return s.ret(v, e, "", "utimensat(%s, %s, %s, %s)", dirfdName(dirfd), ps, tsS, atflags(flags))
}

// times prints the atime and mtime of path (only for times that the
// scenario set itself, so they are deterministic).
func (s *S) times(path string) {
	st, e := sysStat(unix.SYS_LSTAT, path)
	if e != 0 {
		s.printf("times(%s) = %s", s.q(path), errName(e))
		return
	}
	s.printf("times(%s) atime=%s mtime=%s", s.q(path), ts(st.Atim), ts(st.Mtim))
}

func (s *S) mknod(path string, mode uint32, dev uint64) R {
	v, e := sysPath1(unix.SYS_MKNOD, path, uintptr(mode), uintptr(dev))
	return s.ret(v, e, "", "mknod(%s, %s|%#o, %d:%d)", s.q(path), ftype(mode), mode&0o7777, unix.Major(dev), unix.Minor(dev))
}

func (s *S) mknodat(dirfd int, path string, mode uint32, dev uint64) R {
	v, e := sysAt1(unix.SYS_MKNODAT, dirfd, path, uintptr(mode), uintptr(dev), 0)
	return s.ret(v, e, "", "mknodat(%s, %s, %s|%#o, %d:%d)", dirfdName(dirfd), s.q(path), ftype(mode), mode&0o7777, unix.Major(dev), unix.Minor(dev))
}

func (s *S) access(path string, mode int) R {
	v, e := sysPath1(unix.SYS_ACCESS, path, uintptr(mode), 0)
	return s.ret(v, e, "", "access(%s, %s)", s.q(path), accMode(mode))
}

func (s *S) faccessat(nr uintptr, dirfd int, path string, mode int, flags int) R {
	v, e := sysAt1(nr, dirfd, path, uintptr(mode), uintptr(flags), 0)
	if nr == unix.SYS_FACCESSAT {
		return s.ret(v, e, "", "faccessat(%s, %s, %s)", dirfdName(dirfd), s.q(path), accMode(mode))
	}
	fl := atflags(flags)
	if flags&unix.AT_EACCESS != 0 {
		fl = "AT_EACCESS"
		if f := flags &^ unix.AT_EACCESS; f != 0 {
			fl += "|" + atflags(f)
		}
	}
	return s.ret(v, e, "", "faccessat2(%s, %s, %s, %s)", dirfdName(dirfd), s.q(path), accMode(mode), fl)
}

func accMode(m int) string {
	if m == unix.F_OK {
		return "F_OK"
	}
	return flagString(m, []flagName{{unix.R_OK, "R_OK"}, {unix.W_OK, "W_OK"}, {unix.X_OK, "X_OK"}})
}

// tick waits long enough for the file system clock (a coarse clock on
// tmpfs) to move, so that a time that was updated reads as advanced.
func tick() {
	time.Sleep(25 * time.Millisecond)
}

// mustWrite creates path with the given content quietly (setup that is not
// itself under test; failures panic).
func mustWrite(path string, content string) {
	fd, e := sysOpen(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
	if e != 0 {
		panic(fmt.Sprintf("create %q: %v", path, e))
	}
	if _, e := sysWrite(int(fd), []byte(content)); e != 0 {
		panic(fmt.Sprintf("write %q: %v", path, e))
	}
	sysClose(int(fd))
}

// readAll returns the content of path (setup helper; failures panic).
func readAll(path string) string {
	fd, e := sysOpen(path, unix.O_RDONLY, 0)
	if e != 0 {
		return "<" + errName(e) + ">"
	}
	defer sysClose(int(fd))
	var out []byte
	b := make([]byte, 4096)
	for {
		n, e := sysRead(int(fd), b)
		if e != 0 {
			panic(fmt.Sprintf("read %q: %v", path, e))
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, b[:n]...)
	}
}

// content prints the content of path.
func (s *S) content(path string) {
	s.printf("content(%s) = %s", s.q(path), data([]byte(readAll(path))))
}
