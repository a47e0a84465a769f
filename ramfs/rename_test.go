package ramfs

import (
	"path"
	"strings"
	"syscall"
	"testing"
)

// renameTree builds
//
//	/a/b/c  /f ("F")  /g ("G")  /h (link to f)  /e/  /e2/  /n/x  /s -> f
func renameTree(t *testing.T) *FS {
	t.Helper()
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	a := mkdir(t, fsys, root, "a")
	b := mkdir(t, fsys, a, "b")
	mkfile(t, fsys, b, "c")
	f := mkfile(t, fsys, root, "f")
	writeString(t, fsys, f, "F", 0)
	g := mkfile(t, fsys, root, "g")
	writeString(t, fsys, g, "G", 0)
	ok(t, fsys.Link(root, "h", f))
	mkdir(t, fsys, root, "e")
	mkdir(t, fsys, root, "e2")
	n := mkdir(t, fsys, root, "n")
	mkfile(t, fsys, n, "x")
	_, err := fsys.Symlink(root, "s", "f", 0, 0)
	ok(t, err)
	return fsys
}

func walkT(t *testing.T, fsys *FS, p string) *Inode {
	t.Helper()
	n, err := fsys.Walk(p)
	if err != nil {
		t.Fatalf("Walk(%q): %v", p, err)
	}
	return n
}

func lwalk(fsys *FS, p string) (*Inode, error) {
	return fsys.walk(p, false, false)
}

