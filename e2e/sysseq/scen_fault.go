package main

// Buffers that run into memory the caller cannot access: Linux moves the
// bytes up to the fault and answers with that short count (EFAULT only when
// not one byte moved), and the file or directory position moves by exactly
// what was delivered.

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

func init() {
	register("efault_rw", scenEfaultRW)
	register("efault_vectors", scenEfaultVectors)
	register("efault_getdents", scenEfaultGetdents)
}

// edge is two pages of anonymous memory, the second one PROT_NONE (kept
// mapped, so nothing else can be mapped there meanwhile).
type edge struct {
	mem []byte
	pg  int
}

func newEdge() edge {
	pg := os.Getpagesize()
	m, err := unix.Mmap(-1, 0, 2*pg, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic(fmt.Sprintf("mmap: %v", err))
	}
	if err := unix.Mprotect(m[pg:], unix.PROT_NONE); err != nil {
		panic(fmt.Sprintf("mprotect: %v", err))
	}
	return edge{m, pg}
}

// buf is an n-byte buffer whose first good bytes are accessible and the
// rest is not. Go never touches the inaccessible part; only the kernel
// gets its address.
func (e edge) buf(good, n int) []byte { return e.mem[e.pg-good : e.pg-good+n] }

// fill writes deterministic bytes (starting with c) into the accessible
// part of buf(good, ...).
func (e edge) fill(good int, c byte) {
	for i := range good {
		e.mem[e.pg-good+i] = c + byte(i%26)
	}
}

// got formats the first v bytes of buf(good, ...): only the accessible
// part can be looked at, so a count past it is flagged.
func (e edge) got(good int, v int64) string {
	if v > int64(good) {
		return fmt.Sprintf("(%d bytes past the accessible part) %s", v-int64(good), data(e.buf(good, good)))
	}
	return data(e.buf(good, int(v)))
}

func bufName(good, n int) string {
	if good == 0 {
		return fmt.Sprintf("<%d inaccessible>", n)
	}
	return fmt.Sprintf("<%d ok+%d inaccessible>", good, n-good)
}

func (s *S) readEdge(e edge, fd, good, n int) R {
	v, er := sysRead(fd, e.buf(good, n))
	det := ""
	if er == 0 {
		det = e.got(good, v)
	}
	return s.ret(v, er, det, "read(%d, %s)", fd, bufName(good, n))
}

func (s *S) preadEdge(e edge, fd, good, n int, off int64) R {
	v, er := sysPread(fd, e.buf(good, n), off)
	det := ""
	if er == 0 {
		det = e.got(good, v)
	}
	return s.ret(v, er, det, "pread64(%d, %s, %d)", fd, bufName(good, n), off)
}

func (s *S) writeEdge(e edge, fd, good, n int) R {
	v, er := sysWrite(fd, e.buf(good, n))
	return s.ret(v, er, "", "write(%d, %s)", fd, bufName(good, n))
}

func (s *S) pwriteEdge(e edge, fd, good, n int, off int64) R {
	v, er := sysPwrite(fd, e.buf(good, n), off)
	return s.ret(v, er, "", "pwrite64(%d, %s, %d)", fd, bufName(good, n), off)
}

func (s *S) offset(fd int) R {
	return s.lseek(fd, 0, unix.SEEK_CUR)
}

