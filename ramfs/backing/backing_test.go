package backing

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

func mount(t *testing.T, size int64) *Dir {
	t.Helper()
	dirs, err := Mount([]int64{size})
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dirs[0].Close() })
	return dirs[0]
}

func TestDataThroughStore(t *testing.T) {
	d := mount(t, 0)
	fs := ramfs.New(ramfs.Options{Store: d})
	n, err := fs.Create(fs.Root(), "f", 0o644, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a := fs.Getattr(n); a.Size != 0 {
		t.Fatalf("new file has size %d", a.Size)
	}
	if k, err := fs.WriteAt(n, []byte("hello"), 8192); k != 5 || err != nil {
		t.Fatalf("WriteAt = %d, %v", k, err)
	}
	a := fs.Getattr(n)
	if a.Size != 8197 || a.Blocks != 8 {
		t.Errorf("after a write past a hole: size %d blocks %d, want 8197 and 8", a.Size, a.Blocks)
	}
	if off, err := fs.SeekData(n, 0); off != 8192 || err != nil {
		t.Errorf("SeekData(0) = %d, %v; want 8192", off, err)
	}
	if off, err := fs.SeekHole(n, 0); off != 0 || err != nil {
		t.Errorf("SeekHole(0) = %d, %v; want 0", off, err)
	}
	buf := make([]byte, 10)
	if k, err := fs.ReadAt(n, buf, 8190); k != 7 || err != nil || !bytes.Equal(buf[:7], []byte("\x00\x00hello")) {
		t.Errorf("ReadAt = %d %q, %v", k, buf[:k], err)
	}
	off, k, err := fs.Append(n, []byte("!"))
	if off != 8197 || k != 1 || err != nil {
		t.Errorf("Append = %d, %d, %v", off, k, err)
	}
	if err := fs.Truncate(n, 3); err != nil {
		t.Fatal(err)
	}
	if a := fs.Getattr(n); a.Size != 3 {
		t.Errorf("size after Truncate(3) = %d", a.Size)
	}

	// A program's fd onto the file is an fd onto the same data.
	f, err := fs.OpenData(n, unix.O_RDWR|unix.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(int(f.Fd()), []byte("XY")); err != nil {
		t.Fatal(err)
	}
	if k, _ := fs.ReadAt(n, buf, 0); string(buf[:k]) != "\x00\x00\x00XY" {
		t.Errorf("data written through the fd reads back as %q", buf[:k])
	}
	var st unix.Stat_t
	unix.Fstat(int(f.Fd()), &st)
	if got := fs.InodeByDataKey(st.Ino); got != n || st.Dev != d.Dev() {
		t.Errorf("InodeByDataKey(fd's ino) = %v, want the file", got)
	}

	// chmod moves ctime, as the kernel's clock has it.
	before := fs.Getattr(n).Ctime
	fs.Chmod(n, 0o600)
	if after := fs.Getattr(n).Ctime; after.Before(before) {
		t.Errorf("ctime went back on chmod: %v -> %v", before, after)
	}
	mt := time.Unix(1000, 5)
	if err := fs.SetTimes(n, nil, &mt); err != nil {
		t.Fatal(err)
	}
	if a := fs.Getattr(n); !a.Mtime.Equal(mt) {
		t.Errorf("mtime after SetTimes = %v, want %v", a.Mtime, mt)
	}

	// Unlinked while the fd is open: kept, findable, and freed once the
	// fd is closed.
	if err := fs.Unlink(fs.Root(), "f"); err != nil {
		t.Fatal(err)
	}
	if fs.Orphans() != 1 || fs.InodeByDataKey(st.Ino) != n {
		t.Fatalf("an unlinked open file is not kept: %d orphans", fs.Orphans())
	}
	if a := fs.Getattr(n); a.Nlink != 0 || a.Size != 5 {
		t.Errorf("unlinked open file: nlink %d size %d", a.Nlink, a.Size)
	}
	f.Close()
	fs.ReapOrphans()
	if fs.Orphans() != 0 || fs.InodeByDataKey(st.Ino) != nil {
		t.Errorf("closed unlinked file still kept: %d orphans", fs.Orphans())
	}
}

func TestUnlinkedClosedIsFreed(t *testing.T) {
	d := mount(t, 16<<20) // a size, so that statfs counts blocks
	fs := ramfs.New(ramfs.Options{Store: d})
	n, _ := fs.Create(fs.Root(), "f", 0o644, 0, 0)
	fs.WriteAt(n, make([]byte, 1<<20), 0)
	used := d.Used()
	if used < 1<<20 {
		t.Fatalf("store uses %d bytes after a 1 MiB write", used)
	}
	fs.Unlink(fs.Root(), "f")
	if fs.Orphans() != 0 {
		t.Errorf("a file no one holds was kept as an orphan")
	}
	if d.Used() >= used {
		t.Errorf("store still uses %d bytes after the file went", d.Used())
	}
}

func TestENOSPC(t *testing.T) {
	d := mount(t, 64<<10)
	fs := ramfs.New(ramfs.Options{Store: d})
	n, _ := fs.Create(fs.Root(), "f", 0o644, 0, 0)
	k, err := fs.WriteAt(n, make([]byte, 128<<10), 0)
	if k == 0 && !errors.Is(err, syscall.ENOSPC) || k >= 128<<10 {
		t.Fatalf("writing 128 KiB into 64 KiB: %d, %v", k, err)
	}
	if _, err := fs.WriteAt(n, []byte("x"), 200<<10); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("a write past a full store: %v, want ENOSPC", err)
	}
}

func TestPlaceholder(t *testing.T) {
	d := mount(t, 0)
	for _, opath := range []bool{false, true} {
		f, err := d.Placeholder(7, opath)
		if err != nil {
			t.Fatal(err)
		}
		var buf [64]byte
		want := unix.EISDIR
		if opath {
			want = unix.EBADF
		}
		if _, err := unix.Read(int(f.Fd()), buf[:]); err != want {
			t.Errorf("read of a placeholder (O_PATH %v): %v, want %v", opath, err, want)
		}
		if _, err := unix.Write(int(f.Fd()), buf[:1]); err != unix.EBADF {
			t.Errorf("write to a placeholder (O_PATH %v): %v, want EBADF", opath, err)
		}
		k, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), buf[:])
		if want := "/" + PlaceholderPrefix + "7 (deleted)"; err != nil || string(buf[:k]) != want {
			t.Errorf("placeholder's link is %q, %v; want %q", buf[:k], err, want)
		}
		f.Close()
	}
}

