package tarfmt

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
	"time"
)

// Go's archive/tar is the oracle: what this package writes, it must read
// back as written, and what it writes in its formats, this package must
// read the same way.

type testEntry struct {
	h    Header
	data string
}

func testEntries() []testEntry {
	mt := time.Unix(1700000000, 123456789)
	at := time.Unix(1700000100, 5)
	long := strings.Repeat("long-directory-name/", 8) + "file"
	return []testEntry{
		{h: Header{Typeflag: TypeDir, Name: "./", Mode: 0o755, Uid: 0, Gid: 0, ModTime: time.Unix(1600000000, 0)}},
		{h: Header{Typeflag: TypeReg, Name: "a.txt", Mode: 0o640, Uid: 1234, Gid: 5678, ModTime: mt, AccessTime: at,
			PAXRecords: map[string]string{"SCHILY.xattr.user.a": "1", "SCHILY.xattr.user.bin": "\x00\x01\xff\n="}}, data: "hello\n"},
		{h: Header{Typeflag: TypeReg, Name: long, Mode: 0o4755, Uid: 3 << 21, Gid: 1 << 30, ModTime: mt}, data: strings.Repeat("x", 1500)},
		{h: Header{Typeflag: TypeReg, Name: "with space ü.txt", Mode: 0o644, ModTime: time.Unix(-5, 250000000)}, data: ""},
		{h: Header{Typeflag: TypeSymlink, Name: "link", Linkname: strings.Repeat("t", 150), Mode: 0o777, ModTime: mt}},
		{h: Header{Typeflag: TypeLink, Name: "hl", Linkname: "a.txt", Mode: 0o640, ModTime: mt}},
		{h: Header{Typeflag: TypeFifo, Name: "fifo", Mode: 0o600, ModTime: mt}},
		{h: Header{Typeflag: TypeChar, Name: "null", Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: mt}},
		{h: Header{Typeflag: TypeBlock, Name: "blk", Mode: 0o660, Devmajor: 259, Devminor: 1 << 19, ModTime: mt}},
		{h: Header{Typeflag: TypeReg, Name: "sub/exact512", Mode: 0o600, ModTime: time.Unix(1<<33+7, 0)}, data: strings.Repeat("y", 512)},
	}
}