func scenEfaultRW(s *S) {
	e := newEdge()
	pg := e.pg
	mustWrite("f", pattern(3*pg))
	fd := s.open("f", rdwr, 0).OK()
	// The bytes up to the inaccessible page, and the offset moves by them.
	s.readEdge(e, fd, 100, 300).Is(100)
	s.offset(fd).Is(100)
	// Not one byte: EFAULT, the offset stays.
	s.readEdge(e, fd, 0, 300).Err(unix.EFAULT)
	s.offset(fd).Is(100)
	s.readEdge(e, fd, 1, 300).Is(1)
	s.offset(fd).Is(101)
	// The file range crosses a page of the file as well.
	s.lseek(fd, int64(pg-50), unix.SEEK_SET).Is(int64(pg - 50))
	s.readEdge(e, fd, 100, 300).Is(100)
	s.offset(fd).Is(int64(pg + 50))
	// A whole accessible page and more wanted.
	s.lseek(fd, 10, unix.SEEK_SET).Is(10)
	s.readEdge(e, fd, pg, pg+10).Is(int64(pg))
	s.offset(fd).Is(int64(pg + 10))
	// The file ends inside the accessible part: a plain short read.
	s.lseek(fd, int64(3*pg-20), unix.SEEK_SET).Is(int64(3*pg - 20))
	s.readEdge(e, fd, 100, 300).Is(20)
	// At the end of the file nothing is copied, so nothing faults.
	s.readEdge(e, fd, 0, 300).Is(0)
	s.offset(fd).Is(int64(3 * pg))

	s.preadEdge(e, fd, 100, 300, 1000).Is(100)
	s.preadEdge(e, fd, 0, 300, 1000).Err(unix.EFAULT)
	s.preadEdge(e, fd, 7, 300, int64(2*pg-3)).Is(7)
	s.offset(fd).Is(int64(3 * pg))
	s.close(fd).OK()

	// A hole reads as zeros, up to the fault.
	hfd := s.open("hole", rdwr|creat|trunc, 0o644).OK()
	s.ftruncate(hfd, int64(2*pg)).OK()
	e.fill(100, 'a')
	s.preadEdge(e, hfd, 100, 300, 10).Is(100)
	s.preadEdge(e, hfd, 0, 300, 10).Err(unix.EFAULT)
	s.close(hfd).OK()

	// Writes take the bytes up to the fault.
	wfd := s.open("w", rdwr|creat|trunc, 0o644).OK()
	e.fill(100, 'A')
	s.writeEdge(e, wfd, 100, 300).Is(100)
	s.offset(wfd).Is(100)
	s.writeEdge(e, wfd, 0, 300).Err(unix.EFAULT)
	s.offset(wfd).Is(100)
	s.fstat(wfd)
	s.content("w")
	e.fill(40, 'a')
	s.pwriteEdge(e, wfd, 40, 300, 30).Is(40)
	s.pwriteEdge(e, wfd, 0, 300, 30).Err(unix.EFAULT)
	// Past the end and across a page of the file.
	s.pwriteEdge(e, wfd, 40, 300, int64(pg-20)).Is(40)
	s.fstat(wfd)
	// Linux 6.18 gets the page at the offset before it copies, and the
	// copy that moves nothing still leaves the page and the size at the
	// offset: a write past the end that faults at once grows the file.
	s.pwriteEdge(e, wfd, 0, 300, int64(3*pg)).Err(unix.EFAULT)
	s.offset(wfd).Is(100)
	s.fstat(wfd)
	s.content("w")
	s.close(wfd).OK()

	// O_APPEND: appended up to the fault, and nothing on a wholly bad
	// buffer (the size stays).
	afd := s.open("w", wronly|appnd, 0).OK()
	e.fill(60, 'k')
	s.writeEdge(e, afd, 60, 300).Is(60)
	s.offset(afd).Is(int64(3*pg + 60))
	s.writeEdge(e, afd, 0, 300).Err(unix.EFAULT)
	s.pwriteEdge(e, afd, 5, 300, 0).Is(5)
	s.pwriteEdge(e, afd, 0, 300, 0).Err(unix.EFAULT)
	s.fstat(afd)
	s.content("w")
	s.close(afd).OK()
}

// vecEdge issues a vectored call over parts: a part with ok < 0 is an
// ordinary heap buffer of n bytes, otherwise buf(ok, n) (only one part can
// lie at the edge). Reads print what each part got.
func (s *S) vecEdge(e edge, nr uintptr, fd int, parts [][2]int, off int64) R {
	bufs := make([][]byte, len(parts))
	var shown []string
	for i, p := range parts {
		if p[0] < 0 {
			bufs[i] = make([]byte, p[1])
			if !isRead(nr) {
				for j := range bufs[i] {
					bufs[i][j] = 'H' + byte(j%10)
				}
			}
			shown = append(shown, fmt.Sprint(p[1]))
		} else {
			bufs[i] = e.buf(p[0], p[1])
			shown = append(shown, bufName(p[0], p[1]))
		}
	}
	v, er := sysVec(nr, fd, bufs, len(bufs), off, 0)
	det := ""
	if er == 0 && isRead(nr) {
		left := v
		var got []string
		for i, p := range parts {
			n := min(int64(p[1]), left)
			left -= n
			if p[0] < 0 {
				got = append(got, data(bufs[i][:n]))
			} else {
				got = append(got, e.got(p[0], n))
			}
		}
		det = "[" + strings.Join(got, " ") + "]"
	}
	return s.ret(v, er, det, "%s(%d, [%s]%s)", vecNames[nr], fd, strings.Join(shown, " "), vecArgs(nr, off, 0))
}

