package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockaddrUn builds a struct sockaddr_un for path, NUL included, and its
// length (what most programs pass).
func sockaddrUn(path string) ([]byte, int) {
	b := make([]byte, 2+len(path)+1)
	b[0], b[1] = byte(unix.AF_UNIX), byte(unix.AF_UNIX>>8)
	copy(b[2:], path)
	return b, len(b)
}

// sysSockAddr issues bind or connect with a sockaddr_un for path.
func sysSockAddr(nr uintptr, fd int, path string) (int64, unix.Errno) {
	b, n := sockaddrUn(path)
	r, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(n))
	runtime.KeepAlive(b)
	return res(r, e)
}

// sysSockName issues getsockname or getpeername with a buffer of size
// bytes and returns what came back in it and the length the kernel
// reported.
func sysSockName(nr uintptr, fd int, size int) ([]byte, int, unix.Errno) {
	b := make([]byte, 128)
	l := int32(size)
	_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&l)))
	runtime.KeepAlive(b)
	runtime.KeepAlive(&l)
	return b[:min(int(l), size)], int(l), e
}

// sysPeerCred returns SO_PEERCRED of a connected socket.
func sysPeerCred(fd int) (unix.Ucred, unix.Errno) {
	var uc unix.Ucred
	l := uint32(unsafe.Sizeof(uc))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERCRED,
		uintptr(unsafe.Pointer(&uc)), uintptr(unsafe.Pointer(&l)), 0)
	runtime.KeepAlive(&uc)
	runtime.KeepAlive(&l)
	return uc, e
}
