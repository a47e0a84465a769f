package main

import (
	"golang.org/x/sys/unix"
)

func init() {
	register("open_creat", scenOpenCreat)
	register("openat_dirfd", scenOpenatDirfd)
	register("openat2_resolve", scenOpenat2)
	register("o_tmpfile", scenTmpfile)
	register("umask", scenUmask)
}

const (
	rdonly = unix.O_RDONLY
	wronly = unix.O_WRONLY
	rdwr   = unix.O_RDWR
	creat  = unix.O_CREAT
	excl   = unix.O_EXCL
	trunc  = unix.O_TRUNC
	appnd  = unix.O_APPEND
	odir   = unix.O_DIRECTORY
	nofol  = unix.O_NOFOLLOW
	opath  = unix.O_PATH
	cloex  = unix.O_CLOEXEC
	cwd    = unix.AT_FDCWD
)

func scenOpenCreat(s *S) {
	fd := s.open("a", rdwr|creat|excl, 0o644).OK()
	s.write(fd, "hello").Is(5)
	s.open("a", rdwr|creat|excl, 0o644).Err(unix.EEXIST)
	s.fstat(fd)
	s.close(fd).OK()

	// O_CREAT without O_EXCL opens the existing file; mode is not changed.
	fd2 := s.open("a", rdonly|creat, 0o600).OK()
	s.check("lowest free fd reused", fd2 == fd, true)
	s.read(fd2, 100).Is(5)
	s.fstat(fd2)
	s.close(fd2).OK()

	fd = s.open("a", wronly|trunc, 0).OK()
	s.fstat(fd)
	s.write(fd, "abc").Is(3)
	s.close(fd).OK()

	fd = s.open("a", wronly|appnd, 0).OK()
	s.write(fd, "def").Is(3)
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	s.write(fd, "ghi").Is(3)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(9)
	s.close(fd).OK()
	s.content("a")

	// creat is open(O_CREAT|O_WRONLY|O_TRUNC).
	fd = s.creat("c", 0o600).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.write(fd, "data").Is(4)
	s.read(fd, 1).Err(unix.EBADF)
	s.close(fd).OK()
	fd = s.creat("c", 0o644).OK()
	s.fstat(fd)
	s.close(fd).OK()

	// Linux truncates on O_RDONLY|O_TRUNC too.
	mustWrite("t", "truncate me")
	fd = s.open("t", rdonly|trunc, 0).OK()
	s.fstat(fd)
	s.close(fd).OK()

	s.open("missing", rdonly, 0).Err(unix.ENOENT)
	s.open("nodir/x", wronly|creat, 0o644).Err(unix.ENOENT)
	s.open("a/x", rdonly, 0).Err(unix.ENOTDIR)
	s.open("a/x", wronly|creat, 0o644).Err(unix.ENOTDIR)
	s.open("a/", rdonly, 0).Err(unix.ENOTDIR)
	s.open("new/", wronly|creat, 0o644).Err(unix.EISDIR)
	s.open("a", rdonly|odir, 0).Err(unix.ENOTDIR)
	s.open("", rdonly, 0).Err(unix.ENOENT)
	s.open("d", rdonly|odir|creat, 0o755).Err(unix.EINVAL)

	s.mkdir("d", 0o755).OK()
	fd = s.open("d", rdonly|odir, 0).OK()
	s.fcntl(fd, unix.F_GETFL, 0)
	s.read(fd, 10).Err(unix.EISDIR)
	s.close(fd).OK()
	fd = s.open("d/", rdonly, 0).OK()
	s.close(fd).OK()
	s.open("d", wronly, 0).Err(unix.EISDIR)
	s.open("d", rdwr, 0).Err(unix.EISDIR)
	s.open("d", rdonly|creat, 0o644).Err(unix.EISDIR)
	s.open("d", wronly|creat|excl, 0o644).Err(unix.EEXIST)

	s.symlink("a", "la").OK()
	s.open("la", rdonly|nofol, 0).Err(unix.ELOOP)
	s.open("la", rdonly|creat|excl, 0o644).Err(unix.EEXIST)
	fd = s.open("la", rdonly, 0).OK()
	s.read(fd, 100).Is(9)
	s.close(fd).OK()

	fd = s.open("la", opath|nofol, 0).OK()
	s.fstat(fd)
	s.fcntl(fd, unix.F_GETFL, 0)
	s.read(fd, 1).Err(unix.EBADF)
	s.close(fd).OK()

	fd = s.open("a", opath, 0).OK()
	s.fstat(fd)
	s.read(fd, 1).Err(unix.EBADF)
	s.write(fd, "x").Err(unix.EBADF)
	s.fchmod(fd, 0o600).Err(unix.EBADF)
	s.close(fd).OK()

	fd = s.open("a", rdonly|cloex, 0).OK()
	s.fcntl(fd, unix.F_GETFD, 0)
	fd2 = s.open("a", rdonly, 0).OK()
	s.fcntl(fd2, unix.F_GETFD, 0)
	s.close(fd).OK()
	s.close(fd2).OK()

	// Three opens of one file are three descriptions with their own offsets.
	f1 := s.open("a", rdonly, 0).OK()
	f2 := s.open("a", rdonly, 0).OK()
	s.read(f1, 4).Is(4)
	s.read(f2, 2).Is(2)
	s.lseek(f1, 0, unix.SEEK_CUR).Is(4)
	s.lseek(f2, 0, unix.SEEK_CUR).Is(2)
	s.close(f1).OK()
	s.close(f2).OK()
}

