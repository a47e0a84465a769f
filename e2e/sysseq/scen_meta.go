package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

func init() {
	register("truncate", scenTruncate)
	register("fallocate", scenFallocate)
	register("fsync", scenFsync)
	register("chmod", scenChmod)
	register("chown", scenChown)
	register("utimes", scenUtimes)
	register("mknod_fifo", scenMknod)
	register("xattr", scenXattr)
	register("ioctl", scenIoctl)
	register("mmap_private", scenMmapPrivate)
	register("mmap_shared", scenMmapShared)
}

func scenTruncate(s *S) {
	mustWrite("f", "0123456789")
	s.truncate("f", 4).OK()
	s.stat("f")
	s.content("f")
	s.truncate("f", 16384).OK()
	s.stat("f")
	fd := s.open("f", rdwr, 0).OK()
	s.pread(fd, 4, 5000).Is(4)
	s.lseek(fd, 0, unix.SEEK_HOLE).Is(4096)
	s.truncate("f", 2).OK()
	s.truncate("f", 10).OK()
	s.pread(fd, 100, 0).Is(10)
	s.truncate("f", -1).Err(unix.EINVAL)
	s.mkdir("d", 0o755).OK()
	s.truncate("d", 0).Err(unix.EISDIR)
	s.truncate("missing", 0).Err(unix.ENOENT)
	s.truncate("f/x", 0).Err(unix.ENOTDIR)
	s.ftruncate(fd, 3).OK()
	s.fstat(fd)
	s.lseek(fd, 100, unix.SEEK_SET).Is(100)
	s.ftruncate(fd, 0).OK()
	s.lseek(fd, 0, unix.SEEK_CUR).Is(100)
	s.write(fd, "x").Is(1)
	s.fstat(fd)
	s.ftruncate(fd, -1).Err(unix.EINVAL)
	s.close(fd).OK()
	fd = s.open("f", rdonly, 0).OK()
	s.ftruncate(fd, 0).Err(unix.EINVAL)
	s.close(fd).OK()
	fd = s.open("d", rdonly|odir, 0).OK()
	s.ftruncate(fd, 0).Err(unix.EINVAL)
	s.close(fd).OK()
	fd = s.open("f", wronly|appnd, 0).OK()
	s.ftruncate(fd, 1).OK()
	s.close(fd).OK()
	s.symlink("f", "lf").OK()
	s.truncate("lf", 7).OK()
	s.stat("f")
	s.lstat("lf")
}

func scenFallocate(s *S) {
	fd := s.open("f", rdwr|creat|trunc, 0o644).OK()
	s.fallocate(fd, 0, 0, 8192).OK()
	s.fstat(fd)
	s.fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, 8192, 8192).OK()
	s.fstat(fd)
	s.pwrite(fd, "xy", 0).Is(2)
	s.pwrite(fd, "z", 5000).Is(1)
	s.lseek(fd, 0, unix.SEEK_DATA).Is(0)
	s.lseek(fd, 0, unix.SEEK_HOLE)
	s.fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 4096).OK()
	s.fstat(fd)
	s.pread(fd, 2, 0).Is(2)
	s.pread(fd, 1, 5000).Is(1)
	s.lseek(fd, 0, unix.SEEK_DATA)
	s.lseek(fd, 0, unix.SEEK_HOLE).Is(0)
	s.fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 4999, 2).OK()
	s.pread(fd, 3, 4999).Is(3)
	s.fstat(fd)
	s.fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE, 0, 4096).Err(unix.EOPNOTSUPP)
	s.fallocate(fd, unix.FALLOC_FL_ZERO_RANGE, 0, 4096).Err(unix.EOPNOTSUPP)
	s.fallocate(fd, unix.FALLOC_FL_COLLAPSE_RANGE, 0, 4096).Err(unix.EOPNOTSUPP)
	s.fallocate(fd, unix.FALLOC_FL_INSERT_RANGE, 0, 4096).Err(unix.EOPNOTSUPP)
	s.fallocate(fd, 0, 0, 0).Err(unix.EINVAL)
	s.fallocate(fd, 0, -1, 10).Err(unix.EINVAL)
	s.fallocate(fd, 0x1000, 0, 10).Err(unix.EOPNOTSUPP)
	s.fallocate(fd, 0, 100000, 10).OK()
	s.fstat(fd)
	s.fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 1<<20).OK()
	s.fstat(fd)
	s.close(fd).OK()
	fd = s.open("f", rdonly, 0).OK()
	s.fallocate(fd, 0, 0, 10).Err(unix.EBADF)
	s.close(fd).OK()
	fd = s.open("f", wronly|appnd, 0).OK()
	s.fallocate(fd, 0, 0, 10).OK()
	s.fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 10).OK()
	s.close(fd).OK()
}

