package linked

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/ramfs"
)

// The handlers' race test: every syscall handler of emul's dispatch table
// is run by several goroutines at once through the linked build, each
// step checking its answers, so that `go test -race ./linked/` sees any
// shared state of emul, ramfs or linked touched without a lock, and a
// wrong answer fails the test as well.
//
// Each worker works in a directory of its own in one mount; the workers
// also share a directory (they create, rename, list and remove distinct
// names in it), a file they all lock (fcntl, OFD and flock locks) and
// write at their own offsets, and an fd they all dup, use and close the
// dups of. The working directory is the process's, so every worker
// changes it to the same shared directory.
//
// Coverage: hrSteps says which syscall numbers each step makes.
// TestLinkedHandlersCoverage checks that list against emul's table (every
// number emul.Handles must be some step's, and no step may claim one emul
// does not handle), so a handler added to the table fails the test until a
// step exercises it; TestLinkedHandlersConcurrent checks that the workers
// did make every number their steps claim, and no handled number they do
// not claim.

const (
	// hrMount is where the test's ramfs is mounted: a path that does not
	// exist on the host, so a call emul wrongly passed to the host
	// kernel fails there (ENOENT) instead of touching anything.
	hrMount   = "/fsshim-handlers-race"
	hrShared  = hrMount + "/shared"
	hrLock    = hrMount + "/lockfile"
	hrDupFile = hrMount + "/dupfile"
	hrWorkers = 4
	// Where the shared file's lock counters live (past every worker's
	// record).
	hrOFDCounter   = 8192
	hrFlockCounter = 8200
)

// Syscall numbers golang.org/x/sys may lack (x86-64).
const (
	sysListxattrat   = 465
	sysRemovexattrat = 466
	sysFileSetattr   = 469
)

// hrStep is one step of a worker's round: the syscall numbers it makes
// (those emul handles), and the step itself.
type hrStep struct {
	name string
	nrs  []int
	// every: the step runs in rounds i with i%every == 0 (the steps
	// that make host objects run less often); 0 means every round.
	every int
	run   func(r *hrWorker, i int) error
}

var hrSteps = []hrStep{
	{"open", []int{unix.SYS_OPEN, unix.SYS_CREAT, unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_CLOSE, unix.SYS_FSTAT, unix.SYS_READLINK}, 0, (*hrWorker).stepOpen},
	{"rw", []int{unix.SYS_OPENAT, unix.SYS_WRITE, unix.SYS_READ, unix.SYS_PWRITE64, unix.SYS_PREAD64, unix.SYS_LSEEK,
		unix.SYS_READV, unix.SYS_WRITEV, unix.SYS_PREADV, unix.SYS_PWRITEV, unix.SYS_PREADV2, unix.SYS_PWRITEV2,
		unix.SYS_FSTAT, unix.SYS_CLOSE}, 0, (*hrWorker).stepRW},
	{"shared-fd", []int{unix.SYS_DUP, unix.SYS_DUP2, unix.SYS_DUP3, unix.SYS_FCNTL, unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE,
		unix.SYS_PWRITE64, unix.SYS_PREAD64, unix.SYS_LSEEK, unix.SYS_FSTAT}, 0, (*hrWorker).stepSharedFD},
	{"fcntl-ioctl", []int{unix.SYS_OPENAT, unix.SYS_WRITE, unix.SYS_FCNTL, unix.SYS_IOCTL, unix.SYS_CLOSE}, 0, (*hrWorker).stepFcntlIoctl},
	{"locks", []int{unix.SYS_FCNTL, unix.SYS_FLOCK, unix.SYS_PWRITE64, unix.SYS_PREAD64}, 0, (*hrWorker).stepLocks},
	{"stat", []int{unix.SYS_OPENAT, unix.SYS_WRITE, unix.SYS_CLOSE, unix.SYS_SYMLINK, unix.SYS_UNLINK,
		unix.SYS_STAT, unix.SYS_LSTAT, unix.SYS_FSTAT, unix.SYS_NEWFSTATAT, unix.SYS_STATX, unix.SYS_STATFS, unix.SYS_FSTATFS,
		unix.SYS_ACCESS, unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2}, 0, (*hrWorker).stepStat},
	{"names", []int{unix.SYS_OPENAT, unix.SYS_WRITE, unix.SYS_READ, unix.SYS_CLOSE, unix.SYS_STAT, unix.SYS_LSTAT,
		unix.SYS_MKDIR, unix.SYS_MKDIRAT, unix.SYS_RMDIR, unix.SYS_UNLINK, unix.SYS_UNLINKAT,
		unix.SYS_RENAME, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, unix.SYS_LINK, unix.SYS_LINKAT,
		unix.SYS_SYMLINK, unix.SYS_SYMLINKAT, unix.SYS_READLINK, unix.SYS_READLINKAT,
		unix.SYS_MKNOD, unix.SYS_MKNODAT}, 0, (*hrWorker).stepNames},
	{"fifo", []int{unix.SYS_MKNOD, unix.SYS_OPEN, unix.SYS_STAT, unix.SYS_UNLINK}, 4, (*hrWorker).stepFIFO},
	{"attrs", []int{unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_SYMLINK, unix.SYS_UNLINK, unix.SYS_STAT, unix.SYS_LSTAT,
		unix.SYS_CHMOD, unix.SYS_FCHMOD, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2,
		unix.SYS_CHOWN, unix.SYS_LCHOWN, unix.SYS_FCHOWN, unix.SYS_FCHOWNAT,
		unix.SYS_UTIMENSAT, unix.SYS_UTIMES, unix.SYS_FUTIMESAT, unix.SYS_UTIME,
		unix.SYS_TRUNCATE, unix.SYS_FTRUNCATE, unix.SYS_FALLOCATE}, 0, (*hrWorker).stepAttrs},
	{"sync", []int{unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNCFS,
		unix.SYS_SYNC_FILE_RANGE, unix.SYS_FADVISE64, unix.SYS_READAHEAD}, 0, (*hrWorker).stepSync},
	{"dents", []int{unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_MKDIR, unix.SYS_RMDIR, unix.SYS_UNLINK, unix.SYS_UNLINKAT,
		unix.SYS_CREAT, unix.SYS_RENAMEAT2, unix.SYS_GETDENTS64, unix.SYS_GETDENTS}, 0, (*hrWorker).stepDents},
	{"cwd", []int{unix.SYS_CHDIR, unix.SYS_FCHDIR, unix.SYS_GETCWD, unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_STAT}, 0, (*hrWorker).stepCwd},
	{"xattr", []int{unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_SYMLINK, unix.SYS_UNLINK,
		unix.SYS_SETXATTR, unix.SYS_GETXATTR, unix.SYS_LISTXATTR, unix.SYS_REMOVEXATTR,
		unix.SYS_LSETXATTR, unix.SYS_LGETXATTR, unix.SYS_LLISTXATTR, unix.SYS_LREMOVEXATTR,
		unix.SYS_FSETXATTR, unix.SYS_FGETXATTR, unix.SYS_FLISTXATTR, unix.SYS_FREMOVEXATTR,
		unix.SYS_SETXATTRAT, unix.SYS_GETXATTRAT, sysListxattrat, sysRemovexattrat}, 0, (*hrWorker).stepXattr},
	{"creds", []int{unix.SYS_UMASK, unix.SYS_SETUID, unix.SYS_SETGID, unix.SYS_SETREUID, unix.SYS_SETREGID,
		unix.SYS_SETGROUPS, unix.SYS_SETRESUID, unix.SYS_SETRESGID, unix.SYS_SETFSUID, unix.SYS_SETFSGID}, 0, (*hrWorker).stepCreds},
	{"mmap-copy", []int{unix.SYS_OPENAT, unix.SYS_WRITE, unix.SYS_CLOSE, unix.SYS_PREAD64, unix.SYS_MMAP,
		unix.SYS_SENDFILE, unix.SYS_COPY_FILE_RANGE, unix.SYS_SPLICE, unix.SYS_TEE}, 0, (*hrWorker).stepMmapCopy},
	{"exec", []int{unix.SYS_OPENAT, unix.SYS_CLOSE, unix.SYS_EXECVE, unix.SYS_EXECVEAT}, 0, (*hrWorker).stepExec},
	{"refused", []int{unix.SYS_OPENAT, unix.SYS_CLOSE,
		unix.SYS_ACCT, unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_SWAPON, unix.SYS_SWAPOFF,
		unix.SYS_QUOTACTL, unix.SYS_QUOTACTL_FD, unix.SYS_FANOTIFY_MARK, unix.SYS_OPEN_TREE, unix.SYS_OPEN_TREE_ATTR,
		unix.SYS_MOVE_MOUNT, unix.SYS_FSCONFIG, unix.SYS_FSPICK, unix.SYS_MOUNT_SETATTR, unix.SYS_CHROOT,
		unix.SYS_NAME_TO_HANDLE_AT, unix.SYS_INOTIFY_ADD_WATCH, unix.SYS_FINIT_MODULE, unix.SYS_KEXEC_FILE_LOAD,
		unix.SYS_LANDLOCK_ADD_RULE, unix.SYS_BPF, unix.SYS_FILE_GETATTR, sysFileSetattr}, 0, (*hrWorker).stepRefused},
	{"socket", []int{unix.SYS_BIND, unix.SYS_CONNECT, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME,
		unix.SYS_LSTAT, unix.SYS_UNLINK}, 4, (*hrWorker).stepSocket},
	{"proc", []int{unix.SYS_OPEN, unix.SYS_READ, unix.SYS_CLOSE}, 25, (*hrWorker).stepProc},
}

// hrHandled lists the syscall numbers emul's dispatch table has a
// handler for.
func hrHandled() []int {
	var nrs []int
	for nr := 0; nr < 1024; nr++ {
		if emul.Handles(nr) {
			nrs = append(nrs, nr)
		}
	}
	return nrs
}

// TestLinkedHandlersCoverage checks hrSteps against emul's dispatch
// table: every handled syscall is made by some step of the concurrent
// workload, and no step claims a syscall emul does not handle.
func TestLinkedHandlersCoverage(t *testing.T) {
	stepOf := map[int]string{}
	for _, s := range hrSteps {
		for _, nr := range s.nrs {
			if !emul.Handles(nr) {
				t.Errorf("step %s claims syscall %d, which emul's table has no handler for", s.name, nr)
			}
			if _, ok := stepOf[nr]; !ok {
				stepOf[nr] = s.name
			}
		}
	}
	handled := hrHandled()
	if len(handled) < 100 {
		t.Fatalf("emul handles only %d syscalls: the table lookup is broken", len(handled))
	}
	for _, nr := range handled {
		if _, ok := stepOf[nr]; !ok {
			t.Errorf("syscall %d has a handler in emul's table but no step of hrSteps (handlers_race_test.go) exercises it", nr)
		}
	}
}

// hrSharedState is what the workers share besides the mount.
type hrSharedState struct {
	// dupFD is an fd on hrDupFile every worker dups; it stays open.
	dupFD int
}

// hrWorker is one goroutine's state. Everything whose address goes into
// a syscall lives here, on the heap (a goroutine's stack moves), and is
// kept alive by the worker.
type hrWorker struct {
	l      *Linked
	w      int
	dir    string // the worker's own directory
	sh     *hrSharedState
	seen   map[int]int
	keep   [][]byte // C strings and buffers of the current step
	euid   int
	egid   int
	pid    int
	uidTo  uint32 // the owner chown gives the worker's files
	gidTo  uint32
	uidTo2 uint32
	gidTo2 uint32

	// Locks: two descriptions of hrLock, open for the whole run.
	lockFD, lockFD2 int
	ofdWins         int // times this worker held the OFD lock on the counter
	flockWins       int

	buf    [4096]byte
	buf2   [4096]byte
	dbuf   [4096]byte
	st     unix.Stat_t
	stx    unix.Statx_t
	sfs    unix.Statfs_t
	sfs2   unix.Statfs_t
	how    unix.OpenHow
	iov    [2]unix.Iovec
	iobufA [16]byte
	iobufB [16]byte
	flk    unix.Flock_t
	ts     [2]unix.Timespec
	tv     [2]unix.Timeval
	utb    unix.Utimbuf
	xargs  [16]byte // struct xattr_args
	fattr  [32]byte // struct file_attr
	misc   [256]byte
	off    [2]int64
	ival   int32
	alen   uint32
	sa     [110]byte // struct sockaddr_un
}

