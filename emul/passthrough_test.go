package emul

import (
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
	"fsshim/ramfs/backing"
)

// fdTable is the program's fd table in a passthrough test: the fds the
// kernel would hold, with DataOracle's answers taken from them.
type fdTable map[int]ramfs.DataFile

func (t fdTable) DataFD(tgid, fd int) (dev, ino uint64, ok bool) {
	f, in := t[fd]
	if !in {
		return 0, 0, false
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, 0, false
	}
	return st.Dev, st.Ino, true
}

// passRig is a rig whose mount keeps data in a private tmpfs and whose
// Kernel runs the passthrough data path.
type passRig struct {
	*rig
	fs  *ramfs.FS
	fds fdTable
}

func newPassRig(t *testing.T) *passRig {
	dirs, err := backing.Mount([]int64{0})
	if errors.Is(err, backing.ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dirs[0].Close() })
	fs := ramfs.New(ramfs.Options{Store: dirs[0]})
	k := NewKernel([]*Mount{{Path: "/m", FS: fs, DataDev: dirs[0].Dev(), Placeholders: dirs[0]}}, fakeHost{cwd: "/"})
	k.OnFault = func(m string) { t.Log("fault:", m) }
	k.HostFDs, k.Passthrough = true, true
	fds := fdTable{}
	k.Data = fds
	r := &rig{t: t, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
	t.Cleanup(func() {
		for _, f := range fds {
			f.Close()
		}
	})
	return &passRig{rig: r, fs: fs, fds: fds}
}

// open runs an open that must give the program an fd onto a backing file.
func (r *passRig) open(path string, flags int) int {
	r.t.Helper()
	res := r.k.Handle(&Call{Tid: 1, Proc: r.p, Nr: unix.SYS_OPENAT, Args: [6]uint64{cwd, r.mem.str(path), uint64(flags), 0o644}, Mem: r.mem})
	if res.Action != InstallHostFD || res.Host == nil {
		r.t.Fatalf("open %s: %v err %v, want an fd onto the backing file", path, res.Action, res.Err)
	}
	fd := r.nextFD
	r.nextFD++
	r.fds[fd] = res.Host
	return fd
}

func (r *passRig) close(fd int) {
	r.fds[fd].Close()
	delete(r.fds, fd)
}

// stat returns st_ino, st_nlink, st_mode, st_size and st_ctime of the
// struct stat an fstat (fd) or, with path, a newfstatat fills.
func (r *passRig) stat(fd int, path string) (ino, nlink uint64, mode uint32, size int64, ctime [2]uint64) {
	r.t.Helper()
	st := r.mem.alloc(sizeofStat)
	if path == "" {
		r.ok(unix.SYS_FSTAT, uint64(fd), st)
	} else {
		r.ok(unix.SYS_NEWFSTATAT, cwd, r.mem.str(path), st, 0)
	}
	b := r.mem.bytesAt(st, sizeofStat)
	return le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint32(b[24:]), int64(le.Uint64(b[48:])),
		[2]uint64{le.Uint64(b[104:]), le.Uint64(b[112:])}
}

