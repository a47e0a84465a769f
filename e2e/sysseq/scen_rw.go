package main

import (
	"golang.org/x/sys/unix"
)

func init() {
	register("rw_basic", scenRWBasic)
	register("rw_vectors", scenRWVectors)
	register("lseek", scenLseek)
	register("unlinked_open", scenUnlinkedOpen)
	register("sendfile_copy_file_range", scenSendfile)
}

// pattern returns n deterministic bytes.
func pattern(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/251)%26)
	}
	return string(b)
}

func scenRWBasic(s *S) {
	fd := s.open("f", rdwr|creat|trunc, 0o644).OK()
	s.write(fd, "hello world").Is(11)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(11)
	s.read(fd, 10).Is(0)
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	s.read(fd, 5).Is(5)
	s.read(fd, 100).Is(6)
	s.read(fd, 100).Is(0)
	s.pread(fd, 5, 6).Is(5)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(11)
	s.pwrite(fd, "W", 6).Is(1)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(11)
	s.pread(fd, 100, 0).Is(11)
	s.pread(fd, 10, 100).Is(0)
	s.pread(fd, 1, -1).Err(unix.EINVAL)
	s.pwrite(fd, "x", -1).Err(unix.EINVAL)
	s.write(fd, "").Is(0)
	s.read(fd, 0).Is(0)
	s.pwrite(fd, "end", 20).Is(3)
	s.fstat(fd)
	s.pread(fd, 100, 0).Is(23)
	s.close(fd).OK()

	fd = s.open("f", rdonly, 0).OK()
	s.write(fd, "x").Err(unix.EBADF)
	s.pwrite(fd, "x", 0).Err(unix.EBADF)
	s.close(fd).OK()
	fd = s.open("f", wronly, 0).OK()
	s.read(fd, 1).Err(unix.EBADF)
	s.pread(fd, 1, 0).Err(unix.EBADF)
	// Overwrite in the middle, keep the rest.
	s.write(fd, "HE").Is(2)
	s.close(fd).OK()
	s.content("f")

	fd = s.open(".", rdonly|odir, 0).OK()
	s.read(fd, 10).Err(unix.EISDIR)
	s.pread(fd, 10, 0).Err(unix.EISDIR)
	s.close(fd).OK()

	// pwrite on an O_APPEND descriptor appends (Linux, see pwrite(2) BUGS).
	fd = s.open("f", wronly|appnd, 0).OK()
	s.pwrite(fd, "P", 0).Is(1)
	s.close(fd).OK()
	s.content("f")

	// A large write and reads across page boundaries.
	big := pattern(100000)
	fd = s.open("big", rdwr|creat|trunc, 0o644).OK()
	s.write(fd, big).Is(100000)
	s.fstat(fd)
	s.pread(fd, 10, 4090).Is(10)
	s.pread(fd, 200000, 0).Is(100000)
	s.lseek(fd, 50000, unix.SEEK_SET).Is(50000)
	s.read(fd, 60000).Is(50000)
	s.close(fd).OK()
}

func scenRWVectors(s *S) {
	fd := s.open("v", rdwr|creat|trunc, 0o644).OK()
	s.writevec(unix.SYS_WRITEV, fd, []string{"ab", "", "cde", "f"}, 0, 0).Is(6)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(6)
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	s.readvec(unix.SYS_READV, fd, []int{2, 0, 3, 10}, 0, 0).Is(6)
	s.preadvCheck(fd)
	s.writevec(unix.SYS_PWRITEV, fd, []string{"XY", "Z"}, 2, 0).Is(3)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(6)
	s.readvec(unix.SYS_PREADV2, fd, []int{10}, 0, 0).Is(6)
	s.lseek(fd, 2, unix.SEEK_SET).Is(2)
	s.readvec(unix.SYS_PREADV2, fd, []int{2}, -1, 0).Is(2)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(4)
	s.writevec(unix.SYS_PWRITEV2, fd, []string{"!"}, -1, 0).Is(1)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(5)
	s.writevec(unix.SYS_PWRITEV2, fd, []string{"++"}, 0, unix.RWF_APPEND).Is(2)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(5)
	s.writevec(unix.SYS_PWRITEV2, fd, []string{"s"}, 1, unix.RWF_DSYNC|unix.RWF_SYNC).Is(1)
	s.content("v")
	s.readvec(unix.SYS_PREADV2, fd, []int{4}, 0, 0x10000).Err(unix.EOPNOTSUPP)
	s.writevec(unix.SYS_PWRITEV2, fd, []string{"x"}, 0, 0x10000).Err(unix.EOPNOTSUPP)
	s.readvec(unix.SYS_READV, fd, nil, 0, 0).Is(0)
	s.readvec(unix.SYS_PREADV, fd, []int{1}, -1, 0).Err(unix.EINVAL)
	many := make([][]byte, 1025)
	v, e := sysVec(unix.SYS_READV, fd, many, 1025, 0, 0)
	s.ret(v, e, "", "readv(%d, 1025 empty iovecs)", fd).Err(unix.EINVAL)
	v, e = sysVec(unix.SYS_READV, fd, many, -1, 0, 0)
	s.ret(v, e, "", "readv(%d, iovcnt=-1)", fd).Err(unix.EINVAL)
	s.close(fd).OK()

	fd = s.open("v", wronly|appnd, 0).OK()
	s.readvec(unix.SYS_READV, fd, []int{1}, 0, 0).Err(unix.EBADF)
	s.writevec(unix.SYS_PWRITEV2, fd, []string{"N"}, 0, unix.RWF_NOAPPEND).Is(1)
	s.writevec(unix.SYS_PWRITEV, fd, []string{"E"}, 0, 0).Is(1)
	s.close(fd).OK()
	s.content("v")
	fd = s.open("v", rdonly, 0).OK()
	s.writevec(unix.SYS_WRITEV, fd, []string{"x"}, 0, 0).Err(unix.EBADF)
	s.close(fd).OK()
}

