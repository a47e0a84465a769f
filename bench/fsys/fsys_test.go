package fsys

import (
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/linked"
)

func TestSys(t *testing.T) {
	dir := t.TempDir()
	lk, err := NewLinked([]string{dir, dir + "/"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Sys{"raw": Raw{}, "linked": lk} {
		if err := s.Bare(); !errors.Is(err, unix.EBADF) {
			t.Errorf("%s: Bare() = %v, want EBADF", name, err)
		}
		p := filepath.Join(dir, "f")
		fd, err := s.Open(p, unix.O_CREAT|unix.O_RDWR, 0o644)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "linked" && fd < linked.FDBase {
			t.Errorf("linked fd %d is a host fd number", fd)
		}
		if n, err := s.Write(fd, []byte("hello")); n != 5 || err != nil {
			t.Fatalf("%s: write %d %v", name, n, err)
		}
		var st unix.Stat_t
		if err := s.Fstat(fd, &st); err != nil || st.Size != 5 {
			t.Errorf("%s: fstat size %d, %v", name, st.Size, err)
		}
		buf := make([]byte, 3)
		if n, err := s.Pread(fd, buf, 2); n != 3 || err != nil || string(buf) != "llo" {
			t.Errorf("%s: pread %d %v %q", name, n, err, buf)
		}
		if err := s.Close(fd); err != nil {
			t.Fatal(err)
		}
		q := filepath.Join(dir, "g")
		if err := s.Rename(p, q); err != nil {
			t.Fatal(err)
		}
		if err := s.Stat(q, &st); err != nil || st.Size != 5 {
			t.Errorf("%s: stat size %d, %v", name, st.Size, err)
		}
		if err := s.Unlink(q); err != nil {
			t.Fatal(err)
		}
	}
}
