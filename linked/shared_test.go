package linked

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The races of emul's shared calls (emul/shared.go) that a sequence of
// calls cannot show: each test runs two goroutines that race on one name
// or one fd, many rounds, and checks what every call answered.

// TestSharedCreateRace: two goroutines open(O_CREAT) one new name at
// once. Both must succeed on the same file, as on Linux; one's create
// finding the other's name (EEXIST) must not leak out.
func TestSharedCreateRace(t *testing.T) {
	l := newLinked(t)
	const rounds = 2000
	var done sync.WaitGroup
	fds := make([][2]int, rounds)
	errs := make([][2]error, rounds)
	for i := range rounds {
		start := make(chan struct{})
		done.Add(2)
		name := fmt.Sprintf("/lk/c%d", i)
		for g := range 2 {
			go func() {
				defer done.Done()
				<-start
				fds[i][g], errs[i][g] = l.Open(name, unix.O_CREAT|unix.O_RDWR, 0o644)
			}()
		}
		close(start)
	}
	done.Wait()
	for i := range rounds {
		for g := range 2 {
			if errs[i][g] != nil {
				t.Fatalf("round %d: open(O_CREAT) = %v", i, errs[i][g])
			}
		}
		var a, b unix.Stat_t
		if err := l.fstat(fds[i][0], &a); err != nil {
			t.Fatal(err)
		}
		if err := l.fstat(fds[i][1], &b); err != nil {
			t.Fatal(err)
		}
		if a.Ino != b.Ino {
			t.Fatalf("round %d: the two opens got inodes %d and %d", i, a.Ino, b.Ino)
		}
		l.Close(fds[i][0])
		l.Close(fds[i][1])
	}
}

func (l *Linked) fstat(fd int, st *unix.Stat_t) error {
	_, e := l.Syscall(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0, 0, 0, 0)
	return errOf(e)
}

// TestSharedCloseWhileRead: one goroutine opens and closes files of
// distinct contents, the number of each fd published as it goes; the
// other preads whichever fd number was published last. Every read must
// answer EBADF or the whole contents of one of the files: a description
// closed under a read must not be freed (or handed to another open)
// while the read uses it.
func TestSharedCloseWhileRead(t *testing.T) {
	l := newLinked(t)
	const files, rounds = 8, 20000
	content := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 64+i) }
	for i := range files {
		fd, err := l.Open(fmt.Sprintf("/lk/f%d", i), unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		l.Write(fd, content(i))
		l.Close(fd)
	}
	var cur atomic.Int64
	cur.Store(-1)
	var stop atomic.Bool
	openErr := make(chan error, 1)
	go func() {
		defer stop.Store(true)
		for r := range rounds {
			fd, err := l.Open(fmt.Sprintf("/lk/f%d", r%files), unix.O_RDONLY, 0)
			if err != nil {
				openErr <- err
				return
			}
			cur.Store(int64(fd))
			if err := l.Close(fd); err != nil {
				openErr <- err
				return
			}
		}
		openErr <- nil
	}()
	buf := make([]byte, 128)
	reads, hits := 0, 0
	for !stop.Load() {
		fd := cur.Load()
		if fd < 0 {
			continue
		}
		n, err := l.Pread(int(fd), buf, 0)
		reads++
		if err != nil {
			if !errors.Is(err, syscall.EBADF) {
				t.Fatalf("pread of an fd being closed: %v", err)
			}
			continue
		}
		hits++
		if n < 64 || n >= 64+files || !bytes.Equal(buf[:n], content(n-64)) {
			t.Fatalf("pread got %d bytes %q: no file has them", n, buf[:n])
		}
	}
	if err := <-openErr; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d reads, %d found a file open", reads, hits)
}

// TestSharedRenameRace: goroutines rename names of one directory over
// each other while others open and stat them. A rename must never fail
// but with ENOENT (its name was moved away), an open or stat of a name
// that exists throughout (the stable file) never fails at all, and the
// directory ends up with exactly the files it began with.
func TestSharedRenameRace(t *testing.T) {
	l := newLinked(t)
	if err := l.Mkdir("/lk/r", 0o755); err != nil {
		t.Fatal(err)
	}
	const names, rounds = 4, 5000
	for i := range names {
		fd, err := l.Open(fmt.Sprintf("/lk/r/n%d", i), unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		l.Write(fd, []byte{byte(i)})
		l.Close(fd)
	}
	stable, err := l.Open("/lk/r/stable", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	l.Close(stable)
	var wg sync.WaitGroup
	fail := make(chan error, 4)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				from := fmt.Sprintf("/lk/r/n%d", (r+g)%names)
				to := fmt.Sprintf("/lk/r/t%d", g)
				if err := l.Rename(from, to); err != nil && !errors.Is(err, syscall.ENOENT) {
					fail <- fmt.Errorf("rename %s %s: %v", from, to, err)
					return
				}
				if err := l.Rename(to, from); err != nil && !errors.Is(err, syscall.ENOENT) {
					fail <- fmt.Errorf("rename %s %s: %v", to, from, err)
					return
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var st unix.Stat_t
			for range rounds {
				if err := l.Stat("/lk/r/stable", &st); err != nil {
					fail <- fmt.Errorf("stat of the stable file: %v", err)
					return
				}
				fd, err := l.Open("/lk/r/stable", unix.O_RDONLY, 0)
				if err != nil {
					fail <- fmt.Errorf("open of the stable file: %v", err)
					return
				}
				l.Close(fd)
			}
		}()
	}
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Error(err)
	}
	// Every file is still there, under some name: each name is moved by
	// one goroutine at a time (the other's rename of it fails ENOENT),
	// so no rename replaces a file.
	seen := map[byte]bool{}
	for _, n := range []string{"n0", "n1", "n2", "n3", "t0", "t1"} {
		fd, err := l.Open("/lk/r/"+n, unix.O_RDONLY, 0)
		if err != nil {
			continue
		}
		b := make([]byte, 4)
		if k, _ := l.Pread(fd, b, 0); k == 1 {
			seen[b[0]] = true
		}
		l.Close(fd)
	}
	if len(seen) != names {
		t.Errorf("files found %v, want the %d made", seen, names)
	}
}