func scenEfaultVectors(s *S) {
	e := newEdge()
	mustWrite("f", pattern(1000))
	fd := s.open("f", rdwr, 0).OK()
	// The second element is inaccessible: the first one's bytes.
	s.vecEdge(e, unix.SYS_READV, fd, [][2]int{{-1, 20}, {0, 30}}, 0).Is(20)
	s.offset(fd).Is(20)
	// The first element runs into the fault: the later ones get nothing.
	s.vecEdge(e, unix.SYS_READV, fd, [][2]int{{10, 30}, {-1, 20}}, 0).Is(10)
	s.offset(fd).Is(30)
	s.vecEdge(e, unix.SYS_READV, fd, [][2]int{{0, 30}, {-1, 20}}, 0).Err(unix.EFAULT)
	s.offset(fd).Is(30)
	s.vecEdge(e, unix.SYS_PREADV, fd, [][2]int{{-1, 20}, {0, 30}}, 500).Is(20)
	s.vecEdge(e, unix.SYS_PREADV, fd, [][2]int{{-1, 0}, {5, 30}, {-1, 20}}, 500).Is(5)
	s.vecEdge(e, unix.SYS_PREADV, fd, [][2]int{{0, 30}}, 500).Err(unix.EFAULT)
	s.offset(fd).Is(30)
	s.close(fd).OK()

	wfd := s.open("w", rdwr|creat|trunc, 0o644).OK()
	e.fill(10, 'a')
	s.vecEdge(e, unix.SYS_WRITEV, wfd, [][2]int{{-1, 20}, {0, 30}}, 0).Is(20)
	s.offset(wfd).Is(20)
	s.vecEdge(e, unix.SYS_WRITEV, wfd, [][2]int{{10, 30}, {-1, 20}}, 0).Is(10)
	s.offset(wfd).Is(30)
	s.vecEdge(e, unix.SYS_WRITEV, wfd, [][2]int{{0, 30}, {-1, 20}}, 0).Err(unix.EFAULT)
	s.offset(wfd).Is(30)
	s.vecEdge(e, unix.SYS_PWRITEV, wfd, [][2]int{{-1, 7}, {0, 30}}, 100).Is(7)
	s.vecEdge(e, unix.SYS_PWRITEV, wfd, [][2]int{{0, 30}}, 200).Err(unix.EFAULT)
	s.offset(wfd).Is(30)
	s.fstat(wfd)
	s.content("w")
	s.close(wfd).OK()

	afd := s.open("w", wronly|appnd, 0).OK()
	s.vecEdge(e, unix.SYS_WRITEV, afd, [][2]int{{-1, 4}, {0, 30}}, 0).Is(4)
	s.vecEdge(e, unix.SYS_PWRITEV, afd, [][2]int{{10, 30}, {-1, 4}}, 0).Is(10)
	s.fstat(afd)
	s.content("w")
	s.close(afd).OK()
}

// getdentsEdge reads directory entries into buf(good, n) and prints how
// many were delivered; which ones is up to the file system's order, so the
// names are returned, not printed. Linux does not write a dirent64's
// padding, so the records are parsed from a copy of the accessible part
// (the padding past it reads as zeros).
func (s *S) getdentsEdge(e edge, nr uintptr, fd, good, n int) (R, []dirent) {
	v, er := sysGetdents(nr, fd, e.buf(good, n))
	det := ""
	name := "getdents64"
	if nr != unix.SYS_GETDENTS64 {
		name = "getdents"
	}
	var ds []dirent
	if er == 0 {
		b := make([]byte, v)
		copy(b, e.buf(good, min(good, int(v))))
		if nr == unix.SYS_GETDENTS64 {
			ds = parseDirents64(b)
		} else {
			ds = parseDirentsOld(b)
		}
		det = fmt.Sprintf("%d entries", len(ds))
	}
	return s.ret(v, er, det, "%s(%d, %s)", name, fd, bufName(good, n)), ds
}

func scenEfaultGetdents(s *S) {
	e := newEdge()
	s.mkdir("d", 0o755).OK()
	for i := range 8 {
		mustWrite(fmt.Sprintf("d/e%02d", i), "")
	}
	// With ".", ".." and 3-byte names every record is 24 bytes: the name's
	// NUL is byte 22 of a dirent64 (one byte of padding follows), the type
	// byte 23 of an old dirent.
	dfd := s.open("d", rdonly|odir, 0).OK()
	for _, nr := range []uintptr{unix.SYS_GETDENTS64, unix.SYS_GETDENTS} {
		// Nothing delivered: EFAULT, and the position stays, so a good
		// buffer gets every entry.
		r, _ := s.getdentsEdge(e, nr, dfd, 0, 4096)
		r.Err(unix.EFAULT)
		s.offset(dfd).Is(0)
		r, _ = s.getdentsEdge(e, nr, dfd, 10, 4096)
		r.Err(unix.EFAULT)
		s.offset(dfd).Is(0)
		s.check("entries after EFAULT", len(s.listdir(nr, dfd, 4096)), 10)
		// The records stored before the fault are delivered, and the
		// next call goes on from the first one that was not: together
		// every entry once.
		for _, good := range []int{100, 4*24 + 22, 4*24 + 23, 4*24 + 24} {
			s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
			_, first := s.getdentsEdge(e, nr, dfd, good, 4096)
			rest := s.rest(nr, dfd)
			s.printf("delivered then the rest: %s", fmtDirents(append(first, rest...), true))
		}
		s.lseek(dfd, 0, unix.SEEK_SET).Is(0)
	}
	s.close(dfd).OK()
}

// rest reads a directory fd to the end and prints how many entries came
// (listdir prints the names, which depend on where the listing resumed).
func (s *S) rest(nr uintptr, fd int) []dirent {
	var all []dirent
	for {
		b := make([]byte, 4096)
		v, e := sysGetdents(nr, fd, b)
		if e != 0 {
			s.ret(v, e, "", "rest(%d)", fd)
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
	s.printf("rest of %d until 0: %d entries", fd, len(all))
	return all
}
