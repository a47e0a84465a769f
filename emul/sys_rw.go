package emul

import (
	"math"
	"syscall"

	"golang.org/x/sys/unix"
)

// rwFile returns the emulated file behind fd for a read (write=false) or
// write, or nil when fd is not ours; e is EBADF for a description opened
// without that access, EISDIR/EINVAL for a non-regular file.
func (k *Kernel) rwFile(c *Call, fd int, write bool) (*File, syscall.Errno) {
	f := k.fdGet(c, fd)
	if f == nil {
		return nil, 0
	}
	if f.flags&oPath != 0 {
		return f, syscall.EBADF
	}
	acc := f.flags & oAccmode
	if write && acc == syscall.O_RDONLY || !write && acc == syscall.O_WRONLY {
		return f, syscall.EBADF
	}
	if isDir(f.ino) {
		return f, syscall.EISDIR
	}
	if !isReg(f.ino) {
		return f, syscall.EINVAL
	}
	return f, 0
}

const rwfNoappend = 0x20 // RWF_NOAPPEND

func clampCount(n uint64) int {
	if n > maxRW {
		return maxRW
	}
	return int(n)
}

// readInto copies up to n bytes of f at off into the caller's buffer at
// addr. It returns the count moved. A buffer that runs into memory the
// caller cannot write gets the bytes up to the fault, as shmem_file_read_iter
// does (copy_to_user stops there and the read returns what it copied);
// EFAULT only when not one byte arrived. The count is exact because a
// fault is always at a page boundary and the Memory reports how far it got
// (process_vm_writev for a supervised target). What the transport cannot
// see is a page the target's own thread may not touch while a remote write
// may: memory protection keys are not checked for a remote access, so a
// buffer under a pkey that denies writes gets the data here and EFAULT on
// Linux.
func (k *Kernel) readInto(c *Call, f *File, addr uint64, n int, off int64) (int, syscall.Errno) {
	total := 0
	for total < n {
		chunk := n - total
		if chunk > 1<<20 {
			chunk = 1 << 20
		}
		buf := c.scratch().data.get(chunk)
		read := f.m.FS.ReadAt
		if f.flags&syscall.O_NOATIME != 0 {
			read = f.m.FS.ReadAtNoatime
		}
		got, err := read(f.ino, buf, off+int64(total))
		if err != nil {
			if total > 0 {
				break
			}
			return 0, Errno(err)
		}
		if got == 0 {
			break
		}
		moved, e := copyOut(c.Mem, buf[:got], addr+uint64(total))
		total += moved
		if e != 0 {
			if total > 0 {
				break
			}
			return 0, e
		}
		if got < chunk {
			break
		}
	}
	return total, 0
}

// writeFrom copies n bytes from the caller's buffer at addr into f at off.
// Like generic_perform_write it takes the bytes up to a fault in the
// buffer and returns their count, EFAULT only when there were none; the
// page where the copy stopped is left as tmpfs leaves it (FS.WriteFault:
// the page exists, and a write that faulted at once past the end grows
// the file to off).
func (k *Kernel) writeFrom(c *Call, f *File, addr uint64, n int, off int64) (int, syscall.Errno) {
	if n > 0 && off > math.MaxInt64-int64(n) {
		return 0, syscall.EINVAL // rw_verify_area, before any copy
	}
	total := 0
	for total < n {
		chunk := n - total
		if chunk > 1<<20 {
			chunk = 1 << 20
		}
		buf := c.scratch().data.get(chunk)
		got, fault := copyIn(c.Mem, buf, addr+uint64(total))
		if got > 0 {
			w, err := f.m.FS.WriteAt(f.ino, buf[:got], off+int64(total))
			total += w
			if err != nil {
				if total > 0 {
					break
				}
				return 0, Errno(err)
			}
			if w < got {
				break
			}
		}
		if fault != 0 {
			if err := f.m.FS.WriteFault(f.ino, off+int64(total)); err != nil && total == 0 {
				return 0, Errno(err)
			}
			if total > 0 {
				break
			}
			return 0, fault
		}
	}
	return total, 0
}

