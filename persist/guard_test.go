package persist

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// guardLayout makes top/x/a, the protected directory (with a file in it),
// and returns top and the protected path.
func guardLayout(t *testing.T) (top, prot string) {
	t.Helper()
	top = tempDir(t)
	prot = filepath.Join(top, "x", "a")
	check(t, os.MkdirAll(prot, 0o755))
	check(t, os.WriteFile(filepath.Join(prot, "keep"), []byte("host data"), 0o644))
	return top, prot
}

// wantRefused checks that err is a refusal naming how and the protected
// directory.
func wantRefused(t *testing.T, err error, how, prot string) {
	t.Helper()
	var pe *ProtectedError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *ProtectedError (%s %s)", err, how, prot)
	}
	if pe.How != how || pe.Dir != prot {
		t.Errorf("refused as %q %s, want %q %s", pe.How, pe.Dir, how, prot)
	}
}

func TestGuardCheck(t *testing.T) {
	top, prot := guardLayout(t)
	x := filepath.Join(top, "x")
	check(t, os.Symlink(prot, filepath.Join(top, "to-a")))          // to the directory
	check(t, os.Symlink(x, filepath.Join(top, "to-x")))             // to its parent
	check(t, os.Symlink("x/a/new", filepath.Join(top, "dangling"))) // into it, not there yet
	check(t, os.Symlink("../x/./a", filepath.Join(top, "x", "rel")))
	g := Guard{prot}
	for _, tc := range []struct {
		dest, how string // how "" is allowed
	}{
		{prot, "is"},
		{prot + "/", "is"},
		{filepath.Join(x, "b", "..", "a"), "is"},
		{filepath.Join(prot, "sub"), "is inside"},
		{filepath.Join(prot, "sub", "deeper", "new"), "is inside"},
		{filepath.Join(prot, "save.tar"), "is inside"},
		{filepath.Join(prot, "keep"), "is inside"},
		{x, "contains"},
		{top, "contains"},
		{filepath.Join(top, "to-a"), "is"},
		{filepath.Join(top, "to-a", "save.tar.gz"), "is inside"},
		{filepath.Join(top, "to-x"), "contains"},
		{filepath.Join(top, "to-x", "a"), "is"},
		{filepath.Join(top, "dangling"), "is inside"},
		{filepath.Join(x, "rel"), "is"},
		// The temporary copy of x/a.fsshim-... would be made beside x/a:
		// fine. Of x/a itself's prefix, only the exact name matters.
		{filepath.Join(x, "ab"), ""},
		{filepath.Join(x, "a.tar"), ""},
		{filepath.Join(x, "a-save"), ""},
		{filepath.Join(top, "to-x", "ab"), ""},
		{filepath.Join(top, "y"), ""},
	} {
		err := g.Check(tc.dest)
		if tc.how == "" {
			if err != nil {
				t.Errorf("Check(%s) = %v, want nil", tc.dest, err)
			}
			continue
		}
		t.Run(tc.dest, func(t *testing.T) { wantRefused(t, err, tc.how, prot) })
	}
	if err := (Guard{}).Check(prot); err != nil {
		t.Errorf("the zero Guard refused %s: %v", prot, err)
	}
}

// The temporary copy a save makes beside its destination must not be a
// protected directory either (one that does not exist yet on the host).
func TestGuardTemporaryName(t *testing.T) {
	top := tempDir(t)
	prot := filepath.Join(top, "out.fsshim-tmp-42", "m")
	wantRefused(t, Guard{prot}.Check(filepath.Join(top, "out")), "would have its temporary copy at or around", prot)
	if err := (Guard{prot}).Check(filepath.Join(top, "other")); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// A bind mount of the protected directory (or of its parent) is another
// name for it, found by device and inode.
func TestGuardBindMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	top, prot := guardLayout(t)
	alias := filepath.Join(top, "alias")
	aliasX := filepath.Join(top, "alias-x")
	check(t, os.Mkdir(alias, 0o755))
	check(t, os.Mkdir(aliasX, 0o755))
	for _, m := range [][2]string{{prot, alias}, {filepath.Dir(prot), aliasX}} {
		if err := unix.Mount(m[0], m[1], "", unix.MS_BIND, ""); err != nil {
			t.Skipf("cannot bind mount here (%v)", err)
		}
		t.Cleanup(func() { unix.Unmount(m[1], unix.MNT_DETACH) })
	}
	g := Guard{prot}
	wantRefused(t, g.Check(alias), "is", prot)
	wantRefused(t, g.Check(filepath.Join(alias, "sub", "new")), "is inside", prot)
	wantRefused(t, g.Check(filepath.Join(alias, "out.tar")), "is inside", prot)
	wantRefused(t, g.Check(aliasX), "contains", prot)
	if err := g.Check(filepath.Join(aliasX, "ab")); err != nil {
		t.Errorf("Check(%s): %v", filepath.Join(aliasX, "ab"), err)
	}
}

