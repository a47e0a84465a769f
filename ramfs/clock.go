package ramfs

import (
	"sync/atomic"
	"time"
)

// Timestamps are taken as tmpfs takes them (fs/inode.c, Linux 6.13 and
// later). A change stamps an inode with the coarse clock
// (ktime_get_coarse_real_ts64: the time of the last timer tick, so every
// change within one tick gets the same time) unless the inode has
// multigrain timestamps and a stat has seen its ctime since it last
// changed (I_CTIME_QUERIED): then, if the coarse time would not differ from
// the ctime seen, the change takes a fine-grained time
// (inode_set_ctime_current), so that a change after a stat is never
// invisible to the next stat. Every fine-grained time handed out raises a
// floor that later coarse times do not fall below
// (ktime_get_coarse_real_ts64_mg), so timestamps keep the order of the
// changes across inodes.
//
// The clock is safe for concurrent use without a lock: the floor and the
// coarse clock's offset are atomics, and a resync racing with another only
// stores a fresher offset. A clock given in Options.Now must be safe for
// concurrent use too.
//
// The coarse clock here is the wall clock quantized to coarseTick, read
// through the monotonic clock alone (one vDSO call instead of time.Now's
// two) and set against the wall clock again every second, so that a step
// of the wall clock shows within a second, as the kernel's coarse clock
// shows it at the next tick.

// coarseTick is the resolution of the coarse clock: the timer tick of a
// CONFIG_HZ=250 kernel (what clock_getres(CLOCK_REALTIME_COARSE) reports
// there).
const coarseTick = 4 * time.Millisecond

// clock is the time source of an FS: coarse and fine-grained readings, in
// nanoseconds since the epoch.
type clock struct {
	coarseNs, fineNs func() int64
	// floor is the latest fine-grained time handed out (the kernel's
	// mg_floor). The system clock's floor is shared by every FS, as the
	// kernel's is by every file system.
	floor *atomic.Int64
}

// sysFloor is the floor of the system clock.
var sysFloor atomic.Int64

// clockOf returns the system clock, or for a clock given in Options.Now
// one whose coarse and fine-grained times are both its readings (a
// test's clock decides every one).
func clockOf(now func() time.Time) clock {
	if now != nil {
		ns := func() int64 { return now().UnixNano() }
		return clock{coarseNs: ns, fineNs: ns, floor: new(atomic.Int64)}
	}
	return clock{coarseNs: coarseWall, fineNs: fineWall, floor: &sysFloor}
}

func fineWall() int64 { return time.Now().UnixNano() }

// The monotonic-to-wall offset of the coarse clock: wall = mono + offset,
// with mono measured from monoBase; syncedAt is the mono time the offset
// was last taken at.
var (
	monoBase = time.Now()
	offset   atomic.Int64
	syncedAt atomic.Int64
)

func init() { resync() }

// resync sets the offset from a reading of both clocks and returns the
// mono time it was taken at.
func resync() int64 {
	t := time.Now()
	m := int64(t.Sub(monoBase))
	offset.Store(t.UnixNano() - m)
	syncedAt.Store(m)
	return m
}

// coarseWall returns the coarse wall clock in nanoseconds since the epoch.
func coarseWall() int64 {
	m := int64(time.Since(monoBase))
	if m-syncedAt.Load() >= int64(time.Second) {
		m = resync()
	}
	ns := m + offset.Load()
	return ns - ns%int64(coarseTick)
}

// coarse returns the coarse time, not below the floor
// (ktime_get_coarse_real_ts64_mg).
func (c clock) coarse() time.Time {
	return time.Unix(0, max(c.coarseNs(), c.floor.Load()))
}

// fine returns a fine-grained time and raises the floor to it
// (ktime_get_real_ts64_mg). It is never below the floor either: the wall
// clock may have been stepped back.
func (c clock) fine() time.Time {
	ns := c.fineNs()
	for {
		f := c.floor.Load()
		if ns <= f {
			return time.Unix(0, f)
		}
		if c.floor.CompareAndSwap(f, ns) {
			return time.Unix(0, ns)
		}
	}
}

// currentLocked is the time an access or a new inode is stamped with
// (current_time): the coarse time, but a fine-grained one when n's ctime
// was seen and the coarse time equals it (so an access right after a
// seen change is ordered after it). n may be nil (a new inode).
//
// Preconditions: n.mu is locked (if n is not nil).
func (fs *FS) currentLocked(n *Inode) time.Time {
	now := fs.clk.coarse()
	if n != nil && n.ctimeSeen && now.Equal(n.ctime) {
		return fs.clk.fine()
	}
	return now
}

// changeTimeLocked returns the time a change of n stamps its ctime (and
// mtime, for a change of content) with, and forgets that a stat saw the
// ctime (inode_set_ctime_current): the coarse time, or a fine-grained one
// when the ctime was seen and the coarse time is not after it.
//
// Preconditions: n.mu is locked.
func (fs *FS) changeTimeLocked(n *Inode) time.Time {
	now := fs.clk.coarse()
	if n.ctimeSeen {
		n.ctimeSeen = false
		if !now.After(n.ctime) {
			now = fs.clk.fine()
		}
	}
	return now
}
