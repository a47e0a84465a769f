package linked

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/ramfs"
)

func newLinked(t testing.TB) *Linked {
	t.Helper()
	return New([]*emul.Mount{{Path: "/lk", FS: ramfs.New(ramfs.Options{})}})
}

func TestLinkedFileLifecycle(t *testing.T) {
	l := newLinked(t)
	if err := l.Mkdir("/lk/d", 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := l.Open("/lk/d/f", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if fd != FDBase {
		t.Errorf("first fd = %d, want %d", fd, FDBase)
	}
	if n, err := l.Write(fd, []byte("abcdef")); n != 6 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	buf := make([]byte, 16)
	if n, err := l.Pread(fd, buf, 2); n != 4 || err != nil || !bytes.Equal(buf[:4], []byte("cdef")) {
		t.Fatalf("pread = %d %v %q", n, err, buf[:n])
	}
	// dup shares the offset.
	r, e := l.Syscall(unix.SYS_DUP, uintptr(fd), 0, 0, 0, 0, 0)
	if e != 0 || r != FDBase+1 {
		t.Fatalf("dup = %d %v", r, e)
	}
	if _, err := l.Lseek(fd, 1, unix.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Read(int(r), buf); string(buf[:n]) != "bcdef" {
		t.Errorf("read through dup = %q", buf[:n])
	}
	var st unix.Stat_t
	if err := l.Stat("/lk/d/f", &st); err != nil || st.Size != 6 || st.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("stat = %+v, %v", st, err)
	}
	if err := l.Close(fd); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(int(r)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(int(r)); !errors.Is(err, syscall.EBADF) {
		t.Errorf("second close = %v, want EBADF", err)
	}
	if err := l.Unlink("/lk/d/f"); err != nil {
		t.Fatal(err)
	}
	if err := l.Rmdir("/lk/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open("/lk/d/f", unix.O_RDONLY, 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open after rmdir = %v", err)
	}
}

// Paths outside the mounts reach the host kernel.
func TestLinkedHostPassThrough(t *testing.T) {
	l := newLinked(t)
	dir := t.TempDir()
	fd, err := l.Open(dir+"/h", unix.O_CREAT|unix.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write(fd, []byte("host")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(fd); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dir + "/h")
	if err != nil || string(b) != "host" {
		t.Errorf("host file = %q, %v", b, err)
	}
}
