package emul

// Special files in a mount: FIFOs, character and block devices, and AF_UNIX
// sockets bound to a path.
//
// ramfs keeps their inodes (name, type, mode, owner, rdev) as tmpfs does;
// what they do once opened or connected to is the host kernel's. For each
// such inode in use emul keeps a real node, its shadow, in a private host
// directory, and the target's call is redirected to the shadow (Redirect):
//
//   - open of a FIFO or device node: emul walks the path and checks
//     permissions in the ramfs as for any file, then answers Redirect with
//     an openat of the shadow and the caller's flags. The ptrace transport
//     rewrites the call into that openat and lets the tracee run it; the
//     unotify transport opens the shadow itself, off its receiving thread
//     and (when fsshim is root) with the target's ids, and injects the fd
//     (ADDFD) when the open returns. Either way the fd
//     the target gets is a real pipe end or device file, not an emulated
//     fd, so the kernel supplies every semantic of it: a blocking open waits
//     for the other end (in the target under ptrace, so signals interrupt
//     it as they would), O_WRONLY|O_NONBLOCK without a reader is ENXIO, the
//     last writer's close is EOF, SIGPIPE, poll, FIONREAD; read, write,
//     ioctl and close of it are answered "continue" because emul does not
//     know the fd. fstat of it describes the shadow: the right type, the
//     inode's permission bits and (where fsshim may chown) owner, the host's
//     device, inode number and times.
//   - bind to a path in a mount (unix_bind_bsd): emul creates the S_IFSOCK
//     inode in the ramfs and binds the target's own socket, which the
//     transport lends it (FDHost), to a fresh shadow path. connect to that
//     inode (unix_find_bsd) is redirected to the shadow path: run by the
//     tracee itself under ptrace, for the target on a borrowed copy of its
//     socket under unotify (it may block while the listener's backlog is
//     full). getsockname and getpeername report the path the socket was
//     bound by, not the shadow's (Go's net package unlinks the name
//     getsockname gives when a listener closes).
//
// Why a redirection and not an fd emul opens itself (InstallHostFD): a
// FIFO open blocks until its other end comes, which emul, holding
// Kernel.mu, must not wait for; and it must block in the target's own call
// for a signal to interrupt it there, which only the ptrace transport can
// arrange (it has no way to hand the tracee an fd of fsshim's anyway).
// Redirect lets each transport run the call where it can wait.
//
// Not routed: sendto and sendmsg with an address (a datagram sent to a path
// without connect first) would put every datagram and every sendmsg of
// every program through fsshim; the kernel looks such a path up on the
// host.
//
// One FIFO's opens must all meet in one pipe, so a shadow lives as long as
// its inode: shadows whose inode has lost its last link are removed now and
// then when new ones are made, and the directory with everything in it by
// Cleanup.
//
// Permissions. emul decides who may open or connect, from the ramfs inode,
// as for any other file; the shadow's own check must then pass whenever
// emul's did, including for a tracee that runs as another user than fsshim
// (a root fsshim's target that called setuid). The directory is mode 0711
// (anyone may pass through, only fsshim may list it) and shadow names carry
// 64 random bits, so a shadow can be opened only by a process told its
// name. Each shadow takes the ramfs inode's owner and permission bits when
// fsshim may give them (as root, or when they are fsshim's own ids), so the
// host's check is the one emul made and fstat looks right; otherwise it is
// mode 0666 and the check is emul's alone.
//
// A device shadow needs a file system that allows device nodes (tmpfs on
// /dev/shm is often mounted nodev) and fsshim as root (CAP_MKNOD): without
// them the host's own node with the same type and number under /dev is
// used.
//
// This file is the only part of emul that makes host syscalls, all of them
// on the private directory or on sockets the transport lent it.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// Redirection is the call a Redirect answer asks the transport to run in
// the target's stead, with its result as the answer.
type Redirection struct {
	// Nr is unix.SYS_OPENAT (open Path with Flags, as openat(AT_FDCWD,
	// Path, Flags, 0): the new fd is the answer; O_CLOEXEC in Flags is
	// the new fd's close-on-exec flag) or unix.SYS_CONNECT (connect the
	// target's socket FD to the AF_UNIX address Path: 0 or the error is
	// the answer).
	Nr    int
	Path  string
	Flags int
	FD    int
	// FIFO: the open is of a FIFO and may block until the other end is
	// opened (unless Flags has O_NONBLOCK or O_RDWR).
	FIFO bool
	// Creds are the caller's credentials as the call was served, copied
	// under emul's lock (dispatch) for a transport that makes the host
	// call with them after emul has let go of it, while another thread's
	// set*id may have the process's own changed (SetIDs).
	Creds Creds
}

