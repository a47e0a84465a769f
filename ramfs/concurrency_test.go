package ramfs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"unsafe"
)

// TestConcurrent runs workers on private and shared directories under the
// race detector, then checks the bookkeeping.
func TestConcurrent(t *testing.T) {
	fsys := New(Options{Capacity: 8 << 20})
	root := fsys.Root()
	shared := mkdir(t, fsys, root, "shared")
	const workers, rounds = 8, 300
	runWorkers(t, workers, func(w int, fail func(string, ...any)) {
		mine, err := fsys.Mkdir(root, fmt.Sprintf("w%d", w), 0o755, 0, 0)
		if err != nil {
			fail("mkdir: %v", err)
			return
		}
		buf := make([]byte, 4096)
		for i := range rounds {
			name := fmt.Sprintf("f%d", i%10)
			f, err := fsys.Create(mine, name, 0o644, 0, 0)
			if err != nil {
				fail("create %s: %v", name, err)
				return
			}
			for j := range buf {
				buf[j] = byte(w + i + j)
			}
			if k, err := fsys.WriteAt(f, buf, int64(i%4)*4096); err != nil || k != len(buf) {
				fail("write: %d, %v", k, err)
			}
			if k, err := fsys.ReadAt(f, buf, 0); err != nil || k != len(buf) {
				fail("read: %d, %v", k, err)
			}
			// Shared directory: races on the same names are expected
			// to fail with errnos only.
			sname := fmt.Sprintf("s%d", i%7)
			switch i % 5 {
			case 0:
				_, err = fsys.Create(shared, sname, 0o644, 0, 0)
			case 1:
				err = fsys.Rename(mine, name, shared, sname, 0)
			case 2:
				err = fsys.Unlink(shared, sname)
			case 3:
				err = fsys.ReadDir(shared, 0, func(n string, _ uint64, _ uint8, _ int64) bool {
					fsys.Getattr(shared)
					return true
				})
			case 4:
				if n, lerr := fsys.LookupRef(shared, sname); lerr == nil {
					_, err = fsys.WriteAt(n, buf[:10], 0)
					fsys.Unref(n)
				}
			}
			if err != nil {
				if _, ok := err.(syscall.Errno); !ok {
					fail("non-errno error %v", err)
				}
			}
			if err := fsys.Unlink(mine, name); err != nil && err != syscall.ENOENT {
				fail("unlink: %v", err) // ENOENT: renamed away
			}
			_ = fsys.Statfs()
			_, _ = fsys.Used()
			_ = f.Mode()
		}
	})
	mustInvariants(t, fsys)
}

