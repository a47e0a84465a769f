package emul

import (
	"fmt"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// scripted is a Target that records what Complete asked of it and plays
// the part its fields say.
type scripted struct {
	k      *Kernel
	log    []string
	fd     int
	errno  syscall.Errno
	prog   Progress
	record bool // InstallFD records the fd itself (InstallLowest from fd)
	fill   error
}

func (s *scripted) Answer(c *Call, val int64, errno syscall.Errno) {
	s.log = append(s.log, fmt.Sprintf("answer %d %d %d", c.ID, val, errno))
}
func (s *scripted) Continue(c *Call) (int64, syscall.Errno) {
	s.log = append(s.log, fmt.Sprintf("continue %d", c.ID))
	return 0, 0
}
func (s *scripted) Fill(c *Call, f *File, fd int) error {
	s.log = append(s.log, fmt.Sprintf("fill %d", fd))
	return s.fill
}
func (s *scripted) InstallFD(c *Call, f *File, fdFlags, setFD int) (int, syscall.Errno, Progress) {
	s.log = append(s.log, fmt.Sprintf("installfd %d", setFD))
	if s.record {
		return s.k.InstallLowest(c.Proc, s.fd, f, false), 0, Recorded
	}
	return s.fd, s.errno, s.prog
}
func (s *scripted) InstallHostFD(c *Call, h LowerFile, fdFlags int) (int, syscall.Errno, Progress) {
	s.log = append(s.log, "installhostfd")
	return s.fd, s.errno, s.prog
}
func (s *scripted) Redirect(c *Call, rd *Redirection) (int64, syscall.Errno, Progress) {
	s.log = append(s.log, "redirect "+rd.Path)
	return int64(s.fd), s.errno, s.prog
}
func (s *scripted) Defer(c *Call) { s.log = append(s.log, fmt.Sprintf("defer %d", c.ID)) }
func (s *scripted) Late(id uint64, val int64, errno syscall.Errno) {
	s.log = append(s.log, fmt.Sprintf("late %d %d %d", id, val, errno))
}

// openResult has Handle answer an open of /m/f with InstallFD.
func openResult(t *testing.T, r *rig, id uint64) (*Call, Result) {
	t.Helper()
	c := &Call{ID: id, Tid: 1, Proc: r.p, Nr: unix.SYS_OPENAT, Mem: r.mem,
		Args: [6]uint64{cwd, r.mem.str("/m/f"), unix.O_CREAT | unix.O_RDWR, 0o644}}
	res := r.k.Handle(c)
	if res.Action != InstallFD {
		t.Fatalf("open: %v %v, want installfd", res.Action, res.Err)
	}
	return c, res
}

// released reports whether the description is gone (no reference left;
// a description made by a shared call has no id before its install).
func released(r *rig, f *File) bool { return f.refs.Load() == 0 }

// closeFD closes fd of the rig's process through the handler.
func closeFD(r *rig, fd int) {
	c := Call{Tid: 1, Proc: r.p, Nr: unix.SYS_CLOSE, Mem: r.mem, Args: [6]uint64{uint64(fd)}}
	r.k.Handle(&c)
}

// An InstallFD's description belongs to the new fd when the primitive
// gave one and is released when it did not; the answer is given unless
// it went with the fd.
func TestCompleteInstallFD(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fd      int
		errno   syscall.Errno
		prog    Progress
		log     []string
		outcome Outcome
	}{
		{"did", 5, 0, Did, []string{"installfd -1", "answer 9 5 0"}, Emulated},
		{"sent", 6, 0, Sent, []string{"installfd -1"}, Emulated},
		{"failed", -1, syscall.EMFILE, Did, []string{"installfd -1", "answer 9 -1 24"}, Failed},
		{"gone", -1, syscall.ENOENT, Sent, []string{"installfd -1"}, Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			c, res := openResult(t, r, 9)
			s := &scripted{k: r.k, fd: tc.fd, errno: tc.errno, prog: tc.prog}
			rep := r.k.Complete(s, c, &res)
			if !slices.Equal(s.log, tc.log) || rep.Outcome != tc.outcome {
				t.Fatalf("Complete: %q, outcome %v; want %q, %v", s.log, rep.Outcome, tc.log, tc.outcome)
			}
			f := res.File
			if tc.errno != 0 {
				if !released(r, f) {
					t.Fatal("the description outlives a failed install")
				}
				return
			}
			if got := r.k.FileOf(r.p, tc.fd); got != f {
				t.Fatalf("fd %d refers to %v, want the new description", tc.fd, got)
			}
			closeFD(r, tc.fd)
			if !released(r, f) {
				t.Fatal("the description outlives its only fd: the Result's reference was kept")
			}
		})
	}
}

