package emul

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// sharedPair runs the same calls on two rigs, one whose common calls run
// shared (shared.go) and one that runs every call exclusively, and fails
// at the first answer that differs.
type sharedPair struct {
	t    *testing.T
	a, b *rig // a shared, b exclusive
	step int
	desc string
}

func newSharedPair(t *testing.T) *sharedPair {
	at := time.Unix(1700000000, 0)
	opt := ramfs.Options{Now: func() time.Time { return at }}
	sp := &sharedPair{t: t, a: newRigOpts(t, opt), b: newRigOpts(t, opt)}
	sp.b.k.noShared = true
	return sp
}

// str puts s in both arenas (at the same address).
func (sp *sharedPair) str(s string) uint64 {
	pa, pb := sp.a.mem.str(s), sp.b.mem.str(s)
	if pa != pb {
		sp.t.Fatalf("arenas apart: %#x %#x", pa, pb)
	}
	return pa
}

// buf reserves n bytes in both arenas, filled with 0xee.
func (sp *sharedPair) buf(n int) uint64 {
	pa, pb := sp.a.mem.alloc(n), sp.b.mem.alloc(n)
	for _, r := range []*rig{sp.a, sp.b} {
		for i := range r.mem.bytesAt(pa, n) {
			r.mem.bytesAt(pa, n)[i] = 0xee
		}
	}
	if pa != pb {
		sp.t.Fatalf("arenas apart: %#x %#x", pa, pb)
	}
	return pa
}

// call makes one call on both rigs; out, if n > 0, is memory the call
// may write, compared too. It returns the answer.
func (sp *sharedPair) call(out uint64, n int, nr int, args ...uint64) Result {
	sp.t.Helper()
	sp.step++
	ra, rb := sp.a.call(nr, args...), sp.b.call(nr, args...)
	if ra.Action != rb.Action || ra.Val != rb.Val || ra.Err != rb.Err {
		sp.t.Fatalf("step %d (%s): syscall %d %#x: shared answered %v %d %v, exclusive %v %d %v",
			sp.step, sp.desc, nr, args, ra.Action, ra.Val, ra.Err, rb.Action, rb.Val, rb.Err)
	}
	if ra.Err == errExclusive {
		sp.t.Fatalf("step %d (%s): errExclusive got out", sp.step, sp.desc)
	}
	if n > 0 && !bytes.Equal(sp.a.mem.bytesAt(out, n), sp.b.mem.bytesAt(out, n)) {
		sp.t.Fatalf("step %d (%s): syscall %d %#x wrote\n%x shared,\n%x exclusive", sp.step, sp.desc, nr, args,
			sp.a.mem.bytesAt(out, n), sp.b.mem.bytesAt(out, n))
	}
	return ra
}

