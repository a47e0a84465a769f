package emul

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// lendHost lends this process's own fds, as the linked build does: the
// sockets a test makes are the "target's".
type lendHost struct{ fakeHost }

func (lendHost) DupFD(tgid, fd int) (int, error) { return unix.Dup(fd) }

func newSpecialRig(t *testing.T) *rig {
	fs := ramfs.New(ramfs.Options{})
	k := NewKernel([]*Mount{{Path: "/m", FS: fs}}, lendHost{fakeHost{cwd: "/"}})
	k.OnFault = func(m string) { t.Error("fault:", m) }
	t.Cleanup(func() {
		dir := k.special.dir
		k.Cleanup()
		if dir != "" {
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("Cleanup left %s", dir)
			}
		}
	})
	return &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
}

// redirected runs a call that must be redirected and returns the
// redirection.
func (r *rig) redirected(nr int, args ...uint64) *Redirection {
	r.t.Helper()
	res := r.call(nr, args...)
	if res.Action != Redirect || res.Redir == nil {
		r.t.Fatalf("syscall %d%v: got %v err %v, want redirect", nr, args, res.Action, res.Err)
	}
	return res.Redir
}

func TestFIFOOpenIsRedirected(t *testing.T) {
	r := newSpecialRig(t)
	r.ok(unix.SYS_MKNOD, r.mem.str("/m/p"), unix.S_IFIFO|0o640, 0)
	rd := r.redirected(unix.SYS_OPENAT, cwd, r.mem.str("/m/p"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if rd.Nr != unix.SYS_OPENAT || !rd.FIFO || rd.Flags != unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC {
		t.Fatalf("redirection %+v", rd)
	}
	var st unix.Stat_t
	if err := unix.Lstat(rd.Path, &st); err != nil || st.Mode != unix.S_IFIFO|0o640 {
		t.Fatalf("shadow %s: %v mode %o", rd.Path, err, st.Mode)
	}
	// Every open of the inode, by any name, meets in the same pipe.
	r.ok(unix.SYS_LINK, r.mem.str("/m/p"), r.mem.str("/m/q"))
	wd := r.redirected(unix.SYS_OPEN, r.mem.str("/m/q"), unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NONBLOCK, 0o666)
	if wd.Path != rd.Path || wd.Flags != unix.O_WRONLY|unix.O_NONBLOCK {
		t.Fatalf("second open %+v, first %+v", wd, rd)
	}
	rfd, err := unix.Open(rd.Path, rd.Flags, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	wfd, err := unix.Open(wd.Path, wd.Flags, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(wfd, []byte("through"))
	unix.Close(wfd)
	buf := make([]byte, 16)
	if n, _ := unix.Read(rfd, buf); string(buf[:n]) != "through" {
		t.Errorf("read %q", buf[:n])
	}
	// chmod follows; permissions are checked before the open.
	r.ok(unix.SYS_CHMOD, r.mem.str("/m/p"), 0o600)
	r.redirected(unix.SYS_OPENAT, cwd, r.mem.str("/m/p"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if unix.Lstat(rd.Path, &st); st.Mode != unix.S_IFIFO|0o600 {
		t.Errorf("shadow mode %o after chmod 0600", st.Mode)
	}
	r.p.Uid = 1000
	r.errno(syscall.EACCES, unix.SYS_OPENAT, cwd, r.mem.str("/m/p"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	r.p.Uid = 0
	// O_PATH opens the inode itself, as for any file.
	if res := r.call(unix.SYS_OPENAT, cwd, r.mem.str("/m/p"), unix.O_PATH, 0); res.Action != Return || res.Err != 0 {
		t.Errorf("O_PATH open: %v %v", res.Action, res.Err)
	}
	r.errno(syscall.ENOTDIR, unix.SYS_OPENAT, cwd, r.mem.str("/m/p"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
}

func TestSocketInodeCannotBeOpened(t *testing.T) {
	r := newSpecialRig(t)
	r.ok(unix.SYS_MKNOD, r.mem.str("/m/s"), unix.S_IFSOCK|0o600, 0)
	r.errno(syscall.ENXIO, unix.SYS_OPENAT, cwd, r.mem.str("/m/s"), unix.O_RDONLY, 0)
	r.p.Uid = 1000
	r.errno(syscall.EACCES, unix.SYS_OPENAT, cwd, r.mem.str("/m/s"), unix.O_RDONLY, 0)
}

func TestDeviceOpenIsRedirected(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("device nodes need root")
	}
	r := newSpecialRig(t)
	r.ok(unix.SYS_MKNOD, r.mem.str("/m/null"), unix.S_IFCHR|0o666, uint64(unix.Mkdev(1, 3)))
	rd := r.redirected(unix.SYS_OPEN, r.mem.str("/m/null"), unix.O_RDWR, 0)
	if rd.FIFO {
		t.Errorf("device redirection says FIFO")
	}
	fd, err := unix.Open(rd.Path, rd.Flags, 0)
	if err != nil {
		t.Fatalf("open %s: %v", rd.Path, err)
	}
	defer unix.Close(fd)
	if n, err := unix.Write(fd, []byte("gone")); n != 4 || err != nil {
		t.Errorf("write to the null device: %d %v", n, err)
	}
	if n, err := unix.Read(fd, make([]byte, 4)); n != 0 || err != nil {
		t.Errorf("read from the null device: %d %v", n, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("fstat: %v mode %o rdev %x", err, st.Mode, st.Rdev)
	}
}

// sockaddr puts a struct sockaddr_un in the arena and returns its address
// and length (with the NUL, as most callers pass it).
func (r *rig) sockaddr(path string) (uint64, uint64) {
	b := (&Redirection{Path: path}).Sockaddr()
	p := r.mem.alloc(len(b))
	copy(r.mem.bytesAt(p, len(b)), b)
	return p, uint64(len(b))
}

func TestUnixSocketBindConnect(t *testing.T) {
	r := newSpecialRig(t)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/d"), 0o755)
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	a, n := r.sockaddr("/m/d/sock")
	r.ok(unix.SYS_BIND, uint64(ln), a, n)
	st := r.mem.alloc(sizeofStat)
	r.ok(unix.SYS_STAT, r.mem.str("/m/d/sock"), st)
	if mode := le.Uint32(r.mem.bytesAt(st, sizeofStat)[24:]); mode != syscall.S_IFSOCK|0o755 {
		t.Errorf("socket inode mode %o, want %o", mode, syscall.S_IFSOCK|0o755)
	}
	if err := unix.Listen(ln, 4); err != nil {
		t.Fatal(err)
	}
	// The name is taken; a bound socket cannot be bound again.
	r.errno(syscall.EADDRINUSE, unix.SYS_BIND, uint64(ln), a, n)
	a2, n2 := r.sockaddr("/m/d/other")
	r.errno(syscall.EINVAL, unix.SYS_BIND, uint64(ln), a2, n2)
	r.errno(syscall.ENOENT, unix.SYS_STAT, r.mem.str("/m/d/other"), st)

	cl, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cl)
	// Relative to the working directory, which is in the mount.
	r.ok(unix.SYS_CHDIR, r.mem.str("/m/d"))
	ra, rn := r.sockaddr("sock")
	rd := r.redirected(unix.SYS_CONNECT, uint64(cl), ra, rn)
	if rd.Nr != unix.SYS_CONNECT || rd.FD != cl {
		t.Fatalf("redirection %+v", rd)
	}
	if err := unix.Connect(rd.FD, &unix.SockaddrUnix{Name: rd.Path}); err != nil {
		t.Fatal(err)
	}
	sv, _, err := unix.Accept(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sv)
	unix.Write(cl, []byte("ping"))
	buf := make([]byte, 8)
	if n, _ := unix.Read(sv, buf); string(buf[:n]) != "ping" {
		t.Errorf("read %q", buf[:n])
	}
	// Names are the bound path, not the shadow's.
	for _, c := range []struct {
		nr   int
		fd   int
		want string
	}{{unix.SYS_GETSOCKNAME, ln, "/m/d/sock"}, {unix.SYS_GETPEERNAME, cl, "/m/d/sock"}, {unix.SYS_GETSOCKNAME, sv, "/m/d/sock"}} {
		buf := r.mem.alloc(128)
		lp := r.mem.alloc(4)
		le.PutUint32(r.mem.bytesAt(lp, 4), 128)
		r.ok(c.nr, uint64(c.fd), buf, lp)
		l := int(le.Uint32(r.mem.bytesAt(lp, 4)))
		b := r.mem.bytesAt(buf, l)
		if l != 2+len(c.want)+1 || le.Uint16(b) != unix.AF_UNIX || string(b[2:l-1]) != c.want {
			t.Errorf("syscall %d of fd %d: %d bytes %q", c.nr, c.fd, l, b)
		}
	}
	// A short buffer gets what fits and the full length.
	sb := r.mem.alloc(8)
	lp := r.mem.alloc(4)
	le.PutUint32(r.mem.bytesAt(lp, 4), 5)
	r.ok(unix.SYS_GETSOCKNAME, uint64(ln), sb, lp)
	if l := le.Uint32(r.mem.bytesAt(lp, 4)); l != 12 || string(r.mem.bytesAt(sb, 5)[2:]) != "/m/" {
		t.Errorf("short getsockname: len %d %q", l, r.mem.bytesAt(sb, 5))
	}
	// The client is unnamed: the kernel answers.
	if res := r.call(unix.SYS_GETSOCKNAME, uint64(cl), sb, lp); res.Action != Continue {
		t.Errorf("getsockname of an unnamed socket: %v", res.Action)
	}

	// The errors unix_find_bsd gives.
	cases := []struct {
		path string
		want syscall.Errno
	}{
		{"/m/d/missing", syscall.ENOENT},
		{"/m/d/sock/x", syscall.ENOTDIR},
		{"/m/d", syscall.ECONNREFUSED},
		{"/m/d/made", syscall.ECONNREFUSED}, // a socket inode nobody bound
	}
	r.ok(unix.SYS_MKNOD, r.mem.str("/m/d/made"), unix.S_IFSOCK|0o777, 0)
	for _, c := range cases {
		a, n := r.sockaddr(c.path)
		r.errno(c.want, unix.SYS_CONNECT, uint64(cl), a, n)
	}
	r.ok(unix.SYS_CHMOD, r.mem.str("/m/d/sock"), 0o500)
	r.p.Uid = 1000
	r.errno(syscall.EACCES, unix.SYS_CONNECT, uint64(cl), ra, rn)
	r.p.Uid = 0

	// A rename keeps the socket reachable under its new name.
	r.ok(unix.SYS_RENAME, r.mem.str("/m/d/sock"), r.mem.str("/m/d/moved"))
	cl2, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(cl2)
	ma, mn := r.sockaddr("/m/d/moved")
	if rd := r.redirected(unix.SYS_CONNECT, uint64(cl2), ma, mn); rd.Path == "" {
		t.Error("no path")
	}

	// Outside the mounts, abstract, autobind, other families and
	// non-sockets are the kernel's.
	ha, hn := r.sockaddr("/tmp/host.sock")
	aa, an := r.sockaddr("\x00abstract")
	for _, c := range []struct {
		nr       int
		fd       int
		addr, ln uint64
	}{
		{unix.SYS_BIND, cl2, ha, hn},
		{unix.SYS_CONNECT, cl2, ha, hn},
		{unix.SYS_BIND, cl2, aa, an},
		{unix.SYS_BIND, cl2, aa, 2},
		{unix.SYS_CONNECT, 0, ma, mn}, // fd 0 is no socket
		{unix.SYS_CONNECT, 12345, ma, mn},
		{unix.SYS_CONNECT, cl2, ma, 200},
	} {
		if res := r.call(c.nr, uint64(c.fd), c.addr, c.ln); res.Action != Continue {
			t.Errorf("syscall %d fd %d len %d: %v %v, want continue", c.nr, c.fd, c.ln, res.Action, res.Err)
		}
	}
}

func TestBindIntoUnwritableDir(t *testing.T) {
	r := newSpecialRig(t)
	r.ok(unix.SYS_MKDIR, r.mem.str("/m/ro"), 0o555)
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(s)
	r.p.Uid = 1000
	a, n := r.sockaddr("/m/ro/s")
	r.errno(syscall.EACCES, unix.SYS_BIND, uint64(s), a, n)
	a, n = r.sockaddr("/m/nodir/s")
	r.errno(syscall.ENOENT, unix.SYS_BIND, uint64(s), a, n)
	r.p.Uid = 0
	r.p.Umask = 0o077
	a, n = r.sockaddr("/m/ro/s")
	r.ok(unix.SYS_BIND, uint64(s), a, n)
	var st unix.Stat_t
	shadow := r.k.special.shadows
	for _, sh := range shadow {
		if !strings.Contains(sh.path, "/fsshim-special-") {
			t.Errorf("shadow path %s", sh.path)
		}
		if err := unix.Lstat(sh.path, &st); err != nil || st.Mode != unix.S_IFSOCK|0o700 {
			t.Errorf("shadow %s: %v mode %o", sh.path, err, st.Mode)
		}
	}
}
