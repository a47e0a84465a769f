package ramfs

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeClock advances by one microsecond on every reading, so any timestamp
// update is visible; advance jumps further.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestFS(t testing.TB, opt Options) (*FS, *fakeClock) {
	t.Helper()
	c := newClock()
	if opt.Now == nil {
		opt.Now = c.Now
	}
	return New(opt), c
}

func mkfile(t testing.TB, fs *FS, dir *Inode, name string) *Inode {
	t.Helper()
	n, err := fs.Create(dir, name, 0o644, 0, 0)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return n
}

func mkdir(t testing.TB, fs *FS, dir *Inode, name string) *Inode {
	t.Helper()
	n, err := fs.Mkdir(dir, name, 0o755, 0, 0)
	if err != nil {
		t.Fatalf("Mkdir(%q): %v", name, err)
	}
	return n
}

func lookup(t testing.TB, fs *FS, dir *Inode, name string) *Inode {
	t.Helper()
	n, err := fs.Lookup(dir, name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	return n
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErrno(t testing.TB, what string, err error, want syscall.Errno) {
	t.Helper()
	var got syscall.Errno
	if err != nil && !errors.As(err, &got) {
		t.Errorf("%s: error %v (%T) is not a syscall.Errno", what, err, err)
		return
	}
	if got != want {
		t.Errorf("%s: got %v (%d), want %v (%d)", what, err, got, want, want)
	}
}

func writeString(t testing.TB, fs *FS, n *Inode, s string, off int64) {
	t.Helper()
	k, err := fs.WriteAt(n, []byte(s), off)
	if err != nil || k != len(s) {
		t.Fatalf("WriteAt(%q, %d) = %d, %v", s, off, k, err)
	}
}

func readAll(t testing.TB, fs *FS, n *Inode) string {
	t.Helper()
	buf := make([]byte, fs.Getattr(n).Size)
	k, err := fs.ReadAt(n, buf, 0)
	ok(t, err)
	return string(buf[:k])
}

// listDir returns the names ReadDir reports from position 2 on.
func listDir(t testing.TB, fs *FS, dir *Inode) []string {
	t.Helper()
	var names []string
	ok(t, fs.ReadDir(dir, 2, func(name string, _ uint64, _ uint8, _ int64) bool {
		names = append(names, name)
		return true
	}))
	return names
}

// checkInvariants recounts everything reachable from the root plus the
// inodes in held (which the caller holds references on) and compares it
// with the FS's own bookkeeping: Used, link counts, parents, directory
// indexes and page trees. It is meant for a quiescent FS: it takes
// renameMu, so no directory moves, and each inode's lock while it reads
// it, but the counts are only consistent when nothing runs concurrently.
func checkInvariants(fs *FS, held ...*Inode) error {
	fs.renameMu.Lock()
	defer fs.renameMu.Unlock()
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	seen := make(map[*Inode]bool)
	links := make(map[*Inode]uint32)
	var bytes, inodes int64
	count := func(n *Inode) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.freed {
			fail("ino %d: reachable or held but freed", n.ino)
		}
		bytes += n.baseCost() + n.file.npages*pageSize
		for name, v := range n.xattrs {
			bytes += xattrCost(name, v)
		}
		inodes++
		checkTree(n, fail)
		return true
	}
	var visit func(dir *Inode)
	visit = func(dir *Inode) {
		d := dir.dir
		d.mu.RLock()
		defer d.mu.RUnlock()
		subdirs := uint32(0)
		live := 0
		prev := int64(1)
		for _, de := range d.order {
			if de.cookie <= prev {
				fail("dir %d: cookies not increasing: %d after %d", dir.ino, de.cookie, prev)
			}
			prev = de.cookie
			if de.inode == nil {
				continue
			}
			live++
			if d.byName[de.name] != de {
				fail("dir %d: entry %q not indexed", dir.ino, de.name)
			}
			if de.cookie >= d.next {
				fail("dir %d: cookie %d >= next %d", dir.ino, de.cookie, d.next)
			}
			bytes += direntBytes(de.name)
			n := de.inode
			links[n]++
			if n.isDir() {
				subdirs++
				if p := n.dir.parent.Load(); p != dir {
					fail("dir %d: child %q has parent %d", dir.ino, de.name, p.ino)
				}
				n.dir.mu.RLock()
				if n.dir.dead {
					fail("dir %d: child %q is dead", dir.ino, de.name)
				}
				n.dir.mu.RUnlock()
			}
			if count(n) && n.isDir() {
				visit(n)
			}
		}
		if live != len(d.byName) || len(d.order)-live != d.removed {
			fail("dir %d: %d live, %d indexed, %d slots, %d removed", dir.ino, live, len(d.byName), len(d.order), d.removed)
		}
		if dir.nlink != 2+subdirs { // read with dir.dir.mu held
			fail("dir %d: nlink %d, want %d", dir.ino, dir.nlink, 2+subdirs)
		}
	}
	count(fs.root)
	visit(fs.root)
	for n, k := range links {
		n.mu.Lock()
		if !n.isDir() && n.nlink != k {
			fail("ino %d: nlink %d, %d entries", n.ino, n.nlink, k)
		}
		n.mu.Unlock()
	}
	for _, n := range held {
		if n.isDir() {
			n.dir.mu.RLock()
		}
		n.mu.Lock()
		if n.refs <= 0 {
			fail("ino %d: held but refs %d", n.ino, n.refs)
		}
		if !seen[n] {
			if n.nlink != 0 {
				fail("ino %d: held, unreachable, nlink %d", n.ino, n.nlink)
			}
			if n.isDir() && (!n.dir.dead || len(n.dir.byName) != 0) {
				fail("ino %d: unreachable directory not dead and empty", n.ino)
			}
		}
		n.mu.Unlock()
		if n.isDir() {
			n.dir.mu.RUnlock()
		}
		if !seen[n] {
			count(n)
		}
	}
	usedBytes, usedInodes := fs.Used()
	if bytes != usedBytes || inodes != usedInodes {
		fail("used (%d bytes, %d inodes), recount (%d, %d)", usedBytes, usedInodes, bytes, inodes)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// checkTree verifies the page tree of n: counts, unwritten bits and the
// page total.
func checkTree(n *Inode, fail func(string, ...any)) {
	t := &n.file
	if t.height == 0 {
		if t.root != nil || t.npages != 0 {
			fail("ino %d: empty tree with root or %d pages", n.ino, t.npages)
		}
		return
	}
	var walk func(p *pnode, h int) int64
	walk = func(p *pnode, h int) int64 {
		var pages int64
		c := 0
		for s := 0; s < fan; s++ {
			if h == 1 {
				if p.pages[s] != nil {
					c++
					pages++
				} else if p.unwritten&(1<<s) != 0 {
					fail("ino %d: unwritten bit on an absent page", n.ino)
				}
				continue
			}
			if k := p.kids[s]; k != nil {
				c++
				pages += walk(k, h-1)
			}
		}
		if c != p.count || c == 0 {
			fail("ino %d: node count %d, counted %d", n.ino, p.count, c)
		}
		return pages
	}
	if got := walk(t.root, t.height); got != t.npages {
		fail("ino %d: npages %d, counted %d", n.ino, t.npages, got)
	}
}

func mustInvariants(t testing.TB, fs *FS, held ...*Inode) {
	t.Helper()
	if err := checkInvariants(fs, held...); err != nil {
		t.Fatal(err)
	}
}