// Sockaddr is Path as a struct sockaddr_un, NUL included (connect).
func (r *Redirection) Sockaddr() []byte {
	b := make([]byte, 2+len(r.Path)+1)
	le.PutUint16(b, unix.AF_UNIX)
	copy(b[2:], r.Path)
	return b
}

// FDHost is implemented by a Host that can lend emul a target's file
// descriptor: a duplicate in this process of the same open file (pidfd_getfd
// for a supervised target, dup for the linked build). emul binds a target's
// AF_UNIX socket, and asks it for its name, on the target's behalf.
type FDHost interface {
	DupFD(tgid, fd int) (int, error)
}

// sizeofSockaddrUn is sizeof(struct sockaddr_un).
const sizeofSockaddrUn = 110

// specials is the Kernel's state for special files. Guarded by Kernel.mu.
type specials struct {
	// dir is the private directory ("" until first needed); nodev says
	// its file system refuses device nodes.
	dir    string
	dirErr syscall.Errno
	nodev  bool
	// shadows holds the shadow of each FIFO, device or bound socket
	// inode.
	shadows map[*ramfs.Inode]*shadow
	sweepAt int
	// bound maps a socket shadow's path to the path the socket was bound
	// by (kept after the shadow is removed: the socket keeps its name).
	bound map[string]string
	// devs are the host's device nodes under /dev, by type and number
	// (read once, when no device shadow can be made).
	devs map[devKey]string
}

type shadow struct {
	m    *Mount
	path string
	// The ids and permission bits last given to the node.
	uid, gid, perm uint32
	synced         bool
}

type devKey struct {
	typ  uint32
	rdev uint64
}

// specialDirLocked returns the private directory, making it on first use:
// in /dev/shm (a tmpfs; its short paths fit a sun_path) or os.TempDir(),
// the first that allows device nodes, else the first usable.
func (k *Kernel) specialDirLocked() (string, syscall.Errno) {
	s := &k.special
	if s.dir != "" || s.dirErr != 0 {
		return s.dir, s.dirErr
	}
	base := ""
	for _, b := range []string{"/dev/shm", os.TempDir()} {
		var st unix.Statfs_t
		if unix.Access(b, unix.W_OK|unix.X_OK) != nil || unix.Statfs(b, &st) != nil {
			continue
		}
		if base == "" || st.Flags&unix.ST_NODEV == 0 {
			base = b
		}
		if st.Flags&unix.ST_NODEV == 0 {
			break
		}
	}
	if base == "" {
		base = os.TempDir()
	}
	d, err := os.MkdirTemp(base, "fsshim-special-")
	if err == nil {
		err = os.Chmod(d, 0o711)
	}
	if err != nil {
		k.fault("making the directory for special files: " + err.Error())
		s.dirErr = syscall.EIO
		return "", s.dirErr
	}
	var st unix.Statfs_t
	s.nodev = unix.Statfs(d, &st) != nil || st.Flags&unix.ST_NODEV != 0
	s.dir = d
	s.shadows = map[*ramfs.Inode]*shadow{}
	s.bound = map[string]string{}
	return d, 0
}

func (k *Kernel) fault(msg string) {
	if k.OnFault != nil {
		k.OnFault(msg)
	}
}

// Cleanup removes the private directory of special-file shadows. Call it
// once the targets are gone; fds they still hold keep working.
func (k *Kernel) Cleanup() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.special.dir != "" {
		os.RemoveAll(k.special.dir)
	}
	k.special = specials{dirErr: syscall.ESHUTDOWN}
}

// newShadowPathLocked returns a fresh, unguessable path in the private
// directory.
func (k *Kernel) newShadowPathLocked(kind string) (string, syscall.Errno) {
	dir, e := k.specialDirLocked()
	if e != 0 {
		return "", e
	}
	var r [8]byte
	rand.Read(r[:])
	k.sweepLocked()
	return filepath.Join(dir, kind+hex.EncodeToString(r[:])), 0
}

