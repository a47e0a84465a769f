package main

// Special files at work: FIFOs opened by two processes (or two threads) at
// once, a character device, and AF_UNIX sockets bound to a path. The other
// party runs as a child process of sysseq itself (sysseq -child MODE ...);
// the parent prints what the child printed once it has ended, so the output
// is in one fixed order whatever the timing.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register("unix_socket", scenUnixSocket)
	register("unix_socket_net", scenUnixSocketNet)
}

// child is a running sysseq -child.
type child struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// child starts sysseq -child mode args... in the work directory (the
// kernel's for a native run, fsshim's for the child under fsshim).
func (s *S) child(mode string, args ...string) *child {
	c := &child{cmd: exec.Command(os.Args[0], append([]string{"-child", mode}, args...)...)}
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = os.Stderr
	if err := c.cmd.Start(); err != nil {
		panic(fmt.Sprintf("starting a child: %v", err))
	}
	s.note("child %s started", mode)
	return c
}

// wait waits for the child and prints what it printed.
func (s *S) wait(c *child) {
	err := c.cmd.Wait()
	for _, l := range strings.Split(strings.TrimRight(c.out.String(), "\n"), "\n") {
		s.printf("child: %s", l)
	}
	got := "0"
	if err != nil {
		got = err.Error()
	}
	s.check("child exit status", got, "0")
}

// runChild is sysseq -child MODE ARGS: the other end of a FIFO or socket.
// It prints one line per step and exits 1 when a step fails.
func runChild(mode string, args []string) int {
	fail := func(what string, e error) int {
		fmt.Printf("%s: %v\n", what, e)
		return 1
	}
	switch mode {
	case "fifo-write": // PATH DATA [PID TID: send that thread SIGUSR1 first]
		if len(args) == 4 {
			// Let the thread block in its open first.
			time.Sleep(50 * time.Millisecond)
			pid, _ := strconv.Atoi(args[2])
			tid, _ := strconv.Atoi(args[3])
			unix.Tgkill(pid, tid, unix.SIGUSR1)
			time.Sleep(50 * time.Millisecond)
		}
		fd, e := sysOpen(args[0], unix.O_WRONLY, 0)
		if e != 0 {
			return fail("open for writing", e)
		}
		n, e := sysWrite(int(fd), []byte(args[1]))
		if e != 0 {
			return fail("write", e)
		}
		fmt.Printf("wrote %d bytes\n", n)
		sysClose(int(fd))
	case "fifo-read": // PATH
		fd, e := sysOpen(args[0], unix.O_RDONLY, 0)
		if e != 0 {
			return fail("open for reading", e)
		}
		var got []byte
		buf := make([]byte, 64)
		for {
			n, e := sysRead(int(fd), buf)
			if e != 0 {
				return fail("read", e)
			}
			if n == 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		fmt.Printf("read %q until EOF\n", got)
	case "connect": // PATH MESSAGE
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail("socket", err)
		}
		if _, e := sysSockAddr(unix.SYS_CONNECT, fd, args[0]); e != 0 {
			return fail("connect", e)
		}
		b, l, e := sysSockName(unix.SYS_GETPEERNAME, fd, 128)
		if e != 0 {
			return fail("getpeername", e)
		}
		fmt.Printf("connected, peer %s\n", sunString(b, l))
		if _, e := sysWrite(fd, []byte(args[1])); e != 0 {
			return fail("write", e)
		}
		buf := make([]byte, 64)
		n, e := sysRead(fd, buf)
		if e != 0 {
			return fail("read", e)
		}
		fmt.Printf("read %q\n", buf[:n])
	case "dial": // PATH MESSAGE
		c, err := net.Dial("unix", args[0])
		if err != nil {
			return fail("dial", err)
		}
		fmt.Printf("dialled: local %q remote %q\n", c.LocalAddr().String(), c.RemoteAddr().String())
		c.Write([]byte(args[1]))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			return fail("read", err)
		}
		fmt.Printf("read %q\n", buf[:n])
		c.Close()
	default:
		fmt.Printf("unknown child mode %q\n", mode)
		return 2
	}
	return 0
}