// Guard.SaveDir and Guard.SaveTar refuse before writing anything, and save
// as usual beside the protected directory.
func TestGuardSave(t *testing.T) {
	top, prot := guardLayout(t)
	check(t, os.Symlink(prot, filepath.Join(top, "to-a")))
	before := hostSnapshot(t, top)
	src := testTree(t, treeOpts{})
	g := Guard{prot}
	for _, dest := range []string{prot, filepath.Join(top, "x"), filepath.Join(top, "to-a"), filepath.Join(prot, "in")} {
		if err := g.SaveDir(src, src.Root(), dest); !errors.As(err, new(*ProtectedError)) {
			t.Errorf("SaveDir(%s) = %v, want a refusal", dest, err)
		}
	}
	for _, dest := range []string{filepath.Join(prot, "in.tar"), filepath.Join(top, "to-a", "in.tar")} {
		if err := g.SaveTar(src, src.Root(), dest, false); !errors.As(err, new(*ProtectedError)) {
			t.Errorf("SaveTar(%s) = %v, want a refusal", dest, err)
		}
	}
	if after := hostSnapshot(t, top); !slices.Equal(before, after) {
		t.Errorf("the host tree changed:\nbefore %q\nafter  %q", before, after)
	}
	check(t, g.SaveDir(src, src.Root(), filepath.Join(top, "x", "ab")))
	check(t, g.SaveTar(src, src.Root(), filepath.Join(top, "x", "a.tar"), false))
	if _, err := os.Stat(filepath.Join(top, "x", "ab", "a.txt")); err != nil {
		t.Errorf("the allowed save is missing: %v", err)
	}
}

// A symlink put in place of the destination's parent after the check (by
// the program, or anyone) does not lead the save into the protected
// directory: the save checks again on the directory it opened.
func TestGuardSymlinkSwappedIn(t *testing.T) {
	top, prot := guardLayout(t)
	elsewhere := filepath.Join(top, "elsewhere")
	check(t, os.Mkdir(elsewhere, 0o755))
	link := filepath.Join(top, "p")
	check(t, os.Symlink(elsewhere, link))
	g := Guard{prot}
	src := testTree(t, treeOpts{})
	for _, tc := range []struct {
		name string
		save func(dest string) error
	}{
		{"dir", func(dest string) error { return saveDir(src, src.Root(), dest, true, g) }},
		{"tar", func(dest string) error { return saveTar(src, src.Root(), dest, false, g) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(link, "out")
			check(t, g.Check(dest)) // through p, to elsewhere: allowed
			check(t, os.Remove(link))
			check(t, os.Symlink(prot, link)) // now into the protected directory
			before := hostSnapshot(t, prot)
			wantRefused(t, tc.save(dest), "is inside", prot)
			if after := hostSnapshot(t, prot); !slices.Equal(before, after) {
				t.Errorf("the protected directory changed:\nbefore %q\nafter  %q", before, after)
			}
			check(t, os.Remove(link))
			check(t, os.Symlink(elsewhere, link))
		})
	}
	// The destination itself replaced by a symlink to the protected
	// directory: the save resolves it, and refuses.
	dest := filepath.Join(top, "out")
	check(t, os.Mkdir(dest, 0o755))
	check(t, g.Check(dest))
	check(t, os.Remove(dest))
	check(t, os.Symlink(prot, dest))
	wantRefused(t, saveDir(src, src.Root(), dest, true, g), "is", prot)
	if _, err := os.Stat(filepath.Join(prot, "keep")); err != nil {
		t.Errorf("the protected directory lost its file: %v", err)
	}
}
