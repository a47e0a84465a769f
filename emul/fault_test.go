package emul

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// edge returns an address with good accessible bytes before the end of the
// rig's memory: a buffer there runs into a fault.
func (r *rig) edge(good int) uint64 {
	return r.mem.base + uint64(len(r.mem.b)) - uint64(good)
}

func TestFaultingBufferMovesTheBytesBeforeIt(t *testing.T) {
	r := newRig(t)
	fd := uint64(r.ok(unix.SYS_OPENAT, cwd, r.mem.str("/m/f"), unix.O_CREAT|unix.O_RDWR, 0o644))
	data := r.mem.str(strings.Repeat("0123456789", 100))
	r.ok(unix.SYS_WRITE, fd, data, 1000)
	r.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)

	if n := r.ok(unix.SYS_READ, fd, r.edge(100), 300); n != 100 {
		t.Errorf("read across the fault = %d, want 100", n)
	}
	if got := r.mem.bytesAt(r.edge(100), 4); string(got) != "0123" {
		t.Errorf("read delivered %q", got)
	}
	if off := r.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_CUR); off != 100 {
		t.Errorf("offset after a short read = %d, want 100", off)
	}
	r.errno(syscall.EFAULT, unix.SYS_READ, fd, r.edge(0), 300)
	if off := r.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_CUR); off != 100 {
		t.Errorf("offset after EFAULT = %d, want 100", off)
	}
	if n := r.ok(unix.SYS_PREAD64, fd, r.edge(7), 300, 0); n != 7 {
		t.Errorf("pread across the fault = %d, want 7", n)
	}

	copy(r.mem.bytesAt(r.edge(10), 10), "abcdefghij")
	if n := r.ok(unix.SYS_WRITE, fd, r.edge(10), 300); n != 10 {
		t.Errorf("write across the fault = %d, want 10", n)
	}
	if off := r.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_CUR); off != 110 {
		t.Errorf("offset after a short write = %d, want 110", off)
	}
	r.errno(syscall.EFAULT, unix.SYS_WRITE, fd, r.edge(0), 300)
	// A write past the end that faults at once leaves the size at its
	// offset, as tmpfs does.
	r.errno(syscall.EFAULT, unix.SYS_PWRITE64, fd, r.edge(0), 300, 5000)
	if st, _ := r.stat("/m/f", false); st.size != 5000 {
		t.Errorf("size after a faulting write at 5000 = %d, want 5000", st.size)
	}

	// readv: the first element's bytes when the second faults.
	iov := r.mem.alloc(32)
	first := r.mem.alloc(20)
	le.PutUint64(r.mem.bytesAt(iov, 32)[0:], first)
	le.PutUint64(r.mem.bytesAt(iov, 32)[8:], 20)
	le.PutUint64(r.mem.bytesAt(iov, 32)[16:], r.edge(0))
	le.PutUint64(r.mem.bytesAt(iov, 32)[24:], 30)
	if n := r.ok(unix.SYS_PREADV, fd, iov, 2, 0); n != 20 {
		t.Errorf("preadv with a faulting second element = %d, want 20", n)
	}
	if n := r.ok(unix.SYS_PWRITEV, fd, iov, 2, 0); n != 20 {
		t.Errorf("pwritev with a faulting second element = %d, want 20", n)
	}
}

// names parses getdents64 records.
func names64(b []byte) []string {
	var out []string
	for len(b) >= 19 {
		reclen := le.Uint16(b[16:])
		name := b[19:reclen]
		out = append(out, string(name[:bytes.IndexByte(name, 0)]))
		b = b[reclen:]
	}
	return out
}

func TestGetdentsFaultKeepsUndeliveredEntries(t *testing.T) {
	r := newRig(t)
	for _, n := range []string{"aaa", "bbb", "ccc"} {
		r.ok(unix.SYS_MKDIR, r.mem.str("/m/"+n), 0o755)
	}
	dfd := uint64(r.ok(unix.SYS_OPEN, r.mem.str("/m"), unix.O_RDONLY|unix.O_DIRECTORY, 0))
	buf := r.mem.alloc(4096)
	all := func() []string {
		var got []string
		for {
			n := r.ok(unix.SYS_GETDENTS64, dfd, buf, 4096)
			if n == 0 {
				return got
			}
			got = append(got, names64(r.mem.bytesAt(buf, int(n)))...)
		}
	}
	r.errno(syscall.EFAULT, unix.SYS_GETDENTS64, dfd, r.edge(0), 4096)
	if got := all(); len(got) != 5 {
		t.Errorf("after EFAULT the listing has %q, want all 5", got)
	}
	// Records are 24 bytes; the third one's name and NUL end at byte 71,
	// its padding byte is the first that faults: it is delivered.
	for _, c := range []struct{ good, want int }{{50, 48}, {70, 48}, {71, 72}, {72, 72}} {
		r.ok(unix.SYS_LSEEK, dfd, 0, unix.SEEK_SET)
		n := r.ok(unix.SYS_GETDENTS64, dfd, r.edge(c.good), 4096)
		if int(n) != c.want {
			t.Errorf("getdents64 with %d good bytes = %d, want %d", c.good, n, c.want)
		}
		if rest := all(); int(n)/24+len(rest) != 5 {
			t.Errorf("with %d good bytes: %d delivered, then %q", c.good, n/24, rest)
		}
	}
	// The old getdents stores the type in the record's last byte.
	r.ok(unix.SYS_LSEEK, dfd, 0, unix.SEEK_SET)
	if n := r.ok(unix.SYS_GETDENTS, dfd, r.edge(71), 4096); n != 48 {
		t.Errorf("getdents with 71 good bytes = %d, want 48", n)
	}
}

func TestOverlayGetdentsFaultKeepsUndeliveredEntries(t *testing.T) {
	fl := newFakeLower("aaa=1", "bbb=2", "ccc=3")
	r, _, _ := newOverlayRig(t, fl, false)
	dfd := uint64(r.ok(unix.SYS_OPEN, r.mem.str("/m"), unix.O_RDONLY|unix.O_DIRECTORY, 0))
	r.errno(syscall.EFAULT, unix.SYS_GETDENTS64, dfd, r.edge(10), 4096)
	if n := r.ok(unix.SYS_GETDENTS64, dfd, r.edge(71), 4096); n != 72 {
		t.Errorf("getdents64 with 71 good bytes = %d, want 72", n)
	}
	buf := r.mem.alloc(4096)
	n := r.ok(unix.SYS_GETDENTS64, dfd, buf, 4096)
	if got := names64(r.mem.bytesAt(buf, int(n))); len(got) != 2 {
		t.Errorf("after 3 delivered the listing goes on with %q, want 2 entries", got)
	}
}
