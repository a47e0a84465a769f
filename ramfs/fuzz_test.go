package ramfs

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileModel is what a regular file should contain.
type fileModel struct {
	size int64
	data map[int64]byte // non-zero bytes
}

// fuzzer runs a sequence of operations decoded from bytes and checks after
// each one that no error is anything but a bare errno, that the FS's
// bookkeeping matches a recount, and that file data matches a model.
type fuzzer struct {
	fs    *FS
	in    []byte
	nodes []*Inode
	held  map[*Inode]int
	model map[*Inode]*fileModel
	log   []string
}

var fuzzNames = []string{"a", "b", "c", "d", "e", ".", "..", "", strings.Repeat("x", 256)}

func (z *fuzzer) next() byte {
	if len(z.in) == 0 {
		return 0
	}
	b := z.in[0]
	z.in = z.in[1:]
	return b
}

func (z *fuzzer) pick() *Inode { return z.nodes[int(z.next())%len(z.nodes)] }

// pickDir mostly picks a live directory, sometimes anything.
func (z *fuzzer) pickDir() *Inode {
	b := int(z.next())
	if b%8 == 0 {
		return z.nodes[b/8%len(z.nodes)]
	}
	var dirs []*Inode
	for _, n := range z.nodes {
		if n.isDir() && !n.dir.dead {
			dirs = append(dirs, n)
		}
	}
	return dirs[b/8%len(dirs)]
}

// name mostly picks one of a few ordinary names.
func (z *fuzzer) name() string {
	b := int(z.next())
	if b < 224 {
		return fuzzNames[b%3]
	}
	return fuzzNames[b%len(fuzzNames)]
}

func (z *fuzzer) off() int64 {
	off := int64(z.next()) * int64(1+z.next()%64)
	if z.next()%16 == 0 {
		off <<= 30
	}
	return off
}

func (z *fuzzer) length() int {
	return int(z.next()) * int(z.next()%33)
}

func (z *fuzzer) add(n *Inode, err error) {
	if err == nil {
		z.nodes = append(z.nodes, n)
		if n.typ() == sIFREG && z.model[n] == nil {
			z.model[n] = &fileModel{data: map[int64]byte{}}
		}
	}
}

func (z *fuzzer) heldList() []*Inode {
	var l []*Inode
	for n, c := range z.held {
		if c > 0 {
			l = append(l, n)
		}
	}
	return l
}

func checkErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(syscall.Errno); !ok {
		return fmt.Errorf("error %v is a %T, not a bare syscall.Errno", err, err)
	}
	return nil
}

