// Package threads is fsshim's thread-scaling workload: N OS threads of one
// process, each doing the same fixed mix of independent file calls in a
// directory of its own under one directory (one mount, when supervised or
// linked), timed together, so the figure says how the transport's
// throughput grows with the number of threads that call it at once.
package threads

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/bench/fsys"
)

// Sizes of the files a thread works on.
const (
	// IOSize is the size of each read and write, and of the stat file.
	IOSize = 512
	// DataSize is the size of the file the reads come from: they rotate
	// over its DataSize/IOSize blocks.
	DataSize = 4096
)

// Does says what one iteration of one thread does, in system calls.
const Does = "in the thread's own directory DIR/tK: stat of a 512 B file (s); " +
	"open O_RDONLY + pread 512 B at one of 8 offsets of a 4 KiB file (r) + close; " +
	"open O_CREAT|O_TRUNC|O_WRONLY + write 512 B + close (w); " +
	"rename a -> b, next iteration b -> a: 8 system calls"

// Setup says what each thread does before the timed loop.
const Setup = "each thread makes DIR/tK with s (512 B), r (4 KiB) and a (empty), runs a short untimed warm-up " +
	"(ITERS/10+1 iterations), then waits at a barrier; the clock runs from the barrier's release to the last thread's end"

// MaxThreads bounds a thread count.
const MaxThreads = 256

// Result is one measurement at one thread count.
type Result struct {
	Threads int `json:"threads"`
	// Iters is the timed iterations each thread was asked for.
	Iters int `json:"iters"`
	// Done is the timed iterations the threads completed, all together.
	Done int `json:"done"`
	// Warmup is each thread's untimed iterations before the barrier.
	Warmup int `json:"warmup"`
	// ElapsedSec is from the barrier's release to the last thread's end.
	ElapsedSec float64 `json:"elapsed_s"`
	// IterPerSec is Done / ElapsedSec.
	IterPerSec float64 `json:"iters_per_sec"`
	// ThreadSec is each thread's own time from the release to its end.
	ThreadSec []float64 `json:"thread_s"`
}

// ParseCounts reads a comma-separated list of thread counts ("1,2,4"),
// each from 1 to MaxThreads, no repeats, in the order given.
func ParseCounts(list string) ([]int, error) {
	var ns []int
	seen := map[int]bool{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > MaxThreads {
			return nil, fmt.Errorf("bad thread count %q in %q (want 1 to %d)", f, list, MaxThreads)
		}
		if seen[n] {
			return nil, fmt.Errorf("thread count %d given twice in %q", n, list)
		}
		seen[n] = true
		ns = append(ns, n)
	}
	return ns, nil
}

// Warmup is the number of untimed iterations each thread runs before
// the barrier for iters timed ones.
func Warmup(iters int) int { return iters/10 + 1 }

// Dir is thread k's directory under dir.
func Dir(dir string, k int) string { return filepath.Join(dir, "t"+strconv.Itoa(k)) }

// thread is one thread's files and state.
type thread struct {
	k                  int
	dir                string
	s, r, w, a, b      string
	buf, rbuf          []byte
	st                 unix.Stat_t
	done               int
	end                time.Time
	err                error
	setupErr, checkErr error
}

func newThread(dir string, k int) *thread {
	d := Dir(dir, k)
	return &thread{
		k: k, dir: d,
		s: filepath.Join(d, "s"), r: filepath.Join(d, "r"), w: filepath.Join(d, "w"),
		a: filepath.Join(d, "a"), b: filepath.Join(d, "b"),
		buf: make([]byte, IOSize), rbuf: make([]byte, IOSize),
	}
}

// dataByte is byte j of thread k's file r.
func dataByte(k, j int) byte { return byte(j*7 + k) }