// appendShared is a shared call's write to an O_APPEND description: the
// bytes are copied from the caller first, then put at the end of the file
// in one ramfs step (FS.Append), as generic_file_write_iter does under
// the inode's lock, and clears set-user-ID and set-group-ID when some did
// (file_remove_privs). It returns where they went and how many did, or
// the errno when none did (as writeFrom). ok is false, with nothing
// changed, where the exclusive path must answer: an empty write (it moves
// the position to the end), a buffer that faults, a write larger than one
// step.
func (k *Kernel) appendShared(c *Call, f *File, addr uint64, n int) (off int64, w int, e syscall.Errno, ok bool) {
	if n == 0 || n > 1<<20 {
		return 0, 0, 0, false
	}
	buf := c.scratch().data.get(n)
	if got, fault := copyIn(c.Mem, buf, addr); fault != 0 || got < n {
		return 0, 0, 0, false
	}
	off, w, err := f.m.FS.Append(f.ino, buf)
	if err != nil && w == 0 {
		return off, 0, Errno(err), true
	}
	k.killPrivLocked(c.Proc, f.m, f.ino)
	return off, w, 0, true
}

func (k *Kernel) appendOff(f *File) int64 {
	return f.m.FS.Getattr(f.ino).Size
}

// Read follows read(2).
func (k *Kernel) Read(c *Call) Result {
	f, e := k.rwFile(c, fdArg(c.Args[0]), false)
	if f == nil {
		return cont()
	}
	if e != 0 {
		return fail(e)
	}
	posLock(c, f)
	n, e := k.readInto(c, f, c.Args[1], clampCount(c.Args[2]), f.off)
	f.off += int64(n)
	posUnlock(c, f)
	return retE(int64(n), e)
}

// Write follows write(2), O_APPEND included. file_remove_privs runs before
// the data is copied, so a write whose buffer faults still clears
// set-user-ID/set-group-ID.
func (k *Kernel) Write(c *Call) Result {
	f, e := k.rwFile(c, fdArg(c.Args[0]), true)
	if f == nil {
		return cont()
	}
	if e != 0 {
		return fail(e)
	}
	if f.flags&syscall.O_APPEND != 0 && c.shared {
		posLock(c, f)
		off, n, e, ok := k.appendShared(c, f, c.Args[1], clampCount(c.Args[2]))
		if ok && n > 0 {
			f.off = off + int64(n)
		}
		posUnlock(c, f)
		if !ok {
			return exclusive()
		}
		return retE(int64(n), e)
	}
	if f.flags&syscall.O_APPEND != 0 {
		f.off = k.appendOff(f)
	}
	posLock(c, f)
	n, e := k.writeFrom(c, f, c.Args[1], clampCount(c.Args[2]), f.off)
	f.off += int64(n)
	posUnlock(c, f)
	if n > 0 || e == syscall.EFAULT {
		k.killPrivLocked(c.Proc, f.m, f.ino)
	}
	return retE(int64(n), e)
}

// Pread64 follows pread64(2).
func (k *Kernel) Pread64(c *Call) Result {
	f, e := k.rwFile(c, fdArg(c.Args[0]), false)
	if f == nil {
		return cont()
	}
	if e != 0 {
		return fail(e)
	}
	off := int64(c.Args[3])
	if off < 0 {
		return fail(syscall.EINVAL)
	}
	n, e := k.readInto(c, f, c.Args[1], clampCount(c.Args[2]), off)
	return retE(int64(n), e)
}

