package ramfs

import (
	"bytes"
	"syscall"
	"testing"
)

func TestSparseFile(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	f := mkfile(t, fsys, fsys.Root(), "f")
	const off = 1 << 20
	writeString(t, fsys, f, "data", off)
	a := fsys.Getattr(f)
	if a.Size != off+4 || a.Blocks != 8 || a.Blksize != 4096 {
		t.Errorf("size %d blocks %d blksize %d", a.Size, a.Blocks, a.Blksize)
	}
	buf := bytes.Repeat([]byte{0xff}, 8192)
	k, err := fsys.ReadAt(f, buf, off-4096)
	if err != nil || k != 4100 {
		t.Fatalf("ReadAt = %d, %v", k, err)
	}
	if !bytes.Equal(buf[:4096], make([]byte, 4096)) || string(buf[4096:4100]) != "data" {
		t.Error("hole does not read as zeros or data wrong")
	}
	if string(buf[4100:4104]) != "\xff\xff\xff\xff" {
		t.Error("ReadAt wrote past the count it returned")
	}
	if k, err := fsys.ReadAt(f, buf, a.Size); k != 0 || err != nil {
		t.Errorf("ReadAt at EOF = %d, %v", k, err)
	}
	if k, err := fsys.ReadAt(f, buf, a.Size+100); k != 0 || err != nil {
		t.Errorf("ReadAt past EOF = %d, %v", k, err)
	}

	// SEEK_DATA / SEEK_HOLE.
	seek := func(name string, fn func(*Inode, int64) (int64, error), at, want int64) {
		t.Helper()
		got, err := fn(f, at)
		if err != nil || got != want {
			t.Errorf("%s(%d) = %d, %v; want %d", name, at, got, err, want)
		}
	}
	seek("SeekData", fsys.SeekData, 0, off)
	seek("SeekData", fsys.SeekData, off+2, off+2)
	seek("SeekHole", fsys.SeekHole, 0, 0)
	seek("SeekHole", fsys.SeekHole, off, off+4)
	seek("SeekHole", fsys.SeekHole, 4095, 4095)

	// Far offsets exercise a tall tree.
	writeString(t, fsys, f, "far", 1<<50)
	seek("SeekData", fsys.SeekData, off+4, off+4) // the whole page is data
	seek("SeekData", fsys.SeekData, off+4096, 1<<50)
	seek("SeekHole", fsys.SeekHole, 1<<50, 1<<50+3)
	if a := fsys.Getattr(f); a.Blocks != 16 || a.Size != 1<<50+3 {
		t.Errorf("after far write: blocks %d size %d", a.Blocks, a.Size)
	}
	writeString(t, fsys, f, "x", MaxFileSize-1)
	if a := fsys.Getattr(f); a.Size != MaxFileSize || a.Blocks != 24 {
		t.Errorf("after write at max: size %d blocks %d", a.Size, a.Blocks)
	}
	seek("SeekHole", fsys.SeekHole, 1<<50+5000, 1<<50+5000)
	seek("SeekData", fsys.SeekData, 1<<50+5000, (MaxFileSize-1)&^(pageSize-1))
	mustInvariants(t, fsys)

	// Shrinking frees pages and zeroes the tail of the last page; growing
	// again reads zeros.
	ok(t, fsys.Truncate(f, off+2))
	if a := fsys.Getattr(f); a.Size != off+2 || a.Blocks != 8 {
		t.Errorf("after truncate: size %d blocks %d", a.Size, a.Blocks)
	}
	ok(t, fsys.Truncate(f, 1<<30))
	if a := fsys.Getattr(f); a.Blocks != 8 {
		t.Errorf("growing allocated blocks: %d", a.Blocks)
	}
	k, err = fsys.ReadAt(f, buf[:4], off)
	if err != nil || string(buf[:k]) != "da\x00\x00" {
		t.Errorf("after shrink and grow: %q, %v", buf[:k], err)
	}
	ok(t, fsys.Truncate(f, 0))
	if a := fsys.Getattr(f); a.Size != 0 || a.Blocks != 0 || f.file.height != 0 {
		t.Errorf("after truncate 0: size %d blocks %d height %d", a.Size, a.Blocks, f.file.height)
	}
	mustInvariants(t, fsys)
}

