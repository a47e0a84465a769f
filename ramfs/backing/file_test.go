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

// CreateOpen's backing file is opened as asked, by the open that made
// it: its access mode and status flags are the program's, and the file's
// times are those of its creation.
func TestCreateOpen(t *testing.T) {
	d := mount(t, 0)
	fs := ramfs.New(ramfs.Options{Store: d})
	n, f, err := fs.CreateOpen(fs.Root(), "f", 0o644, 0, 0, unix.O_WRONLY|unix.O_APPEND)
	if err != nil || f == nil {
		t.Fatalf("CreateOpen = %v, %v", f, err)
	}
	defer f.Close()
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_ACCMODE != unix.O_WRONLY || fl&unix.O_APPEND == 0 {
		t.Errorf("flags of the backing fd: %#o, %v; want O_WRONLY|O_APPEND", fl, err)
	}
	if _, err := unix.Read(int(f.Fd()), make([]byte, 1)); err != unix.EBADF {
		t.Errorf("read of a write-only fd: %v, want EBADF", err)
	}
	if _, err := unix.Write(int(f.Fd()), []byte("ab")); err != nil {
		t.Fatal(err)
	}
	if a := fs.Getattr(n); a.Size != 2 {
		t.Errorf("size after a write through the fd: %d", a.Size)
	}
	if _, _, err := fs.CreateOpen(fs.Root(), "f", 0o644, 0, 0, unix.O_RDWR); err != unix.EEXIST {
		t.Errorf("CreateOpen of an existing name: %v, want EEXIST", err)
	}
	// Without a Store there is no backing file to return.
	plain := ramfs.New(ramfs.Options{})
	if _, f, err := plain.CreateOpen(plain.Root(), "f", 0o644, 0, 0, unix.O_RDWR); err != nil || f != nil {
		t.Errorf("CreateOpen without a Store = %v, %v; want no file", f, err)
	}
}
