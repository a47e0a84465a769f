package ramfs

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

func ioTree(t *testing.T) *FS {
	t.Helper()
	fsys, _ := newTestFS(t, Options{})
	root := fsys.Root()
	hello := mkfile(t, fsys, root, "hello.txt")
	writeString(t, fsys, hello, "hello, world\n", 0)
	d := mkdir(t, fsys, root, "dir")
	sub := mkdir(t, fsys, d, "sub")
	big := mkfile(t, fsys, sub, "big")
	writeString(t, fsys, big, strings.Repeat("0123456789", 1000), 0)
	writeString(t, fsys, big, "tail", 100000) // hole in between
	mkfile(t, fsys, d, "empty")
	ok(t, fsys.Link(d, "hardlink", hello))
	_, err := fsys.Symlink(root, "link", "dir/sub", 0, 0)
	ok(t, err)
	_, err = fsys.Symlink(d, "abs", "/hello.txt", 0, 0)
	ok(t, err)
	mkdir(t, fsys, root, "emptydir")
	return fsys
}

func TestFSTest(t *testing.T) {
	fsys := ioTree(t)
	err := fstest.TestFS(fsys.FS(), "hello.txt", "dir/sub/big", "dir/empty", "dir/hardlink", "link", "dir/abs", "emptydir")
	if err != nil {
		t.Fatal(err)
	}
	mustInvariants(t, fsys)
	if b, inodes := fsys.Used(); b == 0 || inodes != 9 {
		t.Errorf("used %d, %d", b, inodes)
	}
}

func TestIOFSBehaviour(t *testing.T) {
	fsys := ioTree(t)
	v := fsys.FS()
	_, err := v.Open("missing")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing): %v", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Err != syscall.ENOENT || pe.Path != "missing" {
		t.Errorf("Open(missing) error %#v", err)
	}
	if _, err := v.Open("/hello.txt"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(/hello.txt): %v", err)
	}
	if _, err := v.Open("hello.txt/x"); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("Open(hello.txt/x): %v", err)
	}
	data, err := fs.ReadFile(v, "link/big")
	if err != nil || len(data) != 100004 || string(data[100000:]) != "tail" || data[50000] != 0 {
		t.Errorf("ReadFile through symlink: %d bytes, %v", len(data), err)
	}
	data, err = fs.ReadFile(v, "dir/abs")
	if err != nil || string(data) != "hello, world\n" {
		t.Errorf("ReadFile through absolute symlink: %q, %v", data, err)
	}
	if _, err := fs.ReadFile(v, "dir"); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("ReadFile(dir): %v", err)
	}
	rl := v.(fs.ReadLinkFS)
	if tg, err := rl.ReadLink("link"); tg != "dir/sub" || err != nil {
		t.Errorf("ReadLink = %q, %v", tg, err)
	}
	if _, err := rl.ReadLink("hello.txt"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("ReadLink(file): %v", err)
	}
	if fi, err := rl.Lstat("link"); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("Lstat(link) = %v, %v", fi, err)
	}
	fi, err := fs.Stat(v, "link")
	if err != nil || !fi.IsDir() || fi.Name() != "link" {
		t.Errorf("Stat(link) = %v, %v", fi, err)
	}
	if a, ok := fi.Sys().(Attr); !ok || a.Nlink != 2 {
		t.Errorf("Sys() = %#v", fi.Sys())
	}

	// A file removed while open stays readable; Close releases it.
	f, err := v.Open("dir/sub/big")
	ok(t, err)
	used, _ := fsys.Used()
	ok(t, fsys.Unlink(walkT(t, fsys, "dir/sub"), "big"))
	if u, _ := fsys.Used(); u != used-direntBytes("big") {
		t.Errorf("unlinked open file released early")
	}
	head := make([]byte, 10)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "0123456789" {
		t.Errorf("read of unlinked open file: %q, %v", head, err)
	}
	ok(t, f.Close())
	if err := f.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	mustInvariants(t, fsys)

	modes := map[uint32]fs.FileMode{
		sIFREG | 0o4755: 0o755 | fs.ModeSetuid,
		sIFDIR | 0o3777: 0o777 | fs.ModeDir | fs.ModeSetgid | fs.ModeSticky,
		sIFLNK | 0o777:  0o777 | fs.ModeSymlink,
		sIFIFO | 0o600:  0o600 | fs.ModeNamedPipe,
		sIFSOCK | 0o600: 0o600 | fs.ModeSocket,
		sIFCHR | 0o600:  0o600 | fs.ModeDevice | fs.ModeCharDevice,
		sIFBLK | 0o600:  0o600 | fs.ModeDevice,
	}
	for m, want := range modes {
		if got := fileMode(m); got != want {
			t.Errorf("fileMode(%o) = %v, want %v", m, got, want)
		}
	}
}

func TestWalk(t *testing.T) {
	fsys := ioTree(t)
	root := fsys.Root()
	hello := lookup(t, fsys, root, "hello.txt")
	for _, tt := range []struct {
		path string
		want *Inode
		err  syscall.Errno
	}{
		{"/", root, 0},
		{".", root, 0},
		{"..", root, 0},
		{"/../..//hello.txt", hello, 0},
		{"dir/abs", hello, 0},
		{"link/../..", root, 0}, // ".." of the link target's parent
		{"link/", walkT(t, fsys, "dir/sub"), 0},
		{"hello.txt/", nil, syscall.ENOTDIR},
		{"hello.txt/x", nil, syscall.ENOTDIR},
		{"missing", nil, syscall.ENOENT},
		{"", nil, syscall.ENOENT},
		{strings.Repeat("a/", 2048), nil, syscall.ENAMETOOLONG},
		{strings.Repeat("x", 256), nil, syscall.ENAMETOOLONG},
	} {
		n, err := fsys.Walk(tt.path)
		wantErrno(t, "Walk("+tt.path+")", err, tt.err)
		if err == nil && n != tt.want {
			t.Errorf("Walk(%q) = ino %d, want %d", tt.path, n.Ino(), tt.want.Ino())
		}
	}
	_, err := fsys.Symlink(root, "loop1", "loop2", 0, 0)
	ok(t, err)
	_, err = fsys.Symlink(root, "loop2", "loop1", 0, 0)
	ok(t, err)
	_, err = fsys.Walk("loop1")
	wantErrno(t, "Walk(loop)", err, syscall.ELOOP)
	// 40 links are fine, 41 are not.
	prev := "hello.txt"
	for i := range 41 {
		name := "c" + strings.Repeat("x", i)
		_, err := fsys.Symlink(root, name, prev, 0, 0)
		ok(t, err)
		prev = name
		_, err = fsys.Walk(name)
		want := syscall.Errno(0)
		if i == 40 {
			want = syscall.ELOOP
		}
		wantErrno(t, "chain of "+name, err, want)
	}
}