func TestAllocate(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	f := mkfile(t, fsys, fsys.Root(), "f")
	base, _ := fsys.Used()

	ok(t, fsys.Allocate(f, 0, 100, 3*4096))
	if a := fsys.Getattr(f); a.Size != 100+3*4096 || a.Blocks != 4*8 {
		t.Errorf("mode 0: size %d blocks %d", a.Size, a.Blocks)
	}
	if _, err := fsys.SeekData(f, 0); err != syscall.ENXIO {
		t.Errorf("SeekData over unwritten pages: %v, want ENXIO", err)
	}
	writeString(t, fsys, f, "x", 5000)
	if got, err := fsys.SeekData(f, 0); got != 4096 || err != nil {
		t.Errorf("SeekData after write = %d, %v", got, err)
	}
	if got, err := fsys.SeekHole(f, 4096); got != 8192 || err != nil {
		t.Errorf("SeekHole after write = %d, %v", got, err)
	}

	ok(t, fsys.Allocate(f, FallocKeepSize, 1<<20, 4096))
	if a := fsys.Getattr(f); a.Size != 100+3*4096 || a.Blocks != 5*8 {
		t.Errorf("keep size: size %d blocks %d", a.Size, a.Blocks)
	}
	// Truncate to the same size drops pages past EOF.
	ok(t, fsys.Truncate(f, 100+3*4096))
	if a := fsys.Getattr(f); a.Blocks != 4*8 {
		t.Errorf("truncate kept pages past EOF: blocks %d", a.Blocks)
	}

	// Punch: whole pages go, partial pages are zeroed.
	writeString(t, fsys, f, string(bytes.Repeat([]byte("a"), 4*4096)), 0)
	ok(t, fsys.Allocate(f, FallocPunchHole|FallocKeepSize, 2000, 4096+3000))
	if a := fsys.Getattr(f); a.Blocks != 3*8 || a.Size != 4*4096 {
		t.Errorf("punch over one whole page: blocks %d size %d", a.Blocks, a.Size)
	}
	ok(t, fsys.Allocate(f, FallocPunchHole|FallocKeepSize, 100, 3*4096))
	if a := fsys.Getattr(f); a.Blocks != 2*8 {
		t.Errorf("punch: blocks %d, want 16", a.Blocks)
	}
	got := make([]byte, 4*4096)
	_, err := fsys.ReadAt(f, got, 0)
	ok(t, err)
	want := bytes.Repeat([]byte("a"), 4*4096)
	clear(want[2000 : 2000+4096+3000])
	clear(want[100 : 100+3*4096])
	if !bytes.Equal(got, want) {
		t.Error("punched data differs")
	}
	ok(t, fsys.Allocate(f, FallocPunchHole|FallocKeepSize, 0, 1<<40))
	if a := fsys.Getattr(f); a.Blocks != 0 || a.Size != 4*4096 {
		t.Errorf("punch all: blocks %d size %d", a.Blocks, a.Size)
	}
	if used, _ := fsys.Used(); used != base {
		t.Errorf("used %d after punching all, want %d", used, base)
	}
	mustInvariants(t, fsys)
}