// A primitive that records the fd itself (linked) is not recorded twice,
// and one that says Later is finished by FinishInstall.
func TestCompleteInstallRecordedAndLater(t *testing.T) {
	r := newRig(t)
	c, res := openResult(t, r, 0)
	s := &scripted{k: r.k, fd: 100, record: true}
	if rep := r.k.Complete(s, c, &res); rep.Val != 100 || rep.Err != 0 {
		t.Fatalf("recorded install = %+v", rep)
	}
	closeFD(r, 100)
	if !released(r, res.File) {
		t.Fatal("a recorded install kept the Result's reference")
	}

	c, res = openResult(t, r, 11)
	s = &scripted{k: r.k, prog: Later}
	if rep := r.k.Complete(s, c, &res); rep.Outcome != Pending || len(s.log) != 1 {
		t.Fatalf("Later: %+v, %q", rep, s.log)
	}
	if released(r, res.File) {
		t.Fatal("the description went before the install finished")
	}
	rep := r.k.FinishInstall(s, c, res.File, 7, 0)
	if rep.Outcome != Emulated || s.log[len(s.log)-1] != "answer 11 7 0" || r.k.FileOf(r.p, 7) != res.File {
		t.Fatalf("FinishInstall: %+v, %q", rep, s.log)
	}
}

// A mapping whose placeholder cannot be filled fails with ENODEV and is
// not continued; a host fd is closed after its install; a redirection's
// result is the answer.
func TestCompleteFillHostRedirect(t *testing.T) {
	r := newRig(t)
	c := &Call{ID: 3, Tid: 1, Proc: r.p, Nr: unix.SYS_MMAP}
	s := &scripted{k: r.k, fill: syscall.EIO}
	rep := r.k.Complete(s, c, &Result{Action: Continue, Fill: &File{}, FillFD: 4})
	if want := []string{"fill 4", "answer 3 0 19"}; !slices.Equal(s.log, want) || rep.Err != syscall.ENODEV {
		t.Errorf("failed fill: %q %+v, want %q", s.log, rep, want)
	}
	s = &scripted{k: r.k}
	r.k.Complete(s, c, &Result{Action: Continue, Fill: &File{}, FillFD: 4})
	if want := []string{"fill 4", "continue 3"}; !slices.Equal(s.log, want) {
		t.Errorf("fill: %q, want %q", s.log, want)
	}

	h := &hostFile{}
	s = &scripted{k: r.k, fd: 8, prog: Sent}
	rep = r.k.Complete(s, c, &Result{Action: InstallHostFD, Host: h})
	if want := []string{"installhostfd"}; !slices.Equal(s.log, want) || !h.closed || rep.Val != 8 {
		t.Errorf("host fd: %q closed %v %+v", s.log, h.closed, rep)
	}

	s = &scripted{k: r.k, fd: 12}
	rep = r.k.Complete(s, c, &Result{Action: Redirect, Redir: &Redirection{Path: "/x"}})
	if want := []string{"redirect /x", "answer 3 12 0"}; !slices.Equal(s.log, want) || rep.Val != 12 {
		t.Errorf("redirect: %q %+v", s.log, rep)
	}
}

type hostFile struct{ closed bool }

func (f *hostFile) ReadAt(p []byte, off int64) (int, error) { return 0, nil }
func (f *hostFile) Close() error                            { f.closed = true; return nil }
func (f *hostFile) Fd() uintptr                             { return 0 }

// A call that waits for a lock is deferred, and answered through Late
// after the answer of the call that released the lock.
func TestCompleteLateAfterRelease(t *testing.T) {
	r := newRig(t)
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	r.ok(unix.SYS_FCNTL, uint64(fd), unix.F_SETLK, r.flock(syscall.F_WRLCK, 0, 0))
	p1, p2 := r.p, r.k.Process(2, nil)
	r.p = p2
	fd2 := r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_RDWR, 0)
	s := &scripted{k: r.k}
	c := &Call{ID: 77, Tid: 2, Proc: p2, Nr: unix.SYS_FCNTL, Mem: r.mem,
		Args: [6]uint64{uint64(fd2), unix.F_SETLKW, r.flock(syscall.F_WRLCK, 0, 0)}}
	if rep := r.k.Complete(s, c, ptr(r.k.Handle(c))); rep.Outcome != Pending {
		t.Fatalf("F_SETLKW under conflict: %+v", rep)
	}
	// Without an Oracle emul's table is the fd table: the close is answered.
	c = &Call{ID: 78, Tid: 1, Proc: p1, Nr: unix.SYS_CLOSE, Mem: r.mem, Args: [6]uint64{uint64(fd)}}
	r.k.Complete(s, c, ptr(r.k.Handle(c)))
	if want := []string{"defer 77", "answer 78 0 0", "late 77 0 0"}; !slices.Equal(s.log, want) {
		t.Errorf("log = %q, want %q", s.log, want)
	}
}

func ptr[T any](v T) *T { return &v }
