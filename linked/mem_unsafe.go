package linked

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// selfMem is emul.Memory over this process's own address space: a copy,
// as a kernel's copy_from_user would be, with no address-space crossing.
type selfMem struct{}

func (selfMem) ReadAt(p []byte, addr uint64) (int, error) {
	if addr == 0 {
		return 0, syscall.EFAULT
	}
	src := unsafe.Slice((*byte)(addrPtr(addr)), len(p))
	return copy(p, src), nil
}

func (selfMem) WriteAt(p []byte, addr uint64) (int, error) {
	if addr == 0 {
		return 0, syscall.EFAULT
	}
	dst := unsafe.Slice((*byte)(addrPtr(addr)), len(p))
	return copy(dst, p), nil
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

// cstr returns a NUL-terminated copy of s, passed to Syscall as ptr is.
func cstr(s string) unsafe.Pointer {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return unsafe.Pointer(&b[0])
}

func statPtr(st *unix.Stat_t) unsafe.Pointer { return unsafe.Pointer(st) }

// addrPtr turns a raw address from a syscall argument back into a pointer.
// The memory it names is owned by the caller of Syscall, which keeps it
// alive across the call (runtime.KeepAlive), and Go's heap does not move.
func addrPtr(addr uint64) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

// ReadCString reads the NUL-terminated string at addr one byte at a time,
// never past its terminator.
func (selfMem) ReadCString(addr uint64, max int) (string, bool) {
	p := addrPtr(addr)
	for i := 0; i < max; i++ {
		if *(*byte)(unsafe.Add(p, i)) == 0 {
			return string(unsafe.Slice((*byte)(p), i)), true
		}
	}
	return "", false
}