// Pwrite64 follows pwrite64(2); with O_APPEND Linux appends regardless of
// the offset.
func (k *Kernel) Pwrite64(c *Call) Result {
	f, e := k.rwFile(c, fdArg(c.Args[0]), true)
	if f == nil {
		return cont()
	}
	if e != 0 {
		return fail(e)
	}
	off := int64(c.Args[3])
	if off < 0 {
		return fail(syscall.EINVAL)
	}
	if f.flags&syscall.O_APPEND != 0 {
		if c.shared {
			// An append, which leaves the position alone.
			_, n, e, ok := k.appendShared(c, f, c.Args[1], clampCount(c.Args[2]))
			if !ok {
				return exclusive()
			}
			return retE(int64(n), e)
		}
		off = k.appendOff(f)
	}
	n, e := k.writeFrom(c, f, c.Args[1], clampCount(c.Args[2]), off)
	if n > 0 || e == syscall.EFAULT {
		k.killPrivLocked(c.Proc, f.m, f.ino)
	}
	return retE(int64(n), e)
}

// vector does readv/writev/preadv/pwritev(2) and the v2 variants: off < 0
// means "at the file offset, and advance it".
func (k *Kernel) vector(c *Call, write bool, off int64, flags uint64) Result {
	f, e := k.rwFile(c, fdArg(c.Args[0]), write)
	if f == nil {
		return cont()
	}
	iov, e2 := readIovecs(c.Mem, c.Args[1], int64(int32(c.Args[2])))
	if e2 != 0 {
		return fail(e2)
	}
	if e != 0 {
		return fail(e)
	}
	if flags&^uint64(unix.RWF_HIPRI|unix.RWF_DSYNC|unix.RWF_SYNC|unix.RWF_NOWAIT|unix.RWF_APPEND|rwfNoappend) != 0 {
		return fail(syscall.EOPNOTSUPP)
	}
	useOff := off < 0
	if useOff {
		off = f.off
	}
	appending := f.flags&syscall.O_APPEND != 0 && flags&rwfNoappend == 0 || flags&unix.RWF_APPEND != 0
	if write && appending {
		off = k.appendOff(f)
	}
	total := 0
	for _, v := range iov {
		if v.len == 0 {
			continue
		}
		want := clampCount(v.len)
		if total+want > maxRW {
			want = maxRW - total
		}
		var n int
		if write {
			n, e = k.writeFrom(c, f, v.base, want, off+int64(total))
		} else {
			n, e = k.readInto(c, f, v.base, want, off+int64(total))
		}
		total += n
		if e != 0 {
			if write && e == syscall.EFAULT {
				k.killPrivLocked(c.Proc, f.m, f.ino)
			}
			if total == 0 {
				return fail(e)
			}
			break
		}
		if n < want || total >= maxRW {
			break
		}
	}
	if useOff {
		f.off = off + int64(total)
	}
	if write && total > 0 {
		k.killPrivLocked(c.Proc, f.m, f.ino)
	}
	return ret(int64(total))
}

// Readv follows readv(2).
func (k *Kernel) Readv(c *Call) Result { return k.vector(c, false, -1, 0) }

// Writev follows writev(2).
func (k *Kernel) Writev(c *Call) Result { return k.vector(c, true, -1, 0) }

func posArg(c *Call) (int64, bool) {
	off := int64(c.Args[3])
	return off, off >= 0
}

// Preadv follows preadv(2).
func (k *Kernel) Preadv(c *Call) Result {
	if k.fileLocked(c.Proc, fdArg(c.Args[0])) == nil {
		return cont()
	}
	off, ok := posArg(c)
	if !ok {
		return fail(syscall.EINVAL)
	}
	return k.vector(c, false, off, 0)
}

// Pwritev follows pwritev(2).
func (k *Kernel) Pwritev(c *Call) Result {
	if k.fileLocked(c.Proc, fdArg(c.Args[0])) == nil {
		return cont()
	}
	off, ok := posArg(c)
	if !ok {
		return fail(syscall.EINVAL)
	}
	return k.vector(c, true, off, 0)
}

// Preadv2 follows preadv2(2): offset -1 uses the file offset.
func (k *Kernel) Preadv2(c *Call) Result {
	if k.fileLocked(c.Proc, fdArg(c.Args[0])) == nil {
		return cont()
	}
	off := int64(c.Args[3])
	if off < -1 {
		return fail(syscall.EINVAL)
	}
	return k.vector(c, false, off, c.Args[5])
}