// step runs one operation; it returns a description of a failure.
func (z *fuzzer) step() error {
	fsys := z.fs
	op := z.next() % 21
	var err error
	switch op {
	case 0:
		var n *Inode
		n, err = fsys.Create(z.pickDir(), z.name(), uint32(z.next())<<4, 1, 2)
		z.add(n, err)
	case 1:
		var n *Inode
		n, err = fsys.Mkdir(z.pickDir(), z.name(), 0o755|uint32(z.next()&1)<<10, 0, 0)
		z.add(n, err)
	case 2:
		var n *Inode
		n, err = fsys.Symlink(z.pickDir(), z.name(), strings.Repeat("t", int(z.next())), 0, 0)
		z.add(n, err)
	case 3:
		var n *Inode
		modes := []uint32{sIFIFO, sIFSOCK, sIFCHR, sIFBLK, 0, sIFDIR, sIFLNK, 0o170000}
		n, err = fsys.Mknod(z.pickDir(), z.name(), modes[z.next()%8]|0o644, uint64(z.next()), 0, 0)
		z.add(n, err)
	case 4:
		err = fsys.Link(z.pickDir(), z.name(), z.pick())
	case 5:
		err = fsys.Unlink(z.pickDir(), z.name())
	case 6:
		err = fsys.Rmdir(z.pickDir(), z.name())
	case 7:
		err = fsys.Rename(z.pickDir(), z.name(), z.pickDir(), z.name(), uint32(z.next()%8))
	case 8:
		n, off, l := z.pick(), z.off(), z.length()
		seed := z.next()
		p := make([]byte, l)
		for i := range p {
			p[i] = byte(i) + seed
		}
		var k int
		if seed%8 == 0 {
			off, k, err = fsys.Append(n, p)
			if m := z.model[n]; m != nil && off != m.size {
				return fmt.Errorf("Append at %d, size %d", off, m.size)
			}
		} else {
			k, err = fsys.WriteAt(n, p, off)
		}
		if m := z.model[n]; m != nil && k > 0 {
			for i := range k {
				if p[i] == 0 {
					delete(m.data, off+int64(i))
				} else {
					m.data[off+int64(i)] = p[i]
				}
			}
			m.size = max(m.size, off+int64(k))
		}
		if err == nil && k == 0 && l > 0 {
			return fmt.Errorf("WriteAt of %d bytes wrote nothing without error", l)
		}
	case 9:
		n, off, l := z.pick(), z.off(), z.length()
		p := make([]byte, l)
		var k int
		k, err = fsys.ReadAt(n, p, off)
		if m := z.model[n]; m != nil && err == nil {
			want := 0
			if off < m.size {
				want = int(min(int64(l), m.size-off))
			}
			if k != want {
				return fmt.Errorf("ReadAt(%d, %d) = %d, want %d", off, l, k, want)
			}
			for i := range k {
				if p[i] != m.data[off+int64(i)] {
					return fmt.Errorf("ReadAt(%d): byte %d is %d, want %d", off, i, p[i], m.data[off+int64(i)])
				}
			}
		}
	case 10:
		n, size := z.pick(), z.off()
		err = fsys.Truncate(n, size)
		if m := z.model[n]; m != nil && err == nil {
			for o := range m.data {
				if o >= size {
					delete(m.data, o)
				}
			}
			m.size = size
		}
	case 11:
		n, off, l := z.pick(), z.off(), int64(z.length())
		modes := []uint32{0, FallocKeepSize, FallocPunchHole | FallocKeepSize, FallocPunchHole, fallocZeroRange}
		mode := modes[z.next()%5]
		err = fsys.Allocate(n, mode, off, l)
		if m := z.model[n]; m != nil && err == nil {
			switch mode {
			case 0:
				m.size = max(m.size, off+l)
			case FallocPunchHole | FallocKeepSize:
				for o := range m.data {
					if o >= off && o < off+l {
						delete(m.data, o)
					}
				}
			}
		}
	case 12:
		n, off := z.pick(), z.off()
		var got int64
		if z.next()&1 == 0 {
			got, err = fsys.SeekData(n, off)
			if m := z.model[n]; m != nil && err == nil {
				if got < off || got >= m.size {
					return fmt.Errorf("SeekData(%d) = %d, size %d", off, got, m.size)
				}
				for o := range m.data {
					if o >= off && o < got&^(pageSize-1) {
						return fmt.Errorf("SeekData(%d) = %d skips data at %d", off, got, o)
					}
				}
			}
		} else {
			got, err = fsys.SeekHole(n, off)
			if m := z.model[n]; m != nil && err == nil {
				if got < off || got > m.size {
					return fmt.Errorf("SeekHole(%d) = %d, size %d", off, got, m.size)
				}
				if _, ok := m.data[got]; ok && got < m.size {
					return fmt.Errorf("SeekHole(%d) = %d, which holds data", off, got)
				}
			}
		}
	case 13:
		n := z.pick()
		fsys.Ref(n)
		z.held[n]++
	case 14:
		if l := z.heldList(); len(l) > 0 {
			n := l[int(z.next())%len(l)]
			fsys.Unref(n)
			z.held[n]--
		}
	case 15:
		dir, pos := z.pickDir(), int64(z.next())-2
		stop := int(z.next())
		count := 0
		var order error
		seen := map[string]bool{}
		err = fsys.ReadDir(dir, pos, func(name string, ino uint64, typ uint8, next int64) bool {
			count++
			// Entries are only made meanwhile: none is listed twice.
			if seen[name] {
				order = fmt.Errorf("ReadDir listed %s twice", name)
			}
			seen[name] = true
			if count%3 == 0 {
				_, _ = fsys.Create(dir, name+"~", 0o644, 0, 0) // may nest
			}
			return count < stop
		})
		if err == nil {
			err = order
		}
	case 16:
		n := z.pick()
		switch z.next() % 4 {
		case 0:
			err = fsys.Chmod(n, uint32(z.next())<<4)
		case 1:
			ids := []int64{-1, 0, 1000, -2, 1<<32 - 1}
			err = fsys.Chown(n, ids[z.next()%5], ids[z.next()%5])
		case 2:
			at := time.Unix(int64(z.next())<<20, 0)
			err = fsys.SetTimes(n, &at, nil)
		case 3:
			fsys.Touch(n, z.next()&1 == 0)
		}
	case 17:
		var n *Inode
		n, err = fsys.Lookup(z.pickDir(), z.name())
		z.add(n, err)
	case 18:
		var n *Inode
		n, err = fsys.Tmpfile(z.pickDir(), 0o600, 0, 0)
		z.add(n, err)
		if err == nil {
			z.held[n]++
		}
	case 19:
		var n *Inode
		n, err = fsys.LookupRef(z.pickDir(), z.name())
		z.add(n, err)
		if err == nil {
			z.held[n]++
		}
	case 20:
		n := z.pick()
		a := fsys.Getattr(n)
		if m := z.model[n]; m != nil && a.Size != m.size {
			return fmt.Errorf("size %d, model %d", a.Size, m.size)
		}
		_ = fsys.Statfs()
		_, _ = fsys.Readlink(n)
		_ = fsys.Entries(n)
		_ = fsys.Parent(n)
	}
	z.log = append(z.log, fmt.Sprintf("op %d: %v", op, err))
	if err := checkErr(err); err != nil {
		return err
	}
	// A file whose last link and reference went away lost its data.
	for n, m := range z.model {
		if n.freed && (m.size != 0 || len(m.data) != 0) {
			z.model[n] = &fileModel{data: map[int64]byte{}}
		}
	}
	return checkInvariants(fsys, z.heldList()...)
}

