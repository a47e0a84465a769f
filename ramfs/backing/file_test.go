package backing

import (
	"io"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// An open backing file is a bare fd that reads as an io.ReaderAt: a short
// count at the end of the file comes with io.EOF, and Close closes the fd.
func TestFileReadAt(t *testing.T) {
	d := mount(t, 0)
	fs := ramfs.New(ramfs.Options{Store: d})
	n, err := fs.Create(fs.Root(), "f", 0o644, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.WriteAt(n, []byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	f, err := fs.OpenData(n, unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if k, err := f.ReadAt(buf, 1); k != 4 || err != nil || string(buf) != "ello" {
		t.Errorf("ReadAt(4 at 1) = %d %v %q", k, err, buf[:k])
	}
	if k, err := f.ReadAt(buf, 3); k != 2 || err != io.EOF || string(buf[:k]) != "lo" {
		t.Errorf("ReadAt(4 at 3) = %d %v %q, want 2 bytes and io.EOF", k, err, buf[:k])
	}
	fd := int(f.Fd())
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("fd still open after Close: %v", err)
	}
}
