package ramfs

import (
	"fmt"
	"maps"
	"slices"
	"syscall"
	"testing"
)

type dentry struct {
	name string
	ino  uint64
	typ  uint8
	next int64
}

// readN reads up to n entries from pos.
func readN(t *testing.T, fsys *FS, dir *Inode, pos int64, n int) []dentry {
	t.Helper()
	var out []dentry
	ok(t, fsys.ReadDir(dir, pos, func(name string, ino uint64, typ uint8, next int64) bool {
		out = append(out, dentry{name, ino, typ, next})
		return len(out) < n
	}))
	return out
}

func names(ds []dentry) []string {
	var s []string
	for _, d := range ds {
		s = append(s, d.name)
	}
	return s
}

func TestReadDirDots(t *testing.T) {
	fsys, _ := newTestFS(t, Options{DirOrder: CreationOrder})
	root := fsys.Root()
	d := mkdir(t, fsys, root, "d")
	f := mkfile(t, fsys, d, "f")
	l, err := fsys.Symlink(d, "l", "f", 0, 0)
	ok(t, err)
	got := readN(t, fsys, d, 0, 100)
	want := []dentry{
		{".", d.Ino(), dtDir, 1},
		{"..", root.Ino(), dtDir, 2},
		{"f", f.Ino(), dtReg, got[2].next},
		{"l", l.Ino(), dtLnk, got[3].next},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadDir = %v, want %v", got, want)
	}
	if got := readN(t, fsys, root, 1, 1); got[0].name != ".." || got[0].ino != root.Ino() {
		t.Errorf("root .. = %v", got)
	}
	if got := readN(t, fsys, d, got[3].next, 10); len(got) != 0 {
		t.Errorf("past the end: %v", got)
	}
	if got := readN(t, fsys, d, 1<<40, 10); len(got) != 0 {
		t.Errorf("far past the end: %v", got)
	}
}

func TestReadDirStablePositions(t *testing.T) {
	fsys, _ := newTestFS(t, Options{DirOrder: CreationOrder})
	d := mkdir(t, fsys, fsys.Root(), "d")
	for i := range 100 {
		mkfile(t, fsys, d, fmt.Sprintf("f%03d", i))
	}
	// Read ".", "..", f000..f009 and keep the position after f009.
	first := readN(t, fsys, d, 0, 12)
	pos := first[11].next
	if first[11].name != "f009" {
		t.Fatalf("12th entry %q", first[11].name)
	}
	// Remove the next entry and one already listed, add a new one.
	ok(t, fsys.Unlink(d, "f010"))
	ok(t, fsys.Unlink(d, "f005"))
	mkfile(t, fsys, d, "new")
	next := readN(t, fsys, d, pos, 3)
	if got := names(next); !slices.Equal(got, []string{"f011", "f012", "f013"}) {
		t.Errorf("after removing the next entry: %v", got)
	}
	pos = next[2].next
	// Remove most entries (forcing a compaction), then resume.
	for i := 20; i < 90; i++ {
		ok(t, fsys.Unlink(d, fmt.Sprintf("f%03d", i)))
	}
	if d.dir.gen == 0 {
		t.Fatal("no compaction happened")
	}
	rest := readN(t, fsys, d, pos, 1000)
	var want []string
	for i := 14; i < 20; i++ {
		want = append(want, fmt.Sprintf("f%03d", i))
	}
	for i := 90; i < 100; i++ {
		want = append(want, fmt.Sprintf("f%03d", i))
	}
	want = append(want, "new")
	if got := names(rest); !slices.Equal(got, want) {
		t.Errorf("after compaction: %v\nwant %v", got, want)
	}
	// Positions of the remaining entries did not change.
	again := readN(t, fsys, d, pos, 1000)
	if !slices.Equal(again, rest) {
		t.Error("positions changed across compaction")
	}
	mustInvariants(t, fsys)
}