func scenOpenatDirfd(s *S) {
	s.mkdir("d", 0o755).OK()
	s.mkdir("d/e", 0o755).OK()
	mustWrite("d/f", "in d")
	dfd := s.open("d", rdonly|odir, 0).OK()
	fd := s.openat(dfd, "f", rdonly, 0).OK()
	s.read(fd, 100).Is(4)
	s.close(fd).OK()
	fd = s.openat(dfd, "e", rdonly|odir, 0).OK()
	s.close(fd).OK()
	fd = s.openat(dfd, "new", wronly|creat|excl, 0o640).OK()
	s.close(fd).OK()
	s.stat("d/new")
	fd = s.openat(cwd, "d/f", rdonly, 0).OK()
	s.close(fd).OK()
	fd = s.openat(dfd, "../d/f", rdonly, 0).OK()
	s.close(fd).OK()

	ffd := s.open("d/f", rdonly, 0).OK()
	s.openat(ffd, "x", rdonly, 0).Err(unix.ENOTDIR)
	s.openat(ffd, "", rdonly, 0).Err(unix.ENOENT)
	s.close(ffd).OK()

	s.openat(9999, "f", rdonly, 0).Err(unix.EBADF)
	s.openat(-5, "f", rdonly, 0).Err(unix.EBADF)
	// An absolute path ignores dirfd, even a bad one.
	fd = s.openat(9999, s.work+"/d/f", rdonly, 0).OK()
	s.read(fd, 100).Is(4)
	s.close(fd).OK()

	pfd := s.open("d", opath|odir, 0).OK()
	fd = s.openat(pfd, "f", rdonly, 0).OK()
	s.close(fd).OK()
	s.mkdirat(pfd, "m", 0o700).OK()
	s.stat("d/m")
	s.close(pfd).OK()

	s.close(dfd).OK()
	s.openat(dfd, "f", rdonly, 0).Err(unix.EBADF)
	s.mkdirat(dfd, "m2", 0o700).Err(unix.EBADF)
}