// TestSharedOpenRacesRenameOver: a writer replaces a file by renaming a
// new copy over it (write tmp, rename tmp cfg), a reader opens it. Every
// open must find the name and read the whole contents, as on Linux: an
// open holds what its walk found, so the rename cannot free the old file
// (and leave it empty) between the walk and the open.
func TestSharedOpenRacesRenameOver(t *testing.T) {
	l := newLinked(t)
	want := bytes.Repeat([]byte("x"), 100)
	put := func(p string) error {
		fd, err := l.Open(p, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		defer l.Close(fd)
		if n, err := l.Write(fd, want); n != len(want) || err != nil {
			return fmt.Errorf("write %s = %d, %v", p, n, err)
		}
		return nil
	}
	if err := put("/lk/cfg"); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	writer := make(chan error, 1)
	go func() {
		defer stop.Store(true)
		for range 20000 {
			if err := put("/lk/tmp"); err != nil {
				writer <- err
				return
			}
			if err := l.Rename("/lk/tmp", "/lk/cfg"); err != nil {
				writer <- err
				return
			}
		}
		writer <- nil
	}()
	buf := make([]byte, 200)
	opens := 0
	for !stop.Load() {
		fd, err := l.Open("/lk/cfg", unix.O_RDONLY, 0)
		if err != nil {
			t.Fatalf("open of a name that always exists: %v", err)
		}
		opens++
		n, err := l.Pread(fd, buf, 0)
		l.Close(fd)
		if n != len(want) || err != nil {
			t.Fatalf("open %d of cfg read %d bytes (%v), want %d", opens, n, err, len(want))
		}
	}
	if err := <-writer; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d opens", opens)
}

// TestSharedRenameTwice: two goroutines rename(a, b) at once. On Linux
// exactly one succeeds and the other finds a gone (ENOENT); two walks made
// at two moments may both find the one inode at a then b, which must not
// pass for "old and new are the same file".
func TestSharedRenameTwice(t *testing.T) {
	l := newLinked(t)
	const rounds = 5000
	for i := range rounds {
		a, b := fmt.Sprintf("/lk/a%d", i), fmt.Sprintf("/lk/b%d", i)
		fd, err := l.Open(a, unix.O_CREAT|unix.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		l.Close(fd)
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); <-start; errs[g] = l.Rename(a, b) }()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, syscall.ENOENT) {
				t.Fatalf("round %d: rename: %v", i, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of the two renames succeeded, want 1", i, ok)
		}
	}
}

// TestSharedAppends: goroutines append records to one file, each through
// an O_APPEND fd of its own, at once. Every record must be in the file
// whole, none over another, as the end and the write are one step.
func TestSharedAppends(t *testing.T) {
	l := newLinked(t)
	const writers, records = 4, 2000
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fd, err := l.Open("/lk/log", unix.O_CREAT|unix.O_WRONLY|unix.O_APPEND, 0o644)
			if err != nil {
				errs <- err
				return
			}
			defer l.Close(fd)
			for i := range records {
				rec := []byte(fmt.Sprintf("<%d:%05d>", g, i))
				if n, err := l.Write(fd, rec); n != len(rec) || err != nil {
					errs <- fmt.Errorf("append = %d, %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fd, err := l.Open("/lk/log", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(fd)
	buf := make([]byte, writers*records*16)
	n, err := l.Read(fd, buf)
	if err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	for _, rec := range bytes.SplitAfter(buf[:n], []byte(">")) {
		if len(rec) == 0 {
			continue
		}
		var g, i int
		if _, err := fmt.Sscanf(string(rec), "<%d:%05d>", &g, &i); err != nil || g < 0 || g >= writers || i != next[g] {
			t.Fatalf("record %q out of place (writer %d expected record %d): an append was lost or torn", rec, g, next[min(max(g, 0), writers-1)])
		}
		next[g]++
	}
	for g, c := range next {
		if c != records {
			t.Errorf("writer %d: %d records in the file, want %d", g, c, records)
		}
	}
}