func newHRWorker(l *Linked, w int, sh *hrSharedState) *hrWorker {
	r := &hrWorker{l: l, w: w, sh: sh, seen: map[int]int{}, dir: fmt.Sprintf("%s/w%d", hrMount, w)}
	r.euid, r.egid, r.pid = os.Geteuid(), os.Getegid(), os.Getpid()
	r.uidTo, r.gidTo = uint32(r.euid), uint32(r.egid)
	r.uidTo2, r.gidTo2 = r.uidTo, r.gidTo
	if r.euid == 0 {
		// root may give its files to anyone.
		r.uidTo, r.gidTo = uint32(1000+w), uint32(2000+w)
		r.uidTo2, r.gidTo2 = uint32(1100+w), uint32(2100+w)
	}
	return r
}

// sys makes one syscall through linked and counts it.
func (r *hrWorker) sys(nr int, a ...uintptr) (int64, syscall.Errno) {
	var x [6]uintptr
	copy(x[:], a)
	r.seen[nr]++
	return r.l.Syscall(nr, x[0], x[1], x[2], x[3], x[4], x[5])
}

// cs returns the address of a NUL-terminated copy of s, kept until the
// step ends.
func (r *hrWorker) cs(s string) uintptr {
	b := append([]byte(s), 0)
	r.keep = append(r.keep, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

// bytesAt returns the address of a copy of b, kept until the step ends.
func (r *hrWorker) bytesAt(b []byte) uintptr {
	c := append([]byte(nil), b...)
	if len(c) == 0 {
		c = make([]byte, 1)
	}
	r.keep = append(r.keep, c)
	return uintptr(unsafe.Pointer(&c[0]))
}

func (r *hrWorker) p(rel string) string { return r.dir + "/" + rel }

func addr(p unsafe.Pointer) uintptr { return uintptr(p) }

const (
	negOne = ^uintptr(0) // -1 in a register
)

// chk collects a step's first failed check; later checks are skipped.
type chk struct {
	err error
}

func (c *chk) failf(format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, a...)
	}
}

// ok wants success and, when want >= 0, the value want.
func (c *chk) ok(what string, v int64, e syscall.Errno, want int64) int64 {
	if c.err != nil {
		return v
	}
	if e != 0 {
		c.failf("%s: %v (errno %d), want %d", what, e, int(e), want)
	} else if want >= 0 && v != want {
		c.failf("%s = %d, want %d", what, v, want)
	}
	return v
}

// errno wants the call to fail with one of the errnos.
func (c *chk) errno(what string, v int64, e syscall.Errno, want ...syscall.Errno) {
	if c.err != nil {
		return
	}
	for _, w := range want {
		if e == w {
			return
		}
	}
	if e == 0 {
		c.failf("%s = %d, want %v", what, v, want)
	} else {
		c.failf("%s: %v (errno %d), want %v", what, e, int(e), want)
	}
}

// that fails the step with msg unless cond.
func (c *chk) that(cond bool, format string, a ...any) {
	if !cond {
		c.failf(format, a...)
	}
}

// fd wants a new emulated fd; on failure it returns -1, on which any
// later call fails harmlessly (EBADF).
func (c *chk) fd(what string, v int64, e syscall.Errno) int {
	if e != 0 || v < FDBase {
		c.failf("%s = %d, %v; want an emulated fd (>= %d)", what, v, e, FDBase)
		return -1
	}
	return int(v)
}

// open is openat(AT_FDCWD, path, flags, mode).
func (r *hrWorker) open(c *chk, path string, flags int, mode uint32) int {
	v, e := r.sys(unix.SYS_OPENAT, atFDCWD, r.cs(path), uintptr(flags), uintptr(mode))
	return c.fd("open "+path, v, e)
}

func (r *hrWorker) close(c *chk, fd int) {
	if fd < 0 {
		return
	}
	v, e := r.sys(unix.SYS_CLOSE, uintptr(fd))
	c.ok(fmt.Sprintf("close(%d)", fd), v, e, 0)
}

// mkfile makes path with data (truncating it).
func (r *hrWorker) mkfile(c *chk, path string, data []byte, mode uint32) {
	fd := r.open(c, path, unix.O_CREAT|unix.O_TRUNC|unix.O_WRONLY, mode)
	if len(data) > 0 {
		v, e := r.sys(unix.SYS_WRITE, uintptr(fd), r.bytesAt(data), uintptr(len(data)))
		c.ok("write "+path, v, e, int64(len(data)))
	}
	r.close(c, fd)
}

// content reads the whole of fd from offset 0 (pread).
func (r *hrWorker) content(c *chk, fd int) []byte {
	v, e := r.sys(unix.SYS_PREAD64, uintptr(fd), addr(unsafe.Pointer(&r.buf2[0])), uintptr(len(r.buf2)), 0)
	c.ok("pread", v, e, -1)
	if e != 0 || v < 0 {
		return nil
	}
	return append([]byte(nil), r.buf2[:v]...)
}

func (r *hrWorker) stat(c *chk, nr int, path string) *unix.Stat_t {
	r.st = unix.Stat_t{}
	v, e := r.sys(nr, r.cs(path), addr(unsafe.Pointer(&r.st)))
	c.ok(fmt.Sprintf("stat(%d) %s", nr, path), v, e, 0)
	return &r.st
}

func (r *hrWorker) fstat(c *chk, fd int) *unix.Stat_t {
	r.st = unix.Stat_t{}
	v, e := r.sys(unix.SYS_FSTAT, uintptr(fd), addr(unsafe.Pointer(&r.st)))
	c.ok(fmt.Sprintf("fstat(%d)", fd), v, e, 0)
	return &r.st
}

// priv is the errno of a refused call that needs a capability.
func (r *hrWorker) priv(e syscall.Errno) syscall.Errno {
	if r.euid != 0 {
		return syscall.EPERM
	}
	return e
}

// stepOpen: the open family, O_TMPFILE, the readlink of an fd's magic
// link, and the errors of a missing and an existing file.
func (r *hrWorker) stepOpen(i int) error {
	c := &chk{}
	f := r.p("f")
	v, e := r.sys(unix.SYS_OPEN, r.cs(f), unix.O_CREAT|unix.O_RDWR|unix.O_TRUNC, 0o644)
	fd1 := c.fd("open", v, e)
	v, e = r.sys(unix.SYS_CREAT, r.cs(r.p("c")), 0o600)
	fd2 := c.fd("creat", v, e)
	st := r.fstat(c, fd2)
	c.that(c.err != nil || st.Mode == unix.S_IFREG|0o600 && st.Size == 0, "fstat of a creat'ed file: mode %o size %d", st.Mode, st.Size)
	// Relative to the working directory, the shared directory.
	v, e = r.sys(unix.SYS_OPENAT, atFDCWD, r.cs(fmt.Sprintf("../w%d", r.w)), unix.O_RDONLY|unix.O_DIRECTORY)
	dfd := c.fd("openat of the own directory", v, e)
	v, e = r.sys(unix.SYS_OPENAT, uintptr(dfd), r.cs("f"), unix.O_RDONLY)
	fd3 := c.fd("openat(dfd, f)", v, e)
	ino1, ino3 := r.fstat(c, fd1).Ino, r.fstat(c, fd3).Ino
	c.that(c.err != nil || ino1 == ino3, "open and openat of one file: inodes %d and %d", ino1, ino3)
	r.how = unix.OpenHow{Flags: unix.O_RDONLY, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS}
	v, e = r.sys(unix.SYS_OPENAT2, uintptr(dfd), r.cs("f"), addr(unsafe.Pointer(&r.how)), unix.SizeofOpenHow)
	fd4 := c.fd("openat2 beneath", v, e)
	v, e = r.sys(unix.SYS_OPENAT2, uintptr(dfd), r.cs("../w0/f"), addr(unsafe.Pointer(&r.how)), unix.SizeofOpenHow)
	c.errno("openat2 of ../ beneath", v, e, syscall.EXDEV)
	v, e = r.sys(unix.SYS_OPENAT, uintptr(dfd), r.cs("."), unix.O_TMPFILE|unix.O_RDWR, 0o600)
	fd5 := c.fd("O_TMPFILE", v, e)
	st = r.fstat(c, fd5)
	c.that(c.err != nil || st.Nlink == 0 && st.Mode == unix.S_IFREG|0o600, "O_TMPFILE file: nlink %d mode %o", st.Nlink, st.Mode)
	// /proc/self/fd/N of an emulated fd names the file.
	v, e = r.sys(unix.SYS_READLINK, r.cs(fmt.Sprintf("/proc/self/fd/%d", fd1)), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	if c.ok("readlink of /proc/self/fd", v, e, int64(len(f))); c.err == nil && string(r.buf[:v]) != f {
		c.failf("readlink of /proc/self/fd/%d = %q, want %q", fd1, r.buf[:v], f)
	}
	v, e = r.sys(unix.SYS_OPEN, r.cs(r.p("missing")), unix.O_RDONLY)
	c.errno("open of a missing file", v, e, syscall.ENOENT)
	v, e = r.sys(unix.SYS_OPENAT, uintptr(dfd), r.cs("f"), unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o644)
	c.errno("O_EXCL open of an existing file", v, e, syscall.EEXIST)
	v, e = r.sys(unix.SYS_OPENAT, uintptr(dfd), r.cs("f"), unix.O_RDONLY|unix.O_DIRECTORY)
	c.errno("O_DIRECTORY open of a file", v, e, syscall.ENOTDIR)
	for _, fd := range []int{fd1, fd2, dfd, fd3, fd4, fd5} {
		r.close(c, fd)
	}
	return c.err
}

// stepRW: the data calls, against a model of the file's content.
func (r *hrWorker) stepRW(i int) error {
	c := &chk{}
	fd := r.open(c, r.p("rw"), unix.O_CREAT|unix.O_TRUNC|unix.O_RDWR, 0o644)
	model := []byte{}
	put := func(off int, b []byte) {
		if n := off + len(b); n > len(model) {
			model = append(model, make([]byte, n-len(model))...)
		}
		copy(model[off:], b)
	}
	data := []byte(fmt.Sprintf("worker %d round %d: data", r.w, i))
	v, e := r.sys(unix.SYS_WRITE, uintptr(fd), r.bytesAt(data), uintptr(len(data)))
	c.ok("write", v, e, int64(len(data)))
	put(0, data)
	v, e = r.sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_CUR)
	c.ok("lseek SEEK_CUR", v, e, int64(len(data)))
	v, e = r.sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_SET)
	c.ok("lseek SEEK_SET", v, e, 0)
	v, e = r.sys(unix.SYS_READ, uintptr(fd), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	if c.ok("read", v, e, int64(len(data))); c.err == nil && !bytes.Equal(r.buf[:v], data) {
		c.failf("read %q, want %q", r.buf[:v], data)
	}
	xy := []byte{'X', byte('a' + r.w)}
	v, e = r.sys(unix.SYS_PWRITE64, uintptr(fd), r.bytesAt(xy), 2, 3)
	c.ok("pwrite64", v, e, 2)
	put(3, xy)
	v, e = r.sys(unix.SYS_PREAD64, uintptr(fd), addr(unsafe.Pointer(&r.buf[0])), 8, 0)
	if c.ok("pread64", v, e, 8); c.err == nil && !bytes.Equal(r.buf[:8], model[:8]) {
		c.failf("pread64 %q, want %q", r.buf[:8], model[:8])
	}
	// writev at the offset (the end), readv from 0.
	setIov := func(a, b []byte) {
		copy(r.iobufA[:], a)
		copy(r.iobufB[:], b)
		r.iov[0] = unix.Iovec{Base: &r.iobufA[0], Len: uint64(len(a))}
		r.iov[1] = unix.Iovec{Base: &r.iobufB[0], Len: uint64(len(b))}
	}
	a, b := []byte(fmt.Sprintf("v%d-%d|", r.w, i%100)), []byte("second")
	setIov(a, b)
	v, e = r.sys(unix.SYS_WRITEV, uintptr(fd), addr(unsafe.Pointer(&r.iov[0])), 2)
	c.ok("writev", v, e, int64(len(a)+len(b)))
	put(len(data), append(append([]byte{}, a...), b...))
	r.sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_SET)
	r.iov[0].Len, r.iov[1].Len = 16, 16
	v, e = r.sys(unix.SYS_READV, uintptr(fd), addr(unsafe.Pointer(&r.iov[0])), 2)
	if n := min(32, len(model)); c.ok("readv", v, e, int64(n)) == int64(n) && c.err == nil {
		got := append(append([]byte{}, r.iobufA[:]...), r.iobufB[:]...)[:n]
		c.that(bytes.Equal(got, model[:n]), "readv %q, want %q", got, model[:n])
	}
	// pwritev/preadv at 100, pwritev2 at the offset (-1), preadv2 at 0.
	setIov([]byte("pv-a"), []byte(fmt.Sprintf("pv-b%d", r.w)))
	v, e = r.sys(unix.SYS_PWRITEV, uintptr(fd), addr(unsafe.Pointer(&r.iov[0])), 2, 100)
	c.ok("pwritev", v, e, 9)
	put(100, []byte(fmt.Sprintf("pv-apv-b%d", r.w)))
	r.iobufA, r.iobufB = [16]byte{}, [16]byte{}
	v, e = r.sys(unix.SYS_PREADV, uintptr(fd), addr(unsafe.Pointer(&r.iov[0])), 2, 100)
	if c.ok("preadv", v, e, 9); c.err == nil {
		got := string(r.iobufA[:4]) + string(r.iobufB[:5])
		c.that(got == string(model[100:109]), "preadv %q, want %q", got, model[100:109])
	}
	off, _ := r.sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_CUR)
	setIov([]byte("P2"), []byte("w"))
	v, e = r.sys(unix.SYS_PWRITEV2, uintptr(fd), addr(unsafe.Pointer(&r.iov[0])), 2, negOne, 0, 0)
	c.ok("pwritev2 at the offset", v, e, 3)
	put(int(off), []byte("P2w"))
	v, e = r.sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_CUR)
	c.ok("offset after pwritev2(-1)", v, e, off+3)
	r.iov[0].Len, r.iov[1].Len = 16, 16
	v, e = r.sys(unix.SYS_PREADV2, uintptr(fd), addr(unsafe.Pointer(&r.iov[0])), 2, 0, 0, 0)
	if n := min(32, len(model)); c.ok("preadv2", v, e, int64(n)) == int64(n) && c.err == nil {
		got := append(append([]byte{}, r.iobufA[:]...), r.iobufB[:]...)[:n]
		c.that(bytes.Equal(got, model[:n]), "preadv2 %q, want %q", got, model[:n])
	}
	v, e = r.sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_END)
	c.ok("lseek SEEK_END", v, e, int64(len(model)))
	v, e = r.sys(unix.SYS_LSEEK, uintptr(fd), 0, unix.SEEK_HOLE)
	c.ok("lseek SEEK_HOLE", v, e, int64(len(model)))
	v, e = r.sys(unix.SYS_LSEEK, uintptr(fd), negOne, unix.SEEK_SET)
	c.errno("lseek to -1", v, e, syscall.EINVAL)
	if st := r.fstat(c, fd); c.err == nil && st.Size != int64(len(model)) {
		c.failf("size %d, want %d", st.Size, len(model))
	}
	if got := r.content(c, fd); c.err == nil && !bytes.Equal(got, model) {
		c.failf("content %q, want %q", got, model)
	}
	r.close(c, fd)
	return c.err
}