// TestSharedMatchesExclusive runs random sequences of calls, the shared
// ones among the others, over paths that take the fast walk and paths
// that do not (dot-dot, symlinks, trailing slashes, relative to the
// working directory and to dirfds, host paths), with every open flag the
// shared open gives up on (O_TMPFILE, O_APPEND, O_PATH...), and checks
// that a Kernel whose common calls run shared answers each call as one
// that runs them all exclusively: the same values, errnos and bytes; half
// the seeds run as a user other than root, in sticky directories.
func TestSharedMatchesExclusive(t *testing.T) {
	paths := []string{
		"/m/a", "/m/b", "/m/d", "/m/d/x", "/m/d/y", "/m/d/../a", "/m/./b", "/m/l", "/m/ld",
		"/m/ld/x", "/m/d/", "/m/a/", "/m", "/m/", "/m/nodir/x", "/m/e/z", "a", "d/x", "x", "y",
		"/m/dangling", "/m/fifo", "/fsshim-not-a-mount/f", "",
	}
	flags := []int{
		unix.O_RDONLY, unix.O_WRONLY | unix.O_CREAT, unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC,
		unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, unix.O_APPEND | unix.O_WRONLY | unix.O_CREAT,
		unix.O_RDONLY | unix.O_DIRECTORY, unix.O_TMPFILE | unix.O_RDWR, unix.O_PATH, unix.O_RDWR | unix.O_NOFOLLOW,
		unix.O_RDWR, unix.O_RDONLY | unix.O_CLOEXEC, unix.O_WRONLY | unix.O_TRUNC,
	}
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			sp := newSharedPair(t)
			rng := rand.New(rand.NewPCG(seed, 7))
			pick := func() uint64 { return sp.str(paths[rng.IntN(len(paths))]) }
			var fds []int64
			fd := func() uint64 {
				if len(fds) == 0 || rng.IntN(10) == 0 {
					return uint64(rng.IntN(20)) // mostly not ours
				}
				return uint64(fds[rng.IntN(len(fds))])
			}
			data := sp.str("0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
			sp.desc = "setup"
			sp.call(0, 0, unix.SYS_MKDIR, sp.str("/m/d"), 0o755)
			sp.call(0, 0, unix.SYS_SYMLINK, sp.str("a"), sp.str("/m/l"))
			sp.call(0, 0, unix.SYS_SYMLINK, sp.str("d"), sp.str("/m/ld"))
			sp.call(0, 0, unix.SYS_SYMLINK, sp.str("nowhere"), sp.str("/m/dangling"))
			sp.call(0, 0, unix.SYS_MKNOD, sp.str("/m/fifo"), unix.S_IFIFO|0o666, 0)
			sp.call(0, 0, unix.SYS_CHDIR, sp.str("/m"))
			if seed%2 == 0 {
				// A user other than root, in sticky directories
				// with a file of root's in each.
				sp.call(0, 0, unix.SYS_CHMOD, sp.str("/m"), 0o1777)
				sp.call(0, 0, unix.SYS_CHMOD, sp.str("/m/d"), 0o1777)
				sp.call(0, 0, unix.SYS_MKNOD, sp.str("/m/b"), unix.S_IFREG|0o666, 0)
				sp.call(0, 0, unix.SYS_MKNOD, sp.str("/m/d/y"), unix.S_IFREG|0o666, 0)
				for _, r := range []*rig{sp.a, sp.b} {
					r.k.SetIDs(r.p, Creds{Uid: 1000, Gid: 1000, Ruid: 1000, Rgid: 1000}, 0o022)
				}
			}
			for i := 0; i < 300; i++ {
				switch op := rng.IntN(17); op {
				case 0, 1, 2:
					sp.desc = "open"
					r := sp.call(0, 0, unix.SYS_OPENAT, cwd, pick(), uint64(flags[rng.IntN(len(flags))]), 0o644)
					if r.Action == Return && r.Err == 0 {
						fds = append(fds, r.Val)
					}
				case 3:
					sp.desc = "openat dirfd"
					r := sp.call(0, 0, unix.SYS_OPENAT, fd(), pick(), uint64(flags[rng.IntN(len(flags))]), 0o600)
					if r.Action == Return && r.Err == 0 {
						fds = append(fds, r.Val)
					}
				case 4:
					sp.desc = "close"
					f := fd()
					sp.call(0, 0, unix.SYS_CLOSE, f)
				case 5:
					sp.desc = "read"
					b := sp.buf(100)
					sp.call(b, 100, unix.SYS_READ, fd(), b, uint64(rng.IntN(101)))
				case 6:
					sp.desc = "write"
					sp.call(0, 0, unix.SYS_WRITE, fd(), data, uint64(rng.IntN(70)))
				case 7:
					sp.desc = "pread"
					b := sp.buf(100)
					sp.call(b, 100, unix.SYS_PREAD64, fd(), b, uint64(rng.IntN(101)), uint64(rng.IntN(300)-20))
				case 8:
					sp.desc = "pwrite"
					sp.call(0, 0, unix.SYS_PWRITE64, fd(), data, uint64(rng.IntN(70)), uint64(rng.IntN(300)))
				case 9:
					sp.desc = "lseek"
					sp.call(0, 0, unix.SYS_LSEEK, fd(), uint64(rng.IntN(200)-50), uint64(rng.IntN(6)))
				case 10:
					sp.desc = "stat"
					b := sp.buf(sizeofStat)
					nr := []int{unix.SYS_STAT, unix.SYS_LSTAT}[rng.IntN(2)]
					sp.call(b, sizeofStat, nr, pick(), b)
				case 11:
					sp.desc = "fstatat/fstat"
					b := sp.buf(sizeofStat)
					if rng.IntN(2) == 0 {
						sp.call(b, sizeofStat, unix.SYS_FSTAT, fd(), b)
					} else {
						fl := []uint64{0, unix.AT_SYMLINK_NOFOLLOW, unix.AT_EMPTY_PATH}[rng.IntN(3)]
						sp.call(b, sizeofStat, unix.SYS_NEWFSTATAT, []uint64{cwd, fd()}[rng.IntN(2)], pick(), b, fl)
					}
				case 12:
					sp.desc = "statx"
					b := sp.buf(sizeofStatx)
					sp.call(b, sizeofStatx, unix.SYS_STATX, cwd, pick(), 0, 0xfff, b)
				case 13:
					sp.desc = "rename"
					fl := []uint64{0, 0, ramfs.RenameNoreplace, ramfs.RenameExchange}[rng.IntN(4)]
					sp.call(0, 0, unix.SYS_RENAMEAT2, cwd, pick(), cwd, pick(), fl)
				case 14:
					sp.desc = "mkdir/unlink/rmdir"
					switch rng.IntN(4) {
					case 0:
						sp.call(0, 0, unix.SYS_MKDIRAT, cwd, pick(), 0o755)
					case 1:
						sp.call(0, 0, unix.SYS_UNLINK, pick())
					case 2:
						sp.call(0, 0, unix.SYS_RMDIR, pick())
					case 3:
						sp.call(0, 0, unix.SYS_UNLINKAT, cwd, pick(), []uint64{0, unix.AT_REMOVEDIR}[rng.IntN(2)])
					}
				case 15:
					sp.desc = "dup/ftruncate"
					if rng.IntN(2) == 0 {
						r := sp.call(0, 0, unix.SYS_DUP, fd())
						if r.Action == Return && r.Err == 0 {
							fds = append(fds, r.Val)
						}
					} else {
						sp.call(0, 0, unix.SYS_FTRUNCATE, fd(), uint64(rng.IntN(200)))
					}
				case 16:
					sp.desc = "chdir"
					sp.call(0, 0, unix.SYS_CHDIR, sp.str([]string{"/m", "/m/d", "/m/ld"}[rng.IntN(3)]))
				}
			}
		})
	}
}

