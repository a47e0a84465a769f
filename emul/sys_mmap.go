package emul

import "syscall"

// mmap of an emulated file, and what a transport reads of an open file to
// fill its placeholder.

// Mmap maps an emulated file by mapping its placeholder: the transport
// fills the placeholder with the file's data, then the kernel maps it.
// MAP_SHARED with write access would lose the writes, so it is refused
// with ENODEV (as for a file system without shared writable mappings).
func (k *Kernel) Mmap(c *Call) Result {
	fd := fdArg(c.Args[4])
	f := k.fileLocked(c.Proc, fd)
	if f == nil {
		return cont()
	}
	prot, flags := int(c.Args[2]), int(c.Args[3])
	if f.flags&oPath != 0 {
		return fail(syscall.EBADF)
	}
	if !isReg(f.ino) {
		return fail(syscall.ENODEV)
	}
	if f.flags&oAccmode == syscall.O_WRONLY {
		return fail(syscall.EACCES)
	}
	if flags&syscall.MAP_TYPE == syscall.MAP_SHARED && prot&syscall.PROT_WRITE != 0 {
		if f.flags&oAccmode != syscall.O_RDWR {
			return fail(syscall.EACCES)
		}
		return fail(syscall.ENODEV)
	}
	return Result{Action: Continue, Fill: f, FillFD: fd}
}

// ReadFile copies the data of f at off into p (for a transport filling a
// placeholder).
func (k *Kernel) ReadFile(f *File, p []byte, off int64) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return f.m.FS.ReadAt(f.ino, p, off)
}

// Size returns the current size of f's inode.
func (k *Kernel) Size(f *File) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return f.m.FS.Getattr(f.ino).Size
}
