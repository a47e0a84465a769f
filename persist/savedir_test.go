package persist

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
	"fsshim/ramfs/hostcopy"
)

// dirOpts are the tree and listing options of a host round trip: owners
// and unreadable entries only as root.
func dirOpts() (treeOpts, listOpts) {
	root := os.Geteuid() == 0
	return treeOpts{unreadable: root, trusted: root}, listOpts{noDevices: true, noOwners: !root}
}

// TestSaveDirRoundTrip saves a tree to a new host directory, copies it back
// into a new FS and compares the two.
func TestSaveDirRoundTrip(t *testing.T) {
	to, lo := dirOpts()
	src := testTree(t, to)
	want := listing(t, src, src.Root(), lo)
	parent := tempDir(t)
	out := filepath.Join(parent, "out")
	check(t, SaveDir(src, src.Root(), out))
	if l := leftovers(t, parent); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}

	back := ramfs.New(ramfs.Options{})
	check(t, hostcopy.CopyIn(back, back.Root(), out))
	sameListing(t, want, listing(t, back, back.Root(), lo))
	sameListing(t, want, listing(t, src, src.Root(), lo)) // the save changed nothing

	// Hard links are links on the host too.
	a, err := os.Stat(filepath.Join(out, "sub/b"))
	check(t, err)
	for _, p := range []string{"hl", "sub/deep/hl2"} {
		b, err := os.Stat(filepath.Join(out, p))
		check(t, err)
		if !os.SameFile(a, b) {
			t.Errorf("%s is not a hard link of sub/b", p)
		}
	}
	for _, p := range []string{"sock", "null"} {
		if _, err := os.Lstat(filepath.Join(out, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s saved: %v", p, err)
		}
	}
}

// TestSaveDirReplace saves over an existing tree, by exchange and by the
// two-rename fallback, and by way of a symlink to the directory.
func TestSaveDirReplace(t *testing.T) {
	to, lo := dirOpts()
	for _, tc := range []struct {
		name     string
		exchange bool
		viaLink  bool
	}{
		{"exchange", true, false},
		{"rename", false, false},
		{"symlink", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := tempDir(t)
			out := filepath.Join(parent, "out")
			check(t, os.MkdirAll(filepath.Join(out, "old/stuff"), 0o755))
			check(t, os.WriteFile(filepath.Join(out, "old/stuff/f"), []byte("old"), 0o644))
			check(t, os.WriteFile(filepath.Join(out, "a.txt"), []byte("old a"), 0o644))
			dst := out
			if tc.viaLink {
				dst = filepath.Join(parent, "link")
				check(t, os.Symlink("out", dst))
			}
			src := testTree(t, to)
			check(t, saveDir(src, src.Root(), dst, tc.exchange, nil))
			if l := leftovers(t, parent); len(l) > 0 {
				t.Errorf("leftovers: %v", l)
			}
			back := ramfs.New(ramfs.Options{})
			check(t, hostcopy.CopyIn(back, back.Root(), out))
			sameListing(t, listing(t, src, src.Root(), lo), listing(t, back, back.Root(), lo))
			if tc.viaLink {
				if target, err := os.Readlink(dst); err != nil || target != "out" {
					t.Errorf("symlink replaced: %q, %v", target, err)
				}
			}
		})
	}
}

// TestSaveDirAtomic makes the source fail half-way through a save and
// checks that the previous tree is untouched, down to inode numbers and
// ctimes, and that no temporary copy is left.
func TestSaveDirAtomic(t *testing.T) {
	to, _ := dirOpts()
	for _, exists := range []bool{true, false} {
		for _, exchange := range []bool{true, false} {
			parent := tempDir(t)
			out := filepath.Join(parent, "out")
			old := testTree(t, treeOpts{})
			var before []string
			if exists {
				check(t, SaveDir(old, old.Root(), out))
				before = hostSnapshot(t, out)
			}
			src := &failingSource{source: testTree(t, to), okReads: 3}
			err := saveDir(src, src.source.(*ramfs.FS).Root(), out, exchange, nil)
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("exists=%v exchange=%v: got %v, want EIO", exists, exchange, err)
			}
			if !strings.Contains(err.Error(), out) {
				t.Errorf("error does not name the destination: %v", err)
			}
			if src.reads.Load() <= src.okReads {
				t.Fatalf("the save stopped before the failing read")
			}
			if exists {
				sameListing(t, before, hostSnapshot(t, out))
			} else if _, err := os.Lstat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("failed save made %s: %v", out, err)
			}
			if l := leftovers(t, parent); len(l) > 0 {
				t.Errorf("leftovers: %v", l)
			}
		}
	}
}