// stallMem is a Memory whose writes wait until release is closed: a read
// into it stays inside its handler.
type stallMem struct {
	*arena
	entered chan struct{}
	release chan struct{}
}

func (m *stallMem) WriteAt(p []byte, addr uint64) (int, error) {
	close(m.entered)
	<-m.release
	return m.arena.WriteAt(p, addr)
}

// TestSharedCallsRunAtOnce checks that shared calls do not wait for each
// other: while a read is held inside its handler (its copy to the
// caller's memory stalls), another thread's stat, open, pread and close
// of other files complete. If the calls waited for each other, they
// could not complete until the read is let go (the test then fails at
// its deadline instead of hanging).
func TestSharedCallsRunAtOnce(t *testing.T) {
	r := newRig(t)
	fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	r.ok(unix.SYS_PWRITE64, uint64(fd), r.mem.str("data"), 4, 0)
	g := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/g"), unix.O_CREAT|unix.O_RDWR, 0o644)
	rbuf := r.mem.alloc(16)
	st, path, obuf := r.mem.alloc(sizeofStat), r.mem.str("/m/g"), r.mem.alloc(16)
	sm := &stallMem{arena: r.mem, entered: make(chan struct{}), release: make(chan struct{})}
	readDone := make(chan Result)
	go func() {
		c := &Call{Tid: 2, Proc: r.p, Nr: unix.SYS_PREAD64, Mem: sm, Args: [6]uint64{uint64(fd), rbuf, 4, 0}}
		readDone <- r.k.Handle(c)
	}()
	<-sm.entered
	othersDone := make(chan error)
	go func() {
		call := func(nr int, args ...uint64) Result {
			c := &Call{Tid: 3, Proc: r.p, Nr: nr, Mem: r.mem}
			copy(c.Args[:], args)
			return r.k.Handle(c)
		}
		if res := call(unix.SYS_STAT, path, st); res.Err != 0 {
			othersDone <- fmt.Errorf("stat: %v", res.Err)
			return
		}
		if res := call(unix.SYS_PREAD64, uint64(g), obuf, 16, 0); res.Err != 0 {
			othersDone <- fmt.Errorf("pread: %v", res.Err)
			return
		}
		res := call(unix.SYS_OPENAT, cwd, path, unix.O_RDONLY, 0)
		if res.Action != InstallFD {
			othersDone <- fmt.Errorf("open: %v %v", res.Action, res.Err)
			return
		}
		r.k.Release(res.File)
		othersDone <- nil
	}()
	select {
	case err := <-othersDone:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("stat, pread and open did not complete while another thread's read was inside its handler")
	}
	close(sm.release)
	if res := <-readDone; res.Err != 0 || res.Val != 4 || string(r.mem.bytesAt(rbuf, 4)) != "data" {
		t.Errorf("the held read: %v %d %q", res.Err, res.Val, r.mem.bytesAt(rbuf, 4))
	}
}

// laterTarget is a Target whose InstallFD says Later: the install is
// finished by the test (FinishInstall), as unotify finishes an ADDFD.
type laterTarget struct{ rig }

func (t *laterTarget) InstallFD(c *Call, f *File, fdFlags, setFD int) (int, syscall.Errno, Progress) {
	return -1, 0, Later
}

