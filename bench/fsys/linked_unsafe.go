package fsys

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// statPtr is st's address, converted to uintptr in the argument list of
// linked.Syscall (//go:uintptrescapes: st stays on the heap and alive for
// the call).
func statPtr(st *unix.Stat_t) unsafe.Pointer { return unsafe.Pointer(st) }
