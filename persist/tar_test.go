package persist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fsshim/ramfs"
)

var allOpts = treeOpts{unreadable: true, devices: true, trusted: true}

// TestTarRoundTrip saves a tree as a tar (plain, gzipped by name, gzipped
// by flag), loads it into a new FS and compares the two.
func TestTarRoundTrip(t *testing.T) {
	src := testTree(t, allOpts)
	want := listing(t, src, src.Root(), listOpts{})
	for _, tc := range []struct {
		name   string
		gz     bool
		gzData bool
	}{
		{"a.tar", false, false},
		{"a.tar.gz", false, true},
		{"a.tgz", false, true},
		{"gz-by-flag.tar", true, true}, // gzip told by magic, not by name, on load
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tempDir(t)
			p := filepath.Join(dir, tc.name)
			check(t, SaveTar(src, src.Root(), p, tc.gz))
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("leftovers: %v", l)
			}
			data, err := os.ReadFile(p)
			check(t, err)
			if isGz := bytes.HasPrefix(data, []byte{0x1f, 0x8b}); isGz != tc.gzData {
				t.Errorf("gzipped %v, want %v", isGz, tc.gzData)
			}
			back := ramfs.New(ramfs.Options{})
			check(t, LoadTar(back, back.Root(), p))
			sameListing(t, want, listing(t, back, back.Root(), listOpts{}))
			// Load (by file) does the same.
			back2 := ramfs.New(ramfs.Options{})
			check(t, Load(back2, back2.Root(), p))
			sameListing(t, want, listing(t, back2, back2.Root(), listOpts{}))
		})
	}
	sameListing(t, want, listing(t, src, src.Root(), listOpts{})) // the saves changed nothing
}

// TestTarEntries checks the archive itself: PAX, sorted depth-first order,
// TypeLink for later names, no sockets, and the same bytes every time.
func TestTarEntries(t *testing.T) {
	src := testTree(t, allOpts)
	dir := tempDir(t)
	p1, p2 := filepath.Join(dir, "1.tar"), filepath.Join(dir, "2.tar.gz")
	check(t, SaveTar(src, src.Root(), p1, false))
	check(t, SaveTar(src, src.Root(), p2, false))
	check(t, SaveTar(src, src.Root(), p2, false)) // replaces itself
	a, err := os.ReadFile(p1)
	check(t, err)
	check(t, SaveTar(src, src.Root(), p1, false))
	b, err := os.ReadFile(p1)
	check(t, err)
	if !bytes.Equal(a, b) {
		t.Error("two saves of the same tree differ")
	}

	tr := tar.NewReader(bytes.NewReader(a))
	var got []string
	links := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		check(t, err)
		got = append(got, h.Name)
		if h.Typeflag == tar.TypeLink {
			links[h.Name] = h.Linkname
		}
		if h.Format != tar.FormatPAX {
			t.Errorf("%s: format %v", h.Name, h.Format)
		}
		if h.Name == "a.txt" && (h.Uid != 1234 || h.Gid != 5678 || h.Mode != 0o640 || h.AccessTime.IsZero() || h.ModTime.Nanosecond() == 0) {
			t.Errorf("a.txt header %+v", h)
		}
	}
	want := []string{"./", "a.txt", "abs", "big", "empty", "fifo", "hl", "link",
		"locked/", "locked/f", "longlink", "m-link", "noperm", "null",
		"ro/", "ro/a-again", "ro/f", "sgid/", "sparse", "sticky/",
		"sub/", "sub/b", "sub/dangling", "sub/deep/", "sub/deep/er/", "sub/deep/hl2", "sub/loop9",
		"suid", "with space ü.txt", "zeros"}
	if !slices.Equal(got, want) {
		t.Errorf("entries\n%q\nwant\n%q", got, want)
	}
	// The first name in walk order is the file; "hl" sorts before "sub".
	wantLinks := map[string]string{"sub/b": "hl", "sub/deep/hl2": "hl", "ro/a-again": "a.txt", "m-link": "locked/f"}
	for k, v := range wantLinks {
		if links[k] != v {
			t.Errorf("%s: link to %q, want %q", k, links[k], v)
		}
	}
	if len(links) != len(wantLinks) {
		t.Errorf("links %v", links)
	}
}

