package main

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register("stat_family", scenStat)
	register("statx", scenStatx)
	register("statfs", scenStatfs)
	register("access", scenAccess)
	register("stat_sizes", scenStatSizes)
	register("timestamps", scenTimestamps)
}

func scenStat(s *S) {
	mustWrite("f", "12345")
	s.mkdir("d", 0o755).OK()
	s.symlink("f", "lf").OK()
	s.symlink("d", "ld").OK()
	s.symlink("nowhere", "dang").OK()
	s.link("f", "hf").OK()

	s.stat("f")
	s.lstat("f")
	s.stat("lf")
	s.lstat("lf")
	s.stat("dang")
	s.lstat("dang")
	s.stat("d")
	s.stat("ld")
	s.lstat("ld")
	s.stat("f/")
	s.stat("d/")
	s.lstat("lf/")
	s.lstat("ld/")
	s.stat("f/x")
	s.stat("")
	s.stat("missing")
	s.stat("d/./.")

	fd := s.open("f", rdonly, 0).OK()
	s.fstat(fd)
	s.fstatat(cwd, "lf", 0)
	s.fstatat(cwd, "lf", unix.AT_SYMLINK_NOFOLLOW)
	dfd := s.open("d", rdonly|odir, 0).OK()
	s.fstatat(dfd, "", unix.AT_EMPTY_PATH)
	s.fstatat(fd, "", unix.AT_EMPTY_PATH)
	s.fstatat(fd, "", 0)
	s.fstatat(dfd, "../f", 0)
	s.fstatat(dfd, "../lf", unix.AT_SYMLINK_NOFOLLOW)
	s.fstatat(fd, "x", 0)
	s.fstatat(cwd, "f", 0x1)
	pfd := s.open("lf", opath|nofol, 0).OK()
	s.fstatat(pfd, "", unix.AT_EMPTY_PATH)
	s.fstat(pfd)
	s.fstatat(pfd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)

	sf, shf, sd := quiet("f"), quiet("hf"), quiet("d")
	_, slf := s.stat("lf")
	s.sameFile("f", "hf", sf, shf, true)
	s.sameFile("f", "stat lf", sf, slf, true)
	s.sameFile("f", "lstat lf", sf, quiet("lf"), false)
	s.sameFile("f", "d", sf, sd, false)
	s.sameFile("f", "fstat", sf, quietFd(fd), true)
	s.check("same st_dev (f, d, lf, fstat)", sf.Dev == sd.Dev && sf.Dev == quiet("lf").Dev && sf.Dev == quietFd(fd).Dev, true)
	s.check("st_ino of f nonzero", sf.Ino != 0, true)
	s.close(pfd).OK()
	s.close(dfd).OK()
	s.close(fd).OK()
}

var statxMaskNames = []flagName{
	{unix.STATX_TYPE, "TYPE"}, {unix.STATX_MODE, "MODE"}, {unix.STATX_NLINK, "NLINK"},
	{unix.STATX_UID, "UID"}, {unix.STATX_GID, "GID"}, {unix.STATX_ATIME, "ATIME"},
	{unix.STATX_MTIME, "MTIME"}, {unix.STATX_CTIME, "CTIME"}, {unix.STATX_INO, "INO"},
	{unix.STATX_SIZE, "SIZE"}, {unix.STATX_BLOCKS, "BLOCKS"}, {unix.STATX_BTIME, "BTIME"},
	{unix.STATX_MNT_ID, "MNT_ID"}, {unix.STATX_DIOALIGN, "DIOALIGN"},
	{unix.STATX_MNT_ID_UNIQUE, "MNT_ID_UNIQUE"}, {unix.STATX_SUBVOL, "SUBVOL"},
	{unix.STATX_WRITE_ATOMIC, "WRITE_ATOMIC"}, {0x20000, "DIO_READ_ALIGN"},
}

func statxMask(m uint32) string {
	if m == unix.STATX_BASIC_STATS {
		return "BASIC_STATS"
	}
	if m&unix.STATX_BASIC_STATS == unix.STATX_BASIC_STATS {
		return "BASIC_STATS|" + flagString(int(m&^unix.STATX_BASIC_STATS), statxMaskNames)
	}
	return flagString(int(m), statxMaskNames)
}

func (s *S) statx(dirfd int, path string, flags int, mask uint32) (R, *unix.Statx_t) {
	stx, e := sysStatx(dirfd, path, flags, mask)
	det := ""
	if e == 0 {
		det = fmt.Sprintf("{mask=%s %s mode=%04o nlink=%d %s", statxMask(stx.Mask), ftype(uint32(stx.Mode)), stx.Mode&0o7777, stx.Nlink, s.owner(stx.Uid, stx.Gid))
		if ftype(uint32(stx.Mode)) != "dir" {
			det += fmt.Sprintf(" size=%d blocks=%d", stx.Size, stx.Blocks)
		}
		det += fmt.Sprintf(" attributes=%#x}", stx.Attributes)
	}
	return s.ret(0, e, det, "statx(%s, %s, %s, %s)", dirfdName(dirfd), s.q(path), atflags(flags), statxMask(mask)), stx
}