// runWorkers runs fn in n goroutines and fails t with the first errors
// they report.
func runWorkers(t *testing.T, n int, fn func(w int, fail func(string, ...any))) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, func(format string, args ...any) {
				select {
				case errs <- fmt.Errorf("worker %d: "+format, append([]any{w}, args...)...):
				default:
				}
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkUsed checks that fsys charges bytes0 and inodes0, what it charged
// before the work: everything made since is removed, or only moved.
func checkUsed(t *testing.T, fsys *FS, bytes0, inodes0 int64) {
	t.Helper()
	if b, i := fsys.Used(); b != bytes0 || i != inodes0 {
		t.Errorf("used %d bytes, %d inodes; want %d, %d as before the work", b, i, bytes0, inodes0)
	}
}

// content is the data of file f of worker w in its version v.
func content(w, f, v int) []byte {
	b := make([]byte, 100+(w*7+f*13+v)%5000)
	for i := range b {
		b[i] = byte(w*31 + f*17 + v*7 + i)
	}
	return b
}

// TestConcurrentPrivateDirs has each worker work in a directory of its
// own (create, write, truncate, read, rename, link, unlink, mkdir, rmdir)
// and keep a model of it; afterwards every directory must hold exactly
// what the model says, and removing everything must give back all that
// was charged.
func TestConcurrentPrivateDirs(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	bytes0, inodes0 := fsys.Used()
	const workers, rounds, files = 6, 400, 8
	dirs := make([]*Inode, workers)
	models := make([]map[string][]byte, workers)
	runWorkers(t, workers, func(w int, fail func(string, ...any)) {
		dir, err := fsys.Mkdir(root, fmt.Sprintf("w%d", w), 0o755, 0, 0)
		if err != nil {
			fail("mkdir: %v", err)
			return
		}
		dirs[w] = dir
		model := map[string][]byte{}
		models[w] = model
		rng := rand.New(rand.NewPCG(uint64(w), 1))
		name := func(i int) string { return fmt.Sprintf("f%d", i) }
		for r := range rounds {
			i, j := rng.IntN(files), rng.IntN(files)
			switch op := rng.IntN(7); op {
			case 0, 1: // open(O_CREAT|O_TRUNC) + write
				n, err := fsys.Lookup(dir, name(i))
				if err == syscall.ENOENT {
					n, err = fsys.Create(dir, name(i), 0o644, 0, 0)
				}
				if err != nil {
					fail("create %s: %v", name(i), err)
					return
				}
				if n.isDir() {
					continue
				}
				fsys.Ref(n)
				data := content(w, i, r)
				if err := fsys.Truncate(n, 0); err != nil {
					fail("truncate: %v", err)
				}
				if k, err := fsys.WriteAt(n, data, 0); err != nil || k != len(data) {
					fail("write: %d, %v", k, err)
				}
				fsys.Unref(n)
				// Every name linked to n shows the new data.
				for nm, v := range model {
					if ln, _ := fsys.Lookup(dir, nm); ln == n && v != nil {
						model[nm] = data
					}
				}
				model[name(i)] = data
			case 2: // rename, maybe over another file
				a, _ := fsys.Lookup(dir, name(i))
				b, _ := fsys.Lookup(dir, name(j))
				err := fsys.Rename(dir, name(i), dir, name(j), 0)
				src, ok := model[name(i)]
				dst, dok := model[name(j)]
				switch {
				case !ok:
					if err != syscall.ENOENT {
						fail("rename missing: %v", err)
					}
				case i == j || a == b:
					// The same inode: nothing happens.
					if err != nil {
						fail("rename to itself: %v", err)
					}
				case src == nil && dok && dst != nil:
					if err != syscall.ENOTDIR {
						fail("rename dir over file: %v", err)
					}
				case src != nil && dok && dst == nil:
					if err != syscall.EISDIR {
						fail("rename file over dir: %v", err)
					}
				default:
					if err != nil && err != syscall.ENOTEMPTY {
						fail("rename: %v", err)
					}
					if err == nil {
						delete(model, name(i))
						model[name(j)] = src
					}
				}
			case 3: // link
				n, err := fsys.Lookup(dir, name(i))
				if err != nil || n.isDir() {
					continue
				}
				err = fsys.Link(dir, name(j), n)
				if _, exists := model[name(j)]; exists {
					if err != syscall.EEXIST {
						fail("link over existing: %v", err)
					}
				} else if err != nil {
					fail("link: %v", err)
				} else {
					model[name(j)] = model[name(i)]
				}
			case 4: // unlink or rmdir
				v, exists := model[name(i)]
				var err error
				if exists && v == nil {
					err = fsys.Rmdir(dir, name(i))
				} else {
					err = fsys.Unlink(dir, name(i))
				}
				switch {
				case !exists:
					if err != syscall.ENOENT {
						fail("unlink missing: %v", err)
					}
				case err != nil:
					fail("unlink: %v", err)
				default:
					delete(model, name(i))
				}
			case 5: // mkdir
				_, err := fsys.Mkdir(dir, name(i), 0o755, 0, 0)
				if _, exists := model[name(i)]; exists {
					if err != syscall.EEXIST {
						fail("mkdir over existing: %v", err)
					}
				} else if err != nil {
					fail("mkdir: %v", err)
				} else {
					model[name(i)] = nil
				}
			case 6: // stat and read
				n, err := fsys.Lookup(dir, name(i))
				want, exists := model[name(i)]
				if !exists {
					if err != syscall.ENOENT {
						fail("lookup missing: %v", err)
					}
					continue
				}
				if err != nil {
					fail("lookup: %v", err)
					continue
				}
				if want == nil {
					continue
				}
				if got := fsys.Getattr(n).Size; got != int64(len(want)) {
					fail("%s: size %d, want %d", name(i), got, len(want))
				}
				buf := make([]byte, len(want)+10)
				k, err := fsys.ReadAt(n, buf, 0)
				if err != nil || !bytes.Equal(buf[:k], want) {
					fail("%s: read %d bytes, %v: data differs", name(i), k, err)
				}
			}
		}
	})
	mustInvariants(t, fsys)
	for w, dir := range dirs {
		names := listDir(t, fsys, dir)
		if len(names) != len(models[w]) {
			t.Errorf("w%d: entries %v, model has %d", w, names, len(models[w]))
		}
		for _, nm := range names {
			want, exists := models[w][nm]
			if !exists {
				t.Errorf("w%d: %s not in the model", w, nm)
				continue
			}
			n := lookup(t, fsys, dir, nm)
			if want == nil {
				if !n.isDir() {
					t.Errorf("w%d: %s is not a directory", w, nm)
				}
				continue
			}
			if got := readAll(t, fsys, n); got != string(want) {
				t.Errorf("w%d: %s holds %d bytes, want %d", w, nm, len(got), len(want))
			}
		}
	}
	removeAll(t, fsys, root)
	mustInvariants(t, fsys)
	checkUsed(t, fsys, bytes0, inodes0)
}

// TestConcurrentCrossRename moves files and directories between shared
// directories, including into each other's subtrees (which must fail
// with EINVAL, never make a loop or deadlock), while readers walk, list
// and read. Files keep unique names, so a rename never replaces: at the
// end every file and directory must be in the tree exactly once with its
// data intact.
func TestConcurrentCrossRename(t *testing.T) {
	for _, order := range []DirOrder{NewestFirst, CreationOrder} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			fsys := New(Options{DirOrder: order})
			root := fsys.Root()
			const ndirs, nfiles = 6, 24
			dirs := make([]*Inode, ndirs)
			for i := range dirs {
				dirs[i] = mkdir(t, fsys, root, fmt.Sprintf("d%d", i))
			}
			data := map[string][]byte{}
			for i := range nfiles {
				name := fmt.Sprintf("f%d", i)
				f := mkfile(t, fsys, dirs[i%ndirs], name)
				data[name] = content(0, i, 0)
				writeString(t, fsys, f, string(data[name]), 0)
			}
			bytes0, inodes0 := fsys.Used()
			const movers, readers, rounds = 4, 2, 500
			runWorkers(t, movers+readers, func(w int, fail func(string, ...any)) {
				rng := rand.New(rand.NewPCG(uint64(w), 2))
				for range rounds {
					if w >= movers {
						// Reader: walk a random path, list, read.
						p := fmt.Sprintf("d%d/d%d/f%d", rng.IntN(ndirs), rng.IntN(ndirs), rng.IntN(nfiles))
						if n, err := fsys.Walk(p); err == nil {
							if _, err := fsys.ReadAt(n, make([]byte, 64), 0); err != nil {
								fail("read %s: %v", p, err)
							}
						}
						d := dirs[rng.IntN(ndirs)]
						err := fsys.ReadDir(d, 0, func(name string, ino uint64, typ uint8, next int64) bool {
							fsys.Lookup(d, name)
							return true
						})
						if err != nil {
							fail("readdir: %v", err)
						}
						continue
					}
					from, to := dirs[rng.IntN(ndirs)], dirs[rng.IntN(ndirs)]
					var err error
					switch rng.IntN(3) {
					case 0, 1: // a file
						name := fmt.Sprintf("f%d", rng.IntN(nfiles))
						err = fsys.Rename(from, name, to, name, RenameNoreplace)
					case 2: // a directory, maybe into its own subtree
						name := fmt.Sprintf("d%d", rng.IntN(ndirs))
						err = fsys.Rename(from, name, to, name, RenameNoreplace)
					}
					switch {
					case err == nil, err == syscall.ENOENT, err == syscall.EINVAL:
					case err == syscall.EEXIST && from == to:
					default:
						fail("rename: %v", err)
					}
				}
			})
			mustInvariants(t, fsys)
			// Each file once, with its data; each directory once.
			seen := map[string]int{}
			var visit func(d *Inode)
			visit = func(d *Inode) {
				for _, name := range listDir(t, fsys, d) {
					n := lookup(t, fsys, d, name)
					seen[name]++
					if n.isDir() {
						visit(n)
					} else if got := readAll(t, fsys, n); got != string(data[name]) {
						t.Errorf("%s: data changed", name)
					}
				}
			}
			visit(root)
			for i := range ndirs {
				if c := seen[fmt.Sprintf("d%d", i)]; c != 1 {
					t.Errorf("d%d found %d times", i, c)
				}
			}
			for name := range data {
				if seen[name] != 1 {
					t.Errorf("%s found %d times", name, seen[name])
				}
			}
			checkUsed(t, fsys, bytes0, inodes0)
		})
	}
}