func TestSaveDirErrors(t *testing.T) {
	src := testTree(t, treeOpts{})
	parent := tempDir(t)

	missing := filepath.Join(parent, "no/such/dir")
	err := SaveDir(src, src.Root(), missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing parent: %v", err)
	}

	file := filepath.Join(parent, "file")
	check(t, os.WriteFile(file, []byte("keep"), 0o644))
	err = SaveDir(src, src.Root(), file)
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("regular file as destination: %v", err)
	}
	if data, _ := os.ReadFile(file); string(data) != "keep" {
		t.Errorf("file changed: %q", data)
	}

	dangling := filepath.Join(parent, "dangling")
	check(t, os.Symlink("nowhere", dangling))
	if err := SaveDir(src, src.Root(), dangling); err == nil {
		t.Error("save through a dangling symlink succeeded")
	}

	if err := SaveDir(src, src.Root(), "/"); err == nil {
		t.Error("save over / succeeded")
	}

	n, err := src.Walk("a.txt")
	check(t, err)
	if err := SaveDir(src, n, filepath.Join(parent, "x")); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("save of a regular file as root: %v", err)
	}
	if l := leftovers(t, parent); len(l) > 0 {
		t.Errorf("leftovers: %v", l)
	}
}

// TestSaveDirSparse checks that holes of the FS and pages of zeros written
// into it are holes on the host.
func TestSaveDirSparse(t *testing.T) {
	rfs := ramfs.New(ramfs.Options{})
	huge, err := rfs.Create(rfs.Root(), "huge", 0o644, 0, 0)
	check(t, err)
	_, err = rfs.WriteAt(huge, []byte("end"), 1<<30)
	check(t, err)
	zeros, err := rfs.Create(rfs.Root(), "zeros", 0o644, 0, 0)
	check(t, err)
	_, err = rfs.WriteAt(zeros, make([]byte, 8<<20), 0)
	check(t, err)
	_, err = rfs.WriteAt(zeros, []byte("x"), 8<<20)
	check(t, err)
	if b := rfs.Getattr(zeros).Blocks; b < 8<<20/512 {
		t.Fatalf("zeros takes %d blocks in the FS; the test wants them allocated", b)
	}

	out := filepath.Join(tempDir(t), "out")
	check(t, SaveDir(rfs, rfs.Root(), out))
	for _, tc := range []struct {
		name     string
		size     int64
		dataAt   int64
		lastByte byte
	}{
		{"huge", 1<<30 + 3, 1 << 30, 'd'},
		{"zeros", 8<<20 + 1, 8 << 20, 'x'},
	} {
		p := filepath.Join(out, tc.name)
		var st syscall.Stat_t
		check(t, syscall.Stat(p, &st))
		if st.Size != tc.size {
			t.Errorf("%s: size %d, want %d", tc.name, st.Size, tc.size)
		}
		// One 4 KiB block of data, and maybe an extent block: far from
		// the megabytes a copy that wrote zeros would take.
		if st.Blocks > 64 {
			t.Errorf("%s: %d blocks of 512 bytes allocated on the host", tc.name, st.Blocks)
		}
		f, err := os.Open(p)
		check(t, err)
		if off, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_DATA); err == nil && off != tc.dataAt {
			t.Errorf("%s: first data at %d, want %d", tc.name, off, tc.dataAt)
		}
		b := make([]byte, 1)
		_, err = f.ReadAt(b, tc.size-1)
		check(t, err)
		if b[0] != tc.lastByte {
			t.Errorf("%s: last byte %q", tc.name, b)
		}
		f.Close()
	}
}

func TestWriteSparse(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  int64
		data func() []byte
		// want are the written ranges as [start, end) file offsets.
		want [][2]int64
	}{
		{"all zero", 0, func() []byte { return make([]byte, 3*blockSize) }, nil},
		{"middle block", 0, func() []byte {
			b := make([]byte, 3*blockSize)
			b[blockSize+7] = 1
			return b
		}, [][2]int64{{blockSize, 2 * blockSize}}},
		{"unaligned start", 100, func() []byte {
			b := make([]byte, 2*blockSize)
			b[0] = 1
			b[len(b)-1] = 2
			return b
		}, [][2]int64{{100, blockSize}, {2 * blockSize, 2*blockSize + 100}}},
		{"adjacent blocks merge", blockSize, func() []byte {
			b := make([]byte, 3*blockSize)
			b[0], b[blockSize], b[3*blockSize-1] = 1, 1, 1
			return b
		}, [][2]int64{{blockSize, 4 * blockSize}}},
		{"short tail", 0, func() []byte {
			b := make([]byte, blockSize+10)
			b[blockSize+9] = 1
			return b
		}, [][2]int64{{blockSize, blockSize + 10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data()
			file := make([]byte, tc.off+int64(len(data)))
			var got [][2]int64
			err := writeSparse(data, tc.off, func(p []byte, off int64) error {
				got = append(got, [2]int64{off, off + int64(len(p))})
				copy(file[off:], p)
				return nil
			})
			check(t, err)
			if !slices.Equal(got, tc.want) {
				t.Errorf("writes %v, want %v", got, tc.want)
			}
			if string(file[tc.off:]) != string(data) {
				t.Error("content differs")
			}
		})
	}
}