func scenFsync(s *S) {
	mustWrite("f", "x")
	fd := s.open("f", rdwr, 0).OK()
	s.fdcall(unix.SYS_FSYNC, "fsync", fd).OK()
	s.fdcall(unix.SYS_FDATASYNC, "fdatasync", fd).OK()
	s.fdcall(unix.SYS_SYNCFS, "syncfs", fd).OK()
	v, e := sysFd(unix.SYS_SYNC_FILE_RANGE, uintptr(fd), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	s.ret(v, e, "", "sync_file_range(%d, 0, 0, SYNC_FILE_RANGE_WRITE)", fd).OK()
	v, e = sysFd(unix.SYS_SYNC_FILE_RANGE, uintptr(fd), 0, 0, 0x8)
	s.ret(v, e, "", "sync_file_range(%d, 0, 0, 0x8)", fd).Err(unix.EINVAL)
	v, e = sysFd(unix.SYS_SYNC_FILE_RANGE, uintptr(fd), uintptr(^uint64(0)), 0, unix.SYNC_FILE_RANGE_WRITE)
	s.ret(v, e, "", "sync_file_range(%d, -1, 0, SYNC_FILE_RANGE_WRITE)", fd).Err(unix.EINVAL)
	s.close(fd).OK()
	fd = s.open("f", rdonly, 0).OK()
	s.fdcall(unix.SYS_FSYNC, "fsync", fd).OK()
	s.fdcall(unix.SYS_FDATASYNC, "fdatasync", fd).OK()
	s.close(fd).OK()
	fd = s.open(".", rdonly|odir, 0).OK()
	s.fdcall(unix.SYS_FSYNC, "fsync", fd).OK()
	s.fdcall(unix.SYS_SYNCFS, "syncfs", fd).OK()
	s.close(fd).OK()
	fd = s.open("f", opath, 0).OK()
	s.fdcall(unix.SYS_FSYNC, "fsync", fd).Err(unix.EBADF)
	s.close(fd).OK()
	s.fdcall(unix.SYS_FSYNC, "fsync", 999).Err(unix.EBADF)
}

func scenChmod(s *S) {
	mustWrite("f", "x")
	for _, m := range []uint32{0o600, 0o4755, 0o7777, 0, 0o100644} {
		s.chmod("f", m).OK()
		s.stat("f")
	}
	fd := s.open("f", rdonly, 0).OK()
	s.fchmod(fd, 0o640).OK()
	s.fstat(fd)
	s.close(fd).OK()
	s.fchmodat(cwd, "f", 0o604).OK()
	s.stat("f")
	s.symlink("f", "l").OK()
	s.chmod("l", 0o611).OK()
	s.stat("f")
	s.lstat("l")
	s.fchmodat2(cwd, "l", 0o600, unix.AT_SYMLINK_NOFOLLOW).Err(unix.EOPNOTSUPP)
	s.fchmodat2(cwd, "f", 0o600, unix.AT_SYMLINK_NOFOLLOW).OK()
	s.fchmodat2(cwd, "f", 0o600, 0x1).Err(unix.EINVAL)
	s.chmod("missing", 0o644).Err(unix.ENOENT)
	s.chmod("f/x", 0o644).Err(unix.ENOTDIR)
	s.mkdir("d", 0o755).OK()
	s.chmod("d", 0o2755).OK()
	s.stat("d")
	s.chmod("d", 0o1777).OK()
	s.stat("d")
	pfd := s.open("f", opath, 0).OK()
	s.fchmod(pfd, 0o644).Err(unix.EBADF)
	s.close(pfd).OK()
	dfd := s.open("d", rdonly|odir, 0).OK()
	s.fchmod(dfd, 0o700).OK()
	s.fchmodat(dfd, "../f", 0o444).OK()
	s.stat("f")
	s.stat("d")
	s.close(dfd).OK()
	// A read-only mode does not stop the owner's open descriptors.
	s.chmod("f", 0o644).OK()
	fd = s.open("f", rdwr, 0).OK()
	s.chmod("f", 0).OK()
	s.write(fd, "still").Is(5)
	s.close(fd).OK()
}

func scenChown(s *S) {
	me, mg := int(s.uid), int(s.gid)
	mustWrite("f", "x")
	s.symlink("f", "l").OK()
	s.chown(unix.SYS_CHOWN, "f", me, mg).OK()
	s.stat("f")
	s.chown(unix.SYS_CHOWN, "f", -1, -1).OK()
	fd := s.open("f", rdonly, 0).OK()
	s.fchown(fd, me, -1).OK()
	s.chown(unix.SYS_LCHOWN, "l", me, mg).OK()
	s.lstat("l")
	s.fchownat(cwd, "l", me, mg, unix.AT_SYMLINK_NOFOLLOW).OK()
	s.fchownat(fd, "", me, mg, unix.AT_EMPTY_PATH).OK()
	s.fchownat(fd, "", me, mg, 0).Err(unix.ENOENT)
	s.fchownat(cwd, "f", me, mg, 0x1).Err(unix.EINVAL)
	s.chown(unix.SYS_CHOWN, "missing", me, mg).Err(unix.ENOENT)
	s.chown(unix.SYS_LCHOWN, "missing", me, mg).Err(unix.ENOENT)
	s.close(fd).OK()
	pfd := s.open("f", opath, 0).OK()
	s.fchown(pfd, me, mg).Err(unix.EBADF)
	s.close(pfd).OK()

	// chown clears set-user-ID, and set-group-ID when group-executable,
	// on regular files; not on directories.
	s.chmod("f", 0o6755).OK()
	s.chown(unix.SYS_CHOWN, "f", me, mg).OK()
	s.stat("f")
	s.chmod("f", 0o2745).OK()
	s.chown(unix.SYS_CHOWN, "f", me, mg).OK()
	s.stat("f")
	s.chmod("f", 0o6755).OK()
	s.chown(unix.SYS_CHOWN, "f", -1, -1).OK()
	s.stat("f")
	s.mkdir("d", 0o755).OK()
	s.chmod("d", 0o6755).OK()
	s.chown(unix.SYS_CHOWN, "d", me, mg).OK()
	s.stat("d")
	// Writing clears set-user-ID only for an unprivileged writer.
	s.chmod("f", 0o4755).OK()
	fd = s.open("f", wronly, 0).OK()
	s.write(fd, "w").Is(1)
	s.close(fd).OK()
	s.stat("f")
}

func scenUtimes(s *S) {
	mustWrite("f", "x")
	t := func(sec, nsec int64) unix.Timespec { return unix.Timespec{Sec: sec, Nsec: nsec} }
	f := ptr("f")
	s.utimensat(cwd, f, []unix.Timespec{t(1000000000, 123456789), t(1100000000, 500000000)}, 0).OK()
	s.times("f")
	s.utimensat(cwd, f, []unix.Timespec{t(0, unix.UTIME_OMIT), t(1200000000, 0)}, 0).OK()
	s.times("f")
	s.utimensat(cwd, f, []unix.Timespec{t(1300000000, 1), t(0, unix.UTIME_OMIT)}, 0).OK()
	s.times("f")
	s.utimensat(cwd, f, []unix.Timespec{t(0, unix.UTIME_OMIT), t(0, unix.UTIME_OMIT)}, 0).OK()
	s.times("f")
	s.utimensat(cwd, f, []unix.Timespec{t(-86400, 0), t(4000000000, 999999999)}, 0).OK()
	s.times("f")
	s.utimensat(cwd, f, []unix.Timespec{t(0, 1000000000), t(0, 0)}, 0).Err(unix.EINVAL)
	s.utimensat(cwd, f, []unix.Timespec{t(0, -1), t(0, 0)}, 0).Err(unix.EINVAL)
	s.utimensat(cwd, f, []unix.Timespec{t(0, 0), t(0, 0)}, 0x1).Err(unix.EINVAL)
	s.utimensat(cwd, ptr("missing"), []unix.Timespec{t(0, 0), t(0, 0)}, 0).Err(unix.ENOENT)
	s.times("f")

	s.symlink("f", "l").OK()
	s.utimensat(cwd, ptr("l"), []unix.Timespec{t(1400000000, 0), t(1400000001, 0)}, unix.AT_SYMLINK_NOFOLLOW).OK()
	s.times("l")
	s.times("f")
	s.utimensat(cwd, ptr("l"), []unix.Timespec{t(1500000000, 0), t(1500000001, 0)}, 0).OK()
	// Following l reads it, which may update its atime: print mtime only.
	s.printf("mtime(\"l\") = %s", ts(quiet("l").Mtim))
	s.times("f")

	fd := s.open("f", rdonly, 0).OK()
	s.utimensat(fd, nil, []unix.Timespec{t(1600000000, 0), t(1600000001, 0)}, 0).OK()
	s.times("f")
	s.utimensat(fd, ptr(""), []unix.Timespec{t(1600000002, 0), t(1600000003, 0)}, unix.AT_EMPTY_PATH).OK()
	s.times("f")
	s.close(fd).OK()
	s.mkdir("d", 0o755).OK()
	s.utimensat(cwd, ptr("d"), []unix.Timespec{t(1700000000, 0), t(1700000001, 0)}, 0).OK()
	s.times("d")

	v, e := sysUtime("f", &unix.Utimbuf{Actime: 900000000, Modtime: 950000000})
	s.ret(v, e, "", "utime(\"f\", {900000000, 950000000})").OK()
	s.times("f")
	v, e = sysUtimes("f", []unix.Timeval{{Sec: 1000000001, Usec: 250000}, {Sec: 1000000002, Usec: 750000}})
	s.ret(v, e, "", "utimes(\"f\", [1000000001.250000 1000000002.750000])").OK()
	s.times("f")
	v, e = sysUtimes("f", []unix.Timeval{{Sec: 1, Usec: 1000000}, {Sec: 1, Usec: 0}})
	s.ret(v, e, "", "utimes(\"f\", [1.1000000 1.0])").Err(unix.EINVAL)
	v, e = sysUtime("missing", &unix.Utimbuf{})
	s.ret(v, e, "", "utime(\"missing\", {0, 0})").Err(unix.ENOENT)
	s.times("f")
	before := quiet("f")
	v, e = sysUtime("f", nil)
	s.ret(v, e, "", "utime(\"f\", NULL)").OK()
	after := quiet("f")
	s.check("utime(NULL) moved atime and mtime to now", later(before.Atim, after.Atim) == "advanced" && later(before.Mtim, after.Mtim) == "advanced" && after.Atim == after.Mtim, true)
}

func scenMknod(s *S) {
	s.mknod("p", unix.S_IFIFO|0o644, 0).OK()
	s.stat("p")
	s.mknodat(cwd, "p2", unix.S_IFIFO|0o600, 0).OK()
	s.stat("p2")
	s.mknod("p", unix.S_IFIFO|0o644, 0).Err(unix.EEXIST)
	s.mknod("r", unix.S_IFREG|0o640, 0).OK()
	s.stat("r")
	s.mknod("r0", 0o644, 0).OK()
	s.stat("r0")
	s.mknod("sock", unix.S_IFSOCK|0o644, 0).OK()
	s.stat("sock")
	if s.uid == 0 {
		s.mknod("c", unix.S_IFCHR|0o600, unix.Mkdev(1, 3)).OK()
		s.stat("c")
		devNull(s, "c")
		s.mknod("b", unix.S_IFBLK|0o600, unix.Mkdev(7, 0)).OK()
		s.stat("b")
	} else {
		s.mknod("c", unix.S_IFCHR|0o600, unix.Mkdev(1, 3)).Err(unix.EPERM)
	}
	s.mknod("bad", 0o170000|0o644, 0).Err(unix.EINVAL)
	s.mknod("dir", unix.S_IFDIR|0o755, 0).Err(unix.EPERM)
	s.mknod("nodir/p", unix.S_IFIFO|0o644, 0).Err(unix.ENOENT)

	s.open("p", wronly|unix.O_NONBLOCK, 0).Err(unix.ENXIO)
	r := s.open("p", rdonly|unix.O_NONBLOCK, 0).OK()
	w := s.open("p", wronly|unix.O_NONBLOCK, 0).OK()
	s.fstat(r)
	s.write(w, "through the fifo").Is(16)
	s.read(r, 100).Is(16)
	s.read(r, 100).Err(unix.EAGAIN)
	s.lseek(r, 0, unix.SEEK_SET).Err(unix.ESPIPE)
	s.pread(r, 1, 0).Err(unix.ESPIPE)
	s.ioctlInt(r, ioFIONREAD, "FIONREAD", 0)
	s.write(w, "abc").Is(3)
	s.ioctlInt(r, ioFIONREAD, "FIONREAD", 0)
	s.close(w).OK()
	s.read(r, 100).Is(3)
	s.read(r, 100).Is(0)
	s.close(r).OK()
	fifoBlocking(s, "p")
	s.open("sock", rdonly, 0).Err(unix.ENXIO)
	s.stat("p")
	dfd := s.open(".", rdonly|odir, 0).OK()
	s.listdir(unix.SYS_GETDENTS64, dfd, 4096)
	s.close(dfd).OK()
	s.unlink("p").OK()
	s.unlink("sock").OK()
}

var xattrNames = map[uintptr]string{
	unix.SYS_SETXATTR: "setxattr", unix.SYS_LSETXATTR: "lsetxattr", unix.SYS_FSETXATTR: "fsetxattr",
	unix.SYS_GETXATTR: "getxattr", unix.SYS_LGETXATTR: "lgetxattr", unix.SYS_FGETXATTR: "fgetxattr",
	unix.SYS_LISTXATTR: "listxattr", unix.SYS_LLISTXATTR: "llistxattr", unix.SYS_FLISTXATTR: "flistxattr",
	unix.SYS_REMOVEXATTR: "removexattr", unix.SYS_LREMOVEXATTR: "lremovexattr", unix.SYS_FREMOVEXATTR: "fremovexattr",
}

func (s *S) xtarget(nr uintptr, path string, fd int) string {
	switch nr {
	case unix.SYS_FSETXATTR, unix.SYS_FGETXATTR, unix.SYS_FLISTXATTR, unix.SYS_FREMOVEXATTR:
		return fmt.Sprint(fd)
	}
	return s.q(path)
}

var xattrFlagNames = []flagName{{unix.XATTR_CREATE, "XATTR_CREATE"}, {unix.XATTR_REPLACE, "XATTR_REPLACE"}}

func (s *S) setxattr(nr uintptr, path string, name, val string, flags int) R {
	return s.setxattrFd(nr, path, -1, name, val, flags)
}

func (s *S) setxattrFd(nr uintptr, path string, fd int, name, val string, flags int) R {
	v, e := sysXattr(nr, path, fd, name, []byte(val), flags)
	fs := "0"
	if flags != 0 {
		fs = flagString(flags, xattrFlagNames)
	}
	return s.ret(v, e, "", "%s(%s, %q, %q, %s)", xattrNames[nr], s.xtarget(nr, path, fd), name, val, fs)
}

func (s *S) getxattr(nr uintptr, path string, fd int, name string, n int) R {
	b := make([]byte, n)
	v, e := sysXattr(nr, path, fd, name, b, 0)
	det := ""
	if e == 0 && n > 0 {
		det = data(b[:v])
	}
	return s.ret(v, e, det, "%s(%s, %q, %d)", xattrNames[nr], s.xtarget(nr, path, fd), name, n)
}

// listxattr prints the names sorted; the order is file-system specific.
func (s *S) listxattr(nr uintptr, path string, fd int, n int) R {
	b := make([]byte, n)
	v, e := sysXattr(nr, path, fd, "", b, 0)
	det := ""
	if e == 0 && n > 0 {
		names := strings.Split(strings.TrimSuffix(string(b[:v]), "\x00"), "\x00")
		if v == 0 {
			names = nil
		}
		sort.Strings(names)
		det = fmt.Sprintf("%q", names)
	}
	return s.ret(v, e, det, "%s(%s, %d)", xattrNames[nr], s.xtarget(nr, path, fd), n)
}

func (s *S) removexattr(nr uintptr, path string, fd int, name string) R {
	v, e := sysXattr(nr, path, fd, name, nil, 0)
	return s.ret(v, e, "", "%s(%s, %q)", xattrNames[nr], s.xtarget(nr, path, fd), name)
}

func scenXattr(s *S) {
	mustWrite("f", "x")
	s.listxattr(unix.SYS_LISTXATTR, "f", -1, 100).Is(0)
	s.setxattr(unix.SYS_SETXATTR, "f", "user.a", "1", 0).OK()
	s.getxattr(unix.SYS_GETXATTR, "f", -1, "user.a", 100).Is(1)
	s.getxattr(unix.SYS_GETXATTR, "f", -1, "user.a", 0).Is(1)
	s.getxattr(unix.SYS_GETXATTR, "f", -1, "user.missing", 100).Err(unix.ENODATA)
	s.setxattr(unix.SYS_SETXATTR, "f", "user.a", "2", unix.XATTR_CREATE).Err(unix.EEXIST)
	s.setxattr(unix.SYS_SETXATTR, "f", "user.b", "22", unix.XATTR_REPLACE).Err(unix.ENODATA)
	s.setxattr(unix.SYS_SETXATTR, "f", "user.b", "22", 0).OK()
	s.setxattr(unix.SYS_SETXATTR, "f", "user.a", "replaced", unix.XATTR_REPLACE).OK()
	s.setxattr(unix.SYS_SETXATTR, "f", "user.empty", "", 0).OK()
	s.getxattr(unix.SYS_GETXATTR, "f", -1, "user.empty", 100).Is(0)
	s.listxattr(unix.SYS_LISTXATTR, "f", -1, 100)
	s.listxattr(unix.SYS_LISTXATTR, "f", -1, 0)
	s.listxattr(unix.SYS_LISTXATTR, "f", -1, 3).Err(unix.ERANGE)
	s.getxattr(unix.SYS_GETXATTR, "f", -1, "user.b", 1).Err(unix.ERANGE)
	s.removexattr(unix.SYS_REMOVEXATTR, "f", -1, "user.a").OK()
	s.removexattr(unix.SYS_REMOVEXATTR, "f", -1, "user.a").Err(unix.ENODATA)

	fd := s.open("f", rdonly, 0).OK()
	s.setxattrFd(unix.SYS_FSETXATTR, "", fd, "user.fd", "via fd", 0).OK()
	s.getxattr(unix.SYS_FGETXATTR, "", fd, "user.fd", 100).Is(6)
	s.listxattr(unix.SYS_FLISTXATTR, "", fd, 100)
	s.removexattr(unix.SYS_FREMOVEXATTR, "", fd, "user.fd").OK()
	s.close(fd).OK()
	s.getxattr(unix.SYS_FGETXATTR, "", fd, "user.fd", 100).Err(unix.EBADF)

	s.symlink("f", "l").OK()
	s.setxattr(unix.SYS_LSETXATTR, "l", "user.x", "1", 0).Err(unix.EPERM)
	s.getxattr(unix.SYS_LGETXATTR, "l", -1, "user.x", 100).Err(unix.ENODATA)
	s.getxattr(unix.SYS_GETXATTR, "l", -1, "user.b", 100).Is(2)
	s.listxattr(unix.SYS_LLISTXATTR, "l", -1, 100)
	s.removexattr(unix.SYS_LREMOVEXATTR, "l", -1, "user.b").Err(unix.EPERM)
	s.setxattr(unix.SYS_SETXATTR, "f", "bogus.x", "1", 0).Err(unix.EOPNOTSUPP)
	s.setxattr(unix.SYS_SETXATTR, "f", "", "1", 0).Err(unix.ERANGE)
	s.setxattr(unix.SYS_SETXATTR, "f", "user.x", "1", 0x4).Err(unix.EINVAL)
	s.setxattr(unix.SYS_SETXATTR, "missing", "user.x", "1", 0).Err(unix.ENOENT)
	s.getxattr(unix.SYS_GETXATTR, "missing", -1, "user.x", 10).Err(unix.ENOENT)
	s.mkdir("d", 0o755).OK()
	s.setxattr(unix.SYS_SETXATTR, "d", "user.dir", "yes", 0).OK()
	s.listxattr(unix.SYS_LISTXATTR, "d", -1, 100)
	if s.uid == 0 {
		s.setxattr(unix.SYS_SETXATTR, "f", "trusted.t", "v", 0).OK()
		s.getxattr(unix.SYS_GETXATTR, "f", -1, "trusted.t", 10).Is(1)
		s.listxattr(unix.SYS_LISTXATTR, "f", -1, 100)
	}
	// An xattr survives rename and is shared by hard links.
	s.rename("f", "g").OK()
	s.link("g", "h").OK()
	s.getxattr(unix.SYS_GETXATTR, "h", -1, "user.b", 100).Is(2)
}

func (s *S) ioctlInt(fd int, req uint, name string, in int32) R {
	v, out, e := sysIoctlInt(fd, req, in)
	det := ""
	if e == 0 {
		det = fmt.Sprintf("arg=%d", out)
	}
	return s.ret(v, e, det, "ioctl(%d, %s, &%d)", fd, name, in)
}

func scenIoctl(s *S) {
	mustWrite("f", "0123456789")
	fd := s.open("f", rdwr, 0).OK()
	s.ioctlInt(fd, ioFIONREAD, "FIONREAD", 0).OK()
	s.lseek(fd, 4, unix.SEEK_SET).Is(4)
	s.ioctlInt(fd, ioFIONREAD, "FIONREAD", 0).OK()
	s.lseek(fd, 40, unix.SEEK_SET).Is(40)
	s.ioctlInt(fd, ioFIONREAD, "FIONREAD", 0).OK()
	s.ioctlInt(fd, ioFIGETBSZ, "FIGETBSZ", 0).OK()
	buf := make([]byte, 64)
	v, e := sysIoctlBuf(fd, unix.TCGETS, buf)
	s.ret(v, e, "", "ioctl(%d, TCGETS, buf)", fd).Err(unix.ENOTTY)
	v, e = sysIoctlBuf(fd, 0x12345678, buf)
	s.ret(v, e, "", "ioctl(%d, 0x12345678, buf)", fd).Err(unix.ENOTTY)
	v, e = sysIoctlBuf(fd, unix.TIOCGWINSZ, buf)
	s.ret(v, e, "", "ioctl(%d, TIOCGWINSZ, buf)", fd).Err(unix.ENOTTY)
	s.ioctlInt(fd, unix.FS_IOC_GETFLAGS, "FS_IOC_GETFLAGS", 0)
	v, e = sysFd(unix.SYS_IOCTL, uintptr(fd), ioFIOCLEX, 0, 0)
	s.ret(v, e, "", "ioctl(%d, FIOCLEX)", fd).OK()
	s.fcntl(fd, unix.F_GETFD, 0)
	v, e = sysFd(unix.SYS_IOCTL, uintptr(fd), ioFIONCLEX, 0, 0)
	s.ret(v, e, "", "ioctl(%d, FIONCLEX)", fd).OK()
	s.fcntl(fd, unix.F_GETFD, 0)
	s.ioctlInt(fd, ioFIONBIO, "FIONBIO", 1).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.ioctlInt(fd, ioFIONBIO, "FIONBIO", 0).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.ioctlInt(fd, ioFIOASYNC, "FIOASYNC", 0).OK()
	s.close(fd).OK()
	s.ioctlInt(fd, ioFIONREAD, "FIONREAD", 0).Err(unix.EBADF)
	dfd := s.open(".", rdonly|odir, 0).OK()
	s.ioctlInt(dfd, ioFIONREAD, "FIONREAD", 0)
	s.ioctlInt(dfd, ioFIGETBSZ, "FIGETBSZ", 0)
	s.close(dfd).OK()
	pfd := s.open("f", opath, 0).OK()
	s.ioctlInt(pfd, ioFIONREAD, "FIONREAD", 0).Err(unix.EBADF)
	s.close(pfd).OK()
}

// mmapOp maps fd and prints the call.
func (s *S) mmapOp(fd int, off int64, n int, prot, flags int) ([]byte, R) {
	m, err := unix.Mmap(fd, off, n, prot, flags)
	var e unix.Errno
	if err != nil {
		e = err.(unix.Errno)
	}
	ps := flagString(prot, []flagName{{unix.PROT_READ, "PROT_READ"}, {unix.PROT_WRITE, "PROT_WRITE"}, {unix.PROT_EXEC, "PROT_EXEC"}})
	fs := flagString(flags, []flagName{{unix.MAP_SHARED, "MAP_SHARED"}, {unix.MAP_PRIVATE, "MAP_PRIVATE"}, {unix.MAP_POPULATE, "MAP_POPULATE"}})
	return m, s.ret(0, e, "", "mmap(NULL, %d, %s, %s, %d, %d)", n, ps, fs, fd, off)
}

func (s *S) munmap(m []byte) {
	if err := unix.Munmap(m); err != nil {
		panic(err)
	}
}

func scenMmapPrivate(s *S) {
	content := "hello mmap world\n" + pattern(8000)
	mustWrite("f", content)
	fd := s.open("f", rdonly, 0).OK()
	m, r := s.mmapOp(fd, 0, len(content), unix.PROT_READ, unix.MAP_PRIVATE)
	r.OK()
	s.printf("mapped[0:17] = %q", m[:17])
	s.check("mapping equals file", string(m) == content, true)
	s.munmap(m)
	m, r = s.mmapOp(fd, 4096, 100, unix.PROT_READ, unix.MAP_PRIVATE)
	r.OK()
	s.check("mapping at 4096 equals file[4096:4196]", string(m) == content[4096:4196], true)
	s.munmap(m)
	m, r = s.mmapOp(fd, 0, 100, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	r.OK()
	copy(m, "PRIVATE")
	s.printf("mapped[0:16] = %q", m[:16])
	s.pread(fd, 16, 0).Is(16)
	s.munmap(m)
	// Past the end of the file a mapping reads zeros up to the page end.
	m, r = s.mmapOp(fd, 0, len(content)+10, unix.PROT_READ, unix.MAP_PRIVATE)
	r.OK()
	s.check("bytes past EOF in the last page are zero", bytes.Count(m[len(content):], []byte{0}), 10)
	s.munmap(m)
	_, r = s.mmapOp(fd, 100, 100, unix.PROT_READ, unix.MAP_PRIVATE)
	r.Err(unix.EINVAL)
	_, r = s.mmapOp(fd, 0, 0, unix.PROT_READ, unix.MAP_PRIVATE)
	r.Err(unix.EINVAL)
	_, r = s.mmapOp(fd, 0, 100, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	r.Err(unix.EACCES)
	s.close(fd).OK()
	wfd := s.open("f", wronly, 0).OK()
	_, r = s.mmapOp(wfd, 0, 100, unix.PROT_READ, unix.MAP_PRIVATE)
	r.Err(unix.EACCES)
	s.close(wfd).OK()
	dfd := s.open(".", rdonly|odir, 0).OK()
	_, r = s.mmapOp(dfd, 0, 100, unix.PROT_READ, unix.MAP_PRIVATE)
	r.Err(unix.ENODEV)
	s.close(dfd).OK()
	// The mapping outlives the descriptor and the name.
	fd = s.open("f", rdonly, 0).OK()
	m, r = s.mmapOp(fd, 0, 17, unix.PROT_READ, unix.MAP_PRIVATE)
	r.OK()
	s.close(fd).OK()
	s.unlink("f").OK()
	s.printf("mapped after close and unlink = %q", m[:17])
	s.munmap(m)
}

func scenMmapShared(s *S) {
	mustWrite("f", pattern(8192))
	fd := s.open("f", rdwr, 0).OK()
	m, r := s.mmapOp(fd, 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	r.OK()
	copy(m, "SHARED")
	copy(m[5000:], "middle")
	if err := unix.Msync(m, unix.MS_SYNC); err != nil {
		panic(err)
	}
	s.pread(fd, 6, 0).Is(6)
	s.pread(fd, 6, 5000).Is(6)
	s.pwrite(fd, "WRITE", 100).Is(5)
	s.printf("mapped[100:105] after pwrite = %q", m[100:105])
	fd2 := s.open("f", rdonly, 0).OK()
	m2, r := s.mmapOp(fd2, 0, 8192, unix.PROT_READ, unix.MAP_SHARED)
	r.OK()
	s.printf("second mapping[0:6] = %q", m2[:6])
	copy(m[6:], "+more")
	s.printf("second mapping[0:11] after store = %q", m2[:11])
	s.munmap(m2)
	s.close(fd2).OK()
	s.munmap(m)
	s.close(fd).OK()
	fd = s.open("f", rdonly, 0).OK()
	s.read(fd, 16).Is(16)
	s.close(fd).OK()
	s.stat("f")
	// A private mapping sees writes to pages it has not copied.
	fd = s.open("f", rdwr, 0).OK()
	m, r = s.mmapOp(fd, 0, 8192, unix.PROT_READ, unix.MAP_PRIVATE)
	r.OK()
	s.printf("private mapping[0:6] = %q", m[:6])
	s.pwrite(fd, "LATER", 0).Is(5)
	s.printf("private mapping[0:6] after pwrite = %q", m[:6])
	s.munmap(m)
	s.close(fd).OK()
}

// ioctl numbers of x86_64 that x/sys/unix does not define.
const (
	ioFIONREAD = 0x541b
	ioFIONBIO  = 0x5421
	ioFIONCLEX = 0x5450
	ioFIOCLEX  = 0x5451
	ioFIOASYNC = 0x5452
	ioFIGETBSZ = 0x2
)
