package main

import (
	"golang.org/x/sys/unix"
)

func init() {
	register("dup_shared_offset", scenDup)
	register("fcntl", scenFcntl)
	register("locks", scenLocks)
	register("close_range", scenCloseRange)
	register("ebadf", scenEbadf)
}

func scenDup(s *S) {
	fd := s.open("f", rdwr|creat|trunc, 0o644).OK()
	s.write(fd, "abc").Is(3)
	d := s.dup(fd).OK()
	s.lseek(d, 0, unix.SEEK_CUR).Is(3)
	s.write(d, "def").Is(3)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(6)
	s.lseek(fd, 1, unix.SEEK_SET).Is(1)
	s.read(d, 2).Is(2)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(3)

	s.dup2(fd, 20).Is(20)
	s.lseek(20, 0, unix.SEEK_CUR).Is(3)
	s.dup2(fd, fd).Is(int64(fd))
	s.dup2(d, 20).Is(20)
	s.dup2(999, 21).Err(unix.EBADF)
	s.fcntl(21, unix.F_GETFD, 0).Err(unix.EBADF)
	s.dup3(fd, 22, unix.O_CLOEXEC).Is(22)
	s.fcntl(22, unix.F_GETFD, 0)
	s.fcntl(fd, unix.F_GETFD, 0)
	s.dup3(fd, fd, 0).Err(unix.EINVAL)
	s.dup3(fd, 23, unix.O_APPEND).Err(unix.EINVAL)
	s.dup(999).Err(unix.EBADF)
	s.dup(-1).Err(unix.EBADF)

	// File status flags live in the description: shared by dups.
	s.fcntl(fd, unix.F_SETFL, unix.O_APPEND).OK()
	s.fcntl(d, unix.F_GETFL, 0)
	s.fcntl(20, unix.F_GETFL, 0)
	s.lseek(d, 0, unix.SEEK_SET).Is(0)
	s.write(d, "G").Is(1)
	s.lseek(22, 0, unix.SEEK_CUR).Is(7)

	// A second open is a second description with its own offset and flags.
	other := s.open("f", rdwr, 0).OK()
	s.lseek(other, 0, unix.SEEK_CUR).Is(0)
	s.fcntl(other, unix.F_GETFL, 0)
	s.close(other).OK()

	// Descriptor flags are per descriptor.
	s.fcntl(d, unix.F_SETFD, unix.FD_CLOEXEC).OK()
	s.fcntl(d, unix.F_GETFD, 0)
	s.fcntl(fd, unix.F_GETFD, 0)

	// Closing one descriptor leaves the description alive.
	s.close(fd).OK()
	s.lseek(d, 0, unix.SEEK_SET).Is(0)
	s.read(d, 100).Is(7)
	again := s.dup(d).OK()
	s.check("dup takes the lowest free number", again == fd, true)
	s.close(again).OK()
	s.close(20).OK()
	s.close(22).OK()
	s.close(d).OK()
	s.close(20).Err(unix.EBADF)
}

func scenFcntl(s *S) {
	fd := s.open("f", rdwr|creat|cloex, 0o644).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.fcntl(fd, unix.F_GETFD, 0)
	s.fcntl(fd, unix.F_SETFL, unix.O_APPEND|unix.O_NONBLOCK).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.fcntl(fd, unix.F_SETFL, unix.O_RDONLY).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.fcntl(fd, unix.F_SETFD, 0).OK()
	s.fcntl(fd, unix.F_GETFD, 0)
	s.fcntl(fd, unix.F_SETFD, unix.FD_CLOEXEC).OK()
	s.fcntl(fd, unix.F_GETFD, 0)

	s.fcntl(fd, unix.F_DUPFD, 30).Is(30)
	s.fcntl(fd, unix.F_DUPFD, 30).Is(31)
	s.fcntl(30, unix.F_GETFD, 0)
	s.fcntl(fd, unix.F_DUPFD_CLOEXEC, 30).Is(32)
	s.fcntl(32, unix.F_GETFD, 0)
	s.close(31).OK()
	s.fcntl(fd, unix.F_DUPFD, 30).Is(31)
	s.fcntl(fd, unix.F_DUPFD, -1).Err(unix.EINVAL)
	s.fcntl(fd, unix.F_DUPFD, 1<<30).Err(unix.EINVAL)
	s.fcntl(fd, 9999, 0).Err(unix.EINVAL)
	for _, n := range []int{30, 31, 32} {
		s.close(n).OK()
	}
	s.close(fd).OK()

	fd = s.open("f", wronly|creat|trunc|cloex, 0o644).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.close(fd).OK()
	fd = s.open("f", rdonly|unix.O_NOATIME, 0).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.close(fd).OK()
	fd = s.open("f", rdwr|unix.O_DSYNC, 0).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.close(fd).OK()
	fd = s.open(".", rdonly|odir|nofol, 0).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.close(fd).OK()
	fd = s.open("f", opath, 0).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.fcntl(fd, unix.F_GETFD, 0)
	s.fcntl(fd, unix.F_SETFL, unix.O_APPEND).Err(unix.EBADF)
	s.fcntl(fd, unix.F_DUPFD, 0).OK()
	s.close(fd).OK()
}