// TestSaveTarAtomic makes the source fail half-way and checks the previous
// archive is byte-identical and no temporary file is left; a successful
// save keeps the mode of the file it replaces.
func TestSaveTarAtomic(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "keep.tar.gz")
	old := testTree(t, treeOpts{})
	check(t, SaveTar(old, old.Root(), p, false))
	check(t, os.Chmod(p, 0o640))
	before, err := os.ReadFile(p)
	check(t, err)
	var st0 syscall.Stat_t
	check(t, syscall.Stat(p, &st0))

	src := &failingSource{source: testTree(t, allOpts), okReads: 3}
	err = saveTar(src, src.source.(*ramfs.FS).Root(), p, false, nil)
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), p) {
		t.Fatalf("got %v, want EIO naming %s", err, p)
	}
	after, err := os.ReadFile(p)
	check(t, err)
	var st1 syscall.Stat_t
	check(t, syscall.Stat(p, &st1))
	if !bytes.Equal(before, after) || st0.Ino != st1.Ino || st0.Ctim != st1.Ctim {
		t.Error("the previous archive changed")
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}

	// A failed save of a new archive leaves nothing.
	src = &failingSource{source: testTree(t, allOpts), okReads: 3}
	if err := saveTar(src, src.source.(*ramfs.FS).Root(), filepath.Join(dir, "new.tar"), false, nil); !errors.Is(err, syscall.EIO) {
		t.Fatalf("got %v, want EIO", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.tar")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("new.tar: %v", err)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}

	check(t, SaveTar(old, old.Root(), p, false))
	var st2 syscall.Stat_t
	check(t, syscall.Stat(p, &st2))
	if st2.Mode&0o7777 != 0o640 || st2.Ino == st0.Ino {
		t.Errorf("replaced archive: mode %o ino %d (was %d)", st2.Mode&0o7777, st2.Ino, st0.Ino)
	}

	// A directory in the way is refused.
	check(t, os.Mkdir(filepath.Join(dir, "d.tar"), 0o755))
	if err := SaveTar(old, old.Root(), filepath.Join(dir, "d.tar"), false); err == nil {
		t.Error("saved over a directory")
	}
}

// tarEntry is one entry of a test archive.
type tarEntry struct {
	h    tar.Header
	data []byte
}

// writeArchive writes entries as a tar (gzipped if gz) to a new file.
func writeArchive(t *testing.T, gz bool, entries ...tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := e.h
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		check(t, tw.WriteHeader(&h))
		_, err := tw.Write(e.data)
		check(t, err)
	}
	check(t, tw.Close())
	if zw != nil {
		check(t, zw.Close())
	}
	p := filepath.Join(tempDir(t), "x.tar")
	check(t, os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

func TestLoadTarEscape(t *testing.T) {
	reg := func(name string) tarEntry { return tarEntry{h: tar.Header{Name: name}, data: []byte("x")} }
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		bad     string // the entry the error must name
	}{
		{"dotdot", []tarEntry{reg("ok"), reg("../evil")}, "../evil"},
		{"inner dotdot", []tarEntry{reg("a/../../evil")}, "a/../../evil"},
		{"dotdot that stays inside", []tarEntry{reg("a/b/../c")}, "a/b/../c"},
		{"absolute", []tarEntry{reg("/etc/passwd")}, "/etc/passwd"},
		{"through symlink", []tarEntry{
			{h: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}},
			reg("l/passwd"),
		}, "l/passwd"},
		{"hard link out", []tarEntry{
			{h: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../x"}},
		}, "h"},
		{"hard link absolute", []tarEntry{
			{h: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}},
		}, "h"},
		{"dir dotdot", []tarEntry{{h: tar.Header{Name: "../d/", Typeflag: tar.TypeDir}}}, "../d/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeArchive(t, false, tc.entries...)
			rfs := ramfs.New(ramfs.Options{})
			err := LoadTar(rfs, rfs.Root(), p)
			if !errors.Is(err, ErrEscape) {
				t.Fatalf("got %v, want ErrEscape", err)
			}
			if !strings.Contains(err.Error(), `entry "`+tc.bad+`"`) {
				t.Errorf("error does not name the entry %q: %v", tc.bad, err)
			}
			for _, name := range []string{"evil", "passwd", "d", "h"} {
				if _, err := rfs.Lookup(rfs.Root(), name); err == nil {
					t.Errorf("%s was created", name)
				}
			}
		})
	}
}