func TestPassthroughStatAgrees(t *testing.T) {
	r := newPassRig(t)
	fd := r.open("/m/f", unix.O_CREAT|unix.O_RDWR|unix.O_APPEND)
	if fl, _ := unix.FcntlInt(r.fds[fd].Fd(), unix.F_GETFL, 0); fl&unix.O_ACCMODE != unix.O_RDWR || fl&unix.O_APPEND == 0 {
		t.Errorf("backing fd's flags are %#x, want O_RDWR|O_APPEND", fl)
	}
	// The program's writes go to the kernel, not through emul.
	if _, err := unix.Write(int(r.fds[fd].Fd()), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	ino, nlink, mode, size, ctime := r.stat(fd, "")
	pino, pnlink, pmode, psize, pctime := r.stat(0, "/m/f")
	if ino != pino || nlink != pnlink || mode != pmode || size != psize || ctime != pctime {
		t.Errorf("fstat (ino %d nlink %d mode %o size %d ctime %v) and stat (%d %d %o %d %v) differ",
			ino, nlink, mode, size, ctime, pino, pnlink, pmode, psize, pctime)
	}
	if size != 5 || mode != syscall.S_IFREG|0o644&^0o022 {
		t.Errorf("fstat: size %d mode %o, want 5 and 0100644", size, mode)
	}
	r.ok(unix.SYS_FCHMOD, uint64(fd), 0o600)
	if _, _, mode, _, c := r.stat(0, "/m/f"); mode&0o7777 != 0o600 || c[0] < ctime[0] {
		t.Errorf("after fchmod: mode %o ctime %v (before %v)", mode, c, ctime)
	}
	// An fd that is not the program's (closed) is the kernel's to answer.
	r.close(fd)
	if res := r.call(unix.SYS_FSTAT, uint64(fd), r.mem.alloc(sizeofStat)); res.Action != Continue {
		t.Errorf("fstat of a closed fd: %v, want continue", res.Action)
	}
}

func TestPassthroughUnlinkedOpen(t *testing.T) {
	r := newPassRig(t)
	fd := r.open("/m/f", unix.O_CREAT|unix.O_RDWR)
	unix.Write(int(r.fds[fd].Fd()), []byte("data"))
	r.ok(unix.SYS_UNLINKAT, cwd, r.mem.str("/m/f"), 0)
	_, nlink, _, size, _ := r.stat(fd, "")
	if nlink != 0 || size != 4 {
		t.Errorf("fstat of an unlinked open file: nlink %d size %d, want 0 and 4", nlink, size)
	}
	if r.fs.Orphans() != 1 {
		t.Errorf("%d orphans, want the open file", r.fs.Orphans())
	}
	r.close(fd)
	r.fs.ReapOrphans()
	if r.fs.Orphans() != 0 {
		t.Errorf("%d orphans after the last fd went", r.fs.Orphans())
	}
}

func TestPassthroughTmpfileLink(t *testing.T) {
	r := newPassRig(t)
	fd := r.open("/m", unix.O_TMPFILE|unix.O_RDWR)
	unix.Write(int(r.fds[fd].Fd()), []byte("tmp"))
	const atEmptyPath = 0x1000
	r.ok(unix.SYS_LINKAT, uint64(fd), r.mem.str(""), cwd, r.mem.str("/m/named"), atEmptyPath)
	_, nlink, _, size, _ := r.stat(0, "/m/named")
	if nlink != 1 || size != 3 {
		t.Errorf("linked O_TMPFILE file: nlink %d size %d, want 1 and 3", nlink, size)
	}
	r.close(fd)
	r.fs.ReapOrphans()
	if r.fs.Orphans() != 0 {
		t.Errorf("a linked file is kept as an orphan")
	}
}

func TestPassthroughPlaceholders(t *testing.T) {
	r := newPassRig(t)
	r.ok(unix.SYS_MKDIRAT, cwd, r.mem.str("/m/d"), 0o755)
	for _, tc := range []struct {
		flags int
		read  syscall.Errno
	}{
		{unix.O_RDONLY | unix.O_DIRECTORY, syscall.EISDIR},
		{unix.O_PATH, syscall.EBADF},
	} {
		res := r.k.Handle(&Call{Tid: 1, Proc: r.p, Nr: unix.SYS_OPENAT, Args: [6]uint64{cwd, r.mem.str("/m/d"), uint64(tc.flags)}, Mem: r.mem})
		if res.Action != InstallFD {
			t.Fatalf("open of a directory (flags %#x): %v, want InstallFD", tc.flags, res.Action)
		}
		ph := res.File.TakePlaceholder()
		if ph == nil {
			t.Fatalf("open of a directory (flags %#x): no placeholder made", tc.flags)
		}
		var b [8]byte
		if _, err := unix.Read(int(ph.Fd()), b[:]); err != tc.read {
			t.Errorf("read of the placeholder (flags %#x): %v, want %v", tc.flags, err, tc.read)
		}
		ph.Close()
		r.k.Release(res.File)
	}
}