// stepSharedFD: every worker dups the one shared fd (dup, dup2, dup3,
// F_DUPFD, F_DUPFD_CLOEXEC), reads its own record through the dups and
// closes them (close, close_range).
func (r *hrWorker) stepSharedFD(i int) error {
	c := &chk{}
	s := r.sh.dupFD
	rec := []byte(fmt.Sprintf("w%d:%06d", r.w, i))
	off := uintptr(r.w * 64)
	v, e := r.sys(unix.SYS_PWRITE64, uintptr(s), r.bytesAt(rec), uintptr(len(rec)), off)
	c.ok("pwrite64 on the shared fd", v, e, int64(len(rec)))
	readRec := func(what string, fd int) {
		v, e := r.sys(unix.SYS_PREAD64, uintptr(fd), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(rec)), off)
		if c.ok(what, v, e, int64(len(rec))); c.err == nil && !bytes.Equal(r.buf[:len(rec)], rec) {
			c.failf("%s read %q, want %q", what, r.buf[:len(rec)], rec)
		}
	}
	v, e = r.sys(unix.SYS_DUP, uintptr(s))
	d1 := c.fd("dup of the shared fd", v, e)
	readRec("pread64 through dup", d1)
	v, e = r.sys(unix.SYS_DUP, negOne)
	c.errno("dup(-1)", v, e, syscall.EBADF)
	// Numbers of the worker's own: no other worker uses them.
	r1, r2 := FDBase+1<<16+2*r.w, FDBase+1<<16+2*r.w+1
	base := FDBase + 1<<17 + 1024*r.w
	v, e = r.sys(unix.SYS_DUP2, uintptr(s), uintptr(r1))
	c.ok("dup2 of the shared fd", v, e, int64(r1))
	readRec("pread64 through dup2", r1)
	v, e = r.sys(unix.SYS_DUP3, uintptr(s), uintptr(r2), unix.O_CLOEXEC)
	c.ok("dup3 of the shared fd", v, e, int64(r2))
	v, e = r.sys(unix.SYS_FCNTL, uintptr(s), unix.F_DUPFD, uintptr(base))
	c.ok("F_DUPFD", v, e, int64(base))
	v, e = r.sys(unix.SYS_FCNTL, uintptr(s), unix.F_DUPFD_CLOEXEC, uintptr(base))
	c.ok("F_DUPFD_CLOEXEC", v, e, int64(base+1))
	readRec("pread64 through F_DUPFD", base+1)
	v, e = r.sys(unix.SYS_FCNTL, uintptr(r2), unix.F_GETFD)
	c.ok("F_GETFD", v, e, -1)
	v, e = r.sys(unix.SYS_FCNTL, uintptr(d1), unix.F_SETFD, unix.FD_CLOEXEC)
	c.ok("F_SETFD", v, e, 0)
	// The description's status flags are the shared fd's: O_NONBLOCK
	// comes and goes, the access mode stays.
	nb := uintptr(0)
	if i%2 == 0 {
		nb = unix.O_NONBLOCK
	}
	v, e = r.sys(unix.SYS_FCNTL, uintptr(r1), unix.F_SETFL, nb)
	c.ok("F_SETFL on a dup", v, e, 0)
	v, e = r.sys(unix.SYS_FCNTL, uintptr(s), unix.F_GETFL)
	c.ok("F_GETFL of the shared fd", v, e, -1)
	c.that(c.err != nil || v&unix.O_ACCMODE == unix.O_RDWR && v&unix.O_APPEND == 0, "F_GETFL of the shared fd = %#x", v)
	v, e = r.sys(unix.SYS_LSEEK, uintptr(d1), off, unix.SEEK_SET)
	c.ok("lseek on a dup", v, e, int64(off))
	ino := r.fstat(c, s).Ino
	c.that(c.err != nil || r.fstat(c, r2).Ino == ino, "fstat of a dup3: another inode")
	r.close(c, d1)
	r.close(c, r1)
	r.close(c, r2)
	v, e = r.sys(unix.SYS_CLOSE_RANGE, uintptr(base), uintptr(base), 0)
	c.ok("close_range", v, e, 0)
	v, e = r.sys(unix.SYS_FSTAT, uintptr(base), addr(unsafe.Pointer(&r.st)))
	c.errno("fstat after close_range", v, e, syscall.EBADF)
	r.close(c, base+1)
	// Only the worker's own numbers can be closed twice: another
	// worker may have been given d1 already.
	v, e = r.sys(unix.SYS_CLOSE, uintptr(r1))
	c.errno("close of a closed dup2", v, e, syscall.EBADF)
	readRec("pread64 on the shared fd", s)
	return c.err
}

// stepFcntlIoctl: status flags and the generic ioctls on a file of the
// worker's own.
func (r *hrWorker) stepFcntlIoctl(i int) error {
	c := &chk{}
	fd := r.open(c, r.p("fl"), unix.O_CREAT|unix.O_TRUNC|unix.O_RDWR, 0o644)
	data := bytes.Repeat([]byte{'f'}, 10+i%50)
	v, e := r.sys(unix.SYS_WRITE, uintptr(fd), r.bytesAt(data), uintptr(len(data)))
	c.ok("write", v, e, int64(len(data)))
	const oLargefile = 0x8000
	v, e = r.sys(unix.SYS_FCNTL, uintptr(fd), unix.F_GETFL)
	c.ok("F_GETFL", v, e, unix.O_RDWR|oLargefile)
	v, e = r.sys(unix.SYS_FCNTL, uintptr(fd), unix.F_SETFL, unix.O_APPEND|unix.O_RDONLY)
	c.ok("F_SETFL", v, e, 0)
	v, e = r.sys(unix.SYS_FCNTL, uintptr(fd), unix.F_GETFL)
	c.ok("F_GETFL after F_SETFL", v, e, unix.O_RDWR|unix.O_APPEND|oLargefile)
	r.ival = 1
	v, e = r.sys(unix.SYS_IOCTL, uintptr(fd), 0x5421 /* FIONBIO */, addr(unsafe.Pointer(&r.ival)))
	c.ok("FIONBIO", v, e, 0)
	v, e = r.sys(unix.SYS_FCNTL, uintptr(fd), unix.F_GETFL)
	c.ok("F_GETFL after FIONBIO", v, e, unix.O_RDWR|unix.O_APPEND|unix.O_NONBLOCK|oLargefile)
	r.sys(unix.SYS_LSEEK, uintptr(fd), 4, unix.SEEK_SET)
	r.ival = -1
	v, e = r.sys(unix.SYS_IOCTL, uintptr(fd), 0x541B /* FIONREAD */, addr(unsafe.Pointer(&r.ival)))
	c.ok("FIONREAD", v, e, 0)
	c.that(c.err != nil || r.ival == int32(len(data)-4), "FIONREAD = %d, want %d", r.ival, len(data)-4)
	v, e = r.sys(unix.SYS_IOCTL, uintptr(fd), 2 /* FIGETBSZ */, addr(unsafe.Pointer(&r.ival)))
	c.ok("FIGETBSZ", v, e, 0)
	c.that(c.err != nil || r.ival == 4096, "FIGETBSZ = %d", r.ival)
	r.ival = -1
	v, e = r.sys(unix.SYS_IOCTL, uintptr(fd), unix.FS_IOC_GETFLAGS, addr(unsafe.Pointer(&r.ival)))
	c.ok("FS_IOC_GETFLAGS", v, e, 0)
	c.that(c.err != nil || r.ival == 0, "FS_IOC_GETFLAGS = %#x", r.ival)
	r.ival = 0x20 // FS_APPEND_FL
	v, e = r.sys(unix.SYS_IOCTL, uintptr(fd), unix.FS_IOC_SETFLAGS, addr(unsafe.Pointer(&r.ival)))
	c.errno("FS_IOC_SETFLAGS", v, e, syscall.EOPNOTSUPP)
	v, e = r.sys(unix.SYS_IOCTL, uintptr(fd), unix.TCGETS, addr(unsafe.Pointer(&r.misc[0])))
	c.errno("TCGETS", v, e, syscall.ENOTTY)
	r.close(c, fd)
	return c.err
}

