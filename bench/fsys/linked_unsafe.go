package fsys

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// statPtr is st's address as a syscall register holds it. The caller
// keeps st alive across the call with keepAlive; Go's heap does not move.
func statPtr(st *unix.Stat_t) uintptr { return uintptr(unsafe.Pointer(st)) }

func keepAlive(v any) { runtime.KeepAlive(v) }