// sweepLocked removes the shadows of inodes that have lost their last
// link; it runs when the number of shadows has doubled since the last
// sweep, so making shadows stays linear.
func (k *Kernel) sweepLocked() {
	s := &k.special
	if len(s.shadows) < s.sweepAt {
		return
	}
	for n, sh := range s.shadows {
		if sh.m.FS.Getattr(n).Nlink == 0 {
			os.Remove(sh.path)
			delete(s.shadows, n)
		}
	}
	s.sweepAt = 2*len(s.shadows) + 16
}

// syncShadowLocked gives the shadow of n the inode's owner and permission
// bits, or mode 0666 when fsshim may not chown it to that owner.
func (k *Kernel) syncShadowLocked(sh *shadow, n *ramfs.Inode) {
	a := sh.m.FS.Getattr(n)
	perm := a.Mode & 0o777
	if sh.synced && sh.uid == a.Uid && sh.gid == a.Gid && sh.perm == perm {
		return
	}
	sh.uid, sh.gid, sh.perm, sh.synced = a.Uid, a.Gid, perm, true
	if unix.Lchown(sh.path, int(a.Uid), int(a.Gid)) != nil {
		perm = 0o666
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, sh.path, perm, 0); err != nil {
		k.fault("chmod of a special file's shadow: " + err.Error())
	}
}

// shadowLocked returns the host path to open for the FIFO or device node n
// of m, making its shadow when it has none.
func (k *Kernel) shadowLocked(m *Mount, n *ramfs.Inode) (string, syscall.Errno) {
	a := m.FS.Getattr(n)
	typ := a.Mode & syscall.S_IFMT
	if sh := k.special.shadows[n]; sh != nil {
		var st unix.Stat_t
		if unix.Lstat(sh.path, &st) == nil && st.Mode&syscall.S_IFMT == typ {
			k.syncShadowLocked(sh, n)
			return sh.path, 0
		}
		delete(k.special.shadows, n) // removed behind our back
	}
	kind := "p"
	if typ != syscall.S_IFIFO {
		kind = "d"
	}
	p, e := k.newShadowPathLocked(kind)
	if e != 0 {
		return "", e
	}
	var err error
	switch typ {
	case syscall.S_IFIFO:
		err = unix.Mkfifo(p, 0o600)
	case syscall.S_IFCHR, syscall.S_IFBLK:
		if k.special.nodev {
			err = syscall.EACCES
		} else {
			err = unix.Mknod(p, typ|0o600, int(a.Rdev))
		}
		if err != nil {
			// No node of our own: the host's, if it has one.
			if hp := k.devNodeLocked(typ, a.Rdev); hp != "" {
				return hp, 0
			}
			return "", syscall.ENXIO
		}
	default:
		return "", syscall.ENXIO
	}
	if err != nil {
		k.fault("making a special file's shadow: " + err.Error())
		return "", syscall.EIO
	}
	sh := &shadow{m: m, path: p}
	k.special.shadows[n] = sh
	k.syncShadowLocked(sh, n)
	return p, 0
}

// devNodeLocked returns a device node of the host with this type and
// number, from /dev and the directories right below it, or "".
func (k *Kernel) devNodeLocked(typ uint32, rdev uint64) string {
	s := &k.special
	if s.devs == nil {
		s.devs = map[devKey]string{}
		var scan func(dir string, depth int)
		scan = func(dir string, depth int) {
			ents, err := os.ReadDir(dir)
			if err != nil {
				return
			}
			var sub []string
			for _, e := range ents {
				p := filepath.Join(dir, e.Name())
				var st unix.Stat_t
				if unix.Lstat(p, &st) != nil {
					continue
				}
				switch t := st.Mode & syscall.S_IFMT; t {
				case syscall.S_IFCHR, syscall.S_IFBLK:
					key := devKey{t, st.Rdev}
					if _, ok := s.devs[key]; !ok {
						s.devs[key] = p
					}
				case syscall.S_IFDIR:
					if p != "/dev/shm" && p != "/dev/mqueue" { // not device directories
						sub = append(sub, p)
					}
				}
			}
			if depth > 0 {
				for _, d := range sub {
					scan(d, depth-1)
				}
			}
		}
		scan("/dev", 1)
	}
	return s.devs[devKey{typ, rdev}]
}