// installInFlight makes r's Kernel a supervised one (oracle, Concurrent
// installs) and starts an open of /m/f whose fd install is in flight:
// handed out, not recorded. FinishInstall(lt, open, res.File, fd, 0)
// records it.
func installInFlight(t *testing.T, r *rig, oracle FDOracle) (lt *laterTarget, open *Call, res Result) {
	t.Helper()
	r.k.Oracle = oracle
	r.k.Concurrent = true
	lt = &laterTarget{rig: *r}
	open = &Call{ID: 1, Tid: 1, Proc: r.p, Nr: unix.SYS_OPENAT, Mem: r.mem,
		Args: [6]uint64{cwd, r.mem.str("/m/f"), unix.O_CREAT | unix.O_RDWR, 0o644}}
	res = r.k.Handle(open)
	if res.Action != InstallFD || !open.installing {
		t.Fatalf("open: %v %v (installing %v), want an install in flight", res.Action, res.Err, open.installing)
	}
	if rep := r.k.Complete(lt, open, &res); rep.Outcome != Pending {
		t.Fatalf("Complete: %+v, want the install pending", rep)
	}
	return lt, open, res
}

// TestSharedWaitsForInstallInFlight: in a supervised Kernel (an Oracle,
// Concurrent installs) a shared call that names an fd emul does not know
// while another call's fd install is in flight must not take the fd for
// a host one: it runs again exclusively and waits for the install
// (fileLocked), then answers for the new fd.
func TestSharedWaitsForInstallInFlight(t *testing.T) {
	r := newRig(t)
	lt, open, res := installInFlight(t, r, oracleAll{})

	// The mechanism: a shared lookup of an unknown fd asks for the retry.
	c := &Call{Tid: 2, Proc: r.p, shared: true}
	r.k.mu.RLock()
	f := r.k.fdGet(c, 7)
	r.k.mu.RUnlock()
	if f != nil || !c.retry {
		t.Fatalf("shared fdGet of an unknown fd during an install: %v, retry %v; want nil and a retry", f, c.retry)
	}

	// Through Handle: fstat of the fd being installed answers for the
	// file, whether it runs before the install is finished (it waits)
	// or after.
	st := r.mem.alloc(sizeofStat)
	done := make(chan Result)
	go func() {
		c := &Call{ID: 2, Tid: 2, Proc: r.p, Nr: unix.SYS_FSTAT, Mem: r.mem, Args: [6]uint64{7, st}}
		done <- r.k.Handle(c)
	}()
	runtime.Gosched()
	r.k.FinishInstall(lt, open, res.File, 7, 0)
	if got := <-done; got.Action != Return || got.Err != 0 {
		t.Fatalf("fstat of the fd being installed: %v %v, want the file's stat", got.Action, got.Err)
	}
	if ino := le.Uint64(r.mem.bytesAt(st+8, 8)); ino != res.File.ino.Ino() {
		t.Errorf("fstat: st_ino %d, want %d", ino, res.File.ino.Ino())
	}
}

// oracleNone is an FDOracle whose kernel table holds no placeholder.
type oracleNone struct{}

func (oracleNone) Holds(tgid, fd int, f *File) bool { return false }
func (oracleNone) Find(tgid, fd int) uint64         { return 0 }
func (oracleNone) Forget(f *File)                   {}

// TestCloseWaitsForInstallInFlight: a thread closes (close, dup2 onto,
// close_range over) the fd another thread's open is being given (ADDFD
// has handed it out, emul has not recorded it). The call must not be let
// through as a host fd's while the install then records the fd: emul
// would go on answering for a number the program has closed (and may
// reuse for a pipe).
func TestCloseWaitsForInstallInFlight(t *testing.T) {
	for _, tc := range []struct {
		name string
		nr   int
		args [6]uint64
	}{
		{"close", unix.SYS_CLOSE, [6]uint64{7}},
		{"dup2", unix.SYS_DUP2, [6]uint64{3, 7}},
		{"dup3", unix.SYS_DUP3, [6]uint64{3, 7, 0}},
		{"close_range", unix.SYS_CLOSE_RANGE, [6]uint64{5, 10, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			// fd 3: an emulated fd the dups take as oldfd.
			if fd := r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/old"), unix.O_CREAT|unix.O_RDWR, 0o644); fd != 3 {
				t.Fatalf("first open = %d, want 3", fd)
			}
			lt, open, res := installInFlight(t, r, oracleNone{})
			done := make(chan Result)
			go func() {
				c := &Call{ID: 2, Tid: 2, Proc: r.p, Nr: tc.nr, Mem: r.mem, Args: tc.args}
				done <- r.k.Handle(c)
			}()
			runtime.Gosched()
			r.k.FinishInstall(lt, open, res.File, 7, 0)
			if got := <-done; got.Action != Continue {
				t.Fatalf("%s: %v, want it continued (the kernel closes the placeholder)", tc.name, got.Action)
			}
			buf := r.mem.alloc(8)
			rd := &Call{ID: 3, Tid: 2, Proc: r.p, Nr: unix.SYS_READ, Mem: r.mem, Args: [6]uint64{7, buf, 8}}
			if got := r.k.Handle(rd); got.Action != Continue {
				t.Fatalf("read of fd 7 after %s answered by emul: %v %d %v", tc.name, got.Action, got.Val, got.Err)
			}
		})
	}
}