func TestReadDirCallbackMayCallFS(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	d := mkdir(t, fsys, fsys.Root(), "d")
	for i := range 50 {
		mkfile(t, fsys, d, fmt.Sprintf("f%02d", i))
	}
	// Remove every entry while listing, and create new ones: each entry is
	// seen at most once and every original entry exactly once.
	seen := map[string]int{}
	ok(t, fsys.ReadDir(d, 2, func(name string, ino uint64, typ uint8, next int64) bool {
		seen[name]++
		if _, err := fsys.Lookup(d, name); err != nil {
			t.Errorf("Lookup(%q) inside ReadDir: %v", name, err)
		}
		ok(t, fsys.Unlink(d, name))
		if len(seen) < 200 {
			mkfile(t, fsys, d, "n"+name)
		}
		return true
	}))
	for i := range 50 {
		if seen[fmt.Sprintf("f%02d", i)] != 1 {
			t.Errorf("f%02d seen %d times", i, seen[fmt.Sprintf("f%02d", i)])
		}
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("%s seen %d times", n, c)
		}
	}
	mustInvariants(t, fsys)
}

func TestReadDirRenamePositions(t *testing.T) {
	fsys, _ := newTestFS(t, Options{DirOrder: CreationOrder})
	d := mkdir(t, fsys, fsys.Root(), "d")
	o := mkdir(t, fsys, fsys.Root(), "o")
	for _, n := range []string{"a", "b", "c", "d"} {
		mkfile(t, fsys, d, n)
	}
	mkfile(t, fsys, o, "x")
	ok(t, fsys.Rename(d, "b", d, "bb", 0)) // keeps its place
	ok(t, fsys.Rename(d, "d", d, "a", 0))  // takes a's place
	ok(t, fsys.Rename(o, "x", d, "x", 0))  // appended
	ok(t, fsys.Rename(d, "c", d, "bb", RenameExchange))
	if got := listDir(t, fsys, d); !slices.Equal(got, []string{"a", "bb", "c", "x"}) {
		t.Errorf("after renames: %v", got)
	}
	// A listing that renames every entry it sees never sees one twice.
	seen := map[uint64]int{}
	ok(t, fsys.ReadDir(d, 2, func(name string, ino uint64, _ uint8, _ int64) bool {
		seen[ino]++
		ok(t, fsys.Rename(d, name, d, name+"_", 0))
		return true
	}))
	if len(seen) != 4 {
		t.Errorf("saw %d inodes", len(seen))
	}
	for ino, c := range seen {
		if c != 1 {
			t.Errorf("ino %d seen %d times", ino, c)
		}
	}
	mustInvariants(t, fsys)
}

func TestDirSizeAndNlink(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	d := mkdir(t, fsys, root, "d")
	mkdir(t, fsys, d, "s1")
	mkdir(t, fsys, d, "s2")
	mkfile(t, fsys, d, "f")
	if a := fsys.Getattr(d); a.Nlink != 4 || a.Size != 40+3*20 || a.Blocks != 0 {
		t.Errorf("dir nlink %d size %d blocks %d", a.Nlink, a.Size, a.Blocks)
	}
	ok(t, fsys.Rmdir(d, "s1"))
	if a := fsys.Getattr(d); a.Nlink != 3 || a.Size != 40+2*20 {
		t.Errorf("after rmdir nlink %d size %d", a.Nlink, a.Size)
	}
	if fsys.Entries(d) != 2 {
		t.Errorf("Entries %d", fsys.Entries(d))
	}
	wantErrno(t, "rmdir non-empty", fsys.Rmdir(root, "d"), syscall.ENOTEMPTY)
}