// Pwritev2 follows pwritev2(2).
func (k *Kernel) Pwritev2(c *Call) Result {
	if k.fileLocked(c.Proc, fdArg(c.Args[0])) == nil {
		return cont()
	}
	off := int64(c.Args[3])
	if off < -1 {
		return fail(syscall.EINVAL)
	}
	return k.vector(c, true, off, c.Args[5])
}

// Lseek follows lseek(2) on tmpfs: SEEK_SET/CUR/END and SEEK_DATA/HOLE for
// regular files; a directory accepts SEEK_SET and SEEK_CUR positions.
func (k *Kernel) Lseek(c *Call) Result {
	f, r, done := k.ioFile(c)
	if done {
		return r
	}
	posLock(c, f)
	defer posUnlock(c, f)
	off, whence := int64(c.Args[1]), int(c.Args[2])
	fs := f.m.FS
	var pos int64
	switch whence {
	case unix.SEEK_SET:
		pos = off
	case unix.SEEK_CUR:
		pos = f.off + off
	case unix.SEEK_END:
		if isDir(f.ino) {
			return fail(syscall.EINVAL)
		}
		pos = fs.Getattr(f.ino).Size + off
	case unix.SEEK_DATA, unix.SEEK_HOLE:
		if isDir(f.ino) {
			return fail(syscall.EINVAL)
		}
		var err error
		if off < 0 {
			return fail(syscall.ENXIO)
		}
		if whence == unix.SEEK_DATA {
			pos, err = fs.SeekData(f.ino, off)
		} else {
			pos, err = fs.SeekHole(f.ino, off)
		}
		if err != nil {
			return errResult(err)
		}
	default:
		return fail(syscall.EINVAL)
	}
	if pos < 0 {
		return fail(syscall.EINVAL)
	}
	f.off = pos
	return ret(pos)
}

// Sendfile follows sendfile(2) when both fds are emulated. One emulated and
// one host fd is answered EINVAL, which callers treat as "fall back to
// read/write" (the supervisor does not move data between the two worlds).
func (k *Kernel) Sendfile(c *Call) Result {
	p := c.Proc
	out, in := fdArg(c.Args[0]), fdArg(c.Args[1])
	fo, fi := k.fileLocked(p, out), k.fileLocked(p, in)
	if fo == nil && fi == nil {
		return cont()
	}
	if fo == nil || fi == nil {
		return fail(syscall.EINVAL)
	}
	var offp *int64
	var off int64
	if c.Args[2] != 0 {
		v, e := readU64(c.Mem, c.Args[2])
		if e != 0 {
			return fail(e)
		}
		off = int64(v)
		if off < 0 {
			return fail(syscall.EINVAL)
		}
		offp = &off
	}
	if _, e := k.rwFile(c, in, false); e != 0 {
		if e == syscall.EISDIR {
			e = syscall.EINVAL
		}
		return fail(e)
	}
	if _, e := k.rwFile(c, out, true); e != 0 {
		if e == syscall.EISDIR {
			e = syscall.EINVAL
		}
		return fail(e)
	}
	if fo.flags&syscall.O_APPEND != 0 {
		return fail(syscall.EINVAL)
	}
	n, e := k.copyFile(fi, fo, offp, nil, clampCount(c.Args[3]))
	if e != 0 {
		return fail(e)
	}
	if offp != nil {
		var b [8]byte
		le.PutUint64(b[:], uint64(*offp))
		if e := writeFull(c.Mem, b[:], c.Args[2]); e != 0 {
			return fail(e)
		}
	}
	return ret(int64(n))
}

