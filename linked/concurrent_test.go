package linked

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLinkedConcurrentGoroutines runs goroutines that each open, write,
// dup, close, read back, stat, rename and unlink their own files in one
// mount at once. Each must find its own bytes; under -race it also checks
// that the linked build shares no state without a lock.
func TestLinkedConcurrentGoroutines(t *testing.T) {
	l := newLinked(t)
	const workers, rounds = 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			errs <- worker(l, w, rounds)
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Every fd was closed: the next open gets the first number.
	fd, err := l.Open("/lk/last", unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil || fd != FDBase {
		t.Errorf("open after the workers = %d, %v; want %d (an fd leaked)", fd, err, FDBase)
	}
}

func worker(l *Linked, w, rounds int) error {
	name := fmt.Sprintf("/lk/w%d", w)
	moved := name + ".moved"
	buf := make([]byte, 64)
	for i := 0; i < rounds; i++ {
		want := []byte(fmt.Sprintf("worker %d round %d", w, i))
		fd, err := l.Open(name, unix.O_CREAT|unix.O_TRUNC|unix.O_RDWR, 0o644)
		if err != nil {
			return fmt.Errorf("worker %d: open: %v", w, err)
		}
		if n, err := l.Write(fd, want); n != len(want) || err != nil {
			return fmt.Errorf("worker %d: write = %d, %v", w, n, err)
		}
		d, e := l.Syscall(unix.SYS_DUP, uintptr(fd), 0, 0, 0, 0, 0)
		if e != 0 {
			return fmt.Errorf("worker %d: dup: %v", w, e)
		}
		if err := l.Close(fd); err != nil {
			return fmt.Errorf("worker %d: close: %v", w, err)
		}
		n, err := l.Pread(int(d), buf, 0)
		if err != nil || !bytes.Equal(buf[:n], want) {
			return fmt.Errorf("worker %d round %d: read back %q, %v; want %q", w, i, buf[:n], err, want)
		}
		var st unix.Stat_t
		if err := l.Stat(name, &st); err != nil || st.Size != int64(len(want)) {
			return fmt.Errorf("worker %d: stat size %d, %v", w, st.Size, err)
		}
		if err := l.Close(int(d)); err != nil {
			return fmt.Errorf("worker %d: close dup: %v", w, err)
		}
		if err := l.Rename(name, moved); err != nil {
			return fmt.Errorf("worker %d: rename: %v", w, err)
		}
		if err := l.Unlink(moved); err != nil {
			return fmt.Errorf("worker %d: unlink: %v", w, err)
		}
	}
	return nil
}