func scenStatx(s *S) {
	mustWrite("f", "hello")
	s.symlink("f", "lf").OK()
	s.mkdir("d", 0o700).OK()
	_, stx := s.statx(cwd, "f", 0, unix.STATX_BASIC_STATS)
	s.statx(cwd, "f", 0, unix.STATX_SIZE)
	s.statx(cwd, "f", 0, 0)
	s.statx(cwd, "f", 0, unix.STATX_ALL)
	s.statx(cwd, "f", unix.AT_STATX_FORCE_SYNC, unix.STATX_BASIC_STATS|unix.STATX_BTIME)
	s.statx(cwd, "f", unix.AT_STATX_DONT_SYNC, unix.STATX_BASIC_STATS)
	s.statx(cwd, "lf", unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS)
	s.statx(cwd, "lf", 0, unix.STATX_BASIC_STATS)
	s.statx(cwd, "d", 0, unix.STATX_BASIC_STATS)
	fd := s.open("f", rdonly, 0).OK()
	s.statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS)
	s.statx(fd, "", 0, unix.STATX_BASIC_STATS)
	s.statx(cwd, "f", unix.AT_STATX_FORCE_SYNC|unix.AT_STATX_DONT_SYNC, unix.STATX_BASIC_STATS)
	s.statx(cwd, "f", 0, unix.STATX__RESERVED)
	s.statx(cwd, "f", 0x1, unix.STATX_BASIC_STATS)
	s.statx(cwd, "missing", 0, unix.STATX_BASIC_STATS)
	s.statx(cwd, "f/", 0, unix.STATX_BASIC_STATS)
	st := quiet("f")
	s.check("statx ino == stat ino", stx.Ino == st.Ino, true)
	s.check("statx dev == stat dev", unix.Mkdev(stx.Dev_major, stx.Dev_minor) == st.Dev, true)
	s.check("statx mtime == stat mtime", stx.Mtime.Sec == st.Mtim.Sec && int64(stx.Mtime.Nsec) == st.Mtim.Nsec, true)
	s.check("statx blksize == stat blksize", int64(stx.Blksize) == st.Blksize, true)
	s.close(fd).OK()
}

func (s *S) statfsLine(desc string, sf *unix.Statfs_t, e unix.Errno) R {
	det := ""
	if e == 0 {
		det = fmt.Sprintf("{f_type=%#x bsize=%d frsize=%d namelen=%d}", sf.Type, sf.Bsize, sf.Frsize, sf.Namelen)
	}
	return s.ret(0, e, det, "%s", desc)
}

func (s *S) statfsOp(path string) (R, *unix.Statfs_t) {
	sf, e := sysStatfs(path)
	return s.statfsLine(fmt.Sprintf("statfs(%s)", s.q(path)), sf, e), sf
}

func (s *S) fstatfsOp(fd int) (R, *unix.Statfs_t) {
	sf, e := sysFstatfs(fd)
	return s.statfsLine(fmt.Sprintf("fstatfs(%d)", fd), sf, e), sf
}

func scenStatfs(s *S) {
	mustWrite("f", "x")
	s.mkdir("d", 0o755).OK()
	_, a := s.statfsOp(".")
	s.statfsOp("f")
	s.statfsOp("d/")
	s.statfsOp("missing")
	s.statfsOp("f/x")
	fd := s.open("f", rdonly, 0).OK()
	_, b := s.fstatfsOp(fd)
	s.check("statfs(.) and fstatfs(f) agree on f_type and f_fsid", a.Type == b.Type && a.Fsid == b.Fsid, true)
	s.close(fd).OK()
	s.fstatfsOp(fd)
}

