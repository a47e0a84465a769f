package emul

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
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
// until it returns, or until the slot is read into again. A path that
// Handle read before the call took k.mu (prefetch) is not read again.
func (c *Call) pathBytes(slot int, addr uint64, emptyOK bool) ([]byte, syscall.Errno) {
	b := c.scratch()
	for i := range b.preAt {
		if p := &b.preAt[i]; p.ok && p.addr == addr {
			switch {
			case p.e != 0:
				return nil, p.e
			case p.n == 0 && !emptyOK:
				return nil, syscall.ENOENT
			}
			return b.pre[i][:p.n], 0
		}
	}
	return readPathInto(b.path[slot][:], c.Mem, addr, emptyOK)
}

// prefetched is what reading one path argument before the call took k.mu
// found: the path's length in callBuf.pre, or the errno of the read (as
// for an empty path allowed).
type prefetched struct {
	addr uint64
	n    int
	e    syscall.Errno
	ok   bool
}

// prefetchArgs says, by syscall number, which arguments are paths (as
// 1+index; 0 for none): Handle reads them before the call takes k.mu, so
// that the copy from the caller's memory does not hold up other calls.
var prefetchArgs = func() (t [sysTableSize][2]uint8) {
	for nr, pa := range injectPaths {
		t[nr][0] = uint8(pa.path + 1)
	}
	for _, nr := range []int{unix.SYS_RENAME, unix.SYS_LINK} {
		t[nr][1] = 2
	}
	for _, nr := range []int{unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, unix.SYS_LINKAT} {
		t[nr][1] = 4
	}
	t[unix.SYS_SYMLINK] = [2]uint8{2, 1}
	t[unix.SYS_SYMLINKAT] = [2]uint8{3, 1}
	return t
}()

// prefetch reads c's path arguments, args (prefetchArgs[c.Nr]), into its
// scratch space (pathBytes finds them there). Reading a path has no effect on the caller, so doing
// it early changes no answer: an error is kept and given when the
// handler asks for that path.
func (c *Call) prefetch(args [2]uint8) {
	b := c.buf // its preAt is empty: Handle empties it after each call
	if c.Mem == nil {
		return
	}
	for i, a := range args {
		if a == 0 {
			continue
		}
		addr := c.Args[a-1]
		p, e := readPathInto(b.pre[i][:], c.Mem, addr, true)
		b.preAt[i] = prefetched{addr: addr, n: len(p), e: e, ok: true}
	}
}

// answerOut answers with 0 once p is at addr in the caller's memory, or
// with EFAULT if it cannot be put there. Under Handle the copy is made
// after k.mu is released (p is then the call's stat buffer): for calls
// that change nothing, whose only effect is what they write out.
func (c *Call) answerOut(p []byte, addr uint64) Result {
	if b := c.buf; b != nil && b.later && len(p) <= len(b.stat) && &p[0] == &b.stat[0] {
		b.outLen, b.outAddr = len(p), addr
		return ret(0)
	}
	return retE(0, writeFull(c.Mem, p, addr))
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
