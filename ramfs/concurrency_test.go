package ramfs

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
)

// TestConcurrent runs workers on private and shared directories under the
// race detector, then checks the bookkeeping.
func TestConcurrent(t *testing.T) {
	fsys := New(Options{Capacity: 8 << 20})
	root := fsys.Root()
	shared := mkdir(t, fsys, root, "shared")
	const workers, rounds = 8, 300
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fail := func(format string, args ...any) {
				select {
				case errs <- fmt.Errorf("worker %d: "+format, append([]any{w}, args...)...):
				default:
				}
			}
			mine, err := fsys.Mkdir(root, fmt.Sprintf("w%d", w), 0o755, 0, 0)
			if err != nil {
				fail("mkdir: %v", err)
				return
			}
			buf := make([]byte, 4096)
			for i := range rounds {
				name := fmt.Sprintf("f%d", i%10)
				f, err := fsys.Create(mine, name, 0o644, 0, 0)
				if err != nil {
					fail("create %s: %v", name, err)
					return
				}
				for j := range buf {
					buf[j] = byte(w + i + j)
				}
				if k, err := fsys.WriteAt(f, buf, int64(i%4)*4096); err != nil || k != len(buf) {
					fail("write: %d, %v", k, err)
				}
				if k, err := fsys.ReadAt(f, buf, 0); err != nil || k != len(buf) {
					fail("read: %d, %v", k, err)
				}
				// Shared directory: races on the same names are expected
				// to fail with errnos only.
				sname := fmt.Sprintf("s%d", i%7)
				switch i % 5 {
				case 0:
					_, err = fsys.Create(shared, sname, 0o644, 0, 0)
				case 1:
					err = fsys.Rename(mine, name, shared, sname, 0)
				case 2:
					err = fsys.Unlink(shared, sname)
				case 3:
					err = fsys.ReadDir(shared, 0, func(n string, _ uint64, _ uint8, _ int64) bool {
						fsys.Getattr(shared)
						return true
					})
				case 4:
					if n, lerr := fsys.LookupRef(shared, sname); lerr == nil {
						_, err = fsys.WriteAt(n, buf[:10], 0)
						fsys.Unref(n)
					}
				}
				if err != nil {
					if _, ok := err.(syscall.Errno); !ok {
						fail("non-errno error %v", err)
					}
				}
				if err := fsys.Unlink(mine, name); err != nil && err != syscall.ENOENT {
					fail("unlink: %v", err) // ENOENT: renamed away
				}
				_ = fsys.Statfs()
				_, _ = fsys.Used()
				_ = f.Mode()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mustInvariants(t, fsys)
}
