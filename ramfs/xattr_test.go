package ramfs

import (
	"bytes"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestXattrSetGetListRemove(t *testing.T) {
	fs, _ := newTestFS(t, Options{})
	f := mkfile(t, fs, fs.Root(), "f")
	if names := fs.ListXattr(f); len(names) != 0 {
		t.Fatalf("new file lists %q", names)
	}
	_, err := fs.GetXattr(f, "user.a")
	wantErrno(t, "get missing", err, syscall.ENODATA)

	val := []byte("one")
	ok(t, fs.SetXattr(f, "user.b", val, 0))
	val[0] = 'X' // the FS keeps its own copy
	ok(t, fs.SetXattr(f, "user.a", nil, 0))
	ok(t, fs.SetXattr(f, "trusted.c", []byte("3"), 0))

	v, err := fs.GetXattr(f, "user.b")
	ok(t, err)
	if string(v) != "one" {
		t.Errorf("user.b = %q, want one", v)
	}
	v[0] = 'Y' // and hands out copies
	if v, _ := fs.GetXattr(f, "user.b"); string(v) != "one" {
		t.Errorf("user.b changed through a returned slice: %q", v)
	}
	if v, err := fs.GetXattr(f, "user.a"); err != nil || v == nil || len(v) != 0 {
		t.Errorf("empty value: %q (nil %v), %v", v, v == nil, err)
	}
	if got, want := fs.ListXattr(f), []string{"trusted.c", "user.a", "user.b"}; !slices.Equal(got, want) {
		t.Errorf("list = %q, want %q", got, want)
	}

	ok(t, fs.SetXattr(f, "user.b", []byte("replaced"), 0))
	if v, _ := fs.GetXattr(f, "user.b"); string(v) != "replaced" {
		t.Errorf("user.b = %q after replace", v)
	}
	ok(t, fs.RemoveXattr(f, "user.b"))
	wantErrno(t, "remove twice", fs.RemoveXattr(f, "user.b"), syscall.ENODATA)
	_, err = fs.GetXattr(f, "user.b")
	wantErrno(t, "get removed", err, syscall.ENODATA)
	if got, want := fs.ListXattr(f), []string{"trusted.c", "user.a"}; !slices.Equal(got, want) {
		t.Errorf("list = %q, want %q", got, want)
	}

	// Every kind of inode can carry attributes; which names a caller may
	// use is not ramfs's business.
	d := mkdir(t, fs, fs.Root(), "d")
	l, err := fs.Symlink(fs.Root(), "l", "f", 0, 0)
	ok(t, err)
	for _, n := range []*Inode{d, l, fs.Root()} {
		ok(t, fs.SetXattr(n, "security.x", []byte("s"), 0))
	}
	if err := checkInvariants(fs); err != nil {
		t.Fatal(err)
	}
}

func TestXattrFlagsAndLimits(t *testing.T) {
	fs, _ := newTestFS(t, Options{})
	f := mkfile(t, fs, fs.Root(), "f")
	wantErrno(t, "replace missing", fs.SetXattr(f, "user.a", []byte("1"), XattrReplace), syscall.ENODATA)
	ok(t, fs.SetXattr(f, "user.a", []byte("1"), XattrCreate))
	wantErrno(t, "create existing", fs.SetXattr(f, "user.a", []byte("2"), XattrCreate), syscall.EEXIST)
	ok(t, fs.SetXattr(f, "user.a", []byte("3"), XattrReplace))
	// Both flags: the name must exist and must not; whichever applies.
	wantErrno(t, "both, existing", fs.SetXattr(f, "user.a", nil, XattrCreate|XattrReplace), syscall.EEXIST)
	wantErrno(t, "both, missing", fs.SetXattr(f, "user.z", nil, XattrCreate|XattrReplace), syscall.ENODATA)
	wantErrno(t, "bad flags", fs.SetXattr(f, "user.a", nil, 4), syscall.EINVAL)
	if v, _ := fs.GetXattr(f, "user.a"); string(v) != "3" {
		t.Errorf("failed sets changed the value: %q", v)
	}

	long := "user." + strings.Repeat("n", XattrNameMax-len("user."))
	ok(t, fs.SetXattr(f, long, nil, 0))
	wantErrno(t, "name too long", fs.SetXattr(f, long+"n", nil, 0), syscall.ERANGE)
	wantErrno(t, "empty name", fs.SetXattr(f, "", nil, 0), syscall.ERANGE)
	_, err := fs.GetXattr(f, long+"n")
	wantErrno(t, "get name too long", err, syscall.ERANGE)
	wantErrno(t, "remove empty name", fs.RemoveXattr(f, ""), syscall.ERANGE)
	ok(t, fs.SetXattr(f, "user.big", make([]byte, XattrSizeMax), 0))
	wantErrno(t, "value too big", fs.SetXattr(f, "user.big", make([]byte, XattrSizeMax+1), 0), syscall.E2BIG)
	if v, _ := fs.GetXattr(f, "user.big"); len(v) != XattrSizeMax {
		t.Errorf("user.big has %d bytes after a failed set", len(v))
	}
}

func TestXattrCtime(t *testing.T) {
	fs, _ := newTestFS(t, Options{})
	f := mkfile(t, fs, fs.Root(), "f")
	c0 := fs.Getattr(f).Ctime
	ok(t, fs.SetXattr(f, "user.a", []byte("1"), 0))
	c1 := fs.Getattr(f).Ctime
	if !c1.After(c0) {
		t.Errorf("SetXattr left ctime at %v", c1)
	}
	fs.SetXattr(f, "user.a", nil, XattrCreate)
	fs.GetXattr(f, "user.a")
	fs.ListXattr(f)
	fs.RemoveXattr(f, "user.none")
	if c := fs.Getattr(f).Ctime; !c.Equal(c1) {
		t.Errorf("failed or read-only calls changed ctime: %v -> %v", c1, c)
	}
	ok(t, fs.RemoveXattr(f, "user.a"))
	if c := fs.Getattr(f).Ctime; !c.After(c1) {
		t.Errorf("RemoveXattr left ctime at %v", c)
	}
	a := fs.Getattr(f)
	if !a.Mtime.Before(a.Ctime) {
		t.Errorf("xattr changes moved mtime: %v, ctime %v", a.Mtime, a.Ctime)
	}
}

func TestXattrCapacity(t *testing.T) {
	fs, _ := newTestFS(t, Options{Capacity: 64 << 10})
	f := mkfile(t, fs, fs.Root(), "f")
	used := func() int64 { b, _ := fs.Used(); return b }
	before := used()
	ok(t, fs.SetXattr(f, "user.a", []byte("12345"), 0))
	if got := used() - before; got != int64(len("user.a")+5) {
		t.Errorf("one attribute charged %d bytes, want %d", got, len("user.a")+5)
	}
	ok(t, fs.SetXattr(f, "user.a", []byte("12"), 0))
	if got := used() - before; got != int64(len("user.a")+2) {
		t.Errorf("after a shorter value: %d bytes, want %d", got, len("user.a")+2)
	}
	// Fill the FS up to a few bytes.
	free := 64<<10 - used()
	ok(t, fs.SetXattr(f, "user.fill", make([]byte, free-int64(len("user.fill"))-3), 0))
	if free := 64<<10 - used(); free != 3 {
		t.Fatalf("free = %d, want 3", free)
	}
	wantErrno(t, "new name when full", fs.SetXattr(f, "user.b", nil, 0), syscall.ENOSPC)
	wantErrno(t, "growing value when full", fs.SetXattr(f, "user.a", []byte("123456"), 0), syscall.ENOSPC)
	ok(t, fs.SetXattr(f, "user.a", []byte("12345"), 0)) // exactly fits
	if v, _ := fs.GetXattr(f, "user.a"); string(v) != "12345" {
		t.Errorf("user.a = %q", v)
	}
	if names := fs.ListXattr(f); !slices.Equal(names, []string{"user.a", "user.fill"}) {
		t.Errorf("a failed set left names %q", names)
	}
	_, err := fs.Create(fs.Root(), "g", 0o644, 0, 0)
	wantErrno(t, "create when full of attributes", err, syscall.ENOSPC)
	ok(t, fs.RemoveXattr(f, "user.fill"))
	if got := used() - before; got != int64(len("user.a")+5) {
		t.Errorf("after remove: %d bytes charged, want %d", got, len("user.a")+5)
	}
	if err := checkInvariants(fs); err != nil {
		t.Fatal(err)
	}
}

// TestXattrFreedWithInode: the attributes of a file go with its last link
// and last open reference. Without that, 1000 files with a 32 KiB attribute
// each would need 32 MB of a 1 MB FS.
func TestXattrFreedWithInode(t *testing.T) {
	fs, _ := newTestFS(t, Options{Capacity: 1 << 20})
	base, baseInodes := fs.Used()
	big := bytes.Repeat([]byte{'x'}, 32<<10)
	for i := range 1000 {
		f, err := fs.Create(fs.Root(), "f", 0o644, 0, 0)
		if err != nil {
			t.Fatalf("cycle %d: create: %v", i, err)
		}
		if err := fs.SetXattr(f, "user.big", big, 0); err != nil {
			t.Fatalf("cycle %d: setxattr: %v", i, err)
		}
		held := i%2 == 1
		if held {
			fs.Ref(f) // an open file keeps them until it is closed
		}
		ok(t, fs.Unlink(fs.Root(), "f"))
		if held {
			if v, err := fs.GetXattr(f, "user.big"); err != nil || len(v) != len(big) {
				t.Fatalf("cycle %d: an open unlinked file lost its attribute: %d, %v", i, len(v), err)
			}
			fs.Unref(f)
		}
		if names := fs.ListXattr(f); len(names) != 0 {
			t.Fatalf("cycle %d: a freed inode still has %q", i, names)
		}
	}
	if b, n := fs.Used(); b != base || n != baseInodes {
		t.Errorf("after 1000 cycles: used %d bytes, %d inodes; before %d, %d", b, n, base, baseInodes)
	}

	// An inode already released keeps nothing charged.
	f, err := fs.Create(fs.Root(), "f", 0o644, 0, 0)
	ok(t, err)
	ok(t, fs.Unlink(fs.Root(), "f"))
	ok(t, fs.SetXattr(f, "user.late", big, 0))
	if b, _ := fs.Used(); b != base {
		t.Errorf("SetXattr on a released inode: used %d, want %d", b, base)
	}

	// Rename over a file and rmdir free them too.
	a := mkfile(t, fs, fs.Root(), "a")
	mkfile(t, fs, fs.Root(), "b")
	d := mkdir(t, fs, fs.Root(), "d")
	ok(t, fs.SetXattr(a, "user.big", big, 0))
	ok(t, fs.SetXattr(d, "user.big", big, 0))
	ok(t, fs.Rename(fs.Root(), "b", fs.Root(), "a", 0))
	ok(t, fs.Rmdir(fs.Root(), "d"))
	ok(t, fs.Unlink(fs.Root(), "a"))
	if b, _ := fs.Used(); b != base {
		t.Errorf("after rename over and rmdir: used %d, want %d", b, base)
	}
	if err := checkInvariants(fs); err != nil {
		t.Fatal(err)
	}
}