// stepLocks: POSIX record locks on the worker's own range of the shared
// lock file, and OFD and flock locks the workers contend for, each
// guarding a counter in the file that the holder increments (the totals
// are checked at the end: a lock held by two at once loses increments).
func (r *hrWorker) stepLocks(i int) error {
	c := &chk{}
	lk := func(fd, cmd int, typ int16, start, n int64) (int64, syscall.Errno) {
		r.flk = unix.Flock_t{Type: typ, Whence: unix.SEEK_SET, Start: start, Len: n}
		return r.sys(unix.SYS_FCNTL, uintptr(fd), uintptr(cmd), addr(unsafe.Pointer(&r.flk)))
	}
	own := int64(r.w * 128)
	v, e := lk(r.lockFD, unix.F_SETLK, unix.F_WRLCK, own, 64)
	c.ok("F_SETLK of the own range", v, e, 0)
	v, e = lk(r.lockFD, unix.F_GETLK, unix.F_WRLCK, own, 64)
	c.ok("F_GETLK", v, e, 0)
	c.that(c.err != nil || r.flk.Type == unix.F_UNLCK, "F_GETLK of the process's own lock: type %d, want F_UNLCK", r.flk.Type)
	// The process's lock blocks an OFD lock of any description.
	v, e = lk(r.lockFD2, unix.F_OFD_GETLK, unix.F_RDLCK, own+10, 1)
	c.ok("F_OFD_GETLK", v, e, 0)
	c.that(c.err != nil || r.flk.Type == unix.F_WRLCK && r.flk.Start == own && r.flk.Len == 64 && r.flk.Pid == int32(r.pid),
		"F_OFD_GETLK under the own POSIX lock = %+v, want a write lock at %d+64 by %d", r.flk, own, r.pid)
	rec := []byte(fmt.Sprintf("lock w%d r%d", r.w, i))
	v, e = r.sys(unix.SYS_PWRITE64, uintptr(r.lockFD), r.bytesAt(rec), uintptr(len(rec)), uintptr(own))
	c.ok("pwrite64 of the own record", v, e, int64(len(rec)))
	v, e = r.sys(unix.SYS_PREAD64, uintptr(r.lockFD2), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(rec)), uintptr(own))
	if c.ok("pread64 of the own record", v, e, int64(len(rec))); c.err == nil && !bytes.Equal(r.buf[:len(rec)], rec) {
		c.failf("own record %q, want %q", r.buf[:len(rec)], rec)
	}
	v, e = lk(r.lockFD, unix.F_SETLKW, unix.F_UNLCK, own, 64)
	c.ok("F_SETLKW unlock", v, e, 0)
	v, e = lk(r.lockFD2, unix.F_OFD_GETLK, unix.F_WRLCK, own, 64)
	c.ok("F_OFD_GETLK after the unlock", v, e, 0)
	c.that(c.err != nil || r.flk.Type == unix.F_UNLCK, "F_OFD_GETLK after the unlock: type %d", r.flk.Type)
	v, e = lk(r.lockFD, unix.F_SETLK, 7, own, 64)
	c.errno("F_SETLK of a bad type", v, e, syscall.EINVAL)

	// incr adds one to the counter at off, under a lock.
	incr := func(what string, off int64) {
		v, e := r.sys(unix.SYS_PREAD64, uintptr(r.lockFD), addr(unsafe.Pointer(&r.buf[0])), 8, uintptr(off))
		c.ok(what+" counter read", v, e, 8)
		n := binary.LittleEndian.Uint64(r.buf[:8]) + 1
		binary.LittleEndian.PutUint64(r.buf[:8], n)
		v, e = r.sys(unix.SYS_PWRITE64, uintptr(r.lockFD), addr(unsafe.Pointer(&r.buf[0])), 8, uintptr(off))
		c.ok(what+" counter write", v, e, 8)
	}
	v, e = lk(r.lockFD, unix.F_OFD_SETLK, unix.F_WRLCK, hrOFDCounter, 8)
	switch e {
	case 0:
		c.ok("F_OFD_SETLK of the counter", v, e, 0)
		r.ofdWins++
		incr("OFD", hrOFDCounter)
		v, e = lk(r.lockFD2, unix.F_OFD_SETLK, unix.F_RDLCK, hrOFDCounter, 1)
		c.errno("F_OFD_SETLK by a second description", v, e, syscall.EAGAIN)
		v, e = lk(r.lockFD, unix.F_OFD_SETLK, unix.F_UNLCK, hrOFDCounter, 8)
		c.ok("F_OFD_SETLK unlock", v, e, 0)
	case syscall.EAGAIN:
	default:
		c.failf("F_OFD_SETLK of the counter: %v", e)
	}
	v, e = r.sys(unix.SYS_FLOCK, uintptr(r.lockFD), unix.LOCK_EX|unix.LOCK_NB)
	switch e {
	case 0:
		c.ok("flock LOCK_EX", v, e, 0)
		r.flockWins++
		incr("flock", hrFlockCounter)
		v, e = r.sys(unix.SYS_FLOCK, uintptr(r.lockFD2), unix.LOCK_SH|unix.LOCK_NB)
		c.errno("flock by a second description", v, e, syscall.EWOULDBLOCK)
		v, e = r.sys(unix.SYS_FLOCK, uintptr(r.lockFD), unix.LOCK_UN)
		c.ok("flock LOCK_UN", v, e, 0)
	case syscall.EWOULDBLOCK:
	default:
		c.failf("flock LOCK_EX: %v", e)
	}
	v, e = r.sys(unix.SYS_FLOCK, uintptr(r.lockFD2), unix.LOCK_SH|unix.LOCK_NB)
	switch e {
	case 0:
		c.ok("flock LOCK_SH", v, e, 0)
		v, e = r.sys(unix.SYS_FLOCK, uintptr(r.lockFD2), unix.LOCK_UN)
		c.ok("flock LOCK_UN of a shared lock", v, e, 0)
	case syscall.EWOULDBLOCK:
	default:
		c.failf("flock LOCK_SH: %v", e)
	}
	v, e = r.sys(unix.SYS_FLOCK, uintptr(r.lockFD), 99)
	c.errno("flock of a bad operation", v, e, syscall.EINVAL)
	return c.err
}