func TestCapacity(t *testing.T) {
	probe := New(Options{})
	mkfile(t, probe, probe.Root(), "f")
	used, _ := probe.Used()
	fsys, _ := newTestFS(t, Options{Capacity: used + 4*pageSize})
	f := mkfile(t, fsys, fsys.Root(), "f")

	// Like tmpfs: the write stops at the last page that fits.
	data := bytes.Repeat([]byte("abcdefgh"), 20000/8)
	k, err := fsys.WriteAt(f, data, 100)
	if k != 4*4096-100 || err != nil {
		t.Fatalf("partial write = %d, %v; want %d, nil", k, err, 4*4096-100)
	}
	if a := fsys.Getattr(f); a.Size != 4*4096 || a.Blocks != 32 {
		t.Errorf("size %d blocks %d", a.Size, a.Blocks)
	}
	k, err = fsys.WriteAt(f, data, 30000)
	if k != 0 || err != syscall.ENOSPC {
		t.Errorf("write when full = %d, %v; want 0, ENOSPC", k, err)
	}
	if a := fsys.Getattr(f); a.Size != 4*4096 {
		t.Errorf("failed write changed size to %d", a.Size)
	}
	// Overwriting allocated pages needs no space.
	writeString(t, fsys, f, "XY", 10)
	got := make([]byte, 4*4096)
	_, err = fsys.ReadAt(f, got, 0)
	ok(t, err)
	want := make([]byte, 4*4096)
	copy(want[100:], data)
	copy(want[10:], "XY")
	if !bytes.Equal(got, want) {
		t.Error("data written before ENOSPC not intact")
	}
	if err := fsys.Allocate(f, 0, 0, 5*4096); err != syscall.ENOSPC {
		t.Errorf("fallocate past capacity: %v", err)
	}
	if a := fsys.Getattr(f); a.Size != 4*4096 || a.Blocks != 32 {
		t.Errorf("failed fallocate changed the file: size %d blocks %d", a.Size, a.Blocks)
	}
	for _, op := range []struct {
		name string
		err  error
	}{
		{"Create", errOf(fsys.Create(fsys.Root(), "g", 0o644, 0, 0))},
		{"Mkdir", errOf(fsys.Mkdir(fsys.Root(), "g", 0o755, 0, 0))},
		{"Symlink", errOf(fsys.Symlink(fsys.Root(), "g", "t", 0, 0))},
		{"Mknod", errOf(fsys.Mknod(fsys.Root(), "g", sIFIFO, 0, 0, 0))},
		{"Link", fsys.Link(fsys.Root(), "g", f)},
		{"Tmpfile", errOf(fsys.Tmpfile(fsys.Root(), 0o600, 0, 0))},
	} {
		wantErrno(t, op.name+" when full", op.err, syscall.ENOSPC)
	}
	s := fsys.Statfs()
	if s.Bfree != 0 || s.Blocks != uint64(used+4*pageSize)/pageSize || s.Bsize != 4096 || s.Namelen != 255 {
		t.Errorf("Statfs when full: %+v", s)
	}
	// Shrinking frees capacity.
	ok(t, fsys.Truncate(f, 4096))
	if _, err := fsys.Create(fsys.Root(), "g", 0o644, 0, 0); err != nil {
		t.Errorf("Create after truncate: %v", err)
	}
	mustInvariants(t, fsys)
}

func TestCapacityMetadata(t *testing.T) {
	fsys := New(Options{Capacity: 64 << 10})
	root := fsys.Root()
	var err error
	for i := 0; err == nil; i++ {
		_, err = fsys.Create(root, string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)), 0o644, 0, 0)
		if i > 1000 {
			t.Fatal("empty files are free: 1000 created in 64 KiB")
		}
	}
	wantErrno(t, "Create", err, syscall.ENOSPC)
	mustInvariants(t, fsys)

	fsys = New(Options{MaxInodes: 3})
	mkfile(t, fsys, fsys.Root(), "a")
	mkfile(t, fsys, fsys.Root(), "b")
	_, err = fsys.Create(fsys.Root(), "c", 0o644, 0, 0)
	wantErrno(t, "Create past MaxInodes", err, syscall.ENOSPC)
	if s := fsys.Statfs(); s.Files != 3 || s.Ffree != 0 {
		t.Errorf("Statfs %+v", s)
	}
	ok(t, fsys.Unlink(fsys.Root(), "a"))
	mkfile(t, fsys, fsys.Root(), "c")

	// Long symlinks take a page, like tmpfs.
	fsys = New(Options{})
	b0, _ := fsys.Used()
	short, err := fsys.Symlink(fsys.Root(), "s", string(bytes.Repeat([]byte("t"), 127)), 0, 0)
	ok(t, err)
	long, err := fsys.Symlink(fsys.Root(), "l", string(bytes.Repeat([]byte("t"), 128)), 0, 0)
	ok(t, err)
	b1, _ := fsys.Used()
	if want := int64(2*inodeCost + 127 + pageSize + direntBytes("s") + direntBytes("l")); b1-b0 != want {
		t.Errorf("symlinks cost %d, want %d", b1-b0, want)
	}
	if a, b := fsys.Getattr(short), fsys.Getattr(long); a.Blocks != 0 || b.Blocks != 8 || a.Size != 127 || b.Size != 128 {
		t.Errorf("symlink blocks %d/%d size %d/%d", a.Blocks, b.Blocks, a.Size, b.Size)
	}
	if s := New(Options{}).Statfs(); s.Blocks != unlimitedBytes/pageSize || s.Files != unlimitedInodes {
		t.Errorf("unlimited Statfs %+v", s)
	}
}