// fifoBlocking opens the FIFO p without O_NONBLOCK while its other end is
// opened by a child process or another thread: each open waits for the
// other, data flows, and the last writer's close is EOF.
func fifoBlocking(s *S, p string) {
	s.note("blocking open for reading; the writer is a child process")
	c := s.child("fifo-write", p, "data from a child")
	r := s.open(p, rdonly, 0).OK()
	s.read(r, 100).Is(17)
	s.read(r, 100).Is(0)
	s.close(r).OK()
	s.wait(c)

	s.note("blocking open for writing; the reader is a child process")
	c = s.child("fifo-read", p)
	w := s.open(p, wronly, 0).OK()
	s.write(w, "data for a child").Is(16)
	s.close(w).OK()
	s.wait(c)

	s.note("the writer is another thread of this process")
	done := make(chan string)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		fd, e := sysOpen(p, wronly, 0)
		if e != 0 {
			done <- "open: " + errName(e)
			return
		}
		sysWrite(int(fd), []byte("from a thread"))
		sysClose(int(fd))
		done <- "wrote"
	}()
	// Which fd each open gets depends on which thread came first (and,
	// under fsshim's unotify transport, on which open returned first):
	// the number is not printed, and the fd is moved to a fixed one.
	fd, e := sysOpen(p, rdonly, 0)
	s.ret(0, e, "", "open(%s, O_RDONLY, 0) = some fd", s.q(p)).OK()
	r = 40
	if _, e := sysDup2(int(fd), r); e == 0 {
		sysClose(int(fd))
	}
	s.read(r, 100).Is(13)
	s.read(r, 100).Is(0)
	s.close(r).OK()
	s.check("writer thread", <-done, "wrote")

	s.note("a signal arrives while the open waits (SA_RESTART)")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGUSR1)
	runtime.LockOSThread()
	c = s.child("fifo-write", p, "after a signal", strconv.Itoa(os.Getpid()), strconv.Itoa(unix.Gettid()))
	r = s.open(p, rdonly, 0).OK()
	runtime.UnlockOSThread()
	s.read(r, 100).Is(14)
	s.read(r, 100).Is(0)
	s.close(r).OK()
	s.wait(c)
	select {
	case <-sig:
		s.check("SIGUSR1 delivered", true, true)
	case <-time.After(10 * time.Second):
		s.check("SIGUSR1 delivered", false, true)
	}
	signal.Stop(sig)

	s.note("O_RDWR never waits")
	rw := s.open(p, rdwr, 0).OK()
	s.write(rw, "loop").Is(4)
	s.read(rw, 100).Is(4)
	s.close(rw).OK()

	s.note("writing with no reader left")
	r = s.open(p, rdonly|unix.O_NONBLOCK, 0).OK()
	w = s.open(p, wronly|unix.O_NONBLOCK, 0).OK()
	s.close(r).OK()
	s.write(w, "x").Err(unix.EPIPE)
	s.close(w).OK()
}

// devNull uses the character device 1:3 (null) made at path.
func devNull(s *S, path string) {
	fd := s.open(path, rdwr, 0).OK()
	s.fstat(fd)
	s.write(fd, "into the null device").Is(20)
	s.read(fd, 10).Is(0)
	s.close(fd).OK()
}

func (s *S) socket(typ int) int {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	name := map[int]string{unix.SOCK_STREAM: "SOCK_STREAM", unix.SOCK_DGRAM: "SOCK_DGRAM"}[typ]
	var e unix.Errno
	if err != nil {
		e = err.(unix.Errno)
	}
	return s.ret(int64(fd), e, "", "socket(AF_UNIX, %s|SOCK_CLOEXEC, 0)", name).OK()
}

func (s *S) sockAddr(nr uintptr, fd int, path string) R {
	v, e := sysSockAddr(nr, fd, path)
	name := map[uintptr]string{unix.SYS_BIND: "bind", unix.SYS_CONNECT: "connect"}[nr]
	return s.ret(v, e, "", "%s(%d, {AF_UNIX, %s})", name, fd, s.q(path))
}

