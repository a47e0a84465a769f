package lowerfs

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func tree(t *testing.T) (string, *Dir) {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "d"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "d", "g"), []byte("world"), 0o600))
	must(os.Symlink("/etc", filepath.Join(dir, "out")))
	must(os.Symlink("../..", filepath.Join(dir, "d", "up")))
	must(os.Symlink("f", filepath.Join(dir, "l")))
	d, err := Open(dir)
	must(err)
	t.Cleanup(func() { d.Close() })
	return dir, d
}

func TestLowerReads(t *testing.T) {
	_, d := tree(t)
	a, err := d.Lstat("d/g")
	if err != nil || a.Size != 5 || a.Mode != syscall.S_IFREG|0o600 {
		t.Errorf("Lstat d/g = %+v, %v", a, err)
	}
	if a, err := d.Lstat("l"); err != nil || a.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		t.Errorf("Lstat l = %o, %v (want the symlink itself)", a.Mode, err)
	}
	if tgt, err := d.Readlink("out"); err != nil || tgt != "/etc" {
		t.Errorf("Readlink out = %q, %v", tgt, err)
	}
	if _, err := d.Readlink("f"); err != syscall.EINVAL {
		t.Errorf("Readlink of a file: %v, want EINVAL", err)
	}
	ents, err := d.ReadDir(".")
	if err != nil || len(ents) != 4 {
		t.Fatalf("ReadDir . = %+v, %v", ents, err)
	}
	for _, e := range ents {
		want := map[string]uint8{"f": unix.DT_REG, "d": unix.DT_DIR, "out": unix.DT_LNK, "l": unix.DT_LNK}[e.Name]
		if e.Type != want || e.Ino == 0 {
			t.Errorf("entry %+v, want type %d", e, want)
		}
	}
	f, err := d.Open("f", 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 10)
	n, err := f.ReadAt(b, 1)
	if n != 4 || err != io.EOF || string(b[:n]) != "ello" {
		t.Errorf("ReadAt = %d %v %q", n, err, b[:n])
	}
	if fl, _ := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); fl&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("lower file opened with flags %#o", fl)
	}
	f.Close()
}

// Nothing leads out of the directory: a symlink is never followed by the
// lower layer, and ".." or absolute paths are refused.
func TestLowerStaysBeneath(t *testing.T) {
	_, d := tree(t)
	for _, rel := range []string{"out/passwd", "d/up/etc", "l/x"} {
		if _, err := d.Lstat(rel); err == nil {
			t.Errorf("Lstat %s succeeded", rel)
		}
		if _, err := d.Open(rel, 0); err == nil {
			t.Errorf("Open %s succeeded", rel)
		}
	}
	for _, rel := range []string{"../x", "/etc", "d/../f", "", "d/"} {
		if _, err := d.Lstat(rel); err != syscall.EINVAL {
			t.Errorf("Lstat %q: %v, want EINVAL", rel, err)
		}
	}
	if _, err := d.Open("l", 0); err == nil {
		t.Errorf("Open of a symlink followed it")
	}
	if f, err := d.Open("l", unix.O_PATH); err != nil {
		t.Errorf("O_PATH open of a symlink: %v", err)
	} else {
		f.Close()
	}
	if _, err := d.Open("f", unix.O_WRONLY); err != syscall.EINVAL {
		t.Errorf("Open for writing: %v, want EINVAL", err)
	}
}

// The component-by-component walk of kernels without openat2 refuses the
// same.
func TestLowerWalkWithoutOpenat2(t *testing.T) {
	_, d := tree(t)
	noOpenat2.Store(true)
	defer noOpenat2.Store(false)
	if a, err := d.Lstat("d/g"); err != nil || a.Size != 5 {
		t.Errorf("Lstat d/g: %v", err)
	}
	for _, rel := range []string{"out/passwd", "d/up/etc"} {
		if _, err := d.Lstat(rel); err == nil {
			t.Errorf("Lstat %s succeeded", rel)
		}
	}
}