func TestHardLinksAndOpenUnlinked(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	base, baseInodes := fsys.Used()
	f := mkfile(t, fsys, root, "f")
	writeString(t, fsys, f, "hello", 0)
	ok(t, fsys.Link(root, "g", f))
	if a := fsys.Getattr(f); a.Nlink != 2 {
		t.Errorf("nlink %d", a.Nlink)
	}
	ok(t, fsys.Unlink(root, "f"))
	if a := fsys.Getattr(f); a.Nlink != 1 || readAll(t, fsys, lookup(t, fsys, root, "g")) != "hello" {
		t.Error("data lost after unlinking one of two links")
	}
	fsys.Ref(f)
	fsys.Ref(f)
	ok(t, fsys.Unlink(root, "g"))
	if a := fsys.Getattr(f); a.Nlink != 0 {
		t.Errorf("nlink %d after last unlink", a.Nlink)
	}
	writeString(t, fsys, f, " world", 5)
	if readAll(t, fsys, f) != "hello world" {
		t.Error("unlinked file not usable while referenced")
	}
	wantErrno(t, "Link of unlinked file", fsys.Link(root, "h", f), syscall.ENOENT)
	mustInvariants(t, fsys, f)
	fsys.Unref(f)
	if used, _ := fsys.Used(); used == base {
		t.Error("freed while still referenced")
	}
	fsys.Unref(f)
	if used, inodes := fsys.Used(); used != base || inodes != baseInodes {
		t.Errorf("after last Unref used (%d, %d), want (%d, %d)", used, inodes, base, baseInodes)
	}

	// Directories: removed but open.
	d := mkdir(t, fsys, root, "d")
	sub := mkdir(t, fsys, d, "sub")
	fsys.Ref(sub)
	ok(t, fsys.Rmdir(d, "sub"))
	if err := fsys.ReadDir(sub, 0, func(string, uint64, uint8, int64) bool { return true }); err != syscall.ENOENT {
		t.Errorf("ReadDir of removed dir: %v", err)
	}
	if a := fsys.Getattr(sub); a.Nlink != 0 || a.Size != 40 {
		t.Errorf("removed dir: nlink %d size %d", a.Nlink, a.Size)
	}
	if p := lookup(t, fsys, sub, ".."); p != d {
		t.Error(".. of removed dir is not its old parent")
	}
	if a := fsys.Getattr(d); a.Nlink != 2 {
		t.Errorf("parent nlink %d", a.Nlink)
	}
	mustInvariants(t, fsys, sub)
	fsys.Unref(sub)
	ok(t, fsys.Rmdir(root, "d"))
	if used, inodes := fsys.Used(); used != base || inodes != baseInodes {
		t.Errorf("after rmdir used (%d, %d), want (%d, %d)", used, inodes, base, baseInodes)
	}

	// Ref of an inode already released charges it again.
	x := mkfile(t, fsys, root, "x")
	ok(t, fsys.Unlink(root, "x"))
	fsys.Ref(x)
	mustInvariants(t, fsys, x)
	fsys.Unref(x)
	mustInvariants(t, fsys)

	// Tmpfile: no name until linked, once.
	tf, err := fsys.Tmpfile(root, 0o600, 0, 0)
	ok(t, err)
	writeString(t, fsys, tf, "tmp", 0)
	mustInvariants(t, fsys, tf)
	ok(t, fsys.Link(root, "named", tf))
	ok(t, fsys.Unlink(root, "named"))
	wantErrno(t, "second link of tmpfile", fsys.Link(root, "again", tf), syscall.ENOENT)
	fsys.Unref(tf)
	if used, _ := fsys.Used(); used != base {
		t.Errorf("tmpfile leaked: used %d, want %d", used, base)
	}
	mustInvariants(t, fsys)

	// LookupRef holds the inode across an unlink.
	y := mkfile(t, fsys, root, "y")
	ry, err := fsys.LookupRef(root, "y")
	ok(t, err)
	if ry != y {
		t.Error("LookupRef returned another inode")
	}
	ok(t, fsys.Unlink(root, "y"))
	mustInvariants(t, fsys, y)
	fsys.Unref(y)
	mustInvariants(t, fsys)
}