var lockTypes = map[int16]string{unix.F_RDLCK: "F_RDLCK", unix.F_WRLCK: "F_WRLCK", unix.F_UNLCK: "F_UNLCK"}

// lock issues a locking fcntl and prints the returned lock for the GETLK
// commands (the pid as "self", -1 or "other").
func (s *S) lock(fd, cmd int, typ int16, start, n int64) R {
	lk := &unix.Flock_t{Type: typ, Whence: unix.SEEK_SET, Start: start, Len: n}
	v, e := sysFcntlLock(fd, cmd, lk)
	det := ""
	if e == 0 && (cmd == unix.F_GETLK || cmd == unix.F_OFD_GETLK) {
		pid := "other"
		switch lk.Pid {
		case int32(unix.Getpid()):
			pid = "self"
		case -1, 0:
			pid = itoa(int64(lk.Pid))
		}
		det = "{" + lockTypes[lk.Type]
		if lk.Type != unix.F_UNLCK {
			det += " start=" + itoa(lk.Start) + " len=" + itoa(lk.Len) + " pid=" + pid
		}
		det += "}"
	}
	ts, ok := lockTypes[typ]
	if !ok {
		ts = itoa(int64(typ))
	}
	return s.ret(v, e, det, "fcntl(%d, %s, {%s %d %d})", fd, fcntlNames[cmd], ts, start, n)
}

func (s *S) flock(fd, how int) R {
	v, e := sysFlock(fd, how)
	hs := flagString(how, []flagName{{unix.LOCK_SH, "LOCK_SH"}, {unix.LOCK_EX, "LOCK_EX"}, {unix.LOCK_UN, "LOCK_UN"}, {unix.LOCK_NB, "LOCK_NB"}})
	return s.ret(v, e, "", "flock(%d, %s)", fd, hs)
}

func scenLocks(s *S) {
	fd := s.open("lk", rdwr|creat, 0o644).OK()
	s.write(fd, pattern(100)).Is(100)
	s.lock(fd, unix.F_SETLK, unix.F_WRLCK, 0, 0).OK()
	s.lock(fd, unix.F_GETLK, unix.F_WRLCK, 0, 0).OK()
	s.lock(fd, unix.F_SETLK, unix.F_RDLCK, 10, 20).OK()
	s.lock(fd, unix.F_SETLK, unix.F_UNLCK, 0, 0).OK()
	s.lock(fd, unix.F_SETLK, 99, 0, 0).Err(unix.EINVAL)

	ro := s.open("lk", rdonly, 0).OK()
	s.lock(ro, unix.F_SETLK, unix.F_WRLCK, 0, 0).Err(unix.EBADF)
	s.lock(ro, unix.F_SETLK, unix.F_RDLCK, 0, 0).OK()
	s.close(ro).OK()

	fd2 := s.open("lk", rdwr, 0).OK()
	s.lock(fd, unix.F_OFD_SETLK, unix.F_WRLCK, 0, 50).OK()
	s.lock(fd, unix.F_OFD_GETLK, unix.F_WRLCK, 0, 0).OK()
	s.lock(fd2, unix.F_OFD_GETLK, unix.F_WRLCK, 0, 0).OK()
	s.lock(fd2, unix.F_OFD_SETLK, unix.F_WRLCK, 10, 10).Err(unix.EAGAIN)
	s.lock(fd2, unix.F_OFD_SETLK, unix.F_WRLCK, 50, 10).OK()
	s.lock(fd, unix.F_OFD_SETLK, unix.F_UNLCK, 0, 0).OK()
	s.lock(fd2, unix.F_OFD_SETLK, unix.F_WRLCK, 10, 10).OK()

	s.flock(fd, unix.LOCK_EX).OK()
	s.flock(fd2, unix.LOCK_EX|unix.LOCK_NB).Err(unix.EWOULDBLOCK)
	s.flock(fd2, unix.LOCK_SH|unix.LOCK_NB).Err(unix.EWOULDBLOCK)
	s.flock(fd, unix.LOCK_UN).OK()
	s.flock(fd2, unix.LOCK_EX|unix.LOCK_NB).OK()
	s.flock(fd, 0).Err(unix.EINVAL)
	s.close(fd2).OK()
	s.flock(fd, unix.LOCK_EX|unix.LOCK_NB).OK()
	s.close(fd).OK()
	s.lock(fd, unix.F_SETLK, unix.F_WRLCK, 0, 0).Err(unix.EBADF)
	s.flock(fd, unix.LOCK_EX).Err(unix.EBADF)
}