// TestConcurrentUnlinkRace races unlink, rmdir, hard links and replacing
// renames in a shared directory with lookups and reads through
// references. Files are published whole (written under a private name,
// then renamed in), so a reader holding a reference must always read a
// whole file, even after its name is gone. Afterwards removing everything
// must give back all that was charged.
func TestConcurrentUnlinkRace(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	shared := mkdir(t, fsys, root, "shared")
	other := mkdir(t, fsys, root, "other")
	bytes0, inodes0 := fsys.Used()
	const writers, readers, rounds, names = 3, 3, 400, 5
	runWorkers(t, writers+readers, func(w int, fail func(string, ...any)) {
		rng := rand.New(rand.NewPCG(uint64(w), 3))
		if w < writers {
			priv, err := fsys.Mkdir(root, fmt.Sprintf("p%d", w), 0o755, 0, 0)
			if err != nil {
				fail("mkdir: %v", err)
				return
			}
			for r := range rounds {
				name := fmt.Sprintf("n%d", rng.IntN(names))
				switch rng.IntN(6) {
				case 0, 1, 2: // publish a file whole
					f, err := fsys.Create(priv, "tmp", 0o644, 0, 0)
					if err != nil {
						fail("create: %v", err)
						return
					}
					// The first byte is the length / 64 of the rest.
					b := bytes.Repeat([]byte{byte(r)}, 64*(1+rng.IntN(100)))
					b[0] = byte(len(b) / 64)
					if _, err := fsys.WriteAt(f, b, 0); err != nil {
						fail("write: %v", err)
					}
					if err := fsys.Rename(priv, "tmp", shared, name, 0); err != nil && err != syscall.EISDIR {
						fail("publish: %v", err)
					}
					fsys.Unlink(priv, "tmp") // if it did not move (EISDIR)
				case 3:
					err := fsys.Unlink(shared, name)
					if err != nil && err != syscall.ENOENT && err != syscall.EISDIR {
						fail("unlink: %v", err)
					}
				case 4: // a directory, maybe with something in it
					d, err := fsys.Mkdir(shared, name, 0o755, 0, 0)
					if err == nil && rng.IntN(2) == 0 {
						fsys.Create(d, "x", 0o644, 0, 0)
					}
					err = fsys.Rmdir(shared, name)
					if err != nil && err != syscall.ENOENT && err != syscall.ENOTDIR && err != syscall.ENOTEMPTY {
						fail("rmdir: %v", err)
					}
					if err == syscall.ENOTEMPTY {
						if d, err := fsys.Lookup(shared, name); err == nil && d.isDir() {
							fsys.Unlink(d, "x")
						}
					}
				case 5: // a hard link elsewhere, and gone again
					if n, err := fsys.Lookup(shared, name); err == nil && !n.isDir() {
						lname := fmt.Sprintf("l%d", w)
						if err := fsys.Link(other, lname, n); err != nil && err != syscall.ENOENT {
							fail("link: %v", err)
						}
						fsys.Unlink(other, lname)
					}
				}
			}
			return
		}
		buf := make([]byte, 64*101)
		for range rounds {
			name := fmt.Sprintf("n%d", rng.IntN(names))
			n, err := fsys.LookupRef(shared, name)
			if err != nil {
				continue
			}
			if !n.isDir() {
				fsys.Unlink(shared, name) // sometimes unlink it while held
				k, err := fsys.ReadAt(n, buf, 0)
				if err != nil || k == 0 || k != 64*int(buf[0]) || !bytes.Equal(buf[1:k], bytes.Repeat(buf[1:2], k-1)) {
					fail("read %s: %d bytes, %v: not a whole file", name, k, err)
				}
				if a := fsys.Getattr(n); a.Size != int64(k) {
					fail("%s: size %d, read %d", name, a.Size, k)
				}
			} else {
				fsys.ReadDir(n, 0, func(string, uint64, uint8, int64) bool { return true })
			}
			fsys.Unref(n)
		}
	})
	mustInvariants(t, fsys)
	for _, name := range listDir(t, fsys, other) {
		t.Errorf("other/%s left behind", name)
	}
	removeAll(t, fsys, shared)
	for w := range writers {
		p := lookup(t, fsys, root, fmt.Sprintf("p%d", w))
		removeAll(t, fsys, p)
		ok(t, fsys.Rmdir(root, fmt.Sprintf("p%d", w)))
	}
	mustInvariants(t, fsys)
	checkUsed(t, fsys, bytes0, inodes0)
}

