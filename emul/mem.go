package emul

import (
	"encoding/binary"
	"syscall"
)

const (
	pathMax  = 4096
	pageSize = 4096
)

// CStringReader is implemented by a Memory that can read a NUL-terminated
// string without reading past its end (the linked transport, whose memory
// is the caller's own: reading ahead to a page boundary could run off the
// end of an allocation). It copies the string's bytes, without the NUL,
// into dst and returns their count; ok is false when no NUL came within
// len(dst) bytes.
type CStringReader interface {
	ReadCString(dst []byte, addr uint64) (n int, ok bool)
}

// firstPathRead is how much of a path readPathInto asks for first.
const firstPathRead = 256

// readPathInto reads a NUL-terminated path from the caller's memory into
// buf (pathMax bytes), as getname() does: EFAULT for a bad pointer,
// ENAMETOOLONG past PATH_MAX, ENOENT for an empty string (unless
// emptyOK). The path returned is a slice of buf.
func readPathInto(buf []byte, mem Memory, addr uint64, emptyOK bool) ([]byte, syscall.Errno) {
	if addr == 0 {
		return nil, syscall.EFAULT
	}
	buf = buf[:pathMax]
	if cs, ok := mem.(CStringReader); ok {
		n, ok := cs.ReadCString(buf, addr)
		switch {
		case !ok:
			return nil, syscall.ENAMETOOLONG
		case n == 0 && !emptyOK:
			return nil, syscall.ENOENT
		}
		return buf[:n], 0
	}
	n := 0
	for n < pathMax {
		// Read up to the next page boundary so an unmapped page after
		// the string does not fail the whole read; the first read
		// takes no more than most paths need.
		chunk := pageSize - int((addr+uint64(n))%pageSize)
		if n == 0 && chunk > firstPathRead {
			chunk = firstPathRead
		}
		if n+chunk > pathMax {
			chunk = pathMax - n
		}
		got, err := mem.ReadAt(buf[n:n+chunk], addr+uint64(n))
		if err != nil && got == 0 {
			return nil, syscall.EFAULT
		}
		for i := n; i < n+got; i++ {
			if buf[i] == 0 {
				if i == 0 && !emptyOK {
					return nil, syscall.ENOENT
				}
				return buf[:i], 0
			}
		}
		n += got
		if got < chunk {
			return nil, syscall.EFAULT
		}
	}
	return nil, syscall.ENAMETOOLONG
}

// pathBytes reads the path at addr into the call's path buffer slot (0 or
// 1: a call that names two paths keeps both); the bytes are the call's
// until it returns, or until the slot is read into again.
func (c *Call) pathBytes(slot int, addr uint64, emptyOK bool) ([]byte, syscall.Errno) {
	return readPathInto(c.scratch().path[slot][:], c.Mem, addr, emptyOK)
}

// readPath reads the path at addr as a string of its own (through a slot
// of its own, so the bytes of pathBytes's slots stay).
func (c *Call) readPath(addr uint64, emptyOK bool) (string, syscall.Errno) {
	b, e := c.pathBytes(2, addr, emptyOK)
	return string(b), e
}

// copyIn reads up to len(p) bytes from the caller's memory at addr, as
// copy_from_user does: the count moved before a fault, with EFAULT when it
// fell short.
func copyIn(mem Memory, p []byte, addr uint64) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	if addr == 0 {
		return 0, syscall.EFAULT
	}
	n, err := mem.ReadAt(p, addr)
	n = max(0, min(n, len(p)))
	if err != nil || n < len(p) {
		return n, syscall.EFAULT
	}
	return n, 0
}

// copyOut writes p to the caller's memory at addr, as copy_to_user does:
// the count moved before a fault, with EFAULT when it fell short.
func copyOut(mem Memory, p []byte, addr uint64) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	if addr == 0 {
		return 0, syscall.EFAULT
	}
	n, err := mem.WriteAt(p, addr)
	n = max(0, min(n, len(p)))
	if err != nil || n < len(p) {
		return n, syscall.EFAULT
	}
	return n, 0
}

// readFull reads all of p from the caller's memory: EFAULT if any byte
// could not be.
func readFull(mem Memory, p []byte, addr uint64) syscall.Errno {
	_, e := copyIn(mem, p, addr)
	return e
}

// writeFull writes all of p to the caller's memory: EFAULT if any byte
// could not be.
func writeFull(mem Memory, p []byte, addr uint64) syscall.Errno {
	_, e := copyOut(mem, p, addr)
	return e
}

func readU64(mem Memory, addr uint64) (uint64, syscall.Errno) {
	var b [8]byte
	if e := readFull(mem, b[:], addr); e != 0 {
		return 0, e
	}
	return binary.LittleEndian.Uint64(b[:]), 0
}

type iovec struct {
	base uint64
	len  uint64
}

const iovMax = 1024

// readIovecs reads cnt struct iovec from addr (EINVAL past IOV_MAX or when
// the total overflows ssize_t, as rw_copy_check_uvector does).
func readIovecs(mem Memory, addr uint64, cnt int64) ([]iovec, syscall.Errno) {
	if cnt < 0 || cnt > iovMax {
		return nil, syscall.EINVAL
	}
	if cnt == 0 {
		return nil, 0
	}
	raw := make([]byte, 16*cnt)
	if e := readFull(mem, raw, addr); e != 0 {
		return nil, e
	}
	iov := make([]iovec, cnt)
	var total uint64
	for i := range iov {
		iov[i].base = binary.LittleEndian.Uint64(raw[16*i:])
		iov[i].len = binary.LittleEndian.Uint64(raw[16*i+8:])
		if int64(iov[i].len) < 0 {
			return nil, syscall.EINVAL
		}
		total += iov[i].len
		if int64(total) < 0 {
			return nil, syscall.EINVAL
		}
	}
	return iov, 0
}

// bufPool holds the scratch buffer for data copies; Handle runs under k.mu
// so one buffer serves every call.
type scratch struct{ b []byte }

func (s *scratch) get(n int) []byte {
	if cap(s.b) < n {
		c := 64 << 10
		for c < n {
			c *= 2
		}
		s.b = make([]byte, c)
	}
	return s.b[:n]
}
