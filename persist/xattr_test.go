package persist

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// xattrFS is an FS with a file f (and a hard link g to it), a directory d,
// a symlink l and a FIFO p, each with attributes.
func xattrFS(t *testing.T) *ramfs.FS {
	t.Helper()
	rfs := ramfs.New(ramfs.Options{})
	r := rfs.Root()
	f, err := rfs.Create(r, "f", 0o444, 0, 0)
	check(t, err)
	_, err = rfs.WriteAt(f, []byte("data"), 0)
	check(t, err)
	check(t, rfs.Link(r, "g", f))
	d, err := rfs.Mkdir(r, "d", 0o555, 0, 0)
	check(t, err)
	l, err := rfs.Symlink(r, "l", "f", 0, 0)
	check(t, err)
	p, err := rfs.Mknod(r, "p", syscall.S_IFIFO|0o600, 0, 0, 0)
	check(t, err)
	for _, x := range []struct {
		n           *ramfs.Inode
		name, value string
	}{
		{f, "user.a", "1"},
		{f, "user.bin", "\x00\x01\xff"},
		{f, "user.x=y", "a name a PAX record cannot hold"},
		{f, "trusted.t", "t"},
		{d, "user.d", "dir"},
		{r, "security.root", "r"},
		{l, "trusted.l", "on the link"},
		{p, "trusted.p", "fifo"},
	} {
		check(t, rfs.SetXattr(x.n, x.name, []byte(x.value), 0))
	}
	return rfs
}

func xattrsOf(t *testing.T, rfs *ramfs.FS, rel string) map[string]string {
	t.Helper()
	n := rfs.Root()
	if rel != "." {
		var err error
		n, err = rfs.Lookup(n, rel) // not Walk, which follows symlinks
		check(t, err)
	}
	m := map[string]string{}
	for _, name := range rfs.ListXattr(n) {
		v, err := rfs.GetXattr(n, name)
		check(t, err)
		m[name] = string(v)
	}
	return m
}

func sameXattrs(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: attributes %q, want %q", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: attributes %q, want %q", what, got, want)
			return
		}
	}
}

// TestTarXattrs: every attribute but the one named with '=' goes into the
// archive as a SCHILY.xattr record, once per inode, and comes back; the
// save reports the one it left out and is otherwise complete.
func TestTarXattrs(t *testing.T) {
	src := xattrFS(t)
	dir := tempDir(t)
	p := filepath.Join(dir, "x.tar")
	err := SaveTar(src, src.Root(), p, false)
	xe, _ := err.(*XattrError) // not wrapped: the save succeeded
	if xe == nil || len(xe.Skipped) != 1 || xe.Skipped[0].Path != "f" || xe.Skipped[0].Name != "user.x=y" {
		t.Fatalf("SaveTar: %v, want an XattrError for f user.x=y", err)
	}
	if !strings.Contains(err.Error(), "user.x=y") {
		t.Errorf("error does not name the attribute: %v", err)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}

	data, err := os.ReadFile(p)
	check(t, err)
	tr := tar.NewReader(bytes.NewReader(data))
	records := map[string]map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		check(t, err)
		for k, v := range h.PAXRecords {
			if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				if records[h.Name] == nil {
					records[h.Name] = map[string]string{}
				}
				records[h.Name][name] = v
			}
		}
	}
	sameXattrs(t, "f in the archive", records["f"], map[string]string{"user.a": "1", "user.bin": "\x00\x01\xff", "trusted.t": "t"})
	sameXattrs(t, "g (a link entry) in the archive", records["g"], nil)
	sameXattrs(t, "./ in the archive", records["./"], map[string]string{"security.root": "r"})

	back := ramfs.New(ramfs.Options{})
	check(t, LoadTar(back, back.Root(), p))
	want := map[string]map[string]string{
		"f": {"user.a": "1", "user.bin": "\x00\x01\xff", "trusted.t": "t"},
		"g": {"user.a": "1", "user.bin": "\x00\x01\xff", "trusted.t": "t"},
		"d": {"user.d": "dir"}, ".": {"security.root": "r"},
		"l": {"trusted.l": "on the link"}, "p": {"trusted.p": "fifo"},
	}
	for rel, w := range want {
		sameXattrs(t, rel+" loaded", xattrsOf(t, back, rel), w)
	}
}