// TestConcurrentCapacity fills a small FS from several workers at once:
// writes stop at ENOSPC with what fit intact, creates fail with ENOSPC at
// MaxInodes, the charges never pass the limits, and removing everything
// gives them all back.
func TestConcurrentCapacity(t *testing.T) {
	const capacity, maxInodes = 512 << 10, 40
	fsys := New(Options{Capacity: capacity, MaxInodes: maxInodes})
	root := fsys.Root()
	bytes0, inodes0 := fsys.Used()
	const workers, rounds = 4, 30
	dirs := make([]*Inode, workers)
	for w := range dirs {
		dirs[w] = mkdir(t, fsys, root, fmt.Sprintf("w%d", w))
	}
	runWorkers(t, workers, func(w int, fail func(string, ...any)) {
		dir := dirs[w]
		chunk := bytes.Repeat([]byte{byte(w + 1)}, 3*pageSize+100)
		for r := range rounds {
			var made []string
			written := map[string]int{}
			for i := 0; ; i++ {
				name := fmt.Sprintf("f%d", i)
				f, err := fsys.Create(dir, name, 0o644, 0, 0)
				if err == syscall.ENOSPC {
					break
				}
				if err != nil {
					fail("create: %v", err)
					return
				}
				made = append(made, name)
				k, err := fsys.WriteAt(f, chunk, 0)
				written[name] = k
				if err == syscall.ENOSPC {
					break
				}
				if err != nil {
					fail("write: %v", err)
					return
				}
				if b, n := fsys.Used(); b > capacity || n > maxInodes {
					fail("round %d: used %d bytes, %d inodes: over the limits", r, b, n)
				}
				if k < len(chunk) {
					break
				}
			}
			for _, name := range made {
				f, err := fsys.Lookup(dir, name)
				if err != nil {
					fail("lookup: %v", err)
					continue
				}
				k := written[name]
				got := make([]byte, len(chunk))
				if n, _ := fsys.ReadAt(f, got, 0); n != k || !bytes.Equal(got[:n], chunk[:k]) {
					fail("%s: read %d bytes, wrote %d", name, n, k)
				}
				if err := fsys.Unlink(dir, name); err != nil {
					fail("unlink: %v", err)
				}
			}
		}
	})
	removeAll(t, fsys, root)
	mustInvariants(t, fsys)
	checkUsed(t, fsys, bytes0, inodes0)
}