func TestRenameMatrix(t *testing.T) {
	tests := []struct {
		old, new string
		flags    uint32
		want     syscall.Errno
		check    func(t *testing.T, fsys *FS, before map[string]*Inode)
	}{
		{old: "f", new: "z", flags: 8, want: syscall.EINVAL},
		{old: "f", new: "g", flags: RenameNoreplace | RenameExchange, want: syscall.EINVAL},
		{old: "f", new: "g", flags: RenameWhiteout | RenameExchange, want: syscall.EINVAL},
		{old: "missing", new: "z", want: syscall.ENOENT},
		{old: "a/b/.", new: "z", want: syscall.EBUSY},
		{old: "a/..", new: "z", want: syscall.EBUSY},
		{old: "f", new: "a/..", want: syscall.EBUSY},
		{old: "f", new: "a/.", flags: RenameNoreplace, want: syscall.EEXIST},
		{old: "f", new: strings.Repeat("x", 256), want: syscall.ENAMETOOLONG},
		{old: "f/x", new: "z", want: syscall.ENOTDIR},
		{old: "f", new: "g/x", want: syscall.ENOTDIR},
		{old: "f", new: "g", flags: RenameNoreplace, want: syscall.EEXIST},
		{old: "f", new: "z", flags: RenameExchange, want: syscall.ENOENT},
		{old: "missing", new: "g", flags: RenameNoreplace, want: syscall.ENOENT},
		{old: "a", new: "a/b/z", want: syscall.EINVAL},
		{old: "a", new: "a/b", want: syscall.EINVAL},
		{old: "a", new: "a/b/c", want: syscall.EINVAL},
		{old: "a/b/c", new: "a", want: syscall.ENOTEMPTY},
		{old: "a/b", new: "a", want: syscall.ENOTEMPTY},
		{old: "a/b", new: "a", flags: RenameExchange, want: syscall.EINVAL},
		{old: "a", new: "a/b", flags: RenameExchange, want: syscall.EINVAL},
		{old: "f", new: "e", want: syscall.EISDIR},
		{old: "e", new: "f", want: syscall.ENOTDIR},
		{old: "e", new: "s", want: syscall.ENOTDIR},
		{old: "e", new: "n", want: syscall.ENOTEMPTY},
		{old: "f", new: "n", want: syscall.EISDIR},
		{old: "e", new: "e", want: 0},
		{old: "e", new: "e", flags: RenameNoreplace, want: syscall.EEXIST},
		{old: "f", new: "h", want: 0, check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			// Hard links to one inode: nothing happens.
			if lookup(t, fsys, fsys.Root(), "f") != b["f"] || lookup(t, fsys, fsys.Root(), "h") != b["f"] {
				t.Error("rename over own hard link changed something")
			}
			if a := fsys.Getattr(b["f"]); a.Nlink != 2 {
				t.Errorf("nlink %d, want 2", a.Nlink)
			}
		}},
		{old: "f", new: "g", check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if _, err := fsys.Lookup(fsys.Root(), "f"); err != syscall.ENOENT {
				t.Errorf("f still there: %v", err)
			}
			if lookup(t, fsys, fsys.Root(), "g") != b["f"] || readAll(t, fsys, b["f"]) != "F" {
				t.Error("g is not the old f")
			}
			if a := fsys.Getattr(b["g"]); a.Nlink != 0 {
				t.Errorf("replaced g: nlink %d", a.Nlink)
			}
			if a := fsys.Getattr(b["f"]); a.Nlink != 2 {
				t.Errorf("moved f: nlink %d", a.Nlink)
			}
		}},
		{old: "f", new: "a/b/c", check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if walkT(t, fsys, "a/b/c") != b["f"] {
				t.Error("a/b/c is not f")
			}
		}},
		{old: "e", new: "n/y", check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			root := fsys.Root()
			if walkT(t, fsys, "n/y") != b["e"] || fsys.Parent(b["e"]) != b["n"] || lookup(t, fsys, b["e"], "..") != b["n"] {
				t.Error("e not moved under n with its .. updated")
			}
			if fsys.Getattr(root).Nlink != 2+3 || fsys.Getattr(b["n"]).Nlink != 3 {
				t.Errorf("nlink root %d n %d", fsys.Getattr(root).Nlink, fsys.Getattr(b["n"]).Nlink)
			}
		}},
		{old: "e", new: "e2", check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if lookup(t, fsys, fsys.Root(), "e2") != b["e"] {
				t.Error("e2 is not e")
			}
			a := fsys.Getattr(b["e2"])
			if a.Nlink != 0 {
				t.Errorf("replaced dir nlink %d", a.Nlink)
			}
			if err := fsys.ReadDir(b["e2"], 0, nil); err != syscall.ENOENT {
				t.Errorf("ReadDir of replaced dir: %v", err)
			}
			if fsys.Getattr(fsys.Root()).Nlink != 2+3 {
				t.Errorf("root nlink %d", fsys.Getattr(fsys.Root()).Nlink)
			}
		}},
		{old: "a/b", new: "e", check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if lookup(t, fsys, fsys.Root(), "e") != b["a/b"] || fsys.Parent(b["a/b"]) != fsys.Root() {
				t.Error("a/b not moved over e")
			}
			if fsys.Getattr(b["a"]).Nlink != 2 || fsys.Getattr(fsys.Root()).Nlink != 2+4 {
				t.Errorf("nlink a %d root %d", fsys.Getattr(b["a"]).Nlink, fsys.Getattr(fsys.Root()).Nlink)
			}
		}},
		{old: "f", new: "g", flags: RenameExchange, check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if lookup(t, fsys, fsys.Root(), "g") != b["f"] || lookup(t, fsys, fsys.Root(), "f") != b["g"] {
				t.Error("not exchanged")
			}
		}},
		{old: "a/b/c", new: "e", flags: RenameExchange, check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if walkT(t, fsys, "a/b/c") != b["e"] || lookup(t, fsys, fsys.Root(), "e") != b["a/b/c"] {
				t.Error("not exchanged")
			}
			if fsys.Parent(b["e"]) != b["a/b"] {
				t.Error("exchanged dir's .. not updated")
			}
			if fsys.Getattr(b["a/b"]).Nlink != 3 || fsys.Getattr(fsys.Root()).Nlink != 2+3 {
				t.Errorf("nlink a/b %d root %d", fsys.Getattr(b["a/b"]).Nlink, fsys.Getattr(fsys.Root()).Nlink)
			}
		}},
		{old: "e", new: "n", flags: RenameExchange, check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if lookup(t, fsys, fsys.Root(), "n") != b["e"] || walkT(t, fsys, "e/x") == nil {
				t.Error("not exchanged")
			}
		}},
		{old: "f", new: "z", flags: RenameWhiteout, check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			w := lookup(t, fsys, fsys.Root(), "f")
			if a := fsys.Getattr(w); a.Mode != sIFCHR || a.Rdev != 0 {
				t.Errorf("whiteout mode %o rdev %d", a.Mode, a.Rdev)
			}
			if lookup(t, fsys, fsys.Root(), "z") != b["f"] {
				t.Error("z is not f")
			}
		}},
		{old: "f", new: "g", flags: RenameWhiteout, check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if lookup(t, fsys, fsys.Root(), "f").Mode() != sIFCHR || lookup(t, fsys, fsys.Root(), "g") != b["f"] {
				t.Error("whiteout over existing target wrong")
			}
		}},
		{old: "a/b/c", new: "a/b/d", check: func(t *testing.T, fsys *FS, b map[string]*Inode) {
			if walkT(t, fsys, "a/b/d") != b["a/b/c"] {
				t.Error("not renamed")
			}
		}},
	}
	for _, tt := range tests {
		name := tt.old + "->" + tt.new
		t.Run(name, func(t *testing.T) {
			fsys := renameTree(t)
			before := map[string]*Inode{}
			for _, p := range []string{"a", "a/b", "a/b/c", "f", "g", "e", "e2", "n", "s"} {
				n, err := lwalk(fsys, p)
				ok(t, err)
				before[p] = n
			}
			od, on := splitT(t, fsys, tt.old)
			nd, nn := splitT(t, fsys, tt.new)
			err := fsys.Rename(od, on, nd, nn, tt.flags)
			wantErrno(t, "Rename", err, tt.want)
			if tt.check != nil && err == nil {
				tt.check(t, fsys, before)
			}
			mustInvariants(t, fsys)
		})
	}
}