func scenOpenat2(s *S) {
	s.mkdir("sub", 0o755).OK()
	s.mkdir("sub/in", 0o755).OK()
	mustWrite("sub/f", "f in sub")
	s.symlink("sub", "lsub").OK()
	s.symlink("f", "sub/lf").OK()
	s.symlink("../sub/f", "sub/up").OK()
	s.symlink(s.work+"/sub/f", "sub/abs").OK()
	dfd := s.open("sub", rdonly|odir, 0).OK()

	fd := s.openat2(cwd, "sub/f", rdonly, 0, 0).OK()
	s.read(fd, 100).Is(8)
	s.close(fd).OK()
	s.openat2(cwd, "lsub/f", rdonly, 0, unix.RESOLVE_NO_SYMLINKS).Err(unix.ELOOP)
	s.openat2(cwd, "sub/lf", rdonly, 0, unix.RESOLVE_NO_SYMLINKS).Err(unix.ELOOP)
	fd = s.openat2(cwd, "sub/lf", opath|nofol, 0, unix.RESOLVE_NO_SYMLINKS).OK()
	s.fstat(fd)
	s.close(fd).OK()
	fd = s.openat2(cwd, "sub/lf", rdonly, 0, unix.RESOLVE_NO_MAGICLINKS|unix.RESOLVE_NO_XDEV).OK()
	s.close(fd).OK()

	fd = s.openat2(dfd, "f", rdonly, 0, unix.RESOLVE_BENEATH).OK()
	s.close(fd).OK()
	fd = s.openat2(dfd, "in/../f", rdonly, 0, unix.RESOLVE_BENEATH).OK()
	s.close(fd).OK()
	fd = s.openat2(dfd, "lf", rdonly, 0, unix.RESOLVE_BENEATH).OK()
	s.close(fd).OK()
	s.openat2(dfd, "../sub/f", rdonly, 0, unix.RESOLVE_BENEATH).Err(unix.EXDEV)
	s.openat2(dfd, "up", rdonly, 0, unix.RESOLVE_BENEATH).Err(unix.EXDEV)
	s.openat2(dfd, "abs", rdonly, 0, unix.RESOLVE_BENEATH).Err(unix.EXDEV)
	s.openat2(dfd, s.work+"/sub/f", rdonly, 0, unix.RESOLVE_BENEATH).Err(unix.EXDEV)
	s.openat2(dfd, "nothere/../f", rdonly, 0, unix.RESOLVE_BENEATH).Err(unix.ENOENT)

	fd = s.openat2(dfd, "/f", rdonly, 0, unix.RESOLVE_IN_ROOT).OK()
	s.read(fd, 100).Is(8)
	s.close(fd).OK()
	fd = s.openat2(dfd, "../../f", rdonly, 0, unix.RESOLVE_IN_ROOT).OK()
	s.close(fd).OK()
	// "up" is "../sub/f": ".." stays at the root, so this is sub/sub/f.
	s.openat2(dfd, "up", rdonly, 0, unix.RESOLVE_IN_ROOT).Err(unix.ENOENT)
	s.openat2(dfd, "abs", rdonly, 0, unix.RESOLVE_IN_ROOT).Err(unix.ENOENT)

	fd = s.openat2(dfd, "new", wronly|creat|excl, 0o640, unix.RESOLVE_BENEATH).OK()
	s.close(fd).OK()
	s.stat("sub/new")
	s.openat2(dfd, "new", wronly|creat|excl, 0o640, 0).Err(unix.EEXIST)

	s.openat2(dfd, "f", rdonly, 0, unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT).Err(unix.EINVAL)
	s.openat2(dfd, "f", rdonly, 0, 1<<10).Err(unix.EINVAL)
	s.openat2(dfd, "f", rdonly, 0o644, 0).Err(unix.EINVAL)
	s.openat2(dfd, "f", rdonly|1<<30, 0, 0).Err(unix.EINVAL)
	s.openat2(dfd, "g", wronly|creat, 0o10000, 0).Err(unix.EINVAL)
	s.openat2sz(dfd, "f", rdonly, 0, 0, 8).Err(unix.EINVAL)
	s.close(dfd).OK()
	s.openat2(dfd, "f", rdonly, 0, 0).Err(unix.EBADF)
}

func scenTmpfile(s *S) {
	s.mkdir("d", 0o755).OK()
	fd := s.open("d", unix.O_TMPFILE|rdwr, 0o600).OK()
	s.write(fd, "anonymous").Is(9)
	s.fstat(fd)
	s.pread(fd, 100, 0).Is(9)
	dfd := s.open("d", rdonly|odir, 0).OK()
	s.listdir(unix.SYS_GETDENTS64, dfd, 4096)
	s.close(dfd).OK()
	mustWrite("f", "x")
	s.open("f", unix.O_TMPFILE|rdwr, 0o600).Err(unix.ENOTDIR)
	s.open("d", unix.O_TMPFILE|rdonly, 0o600).Err(unix.EINVAL)
	if s.uid == 0 {
		// Linking an fd by AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH.
		s.linkat(fd, "", cwd, "d/named", unix.AT_EMPTY_PATH).OK()
		s.stat("d/named")
		s.content("d/named")
		fx := s.open("d", unix.O_TMPFILE|rdwr|excl, 0o600).OK()
		s.linkat(fx, "", cwd, "d/never", unix.AT_EMPTY_PATH).Err(unix.ENOENT)
		s.close(fx).OK()
	}
	s.close(fd).OK()
}

func (s *S) umask(mask int) {
	v, _ := sysFd(unix.SYS_UMASK, uintptr(mask), 0, 0, 0)
	s.printf("umask(%#o) = %#o", mask, v)
}

func scenUmask(s *S) {
	s.umask(0o077)
	fd := s.creat("u1", 0o666).OK()
	s.close(fd).OK()
	s.stat("u1")
	s.mkdir("u2", 0o777).OK()
	s.stat("u2")
	s.umask(0)
	fd = s.creat("u3", 0o777).OK()
	s.close(fd).OK()
	s.stat("u3")
	s.mkdir("u4", 0o7777).OK()
	s.stat("u4")
	fd = s.open("u5", wronly|creat, 0o7777).OK()
	s.close(fd).OK()
	s.stat("u5")
	s.umask(0o027)
	s.mknod("u6", unix.S_IFIFO|0o666, 0).OK()
	s.stat("u6")
	s.symlink("u1", "u7").OK()
	s.lstat("u7")
	s.umask(0o022)
	fd = s.openat2(cwd, "u8", wronly|creat, 0o666, 0).OK()
	s.close(fd).OK()
	s.stat("u8")
	s.note("%s", "umask restored")
}