// TestConcurrentOneFile has workers write disjoint ranges of one file and
// append to another, while others read and stat them: no write may be
// lost, and every append must land whole.
func TestConcurrentOneFile(t *testing.T) {
	fsys := New(Options{})
	root := fsys.Root()
	f := mkfile(t, fsys, root, "f")
	a := mkfile(t, fsys, root, "a")
	const workers, rounds, span = 4, 200, 3000
	runWorkers(t, workers, func(w int, fail func(string, ...any)) {
		rec := bytes.Repeat([]byte{byte('A' + w)}, 100)
		for r := range rounds {
			b := bytes.Repeat([]byte{byte(w*rounds + r)}, span)
			if _, err := fsys.WriteAt(f, b, int64(w*span)); err != nil {
				fail("write: %v", err)
			}
			if _, k, err := fsys.Append(a, rec); err != nil || k != len(rec) {
				fail("append: %d, %v", k, err)
			}
			got := make([]byte, span)
			if k, err := fsys.ReadAt(f, got, int64(w*span)); err != nil || k != span || !bytes.Equal(got, b) {
				fail("read back: %d, %v", k, err)
			}
			fsys.Getattr(f)
		}
	})
	if got := fsys.Getattr(a).Size; got != workers*rounds*100 {
		t.Fatalf("appended %d bytes, want %d", got, workers*rounds*100)
	}
	data := []byte(readAll(t, fsys, a))
	for i := 0; i < len(data); i += 100 {
		if !bytes.Equal(data[i:i+100], bytes.Repeat(data[i:i+1], 100)) {
			t.Fatalf("append at %d torn", i)
		}
	}
	all := []byte(readAll(t, fsys, f))
	for w := range workers {
		want := bytes.Repeat([]byte{byte(w*rounds + rounds - 1)}, span)
		if !bytes.Equal(all[w*span:(w+1)*span], want) {
			t.Errorf("worker %d's last write lost", w)
		}
	}
	mustInvariants(t, fsys)
}