// Run starts n OS threads on s, each making its directory Dir(dir, k)
// with its files and running a warm-up, then, once all are ready, iters
// timed iterations (see Does), then checking its files (see Check). The
// files are left in place: Remove takes them away. GOMAXPROCS is raised
// to n for the run, so that every thread holds a P of its own, as n
// threads of a C program would run. An error in any thread (the others
// stop at their next iteration) fails the run.
func Run(s fsys.Sys, n, iters int, dir string) (Result, error) {
	if n < 1 || n > MaxThreads {
		return Result{}, fmt.Errorf("bad thread count %d (want 1 to %d)", n, MaxThreads)
	}
	if iters < 1 {
		return Result{}, fmt.Errorf("bad iteration count %d", iters)
	}
	if p := runtime.GOMAXPROCS(0); p < n {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	}
	warm := Warmup(iters)
	ts := make([]*thread, n)
	for k := range ts {
		ts[k] = newThread(dir, k)
	}
	var (
		ready, finished sync.WaitGroup
		release         = make(chan struct{})
		stop            atomic.Bool
	)
	ready.Add(n)
	finished.Add(n)
	for _, t := range ts {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer finished.Done()
			if t.setupErr = t.setup(s, warm, &stop); t.setupErr != nil {
				stop.Store(true)
			}
			ready.Done()
			<-release
			if t.setupErr != nil || stop.Load() {
				return
			}
			for i := range iters {
				if stop.Load() {
					break
				}
				if err := t.iteration(s, warm+i); err != nil {
					t.err = fmt.Errorf("iteration %d: %w", i, err)
					stop.Store(true)
					break
				}
				t.done++
			}
			t.end = time.Now()
			if t.err == nil && t.done == iters {
				t.checkErr = t.check(s, warm+iters)
			}
		}()
	}
	ready.Wait()
	start := time.Now()
	close(release)
	finished.Wait()

	var errs []error
	for _, t := range ts {
		switch {
		case errors.Is(t.setupErr, errStopped):
			// Another thread's error says why.
		case t.setupErr != nil:
			errs = append(errs, fmt.Errorf("thread %d: setup: %w", t.k, t.setupErr))
		case t.err != nil:
			errs = append(errs, fmt.Errorf("thread %d: %w", t.k, t.err))
		case t.checkErr != nil:
			errs = append(errs, fmt.Errorf("thread %d: after the run: %w", t.k, t.checkErr))
		}
	}
	if len(errs) > 0 {
		return Result{}, errors.Join(errs...)
	}
	r := Result{Threads: n, Iters: iters, Warmup: warm}
	var last time.Duration
	for _, t := range ts {
		el := t.end.Sub(start)
		last = max(last, el)
		r.Done += t.done
		r.ThreadSec = append(r.ThreadSec, el.Seconds())
	}
	if r.Done != n*iters {
		return Result{}, fmt.Errorf("%d iterations done, want %d", r.Done, n*iters)
	}
	r.ElapsedSec = last.Seconds()
	r.IterPerSec = float64(r.Done) / last.Seconds()
	return r, nil
}

var errStopped = errors.New("stopped: another thread failed")

// setup makes the thread's directory and files and runs warm untimed
// iterations (stopping early if another thread failed).
func (t *thread) setup(s fsys.Sys, warm int, stop *atomic.Bool) error {
	if err := s.Mkdir(t.dir, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", t.dir, err)
	}
	data := make([]byte, DataSize)
	for j := range data {
		data[j] = dataByte(t.k, j)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{t.s, data[:IOSize]}, {t.r, data}, {t.a, nil}} {
		if err := writeFile(s, f.path, f.data); err != nil {
			return err
		}
	}
	for i := range warm {
		if stop.Load() {
			return errStopped
		}
		if err := t.iteration(s, i); err != nil {
			return fmt.Errorf("warm-up iteration %d: %w", i, err)
		}
	}
	return nil
}

