package ramfs

import (
	"fmt"
	"sync/atomic"
	"syscall"
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

// BenchmarkParallelDirs runs the per-directory workload of a traced program
// per goroutine (b.RunParallel: GOMAXPROCS goroutines, so -cpu 1,2 gives 1
// and 2), each in its own directory /tK of one FS, with the calls emul makes:
// every path is walked from the root with LookupName. One iteration is stat
// of a 512-byte file s, open+read of 512 bytes of a 4 KiB file r (atime by
// the relatime rule), open(O_CREAT|O_TRUNC)+write of 512 bytes to w, and a
// rename a -> b (back again on the next iteration). Independent directories
// should scale with the goroutines.
func BenchmarkParallelDirs(b *testing.B) {
	fsys := New(Options{})
	root := fsys.Root()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := next.Add(1)
		dname := []byte(fmt.Sprintf("t%d", k))
		dir, err := fsys.Mkdir(root, string(dname), 0o755, 0, 0)
		if err != nil {
			b.Error(err)
			return
		}
		// The files the loop works on: s of 512 B, r of 4 KiB, a empty.
		for _, f := range []struct {
			name string
			size int
		}{{"s", 512}, {"r", 4096}, {"a", 0}} {
			n, err := fsys.Create(dir, f.name, 0o644, 0, 0)
			if err == nil && f.size > 0 {
				_, err = fsys.WriteAt(n, make([]byte, f.size), 0)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
		sName, rName, wName := []byte("s"), []byte("r"), []byte("w")
		buf := make([]byte, 512)
		// walk looks up /tK/name as emul's walk does.
		walk := func(name []byte) (*Inode, error) {
			d, _, err := fsys.LookupName(root, dname)
			if err != nil {
				return nil, err
			}
			n, _, err := fsys.LookupName(d, name)
			return n, err
		}
		from, to := "a", "b"
		for pb.Next() {
			// stat
			s, err := walk(sName)
			if err != nil {
				b.Error(err)
				return
			}
			if fsys.Getattr(s).Size != 512 {
				b.Error("size of s")
				return
			}
			// open, read, close
			r, err := walk(rName)
			if err != nil {
				b.Error(err)
				return
			}
			fsys.Ref(r)
			if k, err := fsys.ReadAt(r, buf, 1024); err != nil || k != len(buf) {
				b.Error("read", k, err)
				return
			}
			fsys.Unref(r)
			// open(O_CREAT|O_TRUNC), write, close
			w, err := walk(wName)
			if err == syscall.ENOENT {
				w, err = fsys.Create(dir, string(wName), 0o644, 0, 0)
			}
			if err != nil {
				b.Error(err)
				return
			}
			fsys.Ref(w)
			if err := fsys.Truncate(w, 0); err != nil {
				b.Error(err)
				return
			}
			if k, err := fsys.WriteAt(w, buf, 0); err != nil || k != len(buf) {
				b.Error("write", k, err)
				return
			}
			fsys.Unref(w)
			// rename
			if err := fsys.Rename(dir, from, dir, to, 0); err != nil {
				b.Error(err)
				return
			}
			from, to = to, from
		}
	})
}
