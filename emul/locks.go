package emul

import (
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// Advisory locks, kept by emul because two opens of one ramfs file are two
// unrelated placeholders to the kernel. POSIX record locks (F_SETLK...) are
// owned by the process and dropped by any close of the file in that
// process; OFD locks (F_OFD_SETLK...) and flock(2) locks are owned by the
// open file description and dropped with it (fs/locks.c). A request that
// must wait is answered later: Handle returns Defer and the answer comes out
// of TakeCompletions once a release lets the request through.

const infinity = int64(^uint64(0) >> 1)

type lockKind int

const (
	posixLock lockKind = iota
	ofdLock
	flockLock
)

type lock struct {
	kind     lockKind
	proc     *Process // owner of a POSIX lock
	file     *File    // owner of an OFD or flock lock
	typ      int16    // F_RDLCK or F_WRLCK
	start    int64
	end      int64 // inclusive; infinity = to EOF and beyond
	ownerPid int
}

func (l *lock) sameOwner(o *lock) bool {
	if l.kind == posixLock {
		return o.kind == posixLock && l.proc == o.proc
	}
	return o.kind != posixLock && l.file == o.file
}

// conflicts reports whether lock a blocks request b. POSIX and OFD locks
// see each other; flock locks only see flock locks.
func conflicts(a, b *lock) bool {
	if (a.kind == flockLock) != (b.kind == flockLock) {
		return false
	}
	if a.sameOwner(b) {
		return false
	}
	if a.typ != syscall.F_WRLCK && b.typ != syscall.F_WRLCK {
		return false
	}
	return a.start <= b.end && b.start <= a.end
}

type lockWaiter struct {
	id   uint64
	req  lock
	ino  *ramfs.Inode
	proc *Process
}

// Completion is the late answer to a deferred call.
type Completion struct {
	ID     uint64
	Result Result
}

func (k *Kernel) firstConflictLocked(n *ramfs.Inode, req *lock) *lock {
	for _, l := range k.locks[n] {
		if conflicts(l, req) {
			return l
		}
	}
	return nil
}

// applyLocked installs req (or, for F_UNLCK, removes the range) for its
// owner: the owner's overlapping ranges are cut, then same-type neighbours
// merged, as posix_lock_inode does.
func (k *Kernel) applyLocked(n *ramfs.Inode, req lock) {
	var out []*lock
	for _, l := range k.locks[n] {
		if !l.sameOwner(&req) || l.kind != req.kind {
			out = append(out, l)
			continue
		}
		if req.kind == flockLock {
			continue // flock: one lock per description, replaced
		}
		if l.end < req.start || l.start > req.end {
			out = append(out, l)
			continue
		}
		if l.start < req.start {
			left := *l
			left.end = req.start - 1
			out = append(out, &left)
		}
		if l.end > req.end {
			right := *l
			right.start = req.end + 1
			out = append(out, &right)
		}
	}
	if req.typ != syscall.F_UNLCK {
		nl := req
		// Merge with adjacent or overlapping same-type ranges.
		merged := out[:0]
		for _, l := range out {
			if req.kind != flockLock && l.sameOwner(&nl) && l.kind == nl.kind && l.typ == nl.typ &&
				l.start <= sat(nl.end) && nl.start <= sat(l.end) {
				if l.start < nl.start {
					nl.start = l.start
				}
				if l.end > nl.end {
					nl.end = l.end
				}
				continue
			}
			merged = append(merged, l)
		}
		out = append(merged, &nl)
	}
	if len(out) == 0 {
		delete(k.locks, n)
	} else {
		k.locks[n] = out
	}
}

func sat(v int64) int64 {
	if v == infinity {
		return v
	}
	return v + 1
}

// releaseLocked drops every lock matching drop and lets waiters through.
func (k *Kernel) releaseLocked(n *ramfs.Inode, drop func(*lock) bool) {
	ls := k.locks[n]
	if len(ls) == 0 {
		return
	}
	out := ls[:0]
	changed := false
	for _, l := range ls {
		if drop(l) {
			changed = true
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		delete(k.locks, n)
	} else {
		k.locks[n] = out
	}
	if changed {
		k.wakeLocked(n)
	}
}

// wakeLocked grants the waiters on n that no longer conflict.
func (k *Kernel) wakeLocked(n *ramfs.Inode) {
	for i := 0; i < len(k.waiters); i++ {
		w := k.waiters[i]
		if w.ino != n || k.firstConflictLocked(n, &w.req) != nil {
			continue
		}
		k.applyLocked(n, w.req)
		k.done = append(k.done, Completion{ID: w.id, Result: ret(0)})
		k.waiters = append(k.waiters[:i], k.waiters[i+1:]...)
		i--
	}
}

// HasWaiters reports whether some call is waiting for a lock.
func (k *Kernel) HasWaiters() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.waiters) > 0
}

// TakeCompletions returns the answers to deferred calls that became ready.
func (k *Kernel) TakeCompletions() []Completion {
	k.mu.Lock()
	defer k.mu.Unlock()
	d := k.done
	k.done = nil
	return d
}

// dropProcessLocksLocked releases p's POSIX locks on n (any close of the
// file by p does this) or on every inode when n is nil (exit).
func (k *Kernel) dropProcessLocksLocked(p *Process, n *ramfs.Inode) {
	for ino := range k.locks {
		if n == nil || ino == n {
			k.releaseLocked(ino, func(l *lock) bool { return l.kind == posixLock && l.proc == p })
		}
	}
	if n == nil {
		out := k.waiters[:0]
		for _, w := range k.waiters {
			if w.proc != p {
				out = append(out, w)
			}
		}
		k.waiters = out
	}
}