func (s *S) preadvCheck(fd int) {
	s.readvec(unix.SYS_PREADV, fd, []int{3, 3}, 1, 0).Is(5)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(6)
}

func scenLseek(s *S) {
	fd := s.open("s", rdwr|creat|trunc, 0o644).OK()
	s.lseek(fd, 0, unix.SEEK_END).Is(0)
	s.write(fd, "0123456789").Is(10)
	s.lseek(fd, -3, unix.SEEK_END).Is(7)
	s.read(fd, 10).Is(3)
	s.lseek(fd, 2, unix.SEEK_SET).Is(2)
	s.lseek(fd, 3, unix.SEEK_CUR).Is(5)
	s.lseek(fd, -1, unix.SEEK_SET).Err(unix.EINVAL)
	s.lseek(fd, 0, unix.SEEK_CUR).Is(5)
	s.lseek(fd, -100, unix.SEEK_CUR).Err(unix.EINVAL)
	s.lseek(fd, -11, unix.SEEK_END).Err(unix.EINVAL)
	s.lseek(fd, 0, 7).Err(unix.EINVAL)
	s.lseek(fd, 100, unix.SEEK_SET).Is(100)
	s.read(fd, 10).Is(0)
	s.write(fd, "X").Is(1)
	s.fstat(fd)
	s.pread(fd, 5, 98).Is(3)
	s.lseek(fd, 1<<62, unix.SEEK_SET).Is(1 << 62)
	s.close(fd).OK()

	// Holes and data at page granularity.
	fd = s.open("sparse", rdwr|creat|trunc, 0o644).OK()
	s.pwrite(fd, "A", 0).Is(1)
	s.pwrite(fd, "B", 131072).Is(1)
	s.fstat(fd)
	s.lseek(fd, 0, unix.SEEK_DATA).Is(0)
	s.lseek(fd, 0, unix.SEEK_HOLE).Is(4096)
	s.lseek(fd, 4096, unix.SEEK_DATA).Is(131072)
	s.lseek(fd, 5000, unix.SEEK_HOLE).Is(5000)
	s.lseek(fd, 131072, unix.SEEK_HOLE).Is(131073)
	s.lseek(fd, 131073, unix.SEEK_DATA).Err(unix.ENXIO)
	s.lseek(fd, 200000, unix.SEEK_HOLE).Err(unix.ENXIO)
	s.lseek(fd, -1, unix.SEEK_DATA).Err(unix.ENXIO)
	s.pread(fd, 3, 4095).Is(3)
	s.close(fd).OK()

	fd = s.open("empty", rdwr|creat|trunc, 0o644).OK()
	s.lseek(fd, 0, unix.SEEK_DATA).Err(unix.ENXIO)
	s.lseek(fd, 0, unix.SEEK_HOLE).Err(unix.ENXIO)
	s.lseek(fd, 0, unix.SEEK_END).Is(0)
	s.close(fd).OK()

	fd = s.open("s", rdonly, 0).OK()
	s.lseek(fd, 0, unix.SEEK_HOLE).Is(101)
	s.close(fd).OK()

	fd = s.open(".", rdonly|odir, 0).OK()
	s.lseek(fd, 0, unix.SEEK_SET).Is(0)
	s.close(fd).OK()
	s.lseek(fd, 0, unix.SEEK_SET).Err(unix.EBADF)
}

