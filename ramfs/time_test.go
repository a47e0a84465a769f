package ramfs

import (
	"sync/atomic"
	"testing"
	"time"
)

// times is a snapshot of an inode's timestamps.
type times struct{ a, m, c, b time.Time }

func snap(fsys *FS, n *Inode) times {
	a := fsys.Getattr(n)
	return times{a.Atime, a.Mtime, a.Ctime, a.Btime}
}

// changed reports which of atime, mtime, ctime changed, as "amc" letters.
func changed(x, y times) string {
	s := ""
	if !x.a.Equal(y.a) {
		s += "a"
	}
	if !x.m.Equal(y.m) {
		s += "m"
	}
	if !x.c.Equal(y.c) {
		s += "c"
	}
	if !x.b.Equal(y.b) {
		s += "b"
	}
	return s
}

func TestTimestamps(t *testing.T) {
	fsys, clock := newTestFS(t, Options{})
	root := fsys.Root()
	d := mkdir(t, fsys, root, "d")
	o := mkdir(t, fsys, root, "o")
	f := mkfile(t, fsys, d, "f")
	if s := snap(fsys, f); !s.a.Equal(s.m) || !s.m.Equal(s.c) || !s.c.Equal(s.b) {
		t.Errorf("new inode times differ: %+v", s)
	}

	type target struct {
		name string
		n    *Inode
		want string
	}
	step := func(what string, op func() error, targets ...target) {
		t.Helper()
		before := make([]times, len(targets))
		for i, tg := range targets {
			before[i] = snap(fsys, tg.n)
		}
		if err := op(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for i, tg := range targets {
			if got := changed(before[i], snap(fsys, tg.n)); got != tg.want {
				t.Errorf("%s: %s changed %q, want %q", what, tg.name, got, tg.want)
			}
		}
	}
	var g, l, p, sub *Inode
	step("create", func() (err error) { g, err = fsys.Create(d, "g", 0o644, 0, 0); return }, target{"dir", d, "mc"}, target{"other file", f, ""})
	step("mkdir", func() (err error) { sub, err = fsys.Mkdir(d, "sub", 0o755, 0, 0); return }, target{"dir", d, "mc"}, target{"root", root, ""})
	step("symlink", func() (err error) { l, err = fsys.Symlink(d, "l", "f", 0, 0); return }, target{"dir", d, "mc"})
	step("mknod", func() (err error) { p, err = fsys.Mknod(d, "p", sIFIFO|0o644, 0, 0, 0); return }, target{"dir", d, "mc"})
	step("link", func() error { return fsys.Link(o, "f2", f) }, target{"new dir", o, "mc"}, target{"old dir", d, ""}, target{"file", f, "c"})
	step("unlink", func() error { return fsys.Unlink(o, "f2") }, target{"dir", o, "mc"}, target{"file", f, "c"})
	step("rmdir", func() error { return fsys.Rmdir(d, "sub") }, target{"dir", d, "mc"}, target{"victim", sub, "c"})
	step("rename across", func() error { return fsys.Rename(d, "g", o, "g", 0) },
		target{"old dir", d, "mc"}, target{"new dir", o, "mc"}, target{"moved", g, "c"})
	fsys.Ref(g)
	step("rename over", func() error { return fsys.Rename(d, "p", o, "g", 0) },
		target{"old dir", d, "mc"}, target{"new dir", o, "mc"}, target{"moved", p, "c"}, target{"victim", g, "c"})
	fsys.Unref(g)
	step("exchange", func() error { return fsys.Rename(d, "f", d, "l", RenameExchange) },
		target{"dir", d, "mc"}, target{"a", f, "c"}, target{"b", l, "c"})

	step("write", func() error { _, err := fsys.WriteAt(f, []byte("x"), 0); return err }, target{"file", f, "mc"}, target{"dir", d, ""})
	step("empty write", func() error { _, err := fsys.WriteAt(f, nil, 0); return err }, target{"file", f, ""})
	step("truncate", func() error { return fsys.Truncate(f, 10) }, target{"file", f, "mc"})
	step("truncate same size", func() error { return fsys.Truncate(f, 10) }, target{"file", f, "mc"})
	step("fallocate", func() error { return fsys.Allocate(f, 0, 0, 100) }, target{"file", f, "mc"})
	step("fallocate keep size", func() error { return fsys.Allocate(f, FallocKeepSize, 0, 8192) }, target{"file", f, "mc"})
	step("punch", func() error { return fsys.Allocate(f, FallocPunchHole|FallocKeepSize, 0, 10) }, target{"file", f, "mc"})
	step("chmod", func() error { return fsys.Chmod(f, 0o600) }, target{"file", f, "c"})
	step("chown", func() error { return fsys.Chown(f, 1, 1) }, target{"file", f, "c"})
	at := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
	step("utimes both", func() error { return fsys.SetTimes(f, &at, &at) }, target{"file", f, "amc"})
	if s := snap(fsys, f); !s.a.Equal(at) || !s.m.Equal(at) {
		t.Errorf("SetTimes: %+v", s)
	}
	step("utimes mtime", func() error { return fsys.SetTimes(f, nil, &at) }, target{"file", f, "c"})
	step("utimes omit", func() error { return fsys.SetTimes(f, nil, nil) }, target{"file", f, ""})
	step("touch modify", func() error { fsys.Touch(f, false); return nil }, target{"file", f, "mc"})

	// relatime: the first read after a change updates atime, the next not.
	read := func() error { _, err := fsys.ReadAt(f, make([]byte, 4), 0); return err }
	step("read after change", read, target{"file", f, "a"})
	step("second read", read, target{"file", f, ""})
	step("read noatime", func() error { _, err := fsys.ReadAtNoatime(f, make([]byte, 4), 0); return err }, target{"file", f, ""})
	clock.advance(24 * time.Hour)
	step("read a day later", read, target{"file", f, "a"})
	step("touch access", func() error { fsys.Touch(f, true); return nil }, target{"file", f, ""})
	step("write", func() error { _, err := fsys.WriteAt(f, []byte("y"), 0); return err }, target{"file", f, "mc"})
	step("touch access after write", func() error { fsys.Touch(f, true); return nil }, target{"file", f, "a"})
	list := func() error { return fsys.ReadDir(d, 0, func(string, uint64, uint8, int64) bool { return true }) }
	step("readdir after change", list, target{"dir", d, "a"})
	step("second readdir", list, target{"dir", d, ""})
	step("readdir noatime", func() error {
		return fsys.ReadDirNoatime(o, 0, func(string, uint64, uint8, int64) bool { return true })
	}, target{"dir", o, ""})
	step("readlink", func() error { _, err := fsys.Readlink(l); return err }, target{"link", l, "a"})
	step("lookup", func() error { _, err := fsys.Lookup(d, "f"); return err }, target{"dir", d, ""})
	step("getattr", func() error { fsys.Getattr(f); return nil }, target{"file", f, ""})
}

func TestTimesHaveNoMonotonicReading(t *testing.T) {
	fsys := New(Options{})
	a := fsys.Getattr(fsys.Root())
	if a.Mtime != a.Mtime.Round(0) {
		t.Error("stored time carries a monotonic clock reading")
	}
	if n := fsys.Now(); n != n.Round(0) {
		t.Error("Now carries a monotonic clock reading")
	}
}

// testClock is a coarse clock that moves only when told and a fine one
// that moves by a microsecond on every reading.
type testClock struct{ coarse, fine int64 }

func (c *testClock) clock() clock {
	return clock{
		coarseNs: func() int64 { return c.coarse },
		fineNs:   func() int64 { c.fine += 1000; return c.fine },
		floor:    new(atomic.Int64),
	}
}

// Changes within one tick share its coarse time, unless a stat saw the
// ctime in between: then the change takes a fine-grained time
// (multigrain timestamps), and later coarse times do not fall below it.
func TestMultigrainTimestamps(t *testing.T) {
	fsys := New(Options{})
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	tc := &testClock{coarse: base, fine: base}
	fsys.clk = tc.clock()
	f := mkfile(t, fsys, fsys.Root(), "f")
	g := mkfile(t, fsys, fsys.Root(), "g")
	write := func(n *Inode) time.Time {
		t.Helper()
		if _, err := fsys.WriteAt(n, []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
		return fsys.Getattr(n).Mtime
	}
	created := fsys.Getattr(f).Ctime
	if m := write(f); !m.Equal(created) {
		t.Errorf("write in the tick of the create: mtime %v, want the coarse %v", m, created)
	}
	// Getattr is no stat: it does not mark ctime seen.
	if m := write(f); !m.Equal(created) {
		t.Errorf("second write: mtime %v, want %v", m, created)
	}
	seen := fsys.Stat(f, true).Ctime
	fine := write(f)
	if !fine.After(seen) {
		t.Errorf("write after a stat: mtime %v, want after %v", fine, seen)
	}
	if c := fsys.Getattr(f).Ctime; !c.Equal(fine) {
		t.Errorf("ctime %v, want the mtime %v", c, fine)
	}
	// Unseen again: the next write takes the coarse time, raised to the
	// floor the fine-grained one left.
	if m := write(f); !m.Equal(fine) {
		t.Errorf("write after the fine-grained one: mtime %v, want the floor %v", m, fine)
	}
	if m := write(g); m.Before(fine) {
		t.Errorf("another file's write: mtime %v, before the floor %v", m, fine)
	}
	// A stat that asks for neither mtime nor ctime does not mark it.
	fsys.Stat(f, false)
	if m := write(f); !m.Equal(fine) {
		t.Errorf("write after a stat without cmtime: mtime %v, want %v", m, fine)
	}
	// A seen ctime older than the coarse time: the coarse time does.
	tc.coarse += int64(coarseTick)
	fsys.Stat(f, true)
	if m := write(f); m.UnixNano() != tc.coarse {
		t.Errorf("write in a later tick: mtime %v, want the coarse %v", m, time.Unix(0, tc.coarse))
	}
}

func TestCoarseClock(t *testing.T) {
	a := coarseWall()
	if a%int64(coarseTick) != 0 {
		t.Errorf("coarse time %d is not a multiple of the tick", a)
	}
	now := time.Now().UnixNano()
	if d := now - a; d < 0 || d > int64(time.Second) {
		t.Errorf("coarse time %d is %v from the wall clock %d", a, time.Duration(d), now)
	}
}