func writeOurs(t *testing.T, entries []testEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := NewWriter(&buf)
	for _, e := range entries {
		h := e.h
		h.Size = int64(len(e.data))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("WriteHeader %s: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			t.Fatalf("Write %s: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// same compares what a reader returned with what was written.
func same(t *testing.T, who string, want testEntry, h Header, data string) {
	t.Helper()
	w := want.h
	if h.Typeflag != w.Typeflag || h.Name != w.Name || h.Linkname != w.Linkname || h.Mode != w.Mode ||
		h.Uid != w.Uid || h.Gid != w.Gid || !h.ModTime.Equal(w.ModTime) || !h.AccessTime.Equal(w.AccessTime) ||
		h.Devmajor != w.Devmajor || h.Devminor != w.Devminor {
		t.Errorf("%s: header of %s\n got %+v\nwant %+v", who, w.Name, h, w)
	}
	if data != want.data {
		t.Errorf("%s: data of %s: %d bytes, want %d", who, w.Name, len(data), len(want.data))
	}
	for k, v := range w.PAXRecords {
		if h.PAXRecords[k] != v {
			t.Errorf("%s: %s: record %s = %q, want %q", who, w.Name, k, h.PAXRecords[k], v)
		}
	}
}

func TestWriterReadByArchiveTar(t *testing.T) {
	entries := testEntries()
	b := writeOurs(t, entries)
	if !bytes.Equal(b, writeOurs(t, entries)) {
		t.Error("two writes of the same entries differ")
	}
	if len(b)%blockSize != 0 {
		t.Errorf("archive of %d bytes, not whole blocks", len(b))
	}
	tr := tar.NewReader(bytes.NewReader(b))
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			if i != len(entries) {
				t.Errorf("archive/tar read %d entries, want %d", i, len(entries))
			}
			break
		}
		if err != nil {
			t.Fatalf("archive/tar: entry %d: %v", i, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Format != tar.FormatPAX && h.Format != tar.FormatUSTAR {
			t.Errorf("archive/tar takes %s for format %v", h.Name, h.Format)
		}
		if i >= len(entries) {
			t.Fatalf("extra entry %s", h.Name)
		}
		same(t, "archive/tar", entries[i], Header{Typeflag: h.Typeflag, Name: h.Name, Linkname: h.Linkname, Mode: h.Mode,
			Uid: h.Uid, Gid: h.Gid, ModTime: h.ModTime, AccessTime: h.AccessTime, Devmajor: h.Devmajor, Devminor: h.Devminor,
			PAXRecords: h.PAXRecords}, string(data))
	}
}

func readOurs(t *testing.T, b []byte) ([]Header, []string) {
	t.Helper()
	tr := NewReader(bytes.NewReader(b))
	var hs []Header
	var ds []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs, ds
		}
		if err != nil {
			t.Fatalf("entry %d: %v", len(hs), err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		hs, ds = append(hs, *h), append(ds, string(data))
	}
}

func TestReadOwnArchive(t *testing.T) {
	entries := testEntries()
	hs, ds := readOurs(t, writeOurs(t, entries))
	if len(hs) != len(entries) {
		t.Fatalf("read %d entries, want %d", len(hs), len(entries))
	}
	for i := range hs {
		same(t, "tarfmt", entries[i], hs[i], ds[i])
	}
}

// Archives archive/tar writes in its three formats: ustar (long names
// split into prefix and name), PAX, and GNU (long names in 'L' and 'K'
// entries, large numbers in base 256).
func TestReadArchiveTarFormats(t *testing.T) {
	mt := time.Unix(1700000000, 0)
	for _, c := range []struct {
		format tar.Format
		hs     []tar.Header
	}{
		{tar.FormatUSTAR, []tar.Header{
			{Typeflag: tar.TypeReg, Name: strings.Repeat("d", 120) + "/" + strings.Repeat("f", 90), Mode: 0o644, Uid: 7, Gid: 8, ModTime: mt},
			{Typeflag: tar.TypeDir, Name: "dir/", Mode: 0o755, ModTime: mt},
		}},
		{tar.FormatPAX, []tar.Header{
			{Typeflag: tar.TypeReg, Name: strings.Repeat("p", 300), Mode: 0o644, Uid: 1 << 24, ModTime: time.Unix(1700000000, 42),
				AccessTime: time.Unix(1700000001, 0), PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}},
			{Typeflag: tar.TypeSymlink, Name: "s", Linkname: strings.Repeat("l", 200), ModTime: mt},
		}},
		{tar.FormatGNU, []tar.Header{
			{Typeflag: tar.TypeReg, Name: strings.Repeat("g", 300), Mode: 0o600, Uid: 1 << 30, Gid: 1 << 31, ModTime: mt, AccessTime: time.Unix(1700000005, 0)},
			{Typeflag: tar.TypeLink, Name: "h", Linkname: strings.Repeat("k", 200), ModTime: mt},
			{Typeflag: tar.TypeChar, Name: "c", Devmajor: 4, Devminor: 64, ModTime: mt},
		}},
	} {
		t.Run(c.format.String(), func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			var want []testEntry
			for i, h := range c.hs {
				h.Format = c.format
				data := ""
				if h.Typeflag == tar.TypeReg {
					data = strings.Repeat(string(rune('a'+i)), 700*(i+1))
					h.Size = int64(len(data))
				}
				if err := tw.WriteHeader(&h); err != nil {
					t.Fatal(err)
				}
				io.WriteString(tw, data)
				want = append(want, testEntry{h: Header{Typeflag: h.Typeflag, Name: h.Name, Linkname: h.Linkname, Mode: h.Mode,
					Uid: h.Uid, Gid: h.Gid, ModTime: h.ModTime, AccessTime: h.AccessTime, Devmajor: h.Devmajor, Devminor: h.Devminor,
					PAXRecords: h.PAXRecords}, data: data})
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			hs, ds := readOurs(t, buf.Bytes())
			if len(hs) != len(want) {
				t.Fatalf("read %d entries, want %d", len(hs), len(want))
			}
			for i := range hs {
				same(t, "tarfmt", want[i], hs[i], ds[i])
			}
		})
	}
}

// sparseArchive writes one PAX sparse entry of the given records and
// archived data (with our Writer, which passes records through).
func sparseArchive(t *testing.T, recs map[string]string, data string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := NewWriter(&buf)
	h := Header{Typeflag: TypeReg, Name: "GNUSparseFile.0/f", Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1, 0), PAXRecords: recs}
	if err := tw.WriteHeader(&h); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, data)
	tw.WriteHeader(&Header{Typeflag: TypeReg, Name: "after", Size: 2, ModTime: time.Unix(1, 0)})
	io.WriteString(tw, "ok")
	tw.Close()
	return buf.Bytes()
}

