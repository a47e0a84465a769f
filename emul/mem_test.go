package emul

import (
	"strings"
	"syscall"
	"testing"
)

// readPath reads a short first chunk and then on to page boundaries: a
// path of any length up to PATH_MAX, starting anywhere in a page and
// ending just before unreadable memory, reads back whole; one with no
// NUL before unreadable memory is EFAULT.
func TestReadPathChunks(t *testing.T) {
	for _, n := range []int{0, 1, firstPathRead - 2, firstPathRead - 1, firstPathRead, firstPathRead + 1, 1000, pageSize - 1, pathMax - 1} {
		for _, start := range []int{0, 1, pageSize - firstPathRead, pageSize - n%pageSize - 1, pageSize - 3} {
			start = (start%pageSize + pageSize) % pageSize
			want := strings.Repeat("p", n)
			// The arena ends right after the NUL.
			b := make([]byte, start+n+1)
			copy(b[start:], want)
			a := &arena{b: b, base: 0x10000}
			got, e := readPath(a, 0x10000+uint64(start), true)
			if e != 0 || got != want {
				t.Errorf("path of %d bytes at page offset %d: %d bytes, errno %v", n, start, len(got), e)
			}
			// Without the NUL the read runs into unreadable memory.
			a.b = b[:start+n]
			if n > 0 {
				if got, e := readPath(a, 0x10000+uint64(start), true); e != syscall.EFAULT {
					t.Errorf("unterminated path of %d bytes at page offset %d: %q, errno %v, want EFAULT", n, start, got, e)
				}
			}
		}
	}
	long := make([]byte, pathMax+10)
	for i := range long {
		long[i] = 'l'
	}
	if _, e := readPath(&arena{b: long, base: 0x10000}, 0x10000, false); e != syscall.ENAMETOOLONG {
		t.Errorf("path of PATH_MAX bytes: errno %v, want ENAMETOOLONG", e)
	}
}

// readPath reads a path as readPathInto does, into a buffer of its own.
func readPath(mem Memory, addr uint64, emptyOK bool) (string, syscall.Errno) {
	b, e := readPathInto(make([]byte, pathMax), mem, addr, emptyOK)
	return string(b), e
}