// TestLoadTarXattrs: names outside the namespaces fsshim serves are
// ignored; values beyond Linux's limits and attributes that do not fit in
// the FS stop the load.
func TestLoadTarXattrs(t *testing.T) {
	dir := tempDir(t)
	write := func(name string, records map[string]string) string {
		t.Helper()
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		check(t, tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644, PAXRecords: records, Format: tar.FormatPAX}))
		_, err := tw.Write([]byte("x"))
		check(t, err)
		check(t, tw.Close())
		p := filepath.Join(dir, name)
		check(t, os.WriteFile(p, buf.Bytes(), 0o644))
		return p
	}
	p := write("ns.tar", map[string]string{
		"SCHILY.xattr.user.ok":                 "1",
		"SCHILY.xattr.system.posix_acl_access": "acl",
		"SCHILY.xattr.other.name":              "o",
		"LIBARCHIVE.xattr.user.other-encoding": "eA",
	})
	rfs := ramfs.New(ramfs.Options{})
	check(t, LoadTar(rfs, rfs.Root(), p))
	sameXattrs(t, "f", xattrsOf(t, rfs, "f"), map[string]string{"user.ok": "1"})

	p = write("big.tar", map[string]string{"SCHILY.xattr.user.big": strings.Repeat("v", ramfs.XattrSizeMax+1)})
	rfs = ramfs.New(ramfs.Options{})
	if err := LoadTar(rfs, rfs.Root(), p); !errors.Is(err, syscall.E2BIG) || !strings.Contains(err.Error(), "user.big") {
		t.Errorf("value over XATTR_SIZE_MAX: %v", err)
	}

	p = write("full.tar", map[string]string{"SCHILY.xattr.user.big": strings.Repeat("v", 60000)})
	rfs = ramfs.New(ramfs.Options{Capacity: 32 << 10})
	if err := LoadTar(rfs, rfs.Root(), p); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("attribute larger than the FS: %v", err)
	}
}

// TestSaveDirXattrs: the attributes are set on the host copy (on the first
// name of a hard link, before a read-only mode, on a symlink itself), the
// ones the host refuses are reported and the rest of the save is complete;
// loading the copy back reads them.
func TestSaveDirXattrs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("trusted.* attributes need root")
	}
	src := xattrFS(t)
	parent := tempDir(t)
	out := filepath.Join(parent, "out")
	// The host refuses user.* on a symlink (EPERM), as Linux does for
	// every file system.
	l, err := src.Lookup(src.Root(), "l")
	check(t, err)
	check(t, src.SetXattr(l, "user.on-link", []byte("refused"), 0))

	err = SaveDir(src, src.Root(), out)
	xe, _ := err.(*XattrError) // not wrapped: the save succeeded
	if xe == nil || len(xe.Skipped) != 1 || xe.Skipped[0].Path != "l" || xe.Skipped[0].Name != "user.on-link" || !errors.Is(xe.Skipped[0].Err, syscall.EPERM) {
		t.Fatalf("SaveDir: %v, want an XattrError for l user.on-link (EPERM)", err)
	}
	if l := leftovers(t, parent); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}
	if data, err := os.ReadFile(filepath.Join(out, "f")); err != nil || string(data) != "data" {
		t.Errorf("f: %q, %v", data, err)
	}

	host := func(rel string) map[string]string {
		t.Helper()
		p := filepath.Join(out, rel)
		m := map[string]string{}
		buf := make([]byte, 4096)
		k, err := unix.Llistxattr(p, buf)
		check(t, err)
		for _, name := range strings.Split(strings.TrimSuffix(string(buf[:k]), "\x00"), "\x00") {
			if name == "" || strings.HasPrefix(name, "security.selinux") {
				continue
			}
			v := make([]byte, 4096)
			k, err := unix.Lgetxattr(p, name, v)
			check(t, err)
			m[name] = string(v[:k])
		}
		return m
	}
	fileWant := map[string]string{"user.a": "1", "user.bin": "\x00\x01\xff", "user.x=y": "a name a PAX record cannot hold", "trusted.t": "t"}
	sameXattrs(t, "host f", host("f"), fileWant)
	sameXattrs(t, "host g", host("g"), fileWant)
	sameXattrs(t, "host d", host("d"), map[string]string{"user.d": "dir"})
	sameXattrs(t, "host .", host("."), map[string]string{"security.root": "r"})
	sameXattrs(t, "host l", host("l"), map[string]string{"trusted.l": "on the link"})
	sameXattrs(t, "host p", host("p"), map[string]string{"trusted.p": "fifo"})

	// Back in: everything but the attributes of the symlink (hostcopy
	// does not read those).
	back := ramfs.New(ramfs.Options{})
	check(t, Load(back, back.Root(), out))
	sameXattrs(t, "loaded f", xattrsOf(t, back, "f"), fileWant)
	sameXattrs(t, "loaded g", xattrsOf(t, back, "g"), fileWant)
	sameXattrs(t, "loaded d", xattrsOf(t, back, "d"), map[string]string{"user.d": "dir"})
	sameXattrs(t, "loaded .", xattrsOf(t, back, "."), map[string]string{"security.root": "r"})
	sameXattrs(t, "loaded p", xattrsOf(t, back, "p"), map[string]string{"trusted.p": "fifo"})
}