func (s *S) listen(fd, backlog int) R {
	v, e := sysFd(unix.SYS_LISTEN, uintptr(fd), uintptr(backlog), 0, 0)
	return s.ret(v, e, "", "listen(%d, %d)", fd, backlog)
}

func (s *S) accept(fd int) int {
	v, e := sysFd(unix.SYS_ACCEPT4, uintptr(fd), 0, 0, unix.SOCK_CLOEXEC)
	return s.ret(v, e, "", "accept4(%d, NULL, NULL, SOCK_CLOEXEC)", fd).OK()
}

// sunString formats what getsockname or getpeername returned.
func sunString(b []byte, l int) string {
	if len(b) < 2 {
		return fmt.Sprintf("len=%d %q", l, b)
	}
	return fmt.Sprintf("len=%d {family=%d %q}", l, int(b[0])|int(b[1])<<8, b[2:])
}

func (s *S) sockName(nr uintptr, fd, size int) R {
	b, l, e := sysSockName(nr, fd, size)
	name := map[uintptr]string{unix.SYS_GETSOCKNAME: "getsockname", unix.SYS_GETPEERNAME: "getpeername"}[nr]
	det := ""
	if e == 0 {
		det = sunString(s.relWork(b), l)
	}
	return s.ret(0, e, det, "%s(%d, %d)", name, fd, size)
}

// relWork shows the work directory in a returned name as $W.
func (s *S) relWork(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte(s.work), []byte("$W"))
}

func (s *S) peerCred(fd int) {
	uc, e := sysPeerCred(fd)
	det := ""
	if e == 0 {
		det = s.owner(uc.Uid, uc.Gid)
	}
	s.ret(0, e, det, "getsockopt(%d, SO_PEERCRED)", fd).OK()
}