func scenAccess(s *S) {
	mustWrite("f", "x")
	s.chmod("f", 0o644).OK()
	mustWrite("x", "#!/bin/sh\n")
	s.chmod("x", 0o755).OK()
	mustWrite("n", "x")
	s.chmod("n", 0).OK()
	s.mkdir("d", 0o755).OK()
	s.symlink("nowhere", "dang").OK()

	s.access("f", unix.F_OK).OK()
	s.access("missing", unix.F_OK).Err(unix.ENOENT)
	s.access("f", unix.R_OK|unix.W_OK).OK()
	s.access("f", unix.X_OK).Err(unix.EACCES)
	s.access("x", unix.X_OK).OK()
	s.access("x", unix.R_OK|unix.X_OK).OK()
	s.access("d", unix.X_OK).OK()
	if s.uid == 0 {
		s.access("n", unix.R_OK|unix.W_OK).OK()
	} else {
		s.access("n", unix.R_OK).Err(unix.EACCES)
	}
	s.access("n", unix.X_OK).Err(unix.EACCES)
	s.access("f", 0x10).Err(unix.EINVAL)
	s.access("f/", unix.F_OK).Err(unix.ENOTDIR)
	s.access("dang", unix.F_OK).Err(unix.ENOENT)

	dfd := s.open("d", rdonly|odir, 0).OK()
	s.faccessat(unix.SYS_FACCESSAT, cwd, "f", unix.R_OK, 0).OK()
	s.faccessat(unix.SYS_FACCESSAT, dfd, "../x", unix.X_OK, 0).OK()
	s.faccessat(unix.SYS_FACCESSAT, dfd, "f", unix.F_OK, 0).Err(unix.ENOENT)
	s.faccessat(unix.SYS_FACCESSAT2, cwd, "f", unix.R_OK, unix.AT_EACCESS).OK()
	s.faccessat(unix.SYS_FACCESSAT2, cwd, "dang", unix.F_OK, unix.AT_SYMLINK_NOFOLLOW).OK()
	s.faccessat(unix.SYS_FACCESSAT2, cwd, "dang", unix.F_OK, 0).Err(unix.ENOENT)
	s.faccessat(unix.SYS_FACCESSAT2, cwd, "f", unix.F_OK, 0x1).Err(unix.EINVAL)
	s.faccessat(unix.SYS_FACCESSAT2, cwd, "f", 0x10, 0).Err(unix.EINVAL)
	fd := s.open("x", rdonly, 0).OK()
	s.faccessat(unix.SYS_FACCESSAT2, fd, "", unix.X_OK, unix.AT_EMPTY_PATH).OK()
	s.faccessat(unix.SYS_FACCESSAT2, fd, "", unix.X_OK, 0).Err(unix.ENOENT)
	s.close(fd).OK()
	s.close(dfd).OK()
}

// sizes prints size, blocks and blksize of any file type: the values are
// those of Linux tmpfs.
func (s *S) sizes(path string) {
	st, e := sysStat(unix.SYS_LSTAT, path)
	if e != 0 {
		s.printf("sizes(%s) = %s", s.q(path), errName(e))
		return
	}
	s.printf("sizes(%s) %s size=%d blocks=%d blksize=%d", s.q(path), ftype(st.Mode), st.Size, st.Blocks, st.Blksize)
}

func scenStatSizes(s *S) {
	s.mkdir("d", 0o755).OK()
	s.sizes("d")
	for _, n := range []string{"d/a", "d/bb", "d/ccc"} {
		mustWrite(n, "")
	}
	s.sizes("d")
	s.mkdir("d/sub", 0o755).OK()
	s.sizes("d")
	s.unlink("d/bb").OK()
	s.sizes("d")
	s.rmdir("d/sub").OK()
	s.sizes("d")

	s.symlink("short", "ls").OK()
	s.sizes("ls")
	long := pattern(200)
	s.symlink(long, "ll").OK()
	s.sizes("ll")

	mustWrite("one", "x")
	s.sizes("one")
	mustWrite("page", pattern(4096))
	s.sizes("page")
	mustWrite("pageplus", pattern(4097))
	s.sizes("pageplus")
	fd := s.open("sparse", wronly|creat|trunc, 0o644).OK()
	s.pwrite(fd, "x", 1<<20).Is(1)
	s.close(fd).OK()
	s.sizes("sparse")
	mustWrite("empty", "")
	s.sizes("empty")
	s.mknod("fifo", unix.S_IFIFO|0o644, 0).OK()
	s.sizes("fifo")
}

// setOld gives path an atime and mtime in 2001 so that any update reads
// as "advanced".
func setOld(path string) {
	t := []unix.Timespec{{Sec: 1000000000}, {Sec: 1000000000}}
	if _, e := sysUtimensat(unix.AT_FDCWD, &path, t, unix.AT_SYMLINK_NOFOLLOW); e != 0 {
		panic(fmt.Sprintf("utimensat %q: %v", path, e))
	}
}

// around runs op on path, whose times were set in the past, and checks how
// its times moved.
func (s *S) around(path, what string, want string, op func()) {
	setOld(path)
	before := quiet(path)
	tick()
	op()
	s.timeRel(fmt.Sprintf("%s after %s", path, what), before, quiet(path), want)
}

