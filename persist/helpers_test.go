package persist

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tempDir is t.TempDir that can also be removed when it holds read-only
// directories and the test does not run as root.
func tempDir(t *testing.T) string {
	d := t.TempDir()
	t.Cleanup(func() {
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && de.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	return d
}

// treeOpts says which kinds of entries a test tree has.
type treeOpts struct {
	// unreadable adds a mode 0000 file and a mode 0000 directory, which a
	// host round trip can read back only as root.
	unreadable bool
	// devices adds a character and a block device, which only tar keeps.
	devices bool
	// trusted adds trusted.* attributes, which a host keeps only for
	// root.
	trusted bool
}

// testTree builds a tree with every kind of entry the package keeps, and a
// socket, which it skips. Every inode gets its own atime and mtime with
// nanoseconds.
func testTree(t *testing.T, o treeOpts) *ramfs.FS {
	t.Helper()
	rfs := ramfs.New(ramfs.Options{})
	r := rfs.Root()
	lookup := func(p string) *ramfs.Inode {
		t.Helper()
		n := r
		if p == "." {
			return n
		}
		for _, c := range strings.Split(p, "/") {
			var err error
			n, err = rfs.Lookup(n, c)
			check(t, err)
		}
		return n
	}
	split := func(p string) (*ramfs.Inode, string) {
		d, b := path.Split(p)
		return lookup(path.Clean(d)), b
	}
	mkdir := func(p string, mode uint32) {
		t.Helper()
		d, b := split(p)
		_, err := rfs.Mkdir(d, b, mode, 0, 0)
		check(t, err)
	}
	file := func(p string, mode uint32, data []byte, off int64) *ramfs.Inode {
		t.Helper()
		d, b := split(p)
		n, err := rfs.Create(d, b, 0o600, 0, 0)
		check(t, err)
		if len(data) > 0 {
			_, err = rfs.WriteAt(n, data, off)
			check(t, err)
		}
		check(t, rfs.Chmod(n, mode))
		return n
	}
	symlink := func(p, target string) {
		t.Helper()
		d, b := split(p)
		_, err := rfs.Symlink(d, b, target, 0, 0)
		check(t, err)
	}
	link := func(p, target string) {
		t.Helper()
		d, b := split(p)
		check(t, rfs.Link(d, b, lookup(target)))
	}
	mknod := func(p string, mode uint32, rdev uint64) {
		t.Helper()
		d, b := split(p)
		_, err := rfs.Mknod(d, b, mode, rdev, 0, 0)
		check(t, err)
	}
	chown := func(p string, uid, gid int64) { t.Helper(); check(t, rfs.Chown(lookup(p), uid, gid)) }
	setxattr := func(p, name, value string) {
		t.Helper()
		check(t, rfs.SetXattr(lookup(p), name, []byte(value), 0))
	}

	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 300<<10) // more than one copy buffer
	for i := range big {
		big[i] = byte(rng.Uint32())
	}

	file("a.txt", 0o640, []byte("hello\n"), 0)
	file("empty", 0o600, nil, 0)
	file("suid", 0o4755, []byte("#!/bin/sh\n"), 0)
	file("with space ü.txt", 0o644, []byte("unicode\n"), 0)
	file("big", 0o644, big, 0)
	sp := file("sparse", 0o644, []byte("head"), 0)
	_, err := rfs.WriteAt(sp, []byte("tail"), 2<<20)
	check(t, err)
	z := file("zeros", 0o644, make([]byte, 1<<20), 0) // written zeros: pages in the FS
	_, err = rfs.WriteAt(z, []byte("x"), 1<<20)
	check(t, err)
	mkdir("sub", 0o750)
	mkdir("sub/deep", 0o755)
	mkdir("sub/deep/er", 0o700)
	file("sub/b", 0o600, []byte(strings.Repeat("b", 10000)), 0)
	link("hl", "sub/b")
	link("sub/deep/hl2", "sub/b")
	mkdir("ro", 0o755)
	file("ro/f", 0o444, []byte("ro"), 0)
	link("ro/a-again", "a.txt")
	check(t, rfs.Chmod(lookup("ro"), 0o555))
	mkdir("sticky", 0o1777)
	mkdir("sgid", 0o2775)
	symlink("link", "a.txt")
	symlink("sub/dangling", "nowhere/at/all")
	symlink("abs", "/etc/passwd")
	symlink("longlink", strings.Repeat("x/", 100)+"end")
	mknod("fifo", syscall.S_IFIFO|0o620, 0)
	mknod("sock", syscall.S_IFSOCK|0o600, 0)
	if o.devices {
		mknod("null", syscall.S_IFCHR|0o666, unix.Mkdev(1, 3))
		mknod("sub/loop9", syscall.S_IFBLK|0o660, unix.Mkdev(7, 9))
	}
	if o.unreadable {
		file("noperm", 0, []byte("secret"), 0)
		mkdir("locked", 0o755)
		file("locked/f", 0o644, []byte("locked in"), 0)
		link("m-link", "locked/f") // first name under a directory without permissions
		check(t, rfs.Chmod(lookup("locked"), 0))
	}
	chown("a.txt", 1234, 5678)
	chown("link", 4321, 8765)
	chown("sub", 1000, 1000)
	chown("sub/b", 1000, 1001)
	chown("suid", 0, 0) // chown clears setuid
	check(t, rfs.Chmod(lookup("suid"), 0o4755))

	// Extended attributes: binary and empty values, on files (one
	// read-only, one hard-linked), directories (the root, one read-only)
	// and a FIFO. Small enough for one ext4 block per inode.
	setxattr("a.txt", "user.mime_type", "text/plain")
	setxattr("a.txt", "user.bin", "\x00\xff\x00=\n")
	setxattr("a.txt", "user.empty", "")
	setxattr("sub/b", "user.linked", "on the inode")
	setxattr("ro/f", "user.ro", "set before the chmod")
	setxattr("ro", "user.dir", "d")
	setxattr(".", "user.root", "r")
	setxattr("sub/deep", "security.test", "s")
	if o.trusted {
		setxattr("big", "trusted.t", strings.Repeat("t", 1000))
		setxattr("fifo", "trusted.fifo", "f")
	}

	// Distinct times for every inode, set after the tree is complete.
	base := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	i := 0
	var stamp func(rel string)
	stamp = func(rel string) {
		n := lookup(rel)
		for _, name := range names(t, rfs, n) {
			c, err := rfs.Lookup(n, name)
			check(t, err)
			if rfs.Getattr(c).Mode&syscall.S_IFMT == syscall.S_IFDIR {
				stamp(path.Join(rel, name))
				continue
			}
			i++
			at := base.Add(time.Duration(i)*time.Hour + time.Duration(i)*time.Nanosecond)
			mt := base.Add(time.Duration(i)*time.Minute + time.Duration(2*i)*time.Nanosecond)
			check(t, rfs.SetTimes(c, &at, &mt))
		}
		i++
		at := base.Add(-time.Duration(i) * time.Hour)
		mt := base.Add(-time.Duration(i)*time.Minute + 999*time.Nanosecond)
		check(t, rfs.SetTimes(n, &at, &mt))
	}
	stamp(".")
	return rfs
}

func names(t *testing.T, rfs *ramfs.FS, dir *ramfs.Inode) []string {
	t.Helper()
	var ns []string
	check(t, rfs.ReadDirNoatime(dir, 2, func(name string, _ uint64, _ uint8, _ int64) bool {
		ns = append(ns, name)
		return true
	}))
	slices.Sort(ns)
	return ns
}

// listOpts says what a listing leaves out.
type listOpts struct {
	noDevices bool // character and block devices
	noOwners  bool
}

// listing is a canonical description of the tree under root, one line per
// entry in sorted depth-first order: path, type, permission bits, owner,
// size and SHA-256 of regular files, symlink targets, device numbers, the
// first name of hard-linked inodes, extended attributes, mtime and atime (not of symlinks, whose
// atime Readlink changes). Sockets are left out.
func listing(t *testing.T, rfs *ramfs.FS, root *ramfs.Inode, o listOpts) []string {
	t.Helper()
	var out []string
	first := map[uint64]string{}
	var walk func(dir *ramfs.Inode, rel string)
	line := func(n *ramfs.Inode, rel string) {
		a := rfs.Getattr(n)
		typ := a.Mode & syscall.S_IFMT
		if typ == syscall.S_IFSOCK || o.noDevices && (typ == syscall.S_IFCHR || typ == syscall.S_IFBLK) {
			return
		}
		s := fmt.Sprintf("%s %s %04o", rel, map[uint32]string{
			syscall.S_IFDIR: "dir", syscall.S_IFREG: "reg", syscall.S_IFLNK: "lnk",
			syscall.S_IFIFO: "fifo", syscall.S_IFCHR: "chr", syscall.S_IFBLK: "blk",
		}[typ], a.Mode&0o7777)
		if !o.noOwners {
			s += fmt.Sprintf(" %d:%d", a.Uid, a.Gid)
		}
		switch typ {
		case syscall.S_IFREG:
			data := make([]byte, a.Size)
			k, err := rfs.ReadAtNoatime(n, data, 0)
			check(t, err)
			s += fmt.Sprintf(" size=%d sha256=%x", k, sha256.Sum256(data[:k]))
		case syscall.S_IFLNK:
			target, err := rfs.Readlink(n)
			check(t, err)
			s += " -> " + target
		case syscall.S_IFCHR, syscall.S_IFBLK:
			s += fmt.Sprintf(" dev=%d,%d", unix.Major(a.Rdev), unix.Minor(a.Rdev))
		}
		if typ != syscall.S_IFDIR && a.Nlink > 1 {
			if f, ok := first[a.Ino]; ok {
				s += " hardlink=" + f
			} else {
				first[a.Ino] = rel
			}
		}
		for _, name := range rfs.ListXattr(n) {
			v, err := rfs.GetXattr(n, name)
			check(t, err)
			s += fmt.Sprintf(" %s=%q", name, v)
		}
		s += fmt.Sprintf(" mtime=%d", a.Mtime.UnixNano())
		if typ != syscall.S_IFLNK {
			s += fmt.Sprintf(" atime=%d", a.Atime.UnixNano())
		}
		out = append(out, s)
		if typ == syscall.S_IFDIR {
			walk(n, rel)
		}
	}
	walk = func(dir *ramfs.Inode, rel string) {
		for _, name := range names(t, rfs, dir) {
			n, err := rfs.Lookup(dir, name)
			check(t, err)
			line(n, path.Join(rel, name))
		}
	}
	line(root, ".")
	return out
}

// sameListing reports every line that differs.
func sameListing(t *testing.T, want, got []string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("line %d:\nwant %s\ngot  %s", i, w, g)
		}
	}
}

// hostSnapshot describes a host tree down to inode numbers and every
// timestamp, so that "left exactly as it was" can be checked.
func hostSnapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		s := fmt.Sprintf("%s ino=%d mode=%o nlink=%d %d:%d size=%d mtime=%d.%09d ctime=%d.%09d",
			p, st.Ino, st.Mode, st.Nlink, st.Uid, st.Gid, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += fmt.Sprintf(" sha256=%x", sha256.Sum256(data))
		case syscall.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			s += " -> " + target
		}
		out = append(out, s)
		return nil
	})
	check(t, err)
	return out
}

// leftovers returns the names in dir that a save uses for its temporary
// and backup copies.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	check(t, err)
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".fsshim-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// failingSource is a source whose data reads fail with EIO after the first
// okReads.
type failingSource struct {
	source
	okReads int64
	reads   atomic.Int64
}

func (f *failingSource) ReadAtNoatime(n *ramfs.Inode, p []byte, off int64) (int, error) {
	if f.reads.Add(1) > f.okReads {
		return 0, syscall.EIO
	}
	return f.source.ReadAtNoatime(n, p, off)
}