func scenUnixSocket(s *S) {
	s.note("a stream socket bound by a relative path")
	l := s.socket(unix.SOCK_STREAM)
	s.sockAddr(unix.SYS_BIND, l, "srv").OK()
	s.stat("srv")
	s.listen(l, 8).OK()
	s.sockName(unix.SYS_GETSOCKNAME, l, 128).OK()
	s.sockName(unix.SYS_GETSOCKNAME, l, 4).OK()
	s.open("srv", rdonly, 0).Err(unix.ENXIO)
	l2 := s.socket(unix.SOCK_STREAM)
	s.sockAddr(unix.SYS_BIND, l2, "srv").Err(unix.EADDRINUSE)
	s.sockAddr(unix.SYS_BIND, l, "other").Err(unix.EINVAL)
	s.lstat("other")
	s.mkdir("d", 0o755).OK()
	s.sockAddr(unix.SYS_BIND, l2, "nodir/x").Err(unix.ENOENT)
	s.sockAddr(unix.SYS_BIND, l2, "srv/x").Err(unix.ENOTDIR)
	s.sockAddr(unix.SYS_BIND, l2, s.work+"/d/abs").OK()
	s.sockName(unix.SYS_GETSOCKNAME, l2, 128).OK()
	s.close(l2).OK()
	s.symlink("dangling", "link").OK()
	l3 := s.socket(unix.SOCK_STREAM)
	s.sockAddr(unix.SYS_BIND, l3, "link").Err(unix.EADDRINUSE)

	s.note("a child process connects and the two talk")
	c := s.child("connect", "srv", "hello from a child")
	a := s.accept(l)
	s.sockName(unix.SYS_GETSOCKNAME, a, 128).OK()
	s.sockName(unix.SYS_GETPEERNAME, a, 128).OK()
	s.peerCred(a)
	s.read(a, 100).Is(18)
	s.write(a, "hello back").Is(10)
	s.close(a).OK()
	s.wait(c)

	s.note("connect errors")
	cl := s.socket(unix.SOCK_STREAM)
	s.sockAddr(unix.SYS_CONNECT, cl, "missing").Err(unix.ENOENT)
	s.mknod("made", unix.S_IFSOCK|0o644, 0).OK()
	s.sockAddr(unix.SYS_CONNECT, cl, "made").Err(unix.ECONNREFUSED)
	s.sockAddr(unix.SYS_CONNECT, cl, "d").Err(unix.ECONNREFUSED)
	s.sockAddr(unix.SYS_CONNECT, cl, "srv/").Err(unix.ENOTDIR)
	s.sockAddr(unix.SYS_CONNECT, cl, "link").Err(unix.ENOENT)
	dg := s.socket(unix.SOCK_DGRAM)
	s.sockAddr(unix.SYS_CONNECT, dg, "srv").Err(unix.EPROTOTYPE)
	if s.uid != 0 {
		s.chmod("srv", 0o555).OK()
		s.sockAddr(unix.SYS_CONNECT, cl, "srv").Err(unix.EACCES)
		s.chmod("srv", 0o755).OK()
	}

	s.note("a renamed socket is found by its new name; it keeps its bound name")
	s.rename("srv", "moved").OK()
	s.sockAddr(unix.SYS_CONNECT, cl, "moved").OK()
	a = s.accept(l)
	s.sockName(unix.SYS_GETPEERNAME, cl, 128).OK()
	s.write(cl, "x").Is(1)
	s.read(a, 10).Is(1)
	s.close(a).OK()
	s.close(cl).OK()

	s.note("datagrams")
	rcv := s.socket(unix.SOCK_DGRAM)
	s.sockAddr(unix.SYS_BIND, rcv, "d/dgram").OK()
	s.sockAddr(unix.SYS_CONNECT, dg, "d/dgram").OK()
	s.write(dg, "datagram").Is(8)
	s.read(rcv, 100).Is(8)
	s.close(rcv).OK()
	s.note("the name outlives its socket")
	s.lstat("d/dgram")
	dg2 := s.socket(unix.SOCK_DGRAM)
	s.sockAddr(unix.SYS_CONNECT, dg2, "d/dgram").Err(unix.ECONNREFUSED)
	s.unlink("moved").OK()
	s.sockAddr(unix.SYS_CONNECT, dg2, "moved").Err(unix.ENOENT)
	s.close(l).OK()
	for _, fd := range []int{l3, dg, dg2} {
		s.close(fd).OK()
	}
	dfd := s.open(".", rdonly|odir, 0).OK()
	s.listdir(unix.SYS_GETDENTS64, dfd, 4096)
	s.close(dfd).OK()
}

// scenUnixSocketNet uses Go's net package, which asks getsockname for the
// name it listens on and unlinks that name when the listener closes.
func scenUnixSocketNet(s *S) {
	ln, err := net.Listen("unix", "gsock")
	s.check("net.Listen(unix, gsock) error", err, nil)
	if err != nil {
		return
	}
	s.check("listener address", ln.Addr().String(), "gsock")
	s.stat("gsock")
	c := s.child("dial", "gsock", "hi")
	conn, err := ln.Accept()
	s.check("accept error", err, nil)
	if err == nil {
		s.check("accepted local address", conn.LocalAddr().String(), "gsock")
		buf := make([]byte, 16)
		n, _ := conn.Read(buf)
		s.check("read", string(buf[:n]), "hi")
		conn.Write([]byte("ho"))
		conn.Close()
	}
	s.wait(c)
	ln.Close()
	s.note("the listener's close unlinked its name")
	s.lstat("gsock")

	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "gdgram", Net: "unixgram"})
	s.check("net.ListenUnixgram error", err, nil)
	if err != nil {
		return
	}
	s.check("unixgram local address", pc.LocalAddr().String(), "gdgram")
	d, err := net.Dial("unixgram", "gdgram")
	s.check("net.Dial(unixgram) error", err, nil)
	if err == nil {
		s.check("dialled remote address", d.RemoteAddr().String(), "gdgram")
		d.Write([]byte("dgram"))
		buf := make([]byte, 16)
		n, _, _ := pc.ReadFrom(buf)
		s.check("datagram", string(buf[:n]), "dgram")
		d.Close()
	}
	pc.Close()
	s.lstat("gdgram")
}