// CopyFileRange follows copy_file_range(2) between two emulated files; a
// host fd on either side is answered EXDEV so callers fall back.
func (k *Kernel) CopyFileRange(c *Call) Result {
	p := c.Proc
	in, out := fdArg(c.Args[0]), fdArg(c.Args[2])
	fi, fo := k.fileLocked(p, in), k.fileLocked(p, out)
	if fo == nil && fi == nil {
		return cont()
	}
	if c.Args[5] != 0 {
		return fail(syscall.EINVAL)
	}
	if fo == nil || fi == nil {
		return fail(syscall.EXDEV)
	}
	if _, e := k.rwFile(c, in, false); e != 0 {
		return fail(e)
	}
	if _, e := k.rwFile(c, out, true); e != 0 {
		return fail(e)
	}
	if fo.flags&syscall.O_APPEND != 0 {
		return fail(syscall.EBADF)
	}
	var inOff, outOff *int64
	var io, oo int64
	if c.Args[1] != 0 {
		v, e := readU64(c.Mem, c.Args[1])
		if e != 0 {
			return fail(e)
		}
		io = int64(v)
		inOff = &io
	}
	if c.Args[3] != 0 {
		v, e := readU64(c.Mem, c.Args[3])
		if e != 0 {
			return fail(e)
		}
		oo = int64(v)
		outOff = &oo
	}
	if (inOff != nil && *inOff < 0) || (outOff != nil && *outOff < 0) {
		return fail(syscall.EINVAL)
	}
	if fi.ino == fo.ino {
		// generic_copy_file_checks: overlapping ranges in one file.
		ip, op := fi.off, fo.off
		if inOff != nil {
			ip = *inOff
		}
		if outOff != nil {
			op = *outOff
		}
		n := int64(clampCount(c.Args[4]))
		if ip < op+n && op < ip+n {
			return fail(syscall.EINVAL)
		}
	}
	n, e := k.copyFile(fi, fo, inOff, outOff, clampCount(c.Args[4]))
	if e != 0 {
		return fail(e)
	}
	if inOff != nil {
		var b [8]byte
		le.PutUint64(b[:], uint64(*inOff))
		if e := writeFull(c.Mem, b[:], c.Args[1]); e != 0 {
			return fail(e)
		}
	}
	if outOff != nil {
		var b [8]byte
		le.PutUint64(b[:], uint64(*outOff))
		if e := writeFull(c.Mem, b[:], c.Args[3]); e != 0 {
			return fail(e)
		}
	}
	return ret(int64(n))
}

// copyFile moves up to n bytes from in to out, using and advancing the
// given offsets or, when nil, the descriptions' own.
func (k *Kernel) copyFile(in, out *File, inOff, outOff *int64, n int) (int, syscall.Errno) {
	ip, op := &in.off, &out.off
	if inOff != nil {
		ip = inOff
	}
	if outOff != nil {
		op = outOff
	}
	total := 0
	for total < n {
		chunk := n - total
		if chunk > 1<<20 {
			chunk = 1 << 20
		}
		buf := k.buf.get(chunk)
		got, err := in.m.FS.ReadAt(in.ino, buf, *ip)
		if err != nil {
			if total == 0 {
				return 0, Errno(err)
			}
			break
		}
		if got == 0 {
			break
		}
		w, err := out.m.FS.WriteAt(out.ino, buf[:got], *op)
		*ip += int64(w)
		*op += int64(w)
		total += w
		if err != nil {
			if total == 0 {
				return 0, Errno(err)
			}
			break
		}
		if w < got {
			break
		}
	}
	return total, 0
}

// Splice and tee on an emulated fd are refused (EINVAL): the data would
// have to cross between the ramfs and a kernel pipe.
func (k *Kernel) Splice(c *Call) Result {
	if k.fileLocked(c.Proc, fdArg(c.Args[0])) != nil || k.fileLocked(c.Proc, fdArg(c.Args[2])) != nil {
		return fail(syscall.EINVAL)
	}
	return cont()
}

// Tee: see Splice.
func (k *Kernel) Tee(c *Call) Result {
	if k.fileLocked(c.Proc, fdArg(c.Args[0])) != nil || k.fileLocked(c.Proc, fdArg(c.Args[1])) != nil {
		return fail(syscall.EINVAL)
	}
	return cont()
}