func (s *S) closeRange(first, last uint, flags int) R {
	v, e := sysCloseRange(first, last, flags)
	fs := "0"
	if flags != 0 {
		fs = flagString(flags, []flagName{{unix.CLOSE_RANGE_CLOEXEC, "CLOSE_RANGE_CLOEXEC"}, {unix.CLOSE_RANGE_UNSHARE, "CLOSE_RANGE_UNSHARE"}})
	}
	return s.ret(v, e, "", "close_range(%d, %d, %s)", first, last, fs)
}

func scenCloseRange(s *S) {
	mustWrite("f", "x")
	a := s.open("f", rdonly, 0).OK()
	b := s.open("f", rdonly, 0).OK()
	c := s.open("f", rdonly, 0).OK()
	s.check("consecutive numbers", b == a+1 && c == a+2, true)
	s.closeRange(uint(b), uint(c), 0).OK()
	s.fcntl(a, unix.F_GETFD, 0).OK()
	s.fcntl(b, unix.F_GETFD, 0).Err(unix.EBADF)
	s.fcntl(c, unix.F_GETFD, 0).Err(unix.EBADF)
	s.open("f", rdonly, 0).Is(int64(b))
	s.open("f", rdonly, 0).Is(int64(c))
	s.closeRange(uint(a), uint(c), unix.CLOSE_RANGE_CLOEXEC).OK()
	for _, fd := range []int{a, b, c} {
		s.fcntl(fd, unix.F_GETFD, 0)
	}
	s.pread(b, 1, 0).Is(1)
	s.closeRange(uint(c), uint(a), 0).Err(unix.EINVAL)
	s.closeRange(uint(a), uint(a), 0x80).Err(unix.EINVAL)
	s.closeRange(500, 600, 0).OK()
	s.closeRange(uint(a), uint(c), 0).OK()
	s.close(a).Err(unix.EBADF)
	s.close(c).Err(unix.EBADF)
	s.open("f", rdonly, 0).Is(int64(a))
	s.close(a).OK()
}

func scenEbadf(s *S) {
	mustWrite("f", "x")
	fd := s.open("f", rdwr, 0).OK()
	s.close(fd).OK()
	s.close(fd).Err(unix.EBADF)
	s.read(fd, 1).Err(unix.EBADF)
	s.write(fd, "x").Err(unix.EBADF)
	s.pread(fd, 1, 0).Err(unix.EBADF)
	s.pwrite(fd, "x", 0).Err(unix.EBADF)
	s.readvec(unix.SYS_READV, fd, []int{1}, 0, 0).Err(unix.EBADF)
	s.writevec(unix.SYS_PWRITEV2, fd, []string{"x"}, 0, 0).Err(unix.EBADF)
	s.lseek(fd, 0, unix.SEEK_SET).Err(unix.EBADF)
	s.fstat(fd)
	s.fstatat(fd, "", unix.AT_EMPTY_PATH)
	s.ftruncate(fd, 0).Err(unix.EBADF)
	s.fdcall(unix.SYS_FSYNC, "fsync", fd).Err(unix.EBADF)
	s.fdcall(unix.SYS_FDATASYNC, "fdatasync", fd).Err(unix.EBADF)
	s.fchmod(fd, 0o644).Err(unix.EBADF)
	s.fchown(fd, -1, -1).Err(unix.EBADF)
	s.fchdir(fd).Err(unix.EBADF)
	s.getdents64(fd, 4096)
	s.dup(fd).Err(unix.EBADF)
	s.fcntl(fd, unix.F_GETFL, 0).Err(unix.EBADF)
	s.fallocate(fd, 0, 0, 10).Err(unix.EBADF)
	s.openat(fd, "f", rdonly, 0).Err(unix.EBADF)
	s.fstatfsOp(fd)
	s.read(-1, 1).Err(unix.EBADF)
	s.fstat(1 << 20)
	s.write(1<<20, "x").Err(unix.EBADF)
}
