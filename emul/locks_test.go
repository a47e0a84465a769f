package emul

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// flockAt writes a struct flock into the arena.
func (r *rig) flock(typ int16, start, n int64) uint64 {
	p := r.mem.alloc(32)
	b := r.mem.bytesAt(p, 32)
	clear(b)
	le.PutUint16(b[0:], uint16(typ))
	le.PutUint64(b[8:], uint64(start))
	le.PutUint64(b[16:], uint64(n))
	return p
}

func TestPosixLocksBetweenProcesses(t *testing.T) {
	r := newRig(t)
	fd := r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	r.ok(unix.SYS_FCNTL, uint64(fd), unix.F_SETLK, r.flock(syscall.F_WRLCK, 0, 50))

	// A second process with its own description of the same file.
	p1 := r.p
	p2 := r.k.Process(2, nil)
	r.p = p2
	fd2 := r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_RDWR, 0)
	r.errno(syscall.EAGAIN, unix.SYS_FCNTL, uint64(fd2), unix.F_SETLK, r.flock(syscall.F_RDLCK, 10, 1))
	q := r.flock(syscall.F_RDLCK, 0, 0)
	r.ok(unix.SYS_FCNTL, uint64(fd2), unix.F_GETLK, q)
	b := r.mem.bytesAt(q, 32)
	if typ, start, n, pid := int16(le.Uint16(b)), int64(le.Uint64(b[8:])), int64(le.Uint64(b[16:])), int32(le.Uint32(b[24:])); typ != syscall.F_WRLCK || start != 0 || n != 50 || pid != 1 {
		t.Errorf("F_GETLK = type %d start %d len %d pid %d", typ, start, n, pid)
	}
	// A blocking request waits and is answered when the holder closes.
	c := Call{ID: 77, Tid: 2, Proc: p2, Nr: unix.SYS_FCNTL, Mem: r.mem,
		Args: [6]uint64{uint64(fd2), unix.F_SETLKW, r.flock(syscall.F_WRLCK, 0, 0)}}
	if res := r.k.Handle(&c); res.Action != Defer {
		t.Fatalf("F_SETLKW under conflict: %v %v", res.Action, res.Err)
	}
	if d := r.k.TakeCompletions(); len(d) != 0 {
		t.Fatalf("completions before release: %v", d)
	}
	r.p = p1
	r.ok(unix.SYS_CLOSE, uint64(fd))
	d := r.k.TakeCompletions()
	if len(d) != 1 || d[0].ID != 77 || d[0].Result.Err != 0 {
		t.Fatalf("completions after close = %+v", d)
	}
	// Now p2 holds the whole file.
	fd = r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_RDWR, 0)
	r.errno(syscall.EAGAIN, unix.SYS_FCNTL, uint64(fd), unix.F_SETLK, r.flock(syscall.F_RDLCK, 1000, 1))
	r.k.Exit(p2)
	r.ok(unix.SYS_FCNTL, uint64(fd), unix.F_SETLK, r.flock(syscall.F_RDLCK, 1000, 1))
}

func TestFlockPerDescription(t *testing.T) {
	r := newRig(t)
	a := r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	b := r.ok(unix.SYS_OPEN, r.mem.str("/m/f"), unix.O_RDWR, 0)
	r.ok(unix.SYS_FLOCK, uint64(a), unix.LOCK_EX)
	r.errno(syscall.EWOULDBLOCK, unix.SYS_FLOCK, uint64(b), unix.LOCK_SH|unix.LOCK_NB)
	// Linked-style transports (no ID) cannot wait on themselves.
	r.errno(syscall.EDEADLK, unix.SYS_FLOCK, uint64(b), unix.LOCK_SH)
	r.ok(unix.SYS_FLOCK, uint64(a), unix.LOCK_UN)
	r.ok(unix.SYS_FLOCK, uint64(b), unix.LOCK_SH|unix.LOCK_NB)
}