func TestReadSparse(t *testing.T) {
	// A 10000-byte file: "AAAA" at 1000, "BBBBBB" at 8000, holes between.
	want := make([]byte, 10000)
	copy(want[1000:], "AAAA")
	copy(want[8000:], "BBBBBB")
	map1 := "2\n1000\n4\n8000\n6\n"
	map1 += strings.Repeat("\x00", blockSize-len(map1))
	for name, b := range map[string][]byte{
		"1.0": sparseArchive(t, map[string]string{"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
			"GNU.sparse.name": "f", "GNU.sparse.realsize": "10000"}, map1+"AAAABBBBBB"),
		"0.1": sparseArchive(t, map[string]string{"GNU.sparse.major": "0", "GNU.sparse.minor": "1",
			"GNU.sparse.name": "f", "GNU.sparse.size": "10000", "GNU.sparse.numblocks": "2", "GNU.sparse.map": "1000,4,8000,6"}, "AAAABBBBBB"),
	} {
		t.Run(name, func(t *testing.T) {
			hs, ds := readOurs(t, b)
			if len(hs) != 2 || hs[0].Name != "f" || hs[0].Size != 10000 || ds[0] != string(want) || hs[1].Name != "after" || ds[1] != "ok" {
				t.Errorf("read %d entries: %+v", len(hs), hs)
			}
			// archive/tar reads the same.
			tr := tar.NewReader(bytes.NewReader(b))
			h, err := tr.Next()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(tr)
			if err != nil || h.Name != "f" || !bytes.Equal(got, want) {
				t.Errorf("archive/tar: %s, %d bytes, %v", h.Name, len(got), err)
			}
		})
	}
}

// rawEntry is a header block made by hand, for what neither writer
// makes.
func rawEntry(typ byte, name string, size int, edit func(*block)) []byte {
	var blk block
	copy(blk.get(fName), name)
	formatOctal(blk.get(fMode), 0o644)
	formatOctal(blk.get(fSize), int64(size))
	formatOctal(blk.get(fMtime), 1)
	blk[fTypeflag.off] = typ
	copy(blk.get(fMagic), magicUSTAR)
	copy(blk.get(fVersion), "00")
	if edit != nil {
		edit(&blk)
	}
	setChecksum(&blk)
	return blk[:]
}

func pad(s string) []byte {
	return append([]byte(s), make([]byte, -len(s)&(blockSize-1))...)
}

func TestReadSparse00AndOldGNU(t *testing.T) {
	var recs string
	for _, kv := range [][2]string{{"GNU.sparse.offset", "1000"}, {"GNU.sparse.numbytes", "4"},
		{"GNU.sparse.offset", "8000"}, {"GNU.sparse.numbytes", "6"}, {"GNU.sparse.size", "10000"}, {"GNU.sparse.name", "f"}} {
		r, err := formatPAXRecords(map[string]string{kv[0]: kv[1]})
		if err != nil {
			t.Fatal(err)
		}
		recs += r
	}
	var b []byte
	b = append(b, rawEntry(TypeXHeader, "PaxHeaders/x", len(recs), nil)...)
	b = append(b, pad(recs)...)
	b = append(b, rawEntry(TypeReg, "x", 10, nil)...)
	b = append(b, pad("AAAABBBBBB")...)
	// An old GNU sparse entry with one extension block, then a file.
	b = append(b, rawEntry(TypeGNUSparse, "old", 3, func(blk *block) {
		copy(blk.get(fMagic), magicGNU)
		copy(blk.get(fVersion), " \x00")
		blk[fGNUSparseExt.off] = 1
	})...)
	b = append(b, make([]byte, blockSize)...) // the extension block
	b = append(b, pad("abc")...)
	b = append(b, rawEntry(TypeReg, "after", 2, nil)...)
	b = append(b, pad("ok")...)
	b = append(b, make([]byte, 2*blockSize)...)
	hs, ds := readOurs(t, b)
	if len(hs) != 3 {
		t.Fatalf("read %d entries: %+v", len(hs), hs)
	}
	want := make([]byte, 10000)
	copy(want[1000:], "AAAA")
	copy(want[8000:], "BBBBBB")
	if hs[0].Name != "f" || ds[0] != string(want) {
		t.Errorf("0.0 sparse: %s, %d bytes", hs[0].Name, len(ds[0]))
	}
	if hs[1].Typeflag != TypeGNUSparse || ds[1] != "abc" || hs[2].Name != "after" || ds[2] != "ok" {
		t.Errorf("old GNU sparse and the entry after it: %+v %q", hs[1:], ds[1:])
	}
}