// stepStat: the stat family, statfs and the access family.
func (r *hrWorker) stepStat(i int) error {
	c := &chk{}
	size := int64(1 + i%200)
	r.mkfile(c, r.p("st"), bytes.Repeat([]byte{'s'}, int(size)), 0o640)
	v, e := r.sys(unix.SYS_SYMLINK, r.cs("st"), r.cs(r.p("stl")))
	c.ok("symlink", v, e, 0)
	st := r.stat(c, unix.SYS_STAT, r.p("st"))
	ino := st.Ino
	c.that(c.err != nil || st.Mode == unix.S_IFREG|0o640 && st.Size == size && st.Nlink == 1, "stat: mode %o size %d nlink %d", st.Mode, st.Size, st.Nlink)
	st = r.stat(c, unix.SYS_LSTAT, r.p("stl"))
	c.that(c.err != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK && st.Size == 2, "lstat of a symlink: mode %o size %d", st.Mode, st.Size)
	st = r.stat(c, unix.SYS_STAT, r.p("stl"))
	c.that(c.err != nil || st.Ino == ino, "stat through a symlink: inode %d, want %d", st.Ino, ino)
	dfd := r.open(c, r.dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	r.st = unix.Stat_t{}
	v, e = r.sys(unix.SYS_NEWFSTATAT, uintptr(dfd), r.cs("stl"), addr(unsafe.Pointer(&r.st)), unix.AT_SYMLINK_NOFOLLOW)
	c.ok("fstatat nofollow", v, e, 0)
	c.that(c.err != nil || r.st.Mode&unix.S_IFMT == unix.S_IFLNK, "fstatat nofollow: mode %o", r.st.Mode)
	fd := r.open(c, r.p("st"), unix.O_RDONLY, 0)
	r.st = unix.Stat_t{}
	v, e = r.sys(unix.SYS_NEWFSTATAT, uintptr(fd), r.cs(""), addr(unsafe.Pointer(&r.st)), unix.AT_EMPTY_PATH)
	c.ok("fstatat AT_EMPTY_PATH", v, e, 0)
	c.that(c.err != nil || r.st.Ino == ino && r.st.Size == size, "fstatat AT_EMPTY_PATH: inode %d size %d", r.st.Ino, r.st.Size)
	c.that(c.err != nil || r.fstat(c, fd).Ino == ino, "fstat: another inode")
	r.stx = unix.Statx_t{}
	v, e = r.sys(unix.SYS_STATX, atFDCWD, r.cs(fmt.Sprintf("../w%d/stl", r.w)), 0, unix.STATX_BASIC_STATS, addr(unsafe.Pointer(&r.stx)))
	c.ok("statx", v, e, 0)
	c.that(c.err != nil || r.stx.Ino == ino && int64(r.stx.Size) == size && r.stx.Mask&unix.STATX_BASIC_STATS == unix.STATX_BASIC_STATS,
		"statx: inode %d size %d mask %#x", r.stx.Ino, r.stx.Size, r.stx.Mask)
	v, e = r.sys(unix.SYS_STAT, r.cs(r.p("st/")), addr(unsafe.Pointer(&r.st)))
	c.errno("stat of a file with a trailing slash", v, e, syscall.ENOTDIR)
	r.sfs, r.sfs2 = unix.Statfs_t{}, unix.Statfs_t{}
	v, e = r.sys(unix.SYS_STATFS, r.cs(r.dir), addr(unsafe.Pointer(&r.sfs)))
	c.ok("statfs", v, e, 0)
	v, e = r.sys(unix.SYS_FSTATFS, uintptr(fd), addr(unsafe.Pointer(&r.sfs2)))
	c.ok("fstatfs", v, e, 0)
	c.that(c.err != nil || r.sfs.Type == unix.TMPFS_MAGIC && r.sfs2.Type == unix.TMPFS_MAGIC && r.sfs.Bsize > 0 && r.sfs.Bsize == r.sfs2.Bsize,
		"statfs: type %#x/%#x bsize %d/%d", r.sfs.Type, r.sfs2.Type, r.sfs.Bsize, r.sfs2.Bsize)
	v, e = r.sys(unix.SYS_ACCESS, r.cs(r.p("st")), unix.R_OK|unix.W_OK)
	c.ok("access", v, e, 0)
	v, e = r.sys(unix.SYS_ACCESS, r.cs(r.p("none")), unix.F_OK)
	c.errno("access of a missing file", v, e, syscall.ENOENT)
	v, e = r.sys(unix.SYS_ACCESS, r.cs(r.p("st")), unix.X_OK)
	c.errno("access X_OK of a 0640 file", v, e, syscall.EACCES)
	v, e = r.sys(unix.SYS_FACCESSAT, uintptr(dfd), r.cs("st"), unix.R_OK)
	c.ok("faccessat", v, e, 0)
	v, e = r.sys(unix.SYS_FACCESSAT2, uintptr(dfd), r.cs("stl"), unix.F_OK, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EACCESS)
	c.ok("faccessat2", v, e, 0)
	v, e = r.sys(unix.SYS_FACCESSAT2, uintptr(dfd), r.cs("stl"), unix.F_OK, 0x10000)
	c.errno("faccessat2 with a bad flag", v, e, syscall.EINVAL)
	r.close(c, fd)
	r.close(c, dfd)
	v, e = r.sys(unix.SYS_UNLINK, r.cs(r.p("stl")))
	c.ok("unlink", v, e, 0)
	return c.err
}

// stepNames: the calls that change names, on files of the worker's own.
func (r *hrWorker) stepNames(i int) error {
	c := &chk{}
	dfd := r.open(c, r.dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	v, e := r.sys(unix.SYS_MKDIR, r.cs(r.p("d1")), 0o755)
	c.ok("mkdir", v, e, 0)
	v, e = r.sys(unix.SYS_MKDIR, r.cs(r.p("d1")), 0o755)
	c.errno("mkdir of an existing name", v, e, syscall.EEXIST)
	v, e = r.sys(unix.SYS_MKDIRAT, uintptr(dfd), r.cs("d1/d2"), 0o700)
	c.ok("mkdirat", v, e, 0)
	st := r.stat(c, unix.SYS_STAT, r.p("d1/d2"))
	c.that(c.err != nil || st.Mode == unix.S_IFDIR|0o700, "mkdirat: mode %o", st.Mode)
	v, e = r.sys(unix.SYS_RMDIR, r.cs(r.p("d1")))
	c.errno("rmdir of a full directory", v, e, syscall.ENOTEMPTY)
	v, e = r.sys(unix.SYS_UNLINKAT, uintptr(dfd), r.cs("d1/d2"), unix.AT_REMOVEDIR)
	c.ok("unlinkat AT_REMOVEDIR", v, e, 0)
	v, e = r.sys(unix.SYS_RMDIR, r.cs(r.p("d1")))
	c.ok("rmdir", v, e, 0)

	ca, cb := []byte(fmt.Sprintf("A%d-%d", r.w, i)), []byte(fmt.Sprintf("B%d-%d", r.w, i))
	r.mkfile(c, r.p("a"), ca, 0o644)
	r.mkfile(c, r.p("b"), cb, 0o644)
	v, e = r.sys(unix.SYS_RENAME, r.cs(r.p("a")), r.cs(r.p("a2")))
	c.ok("rename", v, e, 0)
	v, e = r.sys(unix.SYS_RENAMEAT, uintptr(dfd), r.cs("a2"), uintptr(dfd), r.cs("a"))
	c.ok("renameat", v, e, 0)
	v, e = r.sys(unix.SYS_RENAMEAT2, uintptr(dfd), r.cs("a"), uintptr(dfd), r.cs("b"), unix.RENAME_NOREPLACE)
	c.errno("RENAME_NOREPLACE onto an existing name", v, e, syscall.EEXIST)
	v, e = r.sys(unix.SYS_RENAMEAT2, uintptr(dfd), r.cs("a"), atFDCWD, r.cs(r.p("b")), unix.RENAME_EXCHANGE)
	c.ok("RENAME_EXCHANGE", v, e, 0)
	for _, x := range []struct {
		name string
		want []byte
	}{{"a", cb}, {"b", ca}} {
		fd := r.open(c, r.p(x.name), unix.O_RDONLY, 0)
		v, e := r.sys(unix.SYS_READ, uintptr(fd), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
		if c.ok("read after the exchange", v, e, int64(len(x.want))); c.err == nil && !bytes.Equal(r.buf[:v], x.want) {
			c.failf("%s after RENAME_EXCHANGE holds %q, want %q", x.name, r.buf[:v], x.want)
		}
		r.close(c, fd)
	}
	v, e = r.sys(unix.SYS_LINK, r.cs(r.p("a")), r.cs(r.p("l")))
	c.ok("link", v, e, 0)
	v, e = r.sys(unix.SYS_LINKAT, uintptr(dfd), r.cs("l"), uintptr(dfd), r.cs("l2"), 0)
	c.ok("linkat", v, e, 0)
	st = r.stat(c, unix.SYS_STAT, r.p("l2"))
	c.that(c.err != nil || st.Nlink == 3, "nlink after two links = %d", st.Nlink)
	v, e = r.sys(unix.SYS_LINK, r.cs(r.dir), r.cs(r.p("dl")))
	c.errno("link of a directory", v, e, syscall.EPERM)
	v, e = r.sys(unix.SYS_UNLINK, r.cs(r.p("l")))
	c.ok("unlink", v, e, 0)
	v, e = r.sys(unix.SYS_UNLINKAT, uintptr(dfd), r.cs("l2"), 0)
	c.ok("unlinkat", v, e, 0)
	st = r.stat(c, unix.SYS_LSTAT, r.p("a"))
	c.that(c.err != nil || st.Nlink == 1, "nlink after the unlinks = %d", st.Nlink)
	v, e = r.sys(unix.SYS_SYMLINK, r.cs("a"), r.cs(r.p("s")))
	c.ok("symlink", v, e, 0)
	v, e = r.sys(unix.SYS_SYMLINKAT, r.cs("b"), uintptr(dfd), r.cs("s2"))
	c.ok("symlinkat", v, e, 0)
	v, e = r.sys(unix.SYS_READLINK, r.cs(r.p("s")), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	if c.ok("readlink", v, e, 1); c.err == nil && r.buf[0] != 'a' {
		c.failf("readlink = %q", r.buf[:v])
	}
	v, e = r.sys(unix.SYS_READLINKAT, uintptr(dfd), r.cs("s2"), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	if c.ok("readlinkat", v, e, 1); c.err == nil && r.buf[0] != 'b' {
		c.failf("readlinkat = %q", r.buf[:v])
	}
	v, e = r.sys(unix.SYS_READLINK, r.cs(r.p("a")), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	c.errno("readlink of a file", v, e, syscall.EINVAL)
	v, e = r.sys(unix.SYS_MKNODAT, uintptr(dfd), r.cs("n"), unix.S_IFREG|0o600, 0)
	c.ok("mknodat of a regular file", v, e, 0)
	st = r.stat(c, unix.SYS_STAT, r.p("n"))
	c.that(c.err != nil || st.Mode == unix.S_IFREG|0o600 && st.Size == 0, "mknodat: mode %o", st.Mode)
	v, e = r.sys(unix.SYS_MKNOD, r.cs(r.p("n")), unix.S_IFIFO|0o600, 0)
	c.errno("mknod of an existing name", v, e, syscall.EEXIST)
	v, e = r.sys(unix.SYS_MKNOD, r.cs(r.p("nd")), unix.S_IFDIR|0o700, 0)
	c.errno("mknod of a directory", v, e, syscall.EPERM)
	for _, n := range []string{"a", "b", "s", "s2", "n"} {
		v, e = r.sys(unix.SYS_UNLINKAT, uintptr(dfd), r.cs(n), 0)
		c.ok("unlinkat "+n, v, e, 0)
	}
	v, e = r.sys(unix.SYS_UNLINK, r.cs(r.p("a")))
	c.errno("unlink of a removed file", v, e, syscall.ENOENT)
	r.close(c, dfd)
	return c.err
}

// stepFIFO: a FIFO made in the mount opens as a host pipe.
func (r *hrWorker) stepFIFO(i int) error {
	c := &chk{}
	p := r.p("fifo")
	v, e := r.sys(unix.SYS_MKNOD, r.cs(p), unix.S_IFIFO|0o600, 0)
	c.ok("mknod of a FIFO", v, e, 0)
	st := r.stat(c, unix.SYS_STAT, p)
	c.that(c.err != nil || st.Mode == unix.S_IFIFO|0o600, "FIFO: mode %o", st.Mode)
	v, e = r.sys(unix.SYS_OPEN, r.cs(p), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC)
	if c.ok("open of a FIFO", v, e, -1); c.err == nil {
		if v <= 2 || v >= FDBase {
			c.failf("open of a FIFO = %d, want a host fd", v)
		} else {
			v2, e2 := r.sys(unix.SYS_OPEN, r.cs(p), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC)
			if c.ok("open of a FIFO for writing", v2, e2, -1); c.err == nil && v2 > 2 && v2 < FDBase {
				msg := []byte(fmt.Sprintf("fifo %d", r.w))
				if n, err := unix.Write(int(v2), msg); n != len(msg) || err != nil {
					c.failf("write to the FIFO = %d, %v", n, err)
				} else if n, err := unix.Read(int(v), r.buf[:]); err != nil || !bytes.Equal(r.buf[:n], msg) {
					c.failf("read from the FIFO = %q, %v", r.buf[:max(n, 0)], err)
				}
				unix.Close(int(v2))
			}
			unix.Close(int(v))
		}
	}
	v, e = r.sys(unix.SYS_UNLINK, r.cs(p))
	c.ok("unlink of the FIFO", v, e, 0)
	return c.err
}

// stepAttrs: mode, owner, times and size.
func (r *hrWorker) stepAttrs(i int) error {
	c := &chk{}
	t := r.p("t")
	r.mkfile(c, t, []byte("attrs"), 0o644)
	v, e := r.sys(unix.SYS_SYMLINK, r.cs("t"), r.cs(r.p("tl")))
	c.ok("symlink", v, e, 0)
	dfd := r.open(c, r.dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	fd := r.open(c, t, unix.O_RDWR, 0)
	mode := func(want uint32) {
		st := r.stat(c, unix.SYS_STAT, t)
		c.that(c.err != nil || st.Mode == unix.S_IFREG|want, "mode %o, want %o", st.Mode&0o7777, want)
	}
	v, e = r.sys(unix.SYS_CHMOD, r.cs(t), 0o600)
	c.ok("chmod", v, e, 0)
	mode(0o600)
	v, e = r.sys(unix.SYS_FCHMOD, uintptr(fd), 0o640)
	c.ok("fchmod", v, e, 0)
	mode(0o640)
	v, e = r.sys(unix.SYS_FCHMODAT, uintptr(dfd), r.cs("t"), 0o604)
	c.ok("fchmodat", v, e, 0)
	mode(0o604)
	v, e = r.sys(unix.SYS_FCHMODAT2, uintptr(dfd), r.cs("tl"), 0o600, unix.AT_SYMLINK_NOFOLLOW)
	c.errno("fchmodat2 of a symlink", v, e, syscall.EOPNOTSUPP)
	v, e = r.sys(unix.SYS_FCHMODAT2, uintptr(dfd), r.cs("t"), 0o644, 0)
	c.ok("fchmodat2", v, e, 0)
	mode(0o644)

	owner := func(nr int, p string, uid, gid uint32) {
		st := r.stat(c, nr, p)
		c.that(c.err != nil || st.Uid == uid && st.Gid == gid, "owner of %s: %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
	}
	v, e = r.sys(unix.SYS_CHOWN, r.cs(t), uintptr(r.uidTo), uintptr(r.gidTo))
	c.ok("chown", v, e, 0)
	owner(unix.SYS_STAT, t, r.uidTo, r.gidTo)
	v, e = r.sys(unix.SYS_LCHOWN, r.cs(r.p("tl")), uintptr(r.uidTo2), uintptr(r.gidTo2))
	c.ok("lchown", v, e, 0)
	owner(unix.SYS_LSTAT, r.p("tl"), r.uidTo2, r.gidTo2)
	owner(unix.SYS_STAT, t, r.uidTo, r.gidTo)
	v, e = r.sys(unix.SYS_FCHOWN, uintptr(fd), uintptr(r.uidTo2), negOne)
	c.ok("fchown", v, e, 0)
	owner(unix.SYS_STAT, t, r.uidTo2, r.gidTo)
	v, e = r.sys(unix.SYS_FCHOWNAT, uintptr(dfd), r.cs("t"), negOne, uintptr(r.gidTo2), 0)
	c.ok("fchownat", v, e, 0)
	owner(unix.SYS_STAT, t, r.uidTo2, r.gidTo2)
	v, e = r.sys(unix.SYS_FCHOWNAT, uintptr(dfd), r.cs("tl"), uintptr(r.uidTo), uintptr(r.gidTo), unix.AT_SYMLINK_NOFOLLOW)
	c.ok("fchownat nofollow", v, e, 0)
	owner(unix.SYS_LSTAT, r.p("tl"), r.uidTo, r.gidTo)

	times := func(what string, at, mt unix.Timespec) {
		st := r.stat(c, unix.SYS_STAT, t)
		c.that(c.err != nil || st.Atim == at && st.Mtim == mt, "%s: atime %v mtime %v, want %v %v", what, st.Atim, st.Mtim, at, mt)
	}
	base := int64(1_000_000 + 1000*r.w + i)
	r.ts = [2]unix.Timespec{{Sec: base, Nsec: 5}, {Sec: base + 1, Nsec: 7}}
	v, e = r.sys(unix.SYS_UTIMENSAT, uintptr(dfd), r.cs("t"), addr(unsafe.Pointer(&r.ts[0])), 0)
	c.ok("utimensat", v, e, 0)
	times("utimensat", r.ts[0], r.ts[1])
	at := r.ts[0]
	r.ts = [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Sec: base + 2}}
	v, e = r.sys(unix.SYS_UTIMENSAT, uintptr(fd), 0, addr(unsafe.Pointer(&r.ts[0])), 0)
	c.ok("futimens", v, e, 0)
	times("futimens", at, unix.Timespec{Sec: base + 2})
	r.tv = [2]unix.Timeval{{Sec: base + 3, Usec: 1}, {Sec: base + 4, Usec: 2}}
	v, e = r.sys(unix.SYS_UTIMES, r.cs(t), addr(unsafe.Pointer(&r.tv[0])))
	c.ok("utimes", v, e, 0)
	times("utimes", unix.Timespec{Sec: base + 3, Nsec: 1000}, unix.Timespec{Sec: base + 4, Nsec: 2000})
	r.tv = [2]unix.Timeval{{Sec: base + 5}, {Sec: base + 6, Usec: 3}}
	v, e = r.sys(unix.SYS_FUTIMESAT, uintptr(dfd), r.cs("tl"), addr(unsafe.Pointer(&r.tv[0])))
	c.ok("futimesat", v, e, 0)
	times("futimesat", unix.Timespec{Sec: base + 5}, unix.Timespec{Sec: base + 6, Nsec: 3000})
	r.utb = unix.Utimbuf{Actime: base + 7, Modtime: base + 8}
	v, e = r.sys(unix.SYS_UTIME, r.cs(t), addr(unsafe.Pointer(&r.utb)))
	c.ok("utime", v, e, 0)
	times("utime", unix.Timespec{Sec: base + 7}, unix.Timespec{Sec: base + 8})

	size := func(what string, want int64) {
		st := r.fstat(c, fd)
		c.that(c.err != nil || st.Size == want, "%s: size %d, want %d", what, st.Size, want)
	}
	v, e = r.sys(unix.SYS_TRUNCATE, r.cs(t), uintptr(1000+i))
	c.ok("truncate", v, e, 0)
	size("truncate", int64(1000+i))
	v, e = r.sys(unix.SYS_FTRUNCATE, uintptr(fd), 10)
	c.ok("ftruncate", v, e, 0)
	size("ftruncate", 10)
	v, e = r.sys(unix.SYS_FALLOCATE, uintptr(fd), 0, 0, uintptr(5000+i))
	c.ok("fallocate", v, e, 0)
	size("fallocate", int64(5000+i))
	v, e = r.sys(unix.SYS_FALLOCATE, uintptr(fd), unix.FALLOC_FL_KEEP_SIZE, 0, 9000)
	c.ok("fallocate KEEP_SIZE", v, e, 0)
	size("fallocate KEEP_SIZE", int64(5000+i))
	v, e = r.sys(unix.SYS_FTRUNCATE, uintptr(fd), negOne)
	c.errno("ftruncate to -1", v, e, syscall.EINVAL)
	v, e = r.sys(unix.SYS_TRUNCATE, r.cs(r.dir), 0)
	c.errno("truncate of a directory", v, e, syscall.EISDIR)
	r.close(c, fd)
	r.close(c, dfd)
	v, e = r.sys(unix.SYS_UNLINK, r.cs(r.p("tl")))
	c.ok("unlink", v, e, 0)
	return c.err
}

// stepSync: the fsync family and the hints.
func (r *hrWorker) stepSync(i int) error {
	c := &chk{}
	fd := r.open(c, r.p("sy"), unix.O_CREAT|unix.O_RDWR, 0o644)
	wfd := r.open(c, r.p("sy"), unix.O_WRONLY, 0)
	for _, nr := range []int{unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNCFS} {
		v, e := r.sys(nr, uintptr(fd))
		c.ok(fmt.Sprintf("sync call %d", nr), v, e, 0)
	}
	v, e := r.sys(unix.SYS_FSYNC, uintptr(r.sh.dupFD))
	c.ok("fsync of the shared fd", v, e, 0)
	v, e = r.sys(unix.SYS_SYNC_FILE_RANGE, uintptr(fd), 0, 100, unix.SYNC_FILE_RANGE_WRITE)
	c.ok("sync_file_range", v, e, 0)
	v, e = r.sys(unix.SYS_SYNC_FILE_RANGE, uintptr(fd), 0, 100, 8)
	c.errno("sync_file_range with a bad flag", v, e, syscall.EINVAL)
	v, e = r.sys(unix.SYS_FADVISE64, uintptr(fd), 0, 100, unix.FADV_SEQUENTIAL)
	c.ok("fadvise64", v, e, 0)
	v, e = r.sys(unix.SYS_FADVISE64, uintptr(fd), 0, 100, 99)
	c.errno("fadvise64 of a bad advice", v, e, syscall.EINVAL)
	v, e = r.sys(unix.SYS_READAHEAD, uintptr(fd), 0, 100)
	c.ok("readahead", v, e, 0)
	v, e = r.sys(unix.SYS_READAHEAD, uintptr(wfd), 0, 100)
	c.errno("readahead of a write-only fd", v, e, syscall.EBADF)
	r.close(c, wfd)
	r.close(c, fd)
	return c.err
}

// list reads directory fd to its end with getdents (nr) in chunks of
// size bytes and returns the names.
func (r *hrWorker) list(c *chk, fd, nr, size int) []string {
	var names []string
	for n := 0; c.err == nil; n++ {
		if n > 10000 {
			c.failf("getdents(%d) never reaches the end", nr)
			break
		}
		v, e := r.sys(nr, uintptr(fd), addr(unsafe.Pointer(&r.dbuf[0])), uintptr(size))
		if c.ok(fmt.Sprintf("getdents(%d)", nr), v, e, -1); c.err != nil || v == 0 {
			break
		}
		got, err := parseDirents(r.dbuf[:v], nr == unix.SYS_GETDENTS64)
		if err != nil {
			c.failf("getdents(%d): %v", nr, err)
		}
		names = append(names, got...)
	}
	return names
}

// parseDirents decodes linux_dirent64 records, or the old linux_dirent.
func parseDirents(b []byte, is64 bool) ([]string, error) {
	var names []string
	nameAt := 18
	if is64 {
		nameAt = 19
	}
	for len(b) > 0 {
		if len(b) < nameAt+1 {
			return names, fmt.Errorf("a record of %d bytes", len(b))
		}
		reclen := int(binary.LittleEndian.Uint16(b[16:]))
		if reclen < nameAt+1 || reclen > len(b) {
			return names, fmt.Errorf("record length %d of %d bytes", reclen, len(b))
		}
		name := b[nameAt:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		names = append(names, string(name))
		b = b[reclen:]
	}
	return names, nil
}

// stepDents: a listing of a directory of the worker's own, which must be
// exact, and of the shared directory, which the others change meanwhile
// and where the worker's own names must be listed once each.
func (r *hrWorker) stepDents(i int) error {
	c := &chk{}
	ls := r.p("ls")
	v, e := r.sys(unix.SYS_MKDIR, r.cs(ls), 0o755)
	c.ok("mkdir", v, e, 0)
	want := []string{".", ".."}
	for j := 0; j < 1+i%6; j++ {
		n := fmt.Sprintf("e%d-%d", j, i)
		r.mkfile(c, ls+"/"+n, nil, 0o644)
		want = append(want, n)
	}
	sort.Strings(want)
	for _, nr := range []int{unix.SYS_GETDENTS64, unix.SYS_GETDENTS} {
		fd := r.open(c, ls, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		got := r.list(c, fd, nr, 64+i%100)
		sort.Strings(got)
		c.that(c.err != nil || strings.Join(got, ",") == strings.Join(want, ","), "listing (%d) of the own directory: %v, want %v", nr, got, want)
		r.close(c, fd)
	}
	for _, n := range want[2:] {
		v, e = r.sys(unix.SYS_UNLINK, r.cs(ls+"/"+n))
		c.ok("unlink "+n, v, e, 0)
	}
	v, e = r.sys(unix.SYS_RMDIR, r.cs(ls))
	c.ok("rmdir", v, e, 0)

	// The shared directory is the working directory: relative names.
	tmp, mv := fmt.Sprintf("t%d-%d", r.w, i), fmt.Sprintf("m%d-%d", r.w, i)
	v, e = r.sys(unix.SYS_CREAT, r.cs(tmp), 0o644)
	r.close(c, c.fd("creat in the shared directory", v, e))
	v, e = r.sys(unix.SYS_RENAMEAT2, atFDCWD, r.cs(tmp), atFDCWD, r.cs(mv), unix.RENAME_NOREPLACE)
	c.ok("renameat2 in the shared directory", v, e, 0)
	for _, nr := range []int{unix.SYS_GETDENTS64, unix.SYS_GETDENTS} {
		fd := r.open(c, hrShared, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		got := r.list(c, fd, nr, 80)
		r.close(c, fd)
		count := map[string]int{}
		for _, n := range got {
			count[n]++
			var w, j int
			if n != "." && n != ".." && !strings.HasPrefix(n, "keep") {
				if _, err := fmt.Sscanf(n[1:], "%d-%d", &w, &j); err != nil || (n[0] != 't' && n[0] != 'm') {
					c.failf("listing (%d) of the shared directory has %q", nr, n)
				} else if w == r.w && j != i {
					c.failf("listing (%d) of the shared directory has %q, which this worker removed", nr, n)
				}
			}
		}
		for _, n := range []string{".", "..", fmt.Sprintf("keep%d", r.w), mv} {
			c.that(count[n] == 1, "listing (%d) of the shared directory has %q %d times, want once: %v", nr, n, count[n], got)
		}
		c.that(count[tmp] == 0, "listing (%d) of the shared directory has %q, renamed before", nr, tmp)
	}
	v, e = r.sys(unix.SYS_UNLINKAT, atFDCWD, r.cs(mv), 0)
	c.ok("unlinkat in the shared directory", v, e, 0)
	return c.err
}

// stepCwd: every worker moves the process's working directory to the
// same place (chdir, fchdir) and reads it back.
func (r *hrWorker) stepCwd(i int) error {
	c := &chk{}
	getcwd := func(what string) {
		v, e := r.sys(unix.SYS_GETCWD, addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
		if c.ok(what, v, e, int64(len(hrShared)+1)); c.err == nil && string(r.buf[:v]) != hrShared+"\x00" {
			c.failf("%s = %q, want %q", what, r.buf[:v], hrShared)
		}
	}
	v, e := r.sys(unix.SYS_CHDIR, r.cs(hrShared))
	c.ok("chdir", v, e, 0)
	getcwd("getcwd after chdir")
	fd := r.open(c, hrShared, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	v, e = r.sys(unix.SYS_FCHDIR, uintptr(fd))
	c.ok("fchdir", v, e, 0)
	getcwd("getcwd after fchdir")
	r.close(c, fd)
	v, e = r.sys(unix.SYS_GETCWD, addr(unsafe.Pointer(&r.buf[0])), 3)
	c.errno("getcwd into a short buffer", v, e, syscall.ERANGE)
	v, e = r.sys(unix.SYS_CHDIR, r.cs(r.p("missing")))
	c.errno("chdir to a missing directory", v, e, syscall.ENOENT)
	v, e = r.sys(unix.SYS_CHDIR, r.cs(hrLock))
	c.errno("chdir to a file", v, e, syscall.ENOTDIR)
	ino := r.stat(c, unix.SYS_STAT, hrShared).Ino
	c.that(c.err != nil || r.stat(c, unix.SYS_STAT, ".").Ino == ino, "stat of . is not the shared directory")
	c.that(c.err != nil || r.stat(c, unix.SYS_STAT, "..").Ino == r.stat(c, unix.SYS_STAT, hrMount).Ino, "stat of .. is not the mount's root")
	return c.err
}

// stepXattr: the four families of extended attribute calls.
func (r *hrWorker) stepXattr(i int) error {
	c := &chk{}
	x := r.p("x")
	r.mkfile(c, x, nil, 0o644)
	v, e := r.sys(unix.SYS_SYMLINK, r.cs("x"), r.cs(r.p("xl")))
	c.ok("symlink", v, e, 0)
	fd := r.open(c, x, unix.O_RDWR, 0)
	dfd := r.open(c, r.dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	val := func(s string) []byte { return []byte(fmt.Sprintf("%s-%d-%d", s, r.w, i)) }
	get := func(what string, nr int, a0 uintptr, name string, want []byte) {
		v, e := r.sys(nr, a0, r.cs(name), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
		if c.ok(what, v, e, int64(len(want))); c.err == nil && !bytes.Equal(r.buf[:v], want) {
			c.failf("%s = %q, want %q", what, r.buf[:v], want)
		}
	}
	list := func(what string, nr int, a0 uintptr, want string) {
		v, e := r.sys(nr, a0, addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
		if c.ok(what, v, e, int64(len(want))); c.err == nil && string(r.buf[:v]) != want {
			c.failf("%s = %q, want %q", what, r.buf[:v], want)
		}
	}
	va, vb, vc, vd := val("a"), val("b"), val("c"), val("d")
	v, e = r.sys(unix.SYS_SETXATTR, r.cs(r.p("xl")), r.cs("user.a"), r.bytesAt(va), uintptr(len(va)), 0)
	c.ok("setxattr through a symlink", v, e, 0)
	get("getxattr", unix.SYS_GETXATTR, r.cs(x), "user.a", va)
	v, e = r.sys(unix.SYS_GETXATTR, r.cs(x), r.cs("user.a"), 0, 0)
	c.ok("getxattr of the size", v, e, int64(len(va)))
	list("listxattr", unix.SYS_LISTXATTR, r.cs(x), "user.a\x00")
	v, e = r.sys(unix.SYS_LSETXATTR, r.cs(x), r.cs("user.b"), r.bytesAt(vb), uintptr(len(vb)), 0)
	c.ok("lsetxattr", v, e, 0)
	v, e = r.sys(unix.SYS_LSETXATTR, r.cs(r.p("xl")), r.cs("user.b"), r.bytesAt(vb), uintptr(len(vb)), 0)
	c.errno("lsetxattr user. on a symlink", v, e, syscall.EPERM)
	get("lgetxattr", unix.SYS_LGETXATTR, r.cs(x), "user.b", vb)
	list("llistxattr", unix.SYS_LLISTXATTR, r.cs(x), "user.a\x00user.b\x00")
	list("llistxattr of the symlink", unix.SYS_LLISTXATTR, r.cs(r.p("xl")), "")
	v, e = r.sys(unix.SYS_LREMOVEXATTR, r.cs(x), r.cs("user.b"))
	c.ok("lremovexattr", v, e, 0)
	v, e = r.sys(unix.SYS_FSETXATTR, uintptr(fd), r.cs("user.c"), r.bytesAt(vc), uintptr(len(vc)), unix.XATTR_CREATE)
	c.ok("fsetxattr", v, e, 0)
	v, e = r.sys(unix.SYS_FSETXATTR, uintptr(fd), r.cs("user.c"), r.bytesAt(vc), uintptr(len(vc)), unix.XATTR_CREATE)
	c.errno("fsetxattr XATTR_CREATE of an existing name", v, e, syscall.EEXIST)
	get("fgetxattr", unix.SYS_FGETXATTR, uintptr(fd), "user.c", vc)
	list("flistxattr", unix.SYS_FLISTXATTR, uintptr(fd), "user.a\x00user.c\x00")
	v, e = r.sys(unix.SYS_FREMOVEXATTR, uintptr(fd), r.cs("user.c"))
	c.ok("fremovexattr", v, e, 0)
	v, e = r.sys(unix.SYS_FREMOVEXATTR, uintptr(fd), r.cs("user.c"))
	c.errno("fremovexattr of a removed name", v, e, syscall.ENODATA)
	// The *xattrat calls: struct xattr_args { value, size, flags }.
	xargs := func(p uintptr, n int) uintptr {
		binary.LittleEndian.PutUint64(r.xargs[0:], uint64(p))
		binary.LittleEndian.PutUint32(r.xargs[8:], uint32(n))
		binary.LittleEndian.PutUint32(r.xargs[12:], 0)
		return addr(unsafe.Pointer(&r.xargs[0]))
	}
	v, e = r.sys(unix.SYS_SETXATTRAT, uintptr(dfd), r.cs("xl"), 0, r.cs("user.d"), xargs(r.bytesAt(vd), len(vd)), 16)
	c.ok("setxattrat", v, e, 0)
	v, e = r.sys(unix.SYS_GETXATTRAT, uintptr(dfd), r.cs("x"), 0, r.cs("user.d"), xargs(addr(unsafe.Pointer(&r.buf[0])), len(r.buf)), 16)
	if c.ok("getxattrat", v, e, int64(len(vd))); c.err == nil && !bytes.Equal(r.buf[:v], vd) {
		c.failf("getxattrat = %q, want %q", r.buf[:v], vd)
	}
	v, e = r.sys(sysListxattrat, uintptr(dfd), r.cs("x"), 0, addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	if want := "user.a\x00user.d\x00"; c.ok("listxattrat", v, e, int64(len(want))) >= 0 && c.err == nil && string(r.buf[:v]) != want {
		c.failf("listxattrat = %q, want %q", r.buf[:v], want)
	}
	v, e = r.sys(sysRemovexattrat, uintptr(dfd), r.cs("x"), 0, r.cs("user.d"))
	c.ok("removexattrat", v, e, 0)
	v, e = r.sys(unix.SYS_REMOVEXATTR, r.cs(x), r.cs("user.a"))
	c.ok("removexattr", v, e, 0)
	list("listxattr after the removals", unix.SYS_LISTXATTR, r.cs(x), "")
	v, e = r.sys(unix.SYS_GETXATTR, r.cs(x), r.cs("user.a"), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	c.errno("getxattr of a removed name", v, e, syscall.ENODATA)
	v, e = r.sys(unix.SYS_SETXATTR, r.cs(x), r.cs("nonamespace"), r.bytesAt(va), uintptr(len(va)), 0)
	c.errno("setxattr outside the namespaces", v, e, syscall.EOPNOTSUPP)
	r.close(c, fd)
	r.close(c, dfd)
	v, e = r.sys(unix.SYS_UNLINK, r.cs(r.p("xl")))
	c.ok("unlink", v, e, 0)
	return c.err
}

// stepCreds: umask (the same mask by every worker) and the set*id
// family with arguments that change nothing: the host kernel runs them.
func (r *hrWorker) stepCreds(i int) error {
	c := &chk{}
	v, e := r.sys(unix.SYS_UMASK, 0o022)
	c.ok("umask", v, e, 0o022)
	v, e = r.sys(unix.SYS_SETUID, negOne)
	c.errno("setuid(-1)", v, e, syscall.EINVAL)
	v, e = r.sys(unix.SYS_SETGID, negOne)
	c.errno("setgid(-1)", v, e, syscall.EINVAL)
	v, e = r.sys(unix.SYS_SETREUID, negOne, negOne)
	c.ok("setreuid(-1, -1)", v, e, 0)
	v, e = r.sys(unix.SYS_SETREGID, negOne, negOne)
	c.ok("setregid(-1, -1)", v, e, 0)
	v, e = r.sys(unix.SYS_SETRESUID, negOne, negOne, negOne)
	c.ok("setresuid(-1, -1, -1)", v, e, 0)
	v, e = r.sys(unix.SYS_SETRESGID, negOne, negOne, negOne)
	c.ok("setresgid(-1, -1, -1)", v, e, 0)
	v, e = r.sys(unix.SYS_SETGROUPS, negOne, 0)
	c.errno("setgroups(-1)", v, e, syscall.EINVAL, syscall.EPERM)
	v, e = r.sys(unix.SYS_SETFSUID, negOne)
	c.ok("setfsuid(-1)", v, e, int64(r.euid))
	v, e = r.sys(unix.SYS_SETFSGID, negOne)
	c.ok("setfsgid(-1)", v, e, int64(r.egid))
	// The mask emul keeps is the one new files get.
	r.mkfile(c, r.p("um"), nil, 0o777)
	st := r.stat(c, unix.SYS_STAT, r.p("um"))
	c.that(c.err != nil || st.Mode == unix.S_IFREG|0o755, "a file made with 0777 under umask 022: mode %o", st.Mode)
	return c.err
}

// stepMmapCopy: mmap of an emulated file (linked has no placeholder to
// map: ENODEV), and the calls that copy between fds.
func (r *hrWorker) stepMmapCopy(i int) error {
	c := &chk{}
	src := bytes.Repeat([]byte(fmt.Sprintf("%d%02d", r.w, i%100)), 16) // 64 bytes
	r.mkfile(c, r.p("cs"), src, 0o644)
	in := r.open(c, r.p("cs"), unix.O_RDONLY, 0)
	out := r.open(c, r.p("cd"), unix.O_CREAT|unix.O_TRUNC|unix.O_RDWR, 0o644)
	v, e := r.sys(unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE, uintptr(in), 0)
	c.errno("mmap of an emulated file", v, e, syscall.ENODEV)
	v, e = r.sys(unix.SYS_MMAP, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED, uintptr(out), 0)
	c.errno("shared writable mmap", v, e, syscall.ENODEV)
	v, e = r.sys(unix.SYS_MMAP, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED, uintptr(in), 0)
	c.errno("shared writable mmap of a read-only fd", v, e, syscall.EACCES)
	r.off[0] = 8
	v, e = r.sys(unix.SYS_SENDFILE, uintptr(out), uintptr(in), addr(unsafe.Pointer(&r.off[0])), 16)
	c.ok("sendfile", v, e, 16)
	c.that(c.err != nil || r.off[0] == 24, "sendfile left the offset at %d, want 24", r.off[0])
	r.off = [2]int64{0, 16}
	v, e = r.sys(unix.SYS_COPY_FILE_RANGE, uintptr(in), addr(unsafe.Pointer(&r.off[0])), uintptr(out), addr(unsafe.Pointer(&r.off[1])), 8, 0)
	c.ok("copy_file_range", v, e, 8)
	c.that(c.err != nil || r.off == [2]int64{8, 24}, "copy_file_range left the offsets at %v", r.off)
	want := append(append([]byte{}, src[8:24]...), src[:8]...)
	if got := r.content(c, out); c.err == nil && !bytes.Equal(got, want) {
		c.failf("copied %q, want %q", got, want)
	}
	v, e = r.sys(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, 8, 0)
	c.errno("splice of emulated fds", v, e, syscall.EINVAL)
	v, e = r.sys(unix.SYS_TEE, uintptr(in), uintptr(out), 8, 0)
	c.errno("tee of emulated fds", v, e, syscall.EINVAL)
	r.close(c, in)
	r.close(c, out)
	return c.err
}

// stepExec: execve of files in the mount that emul refuses before the
// kernel would see them (not executable; open for writing).
func (r *hrWorker) stepExec(i int) error {
	c := &chk{}
	r.mkfile(c, r.p("ex"), []byte("#!/bin/true\n"), 0o644)
	r.mkfile(c, r.p("ey"), []byte("#!/bin/true\n"), 0o755)
	v, e := r.sys(unix.SYS_EXECVE, r.cs(r.p("ex")), 0, 0)
	c.errno("execve of a file without x bits", v, e, syscall.EACCES)
	v, e = r.sys(unix.SYS_EXECVE, r.cs(r.p("missing")), 0, 0)
	c.errno("execve of a missing file", v, e, syscall.ENOENT)
	fd := r.open(c, r.p("ey"), unix.O_RDWR, 0)
	v, e = r.sys(unix.SYS_EXECVEAT, uintptr(fd), r.cs(""), 0, 0, unix.AT_EMPTY_PATH)
	c.errno("execveat of a file open for writing", v, e, syscall.ETXTBSY)
	v, e = r.sys(unix.SYS_EXECVE, r.cs(r.p("ey")), 0, 0)
	c.errno("execve of a file open for writing", v, e, syscall.ETXTBSY)
	r.close(c, fd)
	return c.err
}

// stepRefused: the calls emul refuses for a file in a mount (they would
// reach the host directory behind it).
func (r *hrWorker) stepRefused(i int) error {
	c := &chk{}
	f := r.p("rf")
	r.mkfile(c, f, []byte("refused"), 0o644)
	fd := r.open(c, f, unix.O_RDONLY, 0)
	pf := r.cs(f)
	v, e := r.sys(unix.SYS_ACCT, pf)
	c.errno("acct", v, e, syscall.EPERM)
	v, e = r.sys(unix.SYS_MOUNT, r.cs("none"), r.cs(r.dir), r.cs("tmpfs"), 0, 0)
	c.errno("mount", v, e, syscall.EPERM)
	v, e = r.sys(unix.SYS_UMOUNT2, r.cs(r.dir), 0)
	c.errno("umount2", v, e, r.priv(syscall.EINVAL))
	v, e = r.sys(unix.SYS_SWAPON, pf, 0)
	c.errno("swapon", v, e, r.priv(syscall.EINVAL))
	v, e = r.sys(unix.SYS_SWAPOFF, pf)
	c.errno("swapoff", v, e, r.priv(syscall.EINVAL))
	v, e = r.sys(unix.SYS_QUOTACTL, 0x80000700 /* Q_GETQUOTA, USRQUOTA */, pf, 0, addr(unsafe.Pointer(&r.misc[0])))
	c.errno("quotactl", v, e, syscall.ENOTBLK)
	v, e = r.sys(unix.SYS_QUOTACTL_FD, uintptr(fd), 0x80000700, 0, addr(unsafe.Pointer(&r.misc[0])))
	c.errno("quotactl_fd", v, e, syscall.ENOSYS)
	v, e = r.sys(unix.SYS_FANOTIFY_MARK, negOne, unix.FAN_MARK_ADD, unix.FAN_MODIFY, atFDCWD, pf)
	c.errno("fanotify_mark", v, e, syscall.EOPNOTSUPP)
	v, e = r.sys(unix.SYS_OPEN_TREE, atFDCWD, pf, 0)
	c.errno("open_tree", v, e, syscall.EOPNOTSUPP)
	v, e = r.sys(unix.SYS_OPEN_TREE, atFDCWD, pf, unix.OPEN_TREE_CLONE)
	c.errno("open_tree OPEN_TREE_CLONE", v, e, r.priv(syscall.EOPNOTSUPP))
	v, e = r.sys(unix.SYS_OPEN_TREE_ATTR, uintptr(fd), r.cs(""), unix.AT_EMPTY_PATH, 0, 0)
	c.errno("open_tree_attr", v, e, syscall.EOPNOTSUPP)
	v, e = r.sys(unix.SYS_MOVE_MOUNT, atFDCWD, pf, atFDCWD, r.cs(hrShared), 0)
	c.errno("move_mount", v, e, syscall.EPERM)
	v, e = r.sys(unix.SYS_FSCONFIG, negOne, unix.FSCONFIG_SET_PATH, r.cs("source"), pf, atFDCWD)
	c.errno("fsconfig", v, e, syscall.EPERM)
	v, e = r.sys(unix.SYS_FSPICK, atFDCWD, r.cs(r.dir), 0)
	c.errno("fspick", v, e, syscall.EPERM)
	v, e = r.sys(unix.SYS_MOUNT_SETATTR, atFDCWD, r.cs(r.dir), 0, addr(unsafe.Pointer(&r.misc[0])), 32)
	c.errno("mount_setattr", v, e, syscall.EPERM)
	v, e = r.sys(unix.SYS_CHROOT, r.cs(r.dir))
	c.errno("chroot", v, e, r.priv(syscall.EOPNOTSUPP))
	v, e = r.sys(unix.SYS_NAME_TO_HANDLE_AT, atFDCWD, pf, addr(unsafe.Pointer(&r.misc[0])), addr(unsafe.Pointer(&r.misc[200])), 0)
	c.errno("name_to_handle_at", v, e, syscall.EOPNOTSUPP)
	v, e = r.sys(unix.SYS_INOTIFY_ADD_WATCH, negOne, pf, unix.IN_MODIFY)
	c.errno("inotify_add_watch", v, e, syscall.EOPNOTSUPP)
	v, e = r.sys(unix.SYS_FINIT_MODULE, uintptr(fd), r.cs(""), 0)
	c.errno("finit_module", v, e, r.priv(syscall.EOPNOTSUPP))
	v, e = r.sys(unix.SYS_KEXEC_FILE_LOAD, uintptr(fd), negOne, 0, 0, unix.KEXEC_FILE_NO_INITRAMFS)
	c.errno("kexec_file_load", v, e, r.priv(syscall.EOPNOTSUPP))
	// struct landlock_path_beneath_attr (packed): allowed_access, parent_fd.
	var ll [12]byte
	binary.LittleEndian.PutUint64(ll[0:], unix.LANDLOCK_ACCESS_FS_READ_FILE)
	binary.LittleEndian.PutUint32(ll[8:], uint32(fd))
	v, e = r.sys(unix.SYS_LANDLOCK_ADD_RULE, negOne, unix.LANDLOCK_RULE_PATH_BENEATH, r.bytesAt(ll[:]), 0)
	c.errno("landlock_add_rule", v, e, syscall.EOPNOTSUPP)
	// union bpf_attr for BPF_OBJ_GET: pathname, bpf_fd, file_flags, path_fd.
	var ba [20]byte
	binary.LittleEndian.PutUint64(ba[0:], uint64(pf))
	v, e = r.sys(unix.SYS_BPF, unix.BPF_OBJ_GET, r.bytesAt(ba[:]), 20)
	c.errno("bpf BPF_OBJ_GET", v, e, syscall.EPERM)
	for j := range r.fattr {
		r.fattr[j] = 0xff
	}
	v, e = r.sys(unix.SYS_FILE_GETATTR, atFDCWD, pf, addr(unsafe.Pointer(&r.fattr[0])), 24, 0)
	c.ok("file_getattr", v, e, 0)
	c.that(c.err != nil || bytes.Equal(r.fattr[:24], make([]byte, 24)) && r.fattr[24] == 0xff, "file_getattr wrote %x", r.fattr)
	v, e = r.sys(unix.SYS_FILE_GETATTR, atFDCWD, pf, addr(unsafe.Pointer(&r.fattr[0])), 8, 0)
	c.errno("file_getattr of a short struct", v, e, syscall.EINVAL)
	r.fattr = [32]byte{}
	v, e = r.sys(sysFileSetattr, atFDCWD, pf, addr(unsafe.Pointer(&r.fattr[0])), 24, 0)
	c.ok("file_setattr", v, e, 0)
	r.fattr[0] = 0x80 // FS_XFLAG_NODUMP
	v, e = r.sys(sysFileSetattr, uintptr(fd), r.cs(""), addr(unsafe.Pointer(&r.fattr[0])), 24, unix.AT_EMPTY_PATH)
	c.errno("file_setattr of a flag", v, e, syscall.EOPNOTSUPP)
	r.close(c, fd)
	return c.err
}

// sockaddr puts the AF_UNIX address of path in r.sa and returns its
// address and length.
func (r *hrWorker) sockaddr(path string) (uintptr, uintptr) {
	r.sa = [110]byte{}
	binary.LittleEndian.PutUint16(r.sa[0:], unix.AF_UNIX)
	copy(r.sa[2:], path)
	return addr(unsafe.Pointer(&r.sa[0])), uintptr(2 + len(path) + 1)
}

// stepSocket: a socket bound to a path in the mount, connected to, and
// named by getsockname and getpeername.
func (r *hrWorker) stepSocket(i int) error {
	c := &chk{}
	p := r.p("sock")
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %v", err)
	}
	defer unix.Close(ln)
	cl, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %v", err)
	}
	defer unix.Close(cl)
	sa, n := r.sockaddr(p)
	v, e := r.sys(unix.SYS_BIND, uintptr(ln), sa, n)
	c.ok("bind", v, e, 0)
	st := r.stat(c, unix.SYS_LSTAT, p)
	c.that(c.err != nil || st.Mode&unix.S_IFMT == unix.S_IFSOCK, "a bound socket: mode %o", st.Mode)
	if c.err == nil {
		if err := unix.Listen(ln, 4); err != nil {
			c.failf("listen: %v", err)
		}
	}
	sa, n = r.sockaddr(p)
	v, e = r.sys(unix.SYS_CONNECT, uintptr(cl), sa, n)
	c.ok("connect", v, e, 0)
	name := func(what string, nr, fd int) {
		r.sa, r.alen = [110]byte{}, 110
		v, e := r.sys(nr, uintptr(fd), addr(unsafe.Pointer(&r.sa[0])), addr(unsafe.Pointer(&r.alen)))
		c.ok(what, v, e, 0)
		got := r.sa[2:max(2, min(int(r.alen), len(r.sa)))]
		if i := bytes.IndexByte(got, 0); i >= 0 {
			got = got[:i]
		}
		c.that(c.err != nil || binary.LittleEndian.Uint16(r.sa[:]) == unix.AF_UNIX && string(got) == p, "%s = %q, want %q", what, got, p)
	}
	name("getsockname", unix.SYS_GETSOCKNAME, ln)
	name("getpeername", unix.SYS_GETPEERNAME, cl)
	sa, n = r.sockaddr(r.p("nosock"))
	v, e = r.sys(unix.SYS_CONNECT, uintptr(cl), sa, n)
	c.errno("connect to a missing path", v, e, syscall.ENOENT, syscall.EISCONN)
	v, e = r.sys(unix.SYS_UNLINK, r.cs(p))
	c.ok("unlink of the socket", v, e, 0)
	return c.err
}

// stepProc: the mount table as the program reads it names the mount.
func (r *hrWorker) stepProc(i int) error {
	c := &chk{}
	v, e := r.sys(unix.SYS_OPEN, r.cs("/proc/self/mounts"), unix.O_RDONLY|unix.O_CLOEXEC)
	if c.ok("open of /proc/self/mounts", v, e, -1); c.err != nil {
		return c.err
	}
	if v <= 2 || v >= FDBase {
		return fmt.Errorf("open of /proc/self/mounts = %d, want a host fd", v)
	}
	defer unix.Close(int(v))
	var all []byte
	for {
		n, e := r.sys(unix.SYS_READ, uintptr(v), addr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
		if c.ok("read of /proc/self/mounts", n, e, -1); c.err != nil || n == 0 {
			break
		}
		all = append(all, r.buf[:n]...)
	}
	c.that(c.err != nil || bytes.Contains(all, []byte(" "+hrMount+" ")), "/proc/self/mounts does not name %s:\n%s", hrMount, all)
	return c.err
}

// run is one worker: its set-up, then rounds of every step.
func (r *hrWorker) run(rounds int) error {
	c := &chk{}
	v, e := r.sys(unix.SYS_MKDIR, r.cs(r.dir), 0o755)
	c.ok("mkdir of the worker's directory", v, e, 0)
	r.lockFD = r.open(c, hrLock, unix.O_RDWR, 0)
	r.lockFD2 = r.open(c, hrLock, unix.O_RDWR, 0)
	r.mkfile(c, fmt.Sprintf("%s/keep%d", hrShared, r.w), nil, 0o644)
	if c.err != nil {
		return fmt.Errorf("worker %d: set-up: %w", r.w, c.err)
	}
	for i := 0; i < rounds; i++ {
		for _, s := range hrSteps {
			if s.every > 1 && i%s.every != 0 {
				continue
			}
			r.keep = r.keep[:0]
			if err := s.run(r, i); err != nil {
				return fmt.Errorf("worker %d round %d step %s: %w", r.w, i, s.name, err)
			}
		}
	}
	r.keep = nil
	return nil
}

// TestLinkedHandlersConcurrent runs every step of hrSteps in several
// goroutines at once (see the top of this file).
func TestLinkedHandlersConcurrent(t *testing.T) {
	if _, err := os.Lstat(hrMount); err == nil {
		t.Fatalf("%s exists on the host: the test needs a mount path the host lacks", hrMount)
	}
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	// umask is the host's too: every worker sets 022, so it answers 022.
	old := unix.Umask(0o022)
	t.Cleanup(func() { unix.Umask(old) })

	fs := ramfs.New(ramfs.Options{})
	// The mount's root is the test's user's, so that it runs as anyone.
	if err := fs.Chown(fs.Root(), int64(os.Geteuid()), int64(os.Getegid())); err != nil {
		t.Fatal(err)
	}
	l := New([]*emul.Mount{{Path: hrMount, FS: fs}})
	l.Kernel().OnFault = func(msg string) { t.Errorf("emul fault: %s", msg) }
	defer l.Kernel().Cleanup()

	// Set-up by the test goroutine (its calls do not count for coverage).
	m := newHRWorker(l, -1, nil)
	c := &chk{}
	v, e := m.sys(unix.SYS_MKDIR, m.cs(hrShared), 0o755)
	c.ok("mkdir of the shared directory", v, e, 0)
	lfd := m.open(c, hrLock, unix.O_CREAT|unix.O_RDWR, 0o644)
	v, e = m.sys(unix.SYS_FTRUNCATE, uintptr(lfd), 16384)
	c.ok("ftruncate of the lock file", v, e, 0)
	m.close(c, lfd)
	sh := &hrSharedState{dupFD: m.open(c, hrDupFile, unix.O_CREAT|unix.O_RDWR, 0o644)}
	v, e = m.sys(unix.SYS_CHDIR, m.cs(hrShared))
	c.ok("chdir", v, e, 0)
	if c.err != nil {
		t.Fatal(c.err)
	}

	workers := make([]*hrWorker, hrWorkers)
	errs := make([]error, hrWorkers)
	var wg sync.WaitGroup
	for w := range workers {
		workers[w] = newHRWorker(l, w, sh)
		wg.Add(1)
		go func(r *hrWorker) {
			defer wg.Done()
			errs[r.w] = r.run(rounds)
		}(workers[w])
	}
	wg.Wait()
	failed := false
	for _, err := range errs {
		if err != nil {
			t.Error(err)
			failed = true
		}
	}
	if failed {
		return
	}

	// Coverage: every syscall a step claims was made, and every handled
	// syscall made was claimed.
	seen := map[int]int{}
	for _, r := range workers {
		for nr, n := range r.seen {
			seen[nr] += n
		}
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	t.Logf("%d workers, %d rounds: %d syscalls, %d of them distinct", hrWorkers, rounds, total, len(seen))
	claimed := map[int]bool{}
	for _, s := range hrSteps {
		for _, nr := range s.nrs {
			claimed[nr] = true
			if seen[nr] == 0 {
				t.Errorf("step %s claims syscall %d, which no worker made", s.name, nr)
			}
		}
	}
	for nr := range seen {
		if emul.Handles(nr) && !claimed[nr] {
			t.Errorf("syscall %d was made but no step claims it in hrSteps", nr)
		}
	}
	for _, nr := range hrHandled() {
		if seen[nr] == 0 {
			t.Errorf("syscall %d has a handler in emul's table but the workers never made it", nr)
		}
	}

	// The lock counters: each increment was made under an exclusive lock.
	c = &chk{}
	ofd, fl := 0, 0
	for _, r := range workers {
		ofd += r.ofdWins
		fl += r.flockWins
	}
	var cnt [16]byte
	v, e = m.sys(unix.SYS_PREAD64, uintptr(workers[0].lockFD), addr(unsafe.Pointer(&cnt[0])), 16, hrOFDCounter)
	c.ok("pread64 of the counters", v, e, 16)
	if got := binary.LittleEndian.Uint64(cnt[:8]); c.err == nil && got != uint64(ofd) {
		t.Errorf("OFD-locked counter = %d, want %d (the lock was held by two at once)", got, ofd)
	}
	if got := binary.LittleEndian.Uint64(cnt[8:]); c.err == nil && got != uint64(fl) {
		t.Errorf("flock-locked counter = %d, want %d (the lock was held by two at once)", got, fl)
	}
	t.Logf("the workers held the OFD lock %d times and the flock %d times in %d tries each", ofd, fl, hrWorkers*rounds)
	if ofd == 0 || fl == 0 {
		t.Errorf("the workers never held the OFD lock (%d) or flock (%d)", ofd, fl)
	}
	for _, r := range workers {
		m.close(c, r.lockFD)
		m.close(c, r.lockFD2)
	}
	m.close(c, sh.dupFD)
	// The shared directory holds the workers' keep files alone.
	fd := m.open(c, hrShared, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	got := m.list(c, fd, unix.SYS_GETDENTS64, len(m.dbuf))
	m.close(c, fd)
	sort.Strings(got)
	if want := ".,..,keep0,keep1,keep2,keep3"; c.err == nil && strings.Join(got, ",") != want {
		t.Errorf("shared directory at the end: %v, want %s", got, want)
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	// Every fd was closed: the next open gets the first number.
	nfd, err := l.Open(hrMount+"/last", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil || nfd != FDBase {
		t.Errorf("open after the workers = %d, %v; want %d (an fd leaked)", nfd, err, FDBase)
	}
}
