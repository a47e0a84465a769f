package linked

import (
	"runtime/debug"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// selfMem is emul.Memory over this process's own address space: a copy,
// as a kernel's copy_from_user would be, with no address-space crossing.
// A copy that runs into memory this process cannot access (an unmapped or
// protected page) would kill it; the copy runs with debug.SetPanicOnFault
// instead, and the fault is turned into EFAULT with the count of bytes
// before the page that faulted, as emul.Memory asks.
type selfMem struct{}

func (selfMem) ReadAt(p []byte, addr uint64) (int, error) {
	return copyAt(p, addr, false)
}

func (selfMem) WriteAt(p []byte, addr uint64) (int, error) {
	return copyAt(p, addr, true)
}

const pageSize = 4096

// copyAt copies p to (out) or from the memory at addr. On a fault it does
// not know how much was copied (memmove may go backwards or touch a later
// page first), only which page faulted; so it copies again only the part
// before that page, until a copy completes: then every page before the
// first inaccessible one has been copied, which is the count Linux's
// copy_to_user/copy_from_user stops at for a buffer that crosses into an
// inaccessible page.
func copyAt(p []byte, addr uint64, out bool) (int, error) {
	if addr == 0 {
		return 0, syscall.EFAULT
	}
	n := len(p)
	for n > 0 {
		fault, ok := tryCopy(p[:n], addr, out)
		if ok {
			break
		}
		lim := uint64(0)
		if page := fault &^ (pageSize - 1); page > addr {
			lim = page - addr
		}
		n = int(min(lim, uint64(n-1)))
	}
	if n < len(p) {
		return n, syscall.EFAULT
	}
	return n, nil
}

// tryCopy does one copy; ok is false when it faulted, at address fault.
func tryCopy(p []byte, addr uint64, out bool) (fault uint64, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			fe, isFault := r.(interface{ Addr() uintptr })
			if !isFault {
				panic(r)
			}
			fault, ok = uint64(fe.Addr()), false
		}
	}()
	mem := unsafe.Slice((*byte)(addrPtr(addr)), len(p))
	if out {
		copy(mem, p)
	} else {
		copy(p, mem)
	}
	return 0, true
}

// ptr returns the address of b's first byte (nil for an empty b). Callers
// convert it to uintptr in the argument list of Syscall, whose
// //go:uintptrescapes makes the compiler keep the memory on the heap and
// alive for the call: an address taken earlier could be of a goroutine
// stack, which moves when it grows.
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// cpath is a NUL-terminated copy of a path for the helpers' calls, in a
// buffer from a pool (heap memory, which does not move) that free gives
// back once the call has returned.
type cpath struct{ b *[]byte }

var cpaths = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

func newCPath(s string) cpath {
	b := cpaths.Get().(*[]byte)
	*b = append(append((*b)[:0], s...), 0)
	return cpath{b}
}

func (p cpath) ptr() unsafe.Pointer { return unsafe.Pointer(&(*p.b)[0]) }

func (p cpath) free() {
	if cap(*p.b) <= 4096+1 {
		cpaths.Put(p.b)
	}
}

func statPtr(st *unix.Stat_t) unsafe.Pointer { return unsafe.Pointer(st) }

// addrPtr turns a raw address from a syscall argument back into a pointer.
// The memory it names is owned by the caller of Syscall, which keeps it
// alive across the call (runtime.KeepAlive), and Go's heap does not move.
func addrPtr(addr uint64) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

// ReadCString copies the NUL-terminated string at addr into dst one byte
// at a time, never reading past its terminator. It does not catch faults
// (emul.CStringReader has no way to say EFAULT): a path pointer into
// inaccessible memory still crashes the process, where a supervised
// target gets EFAULT.
func (selfMem) ReadCString(dst []byte, addr uint64) (int, bool) {
	p := addrPtr(addr)
	for i := range dst {
		c := *(*byte)(unsafe.Add(p, i))
		if c == 0 {
			return i, true
		}
		dst[i] = c
	}
	return 0, false
}

var _ emul.CStringReader = selfMem{}