// TestConcurrent has goroutines make, write, read, open and remove files of
// one FS at once; every file must read back what its writer wrote, and
// nothing may be left in the store.
func TestConcurrent(t *testing.T) {
	d := mount(t, 0)
	fs := ramfs.New(ramfs.Options{Store: d})
	const workers, files = 4, 200
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := 0; i < files; i++ {
				name := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				n, err := fs.Create(fs.Root(), name, 0o644, 0, 0)
				if err != nil {
					errs <- err
					return
				}
				want := []byte(name)
				if _, err := fs.WriteAt(n, want, 0); err != nil {
					errs <- err
					return
				}
				f, err := fs.OpenData(n, unix.O_RDONLY)
				if err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(want)+1)
				k, _ := f.ReadAt(got, 0)
				f.Close()
				if string(got[:k]) != name {
					errs <- errors.New("file " + name + " reads back " + string(got[:k]))
					return
				}
				if err := fs.Unlink(fs.Root(), name); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fs.ReapOrphans()
	if fs.Orphans() != 0 {
		t.Errorf("%d orphans left", fs.Orphans())
	}
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.fd), "", &st, unix.AT_EMPTY_PATH); err != nil || st.Nlink != 2 {
		t.Errorf("store root has %d links (%v): subdirectories left", st.Nlink, err)
	}
	ents, _ := os.ReadDir("/proc/self/fd/" + strconv.Itoa(d.fd))
	if len(ents) != 0 {
		t.Errorf("%d files left in the store", len(ents))
	}
}

// TestOpenKeepsTimes: opening a file for the program changes none of its
// times, as open(2) does not.
func TestOpenKeepsTimes(t *testing.T) {
	d := mount(t, 0)
	fs := ramfs.New(ramfs.Options{Store: d})
	n, err := fs.Mknod(fs.Root(), "f", unix.S_IFREG|0o644, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := fs.Getattr(n)
	f, err := fs.OpenData(n, unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	after := fs.Getattr(n)
	if !after.Mtime.Equal(before.Mtime) || !after.Ctime.Equal(before.Ctime) || !after.Atime.Equal(before.Atime) {
		t.Errorf("times changed by an open: %v %v %v -> %v %v %v",
			before.Atime, before.Mtime, before.Ctime, after.Atime, after.Mtime, after.Ctime)
	}
}

// TestBothWaysToMount: the tmpfs made in fsshim itself (root) and the one
// the helper makes are alike: private (mode 0700, a device of their own,
// reached by no path of fsshim's mount table) and sized.
func TestBothWaysToMount(t *testing.T) {
	for _, way := range []struct {
		name  string
		mount func([]int64) ([]*Dir, error)
	}{{"here", mountHere}, {"helper", mountByHelper}} {
		t.Run(way.name, func(t *testing.T) {
			dirs, err := way.mount([]int64{64 << 10, 0})
			if err != nil {
				t.Skipf("skipping: %v", err)
			}
			defer func() {
				for _, d := range dirs {
					d.Close()
				}
			}()
			if len(dirs) != 2 || dirs[0].Dev() == dirs[1].Dev() {
				t.Fatalf("got %d stores, devices %v", len(dirs), dirs)
			}
			var st unix.Stat_t
			if err := unix.Fstat(dirs[0].fd, &st); err != nil || st.Mode&0o7777 != 0o700 {
				t.Errorf("store root mode %o (%v), want 0700", st.Mode&0o7777, err)
			}
			mi, err := os.ReadFile("/proc/self/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range dirs {
				dev := strconv.FormatUint(uint64(unix.Major(d.Dev())), 10) + ":" + strconv.FormatUint(uint64(unix.Minor(d.Dev())), 10)
				if bytes.Contains(mi, []byte(" "+dev+" ")) {
					t.Errorf("store %s is in fsshim's mount table", dev)
				}
			}
			fs := ramfs.New(ramfs.Options{Store: dirs[0]})
			n, _ := fs.Create(fs.Root(), "f", 0o644, 0, 0)
			if k, err := fs.WriteAt(n, make([]byte, 128<<10), 0); k >= 128<<10 {
				t.Errorf("wrote %d bytes into 64 KiB (%v)", k, err)
			}
			if _, err := fs.WriteAt(n, []byte("x"), 200<<10); !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("a write past a full store: %v, want ENOSPC", err)
			}
		})
	}
}