func TestReadErrors(t *testing.T) {
	good := writeOurs(t, []testEntry{{h: Header{Typeflag: TypeReg, Name: "f", ModTime: time.Unix(1, 0)}, data: strings.Repeat("d", 2000)}})
	badSum := bytes.Clone(good)
	badSum[0] ^= 1
	for name, c := range map[string]struct {
		b   []byte
		err error
	}{
		"garbage":              {bytes.Repeat([]byte("garbage!"), 200), ErrHeader},
		"bad checksum":         {badSum, ErrHeader},
		"truncated data":       {good[:1000], io.ErrUnexpectedEOF},
		"truncated block":      {good[:300], io.ErrUnexpectedEOF},
		"zero block then data": {append(make([]byte, blockSize), good...), ErrHeader},
		"bad PAX record":       {append(append(rawEntry(TypeXHeader, "x", 8, nil), pad("9 a=b\n")...), good...), ErrHeader},
	} {
		tr := NewReader(bytes.NewReader(c.b))
		var err error
		for err == nil {
			if _, err = tr.Next(); err == nil {
				_, err = io.Copy(io.Discard, tr)
			}
		}
		if !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
	// The end: nothing, one zero block, or two.
	for _, b := range [][]byte{nil, make([]byte, blockSize), make([]byte, 2*blockSize)} {
		if _, err := NewReader(bytes.NewReader(b)).Next(); err != io.EOF {
			t.Errorf("%d bytes of zeros: %v, want io.EOF", len(b), err)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	tw := NewWriter(io.Discard)
	if err := tw.WriteHeader(&Header{Typeflag: TypeReg, Name: "f", Size: 3}); err != nil {
		t.Fatal(err)
	}
	if n, err := tw.Write([]byte("abcd")); n != 3 || err != ErrWriteTooLong {
		t.Errorf("Write past the size: %d, %v", n, err)
	}
	tw = NewWriter(io.Discard)
	tw.WriteHeader(&Header{Typeflag: TypeReg, Name: "f", Size: 3})
	if err := tw.Close(); err == nil {
		t.Error("Close with data missing succeeded")
	}
	tw = NewWriter(io.Discard)
	if err := tw.WriteHeader(&Header{Typeflag: TypeReg, Name: "f", PAXRecords: map[string]string{"a=b": "c"}}); err == nil {
		t.Error("a record key with = was written")
	}
	tw = NewWriter(io.Discard)
	tw.Close()
	if err := tw.WriteHeader(&Header{Name: "f"}); err != ErrClosed {
		t.Errorf("WriteHeader after Close: %v", err)
	}
}

func TestPAXTime(t *testing.T) {
	for _, ts := range []time.Time{time.Unix(0, 0), time.Unix(1, 5), time.Unix(-1, 0), time.Unix(-2, 750000000), time.Unix(1<<40, 999999999)} {
		s := formatPAXTime(ts)
		got, err := parsePAXTime(s)
		if err != nil || !got.Equal(ts) {
			t.Errorf("%v as %q read back as %v, %v", ts, s, got, err)
		}
	}
	if s := formatPAXTime(time.Unix(-2, 750000000)); s != "-1.25" {
		t.Errorf("formatPAXTime(-1.25 s) = %q", s)
	}
	for _, bad := range []string{"", "x", "1.", "1.2x", "--1"} {
		if _, err := parsePAXTime(bad); err == nil {
			t.Errorf("parsePAXTime(%q) succeeded", bad)
		}
	}
}

func TestPAXRecordLengths(t *testing.T) {
	recs := map[string]string{"a": "", "path": strings.Repeat("n", 93), "mtime": "1.5"}
	s, err := formatPAXRecords(recs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePAX(s)
	if err != nil || !maps.Equal(p.recs, recs) {
		t.Errorf("records %q read back as %v, %v", s, p.recs, err)
	}
}

func TestBase256(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want int64
	}{
		{[]byte{0x80, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0}, 1 << 32},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, -2},
	} {
		if got, err := parseNumber(c.b); err != nil || got != c.want {
			t.Errorf("parseNumber(% x) = %d, %v; want %d", c.b, got, err, c.want)
		}
	}
	if _, err := parseNumber(append([]byte{0x80, 1}, make([]byte, 10)...)); err == nil {
		t.Error("a base-256 number past 63 bits was read")
	}
}

// FuzzReader: any input gives entries or an error, never a panic or an
// endless loop.
func FuzzReader(f *testing.F) {
	f.Add(writeOurs(&testing.T{}, testEntries()))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := NewReader(bytes.NewReader(b))
		for i := 0; i < 1000; i++ {
			if _, err := tr.Next(); err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, io.LimitReader(tr, 1<<24)); err != nil {
				return
			}
		}
	})
}

// Old (V7) archives: no magic, type NUL for files, a trailing slash for
// directories.
func TestReadV7(t *testing.T) {
	v7 := func(blk *block) { copy(blk.get(fMagic), "\x00\x00\x00\x00\x00\x00") }
	var b []byte
	b = append(b, rawEntry(TypeRegA, "olddir/", 0, v7)...)
	b = append(b, rawEntry(TypeRegA, "olddir/f", 3, v7)...)
	b = append(b, pad("abc")...)
	b = append(b, make([]byte, 2*blockSize)...)
	hs, ds := readOurs(t, b)
	if len(hs) != 2 || hs[0].Typeflag != TypeDir || hs[1].Typeflag != TypeReg || ds[1] != "abc" {
		t.Errorf("read %+v %q", hs, ds)
	}
}