func scenUnlinkedOpen(s *S) {
	mustWrite("f", "still here")
	fd := s.open("f", rdwr, 0).OK()
	before := quietFd(fd)
	s.unlink("f").OK()
	s.stat("f")
	s.fstat(fd)
	s.read(fd, 100).Is(10)
	s.write(fd, "!").Is(1)
	s.pread(fd, 100, 0).Is(11)
	s.ftruncate(fd, 5).OK()
	s.fstat(fd)
	s.fchmod(fd, 0o600).OK()
	s.fstat(fd)
	mustWrite("f", "new")
	s.sameFile("open unlinked", "new f", before, quiet("f"), false)
	s.content("f")
	if s.uid == 0 {
		s.linkat(fd, "", cwd, "revived", unix.AT_EMPTY_PATH).Err(unix.ENOENT)
	}
	d := s.dup(fd).OK()
	s.close(fd).OK()
	s.pread(d, 100, 0).Is(5)
	s.fstat(d)
	s.close(d).OK()
	dfd := s.open(".", rdonly|odir, 0).OK()
	s.listdir(unix.SYS_GETDENTS64, dfd, 4096)
	s.close(dfd).OK()
}

func (s *S) sendfile(out, in int, off *int64, n int) R {
	offS := "NULL"
	if off != nil {
		offS = "&" + itoa(*off)
	}
	v, e := sysSendfile(out, in, off, n)
	det := ""
	if e == 0 && off != nil {
		det = "off=" + itoa(*off)
	}
	return s.ret(v, e, det, "sendfile(%d, %d, %s, %d)", out, in, offS, n)
}

func (s *S) copyFileRange(in int, offIn *int64, out int, offOut *int64, n int, flags int) R {
	p := func(o *int64) string {
		if o == nil {
			return "NULL"
		}
		return "&" + itoa(*o)
	}
	desc := "copy_file_range(" + itoa(int64(in)) + ", " + p(offIn) + ", " + itoa(int64(out)) + ", " + p(offOut) + ", " + itoa(int64(n)) + ", " + itoa(int64(flags)) + ")"
	v, e := sysCopyFileRange(in, offIn, out, offOut, n, flags)
	det := ""
	if e == 0 && (offIn != nil || offOut != nil) {
		det = "offs=" + p(offIn) + "," + p(offOut)
	}
	return s.ret(v, e, det, "%s", desc)
}

func scenSendfile(s *S) {
	mustWrite("src", "0123456789abcdef")
	in := s.open("src", rdonly, 0).OK()
	out := s.open("dst", wronly|creat|trunc, 0o644).OK()
	s.sendfile(out, in, nil, 4).Is(4)
	s.lseek(in, 0, unix.SEEK_CUR).Is(4)
	s.lseek(out, 0, unix.SEEK_CUR).Is(4)
	off := int64(10)
	s.sendfile(out, in, &off, 100).Is(6)
	s.lseek(in, 0, unix.SEEK_CUR).Is(4)
	s.sendfile(out, in, nil, 100).Is(12)
	s.sendfile(out, in, nil, 100).Is(0)
	s.content("dst")
	neg := int64(-1)
	s.sendfile(out, in, &neg, 1).Err(unix.EINVAL)
	s.sendfile(in, in, nil, 1).Err(unix.EBADF)
	s.sendfile(out, out, nil, 1).Err(unix.EBADF)
	dfd := s.open(".", rdonly|odir, 0).OK()
	s.sendfile(out, dfd, nil, 1).Err(unix.EINVAL)
	s.close(out).OK()

	out = s.open("dst2", rdwr|creat|trunc, 0o644).OK()
	a, b := int64(0), int64(0)
	s.copyFileRange(in, &a, out, &b, 16, 0).Is(16)
	s.lseek(in, 2, unix.SEEK_SET).Is(2)
	s.lseek(out, 0, unix.SEEK_CUR).Is(0)
	s.copyFileRange(in, nil, out, nil, 5, 0).Is(5)
	s.lseek(in, 0, unix.SEEK_CUR).Is(7)
	s.lseek(out, 0, unix.SEEK_CUR).Is(5)
	a, b = 100, 0
	s.copyFileRange(in, &a, out, &b, 5, 0).Is(0)
	a, b = 0, 2
	s.copyFileRange(out, &a, out, &b, 10, 0).Err(unix.EINVAL)
	a, b = 0, 16
	s.copyFileRange(out, &a, out, &b, 8, 0).Is(8)
	a, b = 0, 0
	s.copyFileRange(in, &a, out, &b, 1, 1).Err(unix.EINVAL)
	s.copyFileRange(in, &a, in, &b, 1, 0).Err(unix.EBADF)
	s.copyFileRange(dfd, &a, out, &b, 1, 0).Err(unix.EISDIR)
	s.close(out).OK()
	s.content("dst2")
	out = s.open("dst2", wronly|appnd, 0).OK()
	s.copyFileRange(in, &a, out, nil, 1, 0).Err(unix.EBADF)
	s.close(out).OK()
	s.close(dfd).OK()
	s.close(in).OK()
}