func TestForbidLinkTmpfile(t *testing.T) {
	fs := New(Options{})
	n, err := fs.Tmpfile(fs.Root(), 0o600, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	fs.ForbidLink(n)
	if err := fs.Link(fs.Root(), "x", n); err != syscall.ENOENT {
		t.Fatalf("Link after ForbidLink = %v, want ENOENT", err)
	}
	fs.Unref(n)
}

// TestReadDirNewestFirst checks the tmpfs order and positions: the newest
// name first, "." then ".." at 1, each entry's next the following entry's
// position plus one, EndOfDir after the last; names made by create, link
// or rename go to the front.
func TestReadDirNewestFirst(t *testing.T) {
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	d := mkdir(t, fsys, root, "d")
	for _, n := range []string{"a", "b", "c"} {
		mkfile(t, fsys, d, n)
	}
	got := readN(t, fsys, d, 0, 100)
	// Positions as tmpfs gives them: a=2, b=3, c=4.
	want := []string{".:1", "..:5", "c:4", "b:3", "a:2147483647"}
	var have []string
	for _, e := range got {
		have = append(have, fmt.Sprintf("%s:%d", e.name, e.next))
	}
	if !slices.Equal(have, want) {
		t.Errorf("listing %v, want %v", have, want)
	}
	// Resuming at each position lists what follows it.
	for i, e := range got[:len(got)-1] {
		if rest := names(readN(t, fsys, d, e.next, 100)); !slices.Equal(rest, names(got[i+1:])) {
			t.Errorf("resumed after %s: %v, want %v", e.name, rest, names(got[i+1:]))
		}
	}
	if rest := readN(t, fsys, d, EndOfDir, 100); len(rest) != 0 {
		t.Errorf("resumed at the end: %v", rest)
	}
	ok(t, fsys.Unlink(d, "b"))
	mkfile(t, fsys, d, "e")
	ok(t, fsys.Rename(d, "a", d, "z", 0))
	ok(t, fsys.Link(d, "h", mkfile(t, fsys, root, "o")))
	ok(t, fsys.Rename(d, "c", d, "e", 0)) // replaces e, and goes to the front
	if got := listDir(t, fsys, d); !slices.Equal(got, []string{"e", "h", "z"}) {
		t.Errorf("after renames: %v", got)
	}
	// An exchange moves both names to the front, the new name first,
	// each keeping its position (tmpfs's d_exchange).
	offs := func() map[string]int64 {
		return map[string]int64{"h": d.dir.byName["h"].off, "z": d.dir.byName["z"].off}
	}
	before := offs()
	hIno, zIno := d.dir.byName["h"].inode, d.dir.byName["z"].inode
	ok(t, fsys.Rename(d, "z", d, "h", RenameExchange))
	if got := listDir(t, fsys, d); !slices.Equal(got, []string{"h", "z", "e"}) {
		t.Errorf("after an exchange: %v", got)
	}
	if after := offs(); !maps.Equal(after, before) {
		t.Errorf("positions before the exchange %v, after %v", before, after)
	}
	if d.dir.byName["h"].inode != zIno || d.dir.byName["z"].inode != hIno {
		t.Error("the exchange did not swap the inodes")
	}
	// A listing sees nothing made after it started, and an entry renamed
	// while it runs at most once.
	seen := map[string]int{}
	ok(t, fsys.ReadDir(d, 0, func(name string, _ uint64, _ uint8, _ int64) bool {
		seen[name]++
		if name != "." && name != ".." {
			ok(t, fsys.Rename(d, name, d, name+"_", 0))
			mkfile(t, fsys, d, "new"+name)
		}
		return true
	}))
	if want := map[string]int{".": 1, "..": 1, "e": 1, "h": 1, "z": 1}; !maps.Equal(seen, want) {
		t.Errorf("listing while renaming saw %v", seen)
	}
	// Removing the entry a listing resumes at, and compacting, keeps the
	// rest of the listing.
	big := mkdir(t, fsys, root, "big")
	for i := range 100 {
		mkfile(t, fsys, big, fmt.Sprintf("f%03d", i))
	}
	first := readN(t, fsys, big, 0, 12) // ., .., f099 .. f090
	pos := first[11].next
	ok(t, fsys.Unlink(big, "f089"))
	for i := 10; i < 80; i++ {
		ok(t, fsys.Unlink(big, fmt.Sprintf("f%03d", i)))
	}
	if big.dir.gen == 0 {
		t.Fatal("no compaction happened")
	}
	var wantRest []string
	for i := 88; i >= 80; i-- {
		wantRest = append(wantRest, fmt.Sprintf("f%03d", i))
	}
	for i := 9; i >= 0; i-- {
		wantRest = append(wantRest, fmt.Sprintf("f%03d", i))
	}
	if rest := names(readN(t, fsys, big, pos, 1000)); !slices.Equal(rest, wantRest) {
		t.Errorf("after compaction: %v\nwant %v", rest, wantRest)
	}
	mustInvariants(t, fsys)
}