func TestUnrefWithoutRefPanics(t *testing.T) {
	fsys := New(Options{})
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	fsys.Unref(fsys.Root())
}

func TestModesAndOwners(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	if a := fsys.Getattr(root); a.Mode != sIFDIR|0o755 || a.Uid != 0 || a.Gid != 0 || a.Nlink != 2 || a.Ino != 1 || a.Size != 40 {
		t.Errorf("root attr %+v", a)
	}
	f, err := fsys.Create(root, "f", 0o4755|0o170000, 1000, 100)
	ok(t, err)
	if a := fsys.Getattr(f); a.Mode != sIFREG|0o4755 || a.Uid != 1000 || a.Gid != 100 || a.Nlink != 1 {
		t.Errorf("created file %+v", a)
	}
	if fsys.Getattr(root).Size != 60 {
		t.Errorf("dir size %d, want 60", fsys.Getattr(root).Size)
	}
	ok(t, fsys.Chmod(f, 0o6777|sIFDIR))
	if m := f.Mode(); m != sIFREG|0o6777 {
		t.Errorf("chmod mode %o", m)
	}
	// chown clears setuid, and setgid with group execute (chown_common).
	ok(t, fsys.Chown(f, -1, -1))
	if m := f.Mode(); m != sIFREG|0o777 {
		t.Errorf("after chown mode %o", m)
	}
	ok(t, fsys.Chmod(f, 0o2745))
	ok(t, fsys.Chown(f, 5, 1<<32-1))
	if a := fsys.Getattr(f); a.Mode != sIFREG|0o2745 || a.Uid != 5 || a.Gid != 100 {
		t.Errorf("after chown %+v", a)
	}
	ok(t, fsys.Chmod(root, 0o6755))
	ok(t, fsys.Chown(root, 7, 8))
	if a := fsys.Getattr(root); a.Mode != sIFDIR|0o6755 || a.Uid != 7 || a.Gid != 8 {
		t.Errorf("dir after chown %+v", a)
	}
	// A setgid directory passes on its group and, to subdirectories, setgid.
	sub, err := fsys.Mkdir(root, "sub", 0o755, 1, 1)
	ok(t, err)
	g, err := fsys.Create(root, "g", 0o644, 1, 1)
	ok(t, err)
	if a, b := fsys.Getattr(sub), fsys.Getattr(g); a.Gid != 8 || a.Mode != sIFDIR|0o2755 || b.Gid != 8 || b.Mode != sIFREG|0o644 {
		t.Errorf("setgid inheritance: dir %o gid %d, file %o gid %d", a.Mode, a.Gid, b.Mode, b.Gid)
	}
	for _, tt := range []struct {
		mode uint32
		rdev uint64
		want uint32
		dt   uint8
	}{
		{sIFIFO | 0o600, 5, sIFIFO | 0o600, dtFIFO},
		{sIFSOCK | 0o600, 5, sIFSOCK | 0o600, dtSock},
		{sIFCHR | 0o600, 0x0501, sIFCHR | 0o600, dtChr},
		{sIFBLK | 0o600, 0x0802, sIFBLK | 0o600, dtBlk},
		{0o600, 5, sIFREG | 0o600, dtReg},
	} {
		n, err := fsys.Mknod(root, "n", tt.mode, tt.rdev, 0, 0)
		ok(t, err)
		a := fsys.Getattr(n)
		wantRdev := uint64(0)
		if tt.want&sIFMT == sIFCHR || tt.want&sIFMT == sIFBLK {
			wantRdev = tt.rdev
		}
		if a.Mode != tt.want || a.Rdev != wantRdev || dtype(a.Mode) != tt.dt {
			t.Errorf("mknod %o: mode %o rdev %x", tt.mode, a.Mode, a.Rdev)
		}
		ok(t, fsys.Unlink(root, "n"))
	}
	l, err := fsys.Symlink(root, "l", "target", 3, 4)
	ok(t, err)
	if a := fsys.Getattr(l); a.Mode != sIFLNK|0o777 || a.Size != 6 || a.Uid != 3 || a.Gid != 8 {
		t.Errorf("symlink %+v", a)
	}
	if tg, err := fsys.Readlink(l); tg != "target" || err != nil {
		t.Errorf("Readlink = %q, %v", tg, err)
	}
	if fsys.Parent(f) != nil || fsys.Parent(root) != root || fsys.Parent(sub) != root {
		t.Error("Parent")
	}
	if fsys.Entries(root) != 4 || fsys.Entries(f) != 0 {
		t.Errorf("Entries %d", fsys.Entries(root))
	}
	mustInvariants(t, fsys)
}