// openSpecialLocked opens the FIFO, device or socket inode n, whose path,
// permissions and flags openCommon has checked. A socket cannot be opened
// (do_dentry_open: ENXIO); the others are redirected to their shadow.
func (k *Kernel) openSpecialLocked(m *Mount, n *ramfs.Inode, flags int) Result {
	typ := n.Mode() & syscall.S_IFMT
	if typ == syscall.S_IFSOCK {
		return fail(syscall.ENXIO)
	}
	p, e := k.shadowLocked(m, n)
	if e != 0 {
		return fail(e)
	}
	// O_TRUNC means nothing to a FIFO or device (may_open drops it) and
	// O_NOATIME was checked against the inode's owner.
	flags &^= syscall.O_CREAT | syscall.O_EXCL | syscall.O_TRUNC | syscall.O_NOATIME
	return Result{Action: Redirect, Redir: &Redirection{Nr: unix.SYS_OPENAT, Path: p, Flags: flags, FIFO: typ == syscall.S_IFIFO}}
}

// readSunPath reads the struct sockaddr_un of a bind or connect and returns
// its path when it is an AF_UNIX pathname address (unix_mkname_bsd: the
// path ends at the first NUL or at alen). ok is false for anything else: an
// abstract or autobind address, another family, a length or pointer the
// kernel refuses; the kernel answers those the same whatever the mounts.
func readSunPath(mem Memory, addr, alen uint64) (string, bool) {
	n := int(int32(alen))
	if n <= 2 || n > sizeofSockaddrUn {
		return "", false
	}
	b := make([]byte, n)
	if readFull(mem, b, addr) != 0 {
		return "", false
	}
	if le.Uint16(b) != unix.AF_UNIX || b[2] == 0 {
		return "", false
	}
	p := b[2:]
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return string(p), true
}

