package ramfs

import (
	"fmt"
	"testing"
)

const benchFileSize = 1 << 20

func benchFile(b *testing.B) (*FS, *Inode) {
	fsys := New(Options{})
	f, err := fsys.Create(fsys.Root(), "f", 0o644, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := fsys.WriteAt(f, make([]byte, benchFileSize), 0); err != nil {
		b.Fatal(err)
	}
	return fsys, f
}

func BenchmarkReadAt4K(b *testing.B) {
	fsys, f := benchFile(b)
	buf := make([]byte, 4096)
	b.SetBytes(4096)
	b.ReportAllocs()
	var off int64
	for b.Loop() {
		if _, err := fsys.ReadAt(f, buf, off); err != nil {
			b.Fatal(err)
		}
		off = (off + 4096) % benchFileSize
	}
}

func BenchmarkWriteAt4K(b *testing.B) {
	fsys, f := benchFile(b)
	buf := make([]byte, 4096)
	b.SetBytes(4096)
	b.ReportAllocs()
	var off int64
	for b.Loop() {
		if _, err := fsys.WriteAt(f, buf, off); err != nil {
			b.Fatal(err)
		}
		off = (off + 4096) % benchFileSize
	}
}

func BenchmarkCreateUnlink(b *testing.B) {
	fsys := New(Options{})
	root := fsys.Root()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fsys.Create(root, "file", 0o644, 0, 0); err != nil {
			b.Fatal(err)
		}
		if err := fsys.Unlink(root, "file"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	fsys := New(Options{})
	root := fsys.Root()
	names := make([]string, 10000)
	for i := range names {
		names[i] = fmt.Sprintf("entry-%05d", i)
		if _, err := fsys.Create(root, names[i], 0o644, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := fsys.Lookup(root, names[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(names)
	}
}

// BenchmarkReadDirSeek resumes a listing of 10000 entries at a position in
// the middle, as getdents after lseek does.
func BenchmarkReadDirSeek(b *testing.B) {
	fsys := New(Options{})
	d, _ := fsys.Mkdir(fsys.Root(), "d", 0o755, 0, 0)
	for i := range 10000 {
		if _, err := fsys.Create(d, fmt.Sprintf("e%05d", i), 0o644, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var pos int64 = 2
	for b.Loop() {
		err := fsys.ReadDir(d, pos, func(_ string, _ uint64, _ uint8, next int64) bool {
			pos = next
			return false
		})
		if err != nil {
			b.Fatal(err)
		}
		if pos > 10000 {
			pos = 2
		}
	}
}