// writeFile creates path with data in one write.
func writeFile(s fsys.Sys, path string, data []byte) error {
	fd, err := s.Open(path, unix.O_CREAT|unix.O_TRUNC|unix.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if n, err := s.Write(fd, data); err != nil || n != len(data) {
		s.Close(fd)
		if err == nil {
			err = fmt.Errorf("wrote %d of %d bytes", n, len(data))
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := s.Close(fd); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// iteration i of Does. The write puts i (8 bytes, little-endian) and the
// thread's number at the start of w, so Check can tell the last write
// landed in the right file.
func (t *thread) iteration(s fsys.Sys, i int) error {
	if err := s.Stat(t.s, &t.st); err != nil {
		return fmt.Errorf("stat %s: %w", t.s, err)
	}
	if t.st.Size != IOSize {
		return fmt.Errorf("stat %s: size %d, want %d", t.s, t.st.Size, IOSize)
	}

	fd, err := s.Open(t.r, unix.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", t.r, err)
	}
	off := (i % (DataSize / IOSize)) * IOSize
	n, err := s.Pread(fd, t.rbuf, int64(off))
	if err == nil && (n != IOSize || t.rbuf[0] != dataByte(t.k, off) || t.rbuf[IOSize-1] != dataByte(t.k, off+IOSize-1)) {
		err = fmt.Errorf("read %d bytes at %d, not the file's %d", n, off, IOSize)
	}
	if cerr := s.Close(fd); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("pread %s: %w", t.r, err)
	}

	fd, err = s.Open(t.w, unix.O_CREAT|unix.O_TRUNC|unix.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", t.w, err)
	}
	binary.LittleEndian.PutUint64(t.buf, uint64(i))
	t.buf[8] = byte(t.k)
	n, err = s.Write(fd, t.buf)
	if err == nil && n != IOSize {
		err = fmt.Errorf("wrote %d of %d bytes", n, IOSize)
	}
	if cerr := s.Close(fd); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", t.w, err)
	}

	from, to := t.a, t.b
	if i%2 == 1 {
		from, to = t.b, t.a
	}
	if err := s.Rename(from, to); err != nil {
		return fmt.Errorf("rename %s -> %s: %w", from, to, err)
	}
	return nil
}

// Check checks thread k's files under dir after total iterations
// (warm-up included): s and r as made, w written by the last iteration,
// the renamed file under the name the last rename gave it and not under
// the other.
func Check(s fsys.Sys, dir string, k, total int) error {
	return newThread(dir, k).check(s, total)
}

func (t *thread) check(s fsys.Sys, total int) error {
	for _, f := range []struct {
		path string
		size int64
	}{{t.s, IOSize}, {t.r, DataSize}, {t.w, IOSize}} {
		if err := s.Stat(f.path, &t.st); err != nil {
			return fmt.Errorf("stat %s: %w", f.path, err)
		}
		if t.st.Size != f.size {
			return fmt.Errorf("%s has %d bytes, want %d", f.path, t.st.Size, f.size)
		}
	}
	fd, err := s.Open(t.w, unix.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", t.w, err)
	}
	n, err := s.Pread(fd, t.rbuf, 0)
	s.Close(fd)
	if err != nil || n != IOSize {
		return fmt.Errorf("read %s: %d bytes, %v", t.w, n, err)
	}
	if got := binary.LittleEndian.Uint64(t.rbuf); got != uint64(total-1) || t.rbuf[8] != byte(t.k) {
		return fmt.Errorf("%s holds iteration %d of thread %d, want iteration %d of thread %d", t.w, got, t.rbuf[8], total-1, t.k)
	}
	here, gone := t.a, t.b
	if total%2 == 1 {
		here, gone = t.b, t.a
	}
	if err := s.Stat(here, &t.st); err != nil {
		return fmt.Errorf("after %d renames: stat %s: %w", total, here, err)
	}
	if err := s.Stat(gone, &t.st); !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("after %d renames: stat %s = %v, want ENOENT", total, gone, err)
	}
	return nil
}

// Remove removes the directories and files Run made for n threads.
func Remove(s fsys.Sys, n int, dir string) error {
	var errs []error
	for k := range n {
		t := newThread(dir, k)
		for _, p := range []string{t.s, t.r, t.w, t.a, t.b} {
			if err := s.Unlink(p); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("unlink %s: %w", p, err))
			}
		}
		if err := s.Rmdir(t.dir); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", t.dir, err))
		}
	}
	return errors.Join(errs...)
}