func TestLoadTarENOSPC(t *testing.T) {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i*7 + 1)
	}
	p := writeArchive(t, true, tarEntry{h: tar.Header{Name: "small"}, data: []byte("fits")},
		tarEntry{h: tar.Header{Name: "dir/big"}, data: big})
	rfs := ramfs.New(ramfs.Options{Capacity: 64 << 10})
	err := LoadTar(rfs, rfs.Root(), p)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want ENOSPC", err)
	}
	if !strings.Contains(err.Error(), `entry "dir/big"`) || !strings.Contains(err.Error(), p) {
		t.Errorf("error does not name the archive and the entry: %v", err)
	}
	// What fitted before stays.
	n, err := rfs.Walk("small")
	check(t, err)
	b := make([]byte, 10)
	k, err := rfs.ReadAt(n, b, 0)
	check(t, err)
	if string(b[:k]) != "fits" {
		t.Errorf("small: %q", b[:k])
	}
}

func TestLoadTarErrors(t *testing.T) {
	dir := tempDir(t)
	good := writeArchive(t, true, tarEntry{h: tar.Header{Name: "f"}, data: bytes.Repeat([]byte("data"), 5000)})
	gz, err := os.ReadFile(good)
	check(t, err)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		check(t, os.WriteFile(p, data, 0o644))
		return p
	}
	truncatedGz := write("trunc.tgz", gz[:len(gz)/2])
	corruptGz := slices.Clone(gz)
	corruptGz[len(corruptGz)-6] ^= 0xff // the CRC
	corrupt := write("crc.tgz", corruptGz)
	plain := writeArchive(t, false, tarEntry{h: tar.Header{Name: "f"}, data: bytes.Repeat([]byte("data"), 5000)})
	pl, err := os.ReadFile(plain)
	check(t, err)
	truncatedTar := write("trunc.tar", pl[:1000])
	unknown := writeArchive(t, false, tarEntry{h: tar.Header{Name: "vol", Typeflag: 'V'}})

	for _, tc := range []struct {
		name string
		path string
		want string
		is   error
	}{
		{"missing", filepath.Join(dir, "missing.tar"), "no such file", fs.ErrNotExist},
		{"directory", dir, "is not an archive file", nil},
		{"empty", write("empty.tar", nil), "empty file", nil},
		{"garbage", write("garbage.tar", bytes.Repeat([]byte("garbage!"), 200)), "not a readable tar archive", nil},
		{"truncated gzip", truncatedGz, "", io.ErrUnexpectedEOF},
		{"bad crc", corrupt, "bad gzip stream", gzip.ErrChecksum},
		{"truncated tar", truncatedTar, `entry "f"`, io.ErrUnexpectedEOF},
		{"unknown type", unknown, "unsupported entry type", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rfs := ramfs.New(ramfs.Options{})
			err := LoadTar(rfs, rfs.Root(), tc.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not say %q and name the file", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

// TestLoadTarSparse checks that zero blocks in an archive take no capacity.
func TestLoadTarSparse(t *testing.T) {
	data := make([]byte, 16<<20)
	copy(data, "head")
	copy(data[10<<20+5:], "middle")
	data[len(data)-1] = 'z'
	p := writeArchive(t, true, tarEntry{h: tar.Header{Name: "sparse"}, data: data})
	rfs := ramfs.New(ramfs.Options{Capacity: 1 << 20}) // less than the file
	check(t, LoadTar(rfs, rfs.Root(), p))
	n, err := rfs.Walk("sparse")
	check(t, err)
	a := rfs.Getattr(n)
	if a.Size != int64(len(data)) || a.Blocks > 4*8 {
		t.Errorf("size %d blocks %d", a.Size, a.Blocks)
	}
	got := make([]byte, len(data))
	_, err = rfs.ReadAt(n, got, 0)
	check(t, err)
	if !bytes.Equal(got, data) {
		t.Error("content differs")
	}
}

// TestLoadTarOver loads into a tree that has entries already: files are
// replaced, directories kept and given the archive's attributes, missing
// parents made.
func TestLoadTarOver(t *testing.T) {
	mt := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) // USTAR: whole seconds
	p := writeArchive(t, false,
		tarEntry{h: tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o711, ModTime: mt, Uid: 7, Gid: 8}},
		tarEntry{h: tar.Header{Name: "f", ModTime: mt}, data: []byte("new")},
		tarEntry{h: tar.Header{Name: "x/y/z", ModTime: mt, Uid: 3, Gid: 4}, data: []byte("deep")},
	)
	rfs := ramfs.New(ramfs.Options{})
	r := rfs.Root()
	d, err := rfs.Mkdir(r, "d", 0o755, 0, 0)
	check(t, err)
	_, err = rfs.Create(d, "keep", 0o644, 0, 0)
	check(t, err)
	f, err := rfs.Create(r, "f", 0o644, 0, 0)
	check(t, err)
	_, err = rfs.WriteAt(f, []byte("old content"), 0)
	check(t, err)
	check(t, LoadTar(rfs, r, p))

	if a := rfs.Getattr(d); a.Mode&0o7777 != 0o711 || a.Uid != 7 || !a.Mtime.Equal(mt) {
		t.Errorf("d: %+v", a)
	}
	if _, err := rfs.Lookup(d, "keep"); err != nil {
		t.Errorf("d/keep: %v", err)
	}
	nf, err := rfs.Walk("f")
	check(t, err)
	b := make([]byte, 20)
	k, _ := rfs.ReadAt(nf, b, 0)
	if string(b[:k]) != "new" {
		t.Errorf("f: %q", b[:k])
	}
	y, err := rfs.Walk("x/y")
	check(t, err)
	if a := rfs.Getattr(y); a.Mode != syscall.S_IFDIR|0o755 || a.Uid != 3 || a.Gid != 4 {
		t.Errorf("made parent x/y: %+v", a)
	}

	// A non-directory entry over a directory is refused.
	p2 := writeArchive(t, false, tarEntry{h: tar.Header{Name: "d"}, data: []byte("file")})
	if err := LoadTar(rfs, r, p2); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("file over directory: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := tempDir(t)
	check(t, os.WriteFile(filepath.Join(dir, "f"), []byte("from dir"), 0o600))
	rfs := ramfs.New(ramfs.Options{})
	check(t, Load(rfs, rfs.Root(), dir))
	if _, err := rfs.Walk("f"); err != nil {
		t.Errorf("dir load: %v", err)
	}

	missing := filepath.Join(dir, "missing")
	if err := Load(rfs, rfs.Root(), missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	check(t, syscall.Mkfifo(fifo, 0o600))
	if err := Load(rfs, rfs.Root(), fifo); err == nil || !strings.Contains(err.Error(), "neither a directory nor an archive") {
		t.Errorf("fifo: %v", err)
	}
	small := ramfs.New(ramfs.Options{Capacity: 4096})
	check(t, os.WriteFile(filepath.Join(dir, "big"), make([]byte, 1<<20), 0o600))
	check(t, os.WriteFile(filepath.Join(dir, "big2"), bytes.Repeat([]byte{1}, 1<<20), 0o600))
	if err := Load(small, small.Root(), dir); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("dir into a small FS: %v", err)
	}
}