func TestAppend(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	f := mkfile(t, fsys, fsys.Root(), "f")
	writeString(t, fsys, f, "abc", 0)
	off, k, err := fsys.Append(f, []byte("def"))
	if off != 3 || k != 3 || err != nil || readAll(t, fsys, f) != "abcdef" {
		t.Errorf("Append = %d, %d, %v", off, k, err)
	}
	if off, k, err := fsys.Append(f, nil); off != 6 || k != 0 || err != nil {
		t.Errorf("empty Append = %d, %d, %v", off, k, err)
	}
	_, _, err = fsys.Append(fsys.Root(), []byte("x"))
	wantErrno(t, "Append to dir", err, syscall.EISDIR)
	ok(t, fsys.Truncate(f, MaxFileSize-1))
	_, _, err = fsys.Append(f, []byte("xy"))
	wantErrno(t, "Append past max", err, syscall.EINVAL)
}

func TestWriteFault(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	f := mkfile(t, fsys, fsys.Root(), "f")
	writeString(t, fsys, f, "abc", 0)
	// Inside the file: nothing changes but the page is there.
	if err := fsys.WriteFault(f, 1); err != nil {
		t.Fatal(err)
	}
	if a := fsys.Getattr(f); a.Size != 3 || a.Blocks != 8 {
		t.Errorf("after a fault inside: size %d blocks %d", a.Size, a.Blocks)
	}
	// Past the end: the size grows to off and off's page is data.
	if err := fsys.WriteFault(f, 5000); err != nil {
		t.Fatal(err)
	}
	if a := fsys.Getattr(f); a.Size != 5000 || a.Blocks != 16 {
		t.Errorf("after a fault at 5000: size %d blocks %d", a.Size, a.Blocks)
	}
	// At a page boundary past the end: the page past the new size counts.
	if err := fsys.WriteFault(f, 3*4096); err != nil {
		t.Fatal(err)
	}
	if a := fsys.Getattr(f); a.Size != 3*4096 || a.Blocks != 24 {
		t.Errorf("after a fault at 12288: size %d blocks %d", a.Size, a.Blocks)
	}
	if pos, err := fsys.SeekData(f, 4096); err != nil || pos != 4096 {
		t.Errorf("SeekData(4096) = %d, %v: the faulted page is data", pos, err)
	}
	if err := fsys.WriteFault(f, -1); err != syscall.EINVAL {
		t.Errorf("WriteFault(-1) = %v", err)
	}
}

// Pages of a removed or truncated file are used again for new data
// (pagePool): a page taken from the pool reads as zeros wherever it was
// not written.
func TestReusedPagesReadAsZeros(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	full := bytes.Repeat([]byte{0xff}, 3*pageSize)
	for i := range 3 {
		old := mkfile(t, fsys, root, "old")
		if _, err := fsys.WriteAt(old, full, 0); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			// Truncation gives pages back too.
			if err := fsys.Truncate(old, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := fsys.Unlink(root, "old"); err != nil {
			t.Fatal(err)
		}
		pooled := 0
		for i := range fsys.pools.shards {
			pages := &fsys.pools.shards[i].pages
			pages.mu.Lock()
			pooled += len(pages.items)
			pages.mu.Unlock()
		}
		if pooled == 0 {
			t.Fatal("no page went back to the pool")
		}
		n := mkfile(t, fsys, root, "new")
		if _, err := fsys.WriteAt(n, []byte("x"), pageSize+7); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.WriteAt(n, []byte("y"), 2*pageSize+100); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 2*pageSize+101)
		if k, err := fsys.ReadAt(n, got, 0); err != nil || k != len(got) {
			t.Fatalf("read %d, %v", k, err)
		}
		want := make([]byte, len(got))
		want[pageSize+7], want[2*pageSize+100] = 'x', 'y'
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: a reused page holds old data", i)
		}
		if err := fsys.Unlink(root, "new"); err != nil {
			t.Fatal(err)
		}
	}
}