func scenTimestamps(s *S) {
	mustWrite("f", "content")
	s.mkdir("d", 0o755).OK()
	mustWrite("d/x", "x")

	const (
		none  = "atime unchanged, mtime unchanged, ctime unchanged"
		aOnly = "atime advanced, mtime unchanged, ctime unchanged"
		mc    = "atime unchanged, mtime advanced, ctime advanced"
		cOnly = "atime unchanged, mtime unchanged, ctime advanced"
	)
	s.around("f", "read", aOnly, func() {
		fd := s.open("f", rdonly, 0).OK()
		s.read(fd, 100).Is(7)
		s.close(fd).OK()
	})
	s.around("f", "O_NOATIME read", none, func() {
		fd := s.open("f", rdonly|unix.O_NOATIME, 0).OK()
		s.read(fd, 100).Is(7)
		s.close(fd).OK()
	})
	s.around("f", "stat and open/close", none, func() {
		s.stat("f")
		fd := s.open("f", rdonly, 0).OK()
		s.close(fd).OK()
	})
	s.around("f", "write", mc, func() {
		fd := s.open("f", wronly, 0).OK()
		s.write(fd, "C").Is(1)
		s.close(fd).OK()
	})
	s.around("f", "pwrite of 0 bytes", none, func() {
		fd := s.open("f", wronly, 0).OK()
		s.pwrite(fd, "", 0).Is(0)
		s.close(fd).OK()
	})
	s.around("f", "chmod", cOnly, func() { s.chmod("f", 0o640).OK() })
	s.around("f", "chown to self", cOnly, func() { s.chown(unix.SYS_CHOWN, "f", int(s.uid), int(s.gid)).OK() })
	s.around("f", "truncate to a new size", mc, func() { s.truncate("f", 3).OK() })
	// Linux updates the times on ftruncate even when the size stays.
	s.around("f", "ftruncate to the same size", mc, func() {
		fd := s.open("f", wronly, 0).OK()
		s.ftruncate(fd, 3).OK()
		s.close(fd).OK()
	})
	s.around("f", "open O_TRUNC", mc, func() {
		fd := s.open("f", wronly|trunc, 0).OK()
		s.close(fd).OK()
	})
	mustWrite("f", "content")
	s.around("f", "link", cOnly, func() { s.link("f", "f2").OK() })
	s.around("f", "rename away and back", cOnly, func() {
		s.rename("f", "g").OK()
		s.rename("g", "f").OK()
	})
	s.around("f", "setxattr", cOnly, func() { s.setxattr(unix.SYS_SETXATTR, "f", "user.t", "v", 0).OK() })
	s.around("f", "mmap read", aOnly, func() {
		fd := s.open("f", rdonly, 0).OK()
		m, err := unix.Mmap(fd, 0, 7, unix.PROT_READ, unix.MAP_PRIVATE)
		if err != nil {
			panic(err)
		}
		s.printf("mmap read %q", m)
		if err := unix.Munmap(m); err != nil {
			panic(err)
		}
		s.close(fd).OK()
	})
	s.around("f", "fallocate KEEP_SIZE", mc, func() {
		fd := s.open("f", wronly, 0).OK()
		s.fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, 0, 8192).OK()
		s.close(fd).OK()
	})

	s.around("d", "create in it", mc, func() { mustWrite("d/new", "") })
	s.around("d", "unlink in it", mc, func() { s.unlink("d/new").OK() })
	s.around("d", "rename in it", mc, func() { s.rename("d/x", "d/y").OK() })
	s.around("d", "mkdir in it", mc, func() { s.mkdir("d/sub", 0o755).OK() })
	s.around("d", "write to a file in it", none, func() {
		fd := s.open("d/y", wronly, 0).OK()
		s.write(fd, "more").Is(4)
		s.close(fd).OK()
	})
	s.around("d", "getdents64", aOnly, func() {
		fd := s.open("d", rdonly|odir, 0).OK()
		s.listdir(unix.SYS_GETDENTS64, fd, 4096)
		s.close(fd).OK()
	})
	s.around("d", "chdir and stat", none, func() {
		s.chdir("d").OK()
		s.chdir("..").OK()
	})

	// utimensat's own effect on ctime, and UTIME_NOW against the clock.
	before := quiet("f")
	tick()
	start := time.Now().Add(-time.Second)
	s.utimensat(cwd, ptr("f"), []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_OMIT}}, 0).OK()
	after := quiet("f")
	s.timeRel("f after utimensat(UTIME_NOW, UTIME_OMIT)", before, after, "atime advanced, mtime unchanged, ctime advanced")
	recent := func(t unix.Timespec) bool {
		tt := time.Unix(t.Sec, t.Nsec)
		return tt.After(start) && tt.Before(time.Now().Add(time.Second))
	}
	s.check("atime is the current time", recent(after.Atim), true)
	s.check("ctime is the current time", recent(after.Ctim), true)
	s.check("btime/ctime of a new file is the current time", recent(quiet("d/y").Ctim), true)
}

func ptr(p string) *string { return &p }