// TestInodeSize checks the padding of Inode and dirData (see Locking in
// the package doc).
func TestInodeSize(t *testing.T) {
	if s := unsafe.Sizeof(Inode{}); s%64 != 0 {
		t.Errorf("Inode is %d bytes, not a multiple of 64", s)
	}
	if s := unsafe.Sizeof(dirData{}); s%64 != 0 {
		t.Errorf("dirData is %d bytes, not a multiple of 64", s)
	}
}

// TestSymlinkRacesDirChanges: Symlink adds an entry to a directory while
// other goroutines unlink and look up in it. Under -race this checks that
// it holds the directory's entry lock; the count checks that no entry is
// lost or made twice.
func TestSymlinkRacesDirChanges(t *testing.T) {
	fs := New(Options{})
	root := fs.Root()
	for i := range 200 {
		if _, err := fs.Create(root, fmt.Sprintf("f%d", i), 0o644, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			if _, err := fs.Symlink(root, fmt.Sprintf("s%d", i), "x", 0, 0); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 200 {
			if err := fs.Unlink(root, fmt.Sprintf("f%d", i)); err != nil {
				t.Error(err)
			}
			fs.Lookup(root, "s1")
		}
	}()
	wg.Wait()
	if n := fs.Entries(root); n != 200 {
		t.Errorf("entries = %d, want the 200 symlinks", n)
	}
}