// unixSocketLocked borrows the target's fd when it is an AF_UNIX socket.
// Otherwise done is set with r the answer: "continue" (the kernel answers
// EBADF, ENOTSOCK or its family's own error without looking at a path), or
// EOPNOTSUPP when the Host cannot lend fds.
func (k *Kernel) unixSocketLocked(c *Call, fd int) (sfd int, r Result, done bool) {
	fh, ok := k.host.(FDHost)
	if !ok {
		return -1, fail(syscall.EOPNOTSUPP), true
	}
	sfd, err := fh.DupFD(c.Proc.Tgid, fd)
	if err != nil {
		return -1, cont(), true
	}
	if dom, err := unix.GetsockoptInt(sfd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_UNIX {
		unix.Close(sfd)
		return -1, cont(), true
	}
	return sfd, Result{}, false
}

// Bind follows bind(2) for an AF_UNIX socket and a pathname address in a
// mount (unix_bind_bsd): the socket inode is made in the ramfs, with mode
// 0777 less the umask, and the socket itself is bound to a shadow path. An
// existing name, even a dangling symlink, is EADDRINUSE; a socket that is
// bound already is EINVAL, and its inode is removed again.
func (k *Kernel) Bind(c *Call) Result {
	name, ok := readSunPath(c.Mem, c.Args[1], c.Args[2])
	if !ok {
		return cont()
	}
	p := c.Proc
	l, e := k.walkLocked(p, atFDCWD, name, lastNoFollow)
	if e == 0 && l.host {
		return k.hostResult(c, l)
	}
	sfd, r, done := k.unixSocketLocked(c, fdArg(c.Args[0]))
	if done {
		return r
	}
	defer unix.Close(sfd)
	if e != 0 {
		return fail(e)
	}
	if l.ino == nil && l.dir != nil && l.m.FS.Getattr(l.dir).Nlink == 0 {
		return fail(syscall.ENOENT) // a removed directory
	}
	if l.node().ok() || l.name == "" {
		return fail(syscall.EADDRINUSE)
	}
	if l.slash {
		return fail(syscall.ENOENT)
	}
	if e := k.mayCreateLocked(p, l.m, l.parent()); e != 0 {
		return fail(e)
	}
	undo, e := k.prepareCreateLocked(&l) // overlay.go
	if e != 0 {
		return fail(e)
	}
	uid, gid := k.ownerLocked(p, l)
	n, err := l.m.FS.Mknod(l.dir, l.name, syscall.S_IFSOCK|(0o777&^p.Umask), 0, uid, gid)
	if err != nil {
		undo()
		return errResult(err)
	}
	hp, e := k.newShadowPathLocked("s")
	if e == 0 {
		if err := unix.Bind(sfd, &unix.SockaddrUnix{Name: hp}); err != nil {
			e = Errno(err)
		}
	}
	if e != 0 {
		l.m.FS.Unlink(l.dir, l.name)
		undo()
		return fail(e)
	}
	sh := &shadow{m: l.m, path: hp}
	k.special.shadows[n] = sh
	k.special.bound[hp] = name
	k.syncShadowLocked(sh, n)
	return ret(0)
}

// Connect follows connect(2) for an AF_UNIX socket and a pathname address
// in a mount (unix_find_bsd): the path must exist (ENOENT...), be writable
// (EACCES) and be a socket inode some socket is bound to (ECONNREFUSED);
// then the connect itself is redirected to the bound socket's shadow,
// where the kernel checks the socket type (EPROTOTYPE), the listener's
// state and backlog.
func (k *Kernel) Connect(c *Call) Result {
	name, ok := readSunPath(c.Mem, c.Args[1], c.Args[2])
	if !ok {
		return cont()
	}
	p := c.Proc
	fd := fdArg(c.Args[0])
	l, e := k.walkLocked(p, atFDCWD, name, followLast)
	if e == 0 && l.host {
		return k.hostResult(c, l)
	}
	sfd, r, done := k.unixSocketLocked(c, fd)
	if done {
		return r
	}
	unix.Close(sfd)
	if e != 0 {
		return fail(e)
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	if e := k.permLocked(p, l.m, l.node(), mayWrite); e != 0 {
		return fail(e)
	}
	if l.ino == nil {
		return fail(syscall.ECONNREFUSED) // an overlay's lower file: nothing bound here
	}
	sh := k.special.shadows[l.ino]
	if l.ino.Mode()&syscall.S_IFMT != syscall.S_IFSOCK || sh == nil {
		return fail(syscall.ECONNREFUSED)
	}
	k.syncShadowLocked(sh, l.ino)
	return Result{Action: Redirect, Redir: &Redirection{Nr: unix.SYS_CONNECT, Path: sh.path, FD: fd}}
}

// Getsockname follows getsockname(2): a socket bound to a path in a mount
// is named by that path, as given to bind.
func (k *Kernel) Getsockname(c *Call) Result { return k.sockName(c, false) }

// Getpeername follows getpeername(2): a peer bound to a path in a mount is
// named by that path.
func (k *Kernel) Getpeername(c *Call) Result { return k.sockName(c, true) }

func (k *Kernel) sockName(c *Call, peer bool) Result {
	if len(k.special.bound) == 0 {
		return cont() // no socket was bound in a mount
	}
	fh, ok := k.host.(FDHost)
	if !ok {
		return cont()
	}
	sfd, err := fh.DupFD(c.Proc.Tgid, fdArg(c.Args[0]))
	if err != nil {
		return cont()
	}
	defer unix.Close(sfd)
	var sa unix.Sockaddr
	if peer {
		sa, err = unix.Getpeername(sfd)
	} else {
		sa, err = unix.Getsockname(sfd)
	}
	su, ok := sa.(*unix.SockaddrUnix)
	if err != nil || !ok {
		return cont()
	}
	name, ok := k.special.bound[su.Name]
	if !ok {
		return cont()
	}
	// move_addr_to_user: at most *addrlen bytes, the full length back.
	blen, e := readU32(c.Mem, c.Args[2])
	if e != 0 || int32(blen) < 0 {
		return cont() // the kernel's EFAULT or EINVAL
	}
	raw := (&Redirection{Path: name}).Sockaddr()
	if n := min(int(blen), len(raw)); n > 0 {
		if e := writeFull(c.Mem, raw[:n], c.Args[1]); e != 0 {
			return fail(e)
		}
	}
	var lb [4]byte
	le.PutUint32(lb[:], uint32(len(raw)))
	return retE(0, writeFull(c.Mem, lb[:], c.Args[2]))
}