// splitT walks to the parent of p and returns it with the last name.
func splitT(t *testing.T, fsys *FS, p string) (*Inode, string) {
	t.Helper()
	dir, name := path.Split(p)
	if dir == "" {
		return fsys.Root(), name
	}
	d, err := lwalk(fsys, strings.TrimSuffix(dir, "/"))
	if err != nil {
		// A parent that is not a directory: let Rename report it.
		d, err = lwalk(fsys, strings.TrimSuffix(dir, "/")+"/..")
	}
	if err != nil {
		t.Fatalf("walk %q: %v", dir, err)
	}
	return d, name
}

func TestRenameNotDirParent(t *testing.T) {
	fsys := renameTree(t)
	f := walkT(t, fsys, "f")
	wantErrno(t, "old dir is a file", fsys.Rename(f, "x", fsys.Root(), "z", 0), syscall.ENOTDIR)
	wantErrno(t, "new dir is a file", fsys.Rename(fsys.Root(), "g", f, "z", 0), syscall.ENOTDIR)
	wantErrno(t, "across FS", fsys.Rename(fsys.Root(), "g", New(Options{}).Root(), "z", 0), syscall.EXDEV)
}

func TestRenameRemovedDirs(t *testing.T) {
	fsys := renameTree(t)
	root := fsys.Root()
	e := walkT(t, fsys, "e")
	fsys.Ref(e)
	ok(t, fsys.Rmdir(root, "e"))
	wantErrno(t, "into removed dir", fsys.Rename(root, "f", e, "f", 0), syscall.ENOENT)
	wantErrno(t, "from removed dir", fsys.Rename(e, "f", root, "z", 0), syscall.ENOENT)
	fsys.Unref(e)
	mustInvariants(t, fsys)
}

func TestRenameVictimStaysOpen(t *testing.T) {
	fsys := renameTree(t)
	root := fsys.Root()
	g := walkT(t, fsys, "g")
	fsys.Ref(g)
	ok(t, fsys.Rename(root, "f", root, "g", 0))
	if readAll(t, fsys, g) != "G" {
		t.Error("replaced file not readable while referenced")
	}
	mustInvariants(t, fsys, g)
	b0, _ := fsys.Used()
	fsys.Unref(g)
	b1, _ := fsys.Used()
	if b1 != b0-inodeCost-pageSize {
		t.Errorf("Unref freed %d bytes, want %d", b0-b1, inodeCost+pageSize)
	}
	mustInvariants(t, fsys)
}

func TestRenameMaxLinks(t *testing.T) {
	fsys := New(Options{MaxLinks: 4})
	root := fsys.Root()
	a := mkdir(t, fsys, root, "a")
	mkdir(t, fsys, a, "sub1")
	mkdir(t, fsys, a, "sub2") // a: nlink 4
	mkdir(t, fsys, root, "d") // root: nlink 4
	mkfile(t, fsys, a, "f")
	wantErrno(t, "dir into full parent", fsys.Rename(root, "d", a, "d", 0), syscall.EMLINK)
	wantErrno(t, "exchange dir into full parent", fsys.Rename(a, "f", root, "d", RenameExchange), syscall.EMLINK)
	ok(t, fsys.Rename(a, "sub1", a, "sub3", 0))
	ok(t, fsys.Rename(root, "d", a, "sub3", 0))
	mustInvariants(t, fsys)
}

func TestRenameCapacity(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	mkfile(t, fsys, root, "a")
	used, _ := fsys.Used()
	full := New(Options{Capacity: used})
	mkfile(t, full, full.Root(), "a") // exactly full
	_, err := full.Create(full.Root(), "b", 0o644, 0, 0)
	wantErrno(t, "create when full", err, syscall.ENOSPC)
	wantErrno(t, "longer name when full", full.Rename(full.Root(), "a", full.Root(), "ab", 0), syscall.ENOSPC)
	ok(t, full.Rename(full.Root(), "a", full.Root(), "b", 0))
	wantErrno(t, "whiteout when full", full.Rename(full.Root(), "b", full.Root(), "c", RenameWhiteout), syscall.ENOSPC)
	mustInvariants(t, full)
}