// dropFileLocksLocked releases the OFD and flock locks of a description
// that has gone away.
func (k *Kernel) dropFileLocksLocked(f *File) {
	if len(k.locks[f.ino]) > 0 {
		k.releaseLocked(f.ino, func(l *lock) bool { return l.kind != posixLock && l.file == f })
	}
}

// fcntlLock serves F_GETLK, F_SETLK, F_SETLKW and the F_OFD_ variants on an
// emulated file.
func (k *Kernel) fcntlLock(c *Call, f *File, cmd int) Result {
	var b [32]byte
	if e := readFull(c.Mem, b[:], c.Args[2]); e != 0 {
		return fail(e)
	}
	typ := int16(le.Uint16(b[0:]))
	whence := int16(le.Uint16(b[2:]))
	lstart := int64(le.Uint64(b[8:]))
	llen := int64(le.Uint64(b[16:]))
	lpid := int32(le.Uint32(b[24:]))
	ofd := cmd == unix.F_OFD_GETLK || cmd == unix.F_OFD_SETLK || cmd == unix.F_OFD_SETLKW
	if ofd && lpid != 0 {
		return fail(syscall.EINVAL)
	}
	if typ != syscall.F_RDLCK && typ != syscall.F_WRLCK && typ != syscall.F_UNLCK {
		return fail(syscall.EINVAL)
	}
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = f.off
	case unix.SEEK_END:
		base = f.m.FS.Getattr(f.ino).Size
	default:
		return fail(syscall.EINVAL)
	}
	start := base + lstart
	end := infinity
	switch {
	case llen > 0:
		end = start + llen - 1
	case llen < 0:
		end = start - 1
		start += llen
	}
	if start < 0 {
		return fail(syscall.EINVAL)
	}
	req := lock{kind: posixLock, proc: c.Proc, file: f, typ: typ, start: start, end: end, ownerPid: c.Proc.Tgid}
	if ofd {
		req.kind = ofdLock
		req.ownerPid = -1
	}
	if cmd == syscall.F_GETLK || cmd == unix.F_OFD_GETLK {
		if typ == syscall.F_UNLCK {
			return fail(syscall.EINVAL)
		}
		var out [32]byte
		copy(out[:], b[:])
		if l := k.firstConflictLocked(f.ino, &req); l != nil {
			le.PutUint16(out[0:], uint16(l.typ))
			le.PutUint16(out[2:], unix.SEEK_SET)
			le.PutUint64(out[8:], uint64(l.start))
			n := int64(0)
			if l.end != infinity {
				n = l.end - l.start + 1
			}
			le.PutUint64(out[16:], uint64(n))
			le.PutUint32(out[24:], uint32(int32(l.ownerPid)))
		} else {
			le.PutUint16(out[0:], uint16(syscall.F_UNLCK))
		}
		return retE(0, writeFull(c.Mem, out[:], c.Args[2]))
	}
	acc := f.flags & oAccmode
	if typ == syscall.F_RDLCK && acc == syscall.O_WRONLY || typ == syscall.F_WRLCK && acc == syscall.O_RDONLY {
		return fail(syscall.EBADF)
	}
	if typ != syscall.F_UNLCK && k.firstConflictLocked(f.ino, &req) != nil {
		if cmd == syscall.F_SETLK || cmd == unix.F_OFD_SETLK {
			return fail(syscall.EAGAIN)
		}
		return k.deferLocked(c, f.ino, req)
	}
	k.applyLocked(f.ino, req)
	if typ == syscall.F_UNLCK {
		k.wakeLocked(f.ino)
	}
	return ret(0)
}

func (k *Kernel) deferLocked(c *Call, n *ramfs.Inode, req lock) Result {
	if c.ID == 0 {
		// The transport cannot answer later (linked): waiting on
		// ourselves would never end.
		return fail(syscall.EDEADLK)
	}
	k.waiters = append(k.waiters, lockWaiter{id: c.ID, req: req, ino: n, proc: c.Proc})
	return Result{Action: Defer}
}

// Flock follows flock(2) on an emulated file.
func (k *Kernel) Flock(c *Call) Result {
	f, r, done := k.ioFile(c)
	if done {
		return r
	}
	op := int(c.Args[1])
	nb := op&unix.LOCK_NB != 0
	var typ int16
	switch op &^ unix.LOCK_NB {
	case unix.LOCK_SH:
		typ = syscall.F_RDLCK
	case unix.LOCK_EX:
		typ = syscall.F_WRLCK
	case unix.LOCK_UN:
		typ = syscall.F_UNLCK
	default:
		return fail(syscall.EINVAL)
	}
	req := lock{kind: flockLock, file: f, typ: typ, start: 0, end: infinity, ownerPid: -1}
	if typ == syscall.F_UNLCK {
		k.releaseLocked(f.ino, func(l *lock) bool { return l.kind == flockLock && l.file == f })
		return ret(0)
	}
	if k.firstConflictLocked(f.ino, &req) != nil {
		if nb {
			return fail(syscall.EWOULDBLOCK)
		}
		// Converting a lock drops the old one first, as flock_lock_inode.
		k.releaseLocked(f.ino, func(l *lock) bool { return l.kind == flockLock && l.file == f })
		return k.deferLocked(c, f.ino, req)
	}
	k.applyLocked(f.ino, req)
	return ret(0)
}