func runFuzz(t testing.TB, in []byte) {
	fsys := New(Options{Capacity: 96 << 10, MaxInodes: 24, MaxLinks: 6, Now: newClock().Now})
	z := &fuzzer{fs: fsys, in: in, nodes: []*Inode{fsys.Root()}, held: map[*Inode]int{}, model: map[*Inode]*fileModel{}}
	for len(z.in) > 0 {
		if err := z.step(); err != nil {
			log := z.log[max(0, len(z.log)-12):]
			t.Fatalf("%v\nafter:\n%s", err, strings.Join(log, "\n"))
		}
	}
	// Dropping every reference and removing everything returns to empty.
	for n, c := range z.held {
		for range c {
			fsys.Unref(n)
		}
	}
	removeAll(t, fsys, fsys.Root())
	if b, i := fsys.Used(); b != inodeCost || i != 1 {
		t.Fatalf("after removing everything: used %d bytes, %d inodes", b, i)
	}
}

func removeAll(t testing.TB, fsys *FS, dir *Inode) {
	var names []string
	if err := fsys.ReadDir(dir, 2, func(name string, _ uint64, _ uint8, _ int64) bool {
		names = append(names, name)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		n, err := fsys.Lookup(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if n.isDir() {
			removeAll(t, fsys, n)
			err = fsys.Rmdir(dir, name)
		} else {
			err = fsys.Unlink(dir, name)
		}
		if err != nil {
			t.Fatalf("remove %s: %v", name, err)
		}
	}
}

func FuzzOps(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		b := make([]byte, 64+r.IntN(1024))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 8, 1, 0, 200, 3, 1, 7})
	f.Fuzz(func(t *testing.T, in []byte) {
		runFuzz(t, in)
	})
}

// TestFuzzOpsRandom runs more random sequences than the seed corpus.
func TestFuzzOpsRandom(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range n {
		b := make([]byte, 256+r.IntN(4096))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		runFuzz(t, b)
	}
}
