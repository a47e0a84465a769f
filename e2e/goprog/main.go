// Command goprog works on files from eight goroutines at once with the os
// package (WriteFile, ReadFile, ReadDir, Rename, O_APPEND writes, Remove)
// and prints a deterministic summary. Meanwhile one goroutine sends the
// process SIGURG, the signal the Go runtime uses for preemption, and
// another forces garbage collections, so that file system calls are
// interrupted by signals while a supervisor is handling them. Every result
// is checked; any mismatch is printed and makes the exit status 1.
//
//	goprog WORKDIR
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	workers   = 8
	files     = 40
	appends   = 200
	maxErrors = 20
)

var (
	errMu  sync.Mutex
	errs   []string
	spinOK atomic.Uint64
)

func fail(format string, a ...any) {
	errMu.Lock()
	defer errMu.Unlock()
	errs = append(errs, fmt.Sprintf(format, a...))
}

// content is the deterministic content of file j of worker i.
func content(i, j int) []byte {
	n := (i*131+j*97)%3000 + 1
	b := make([]byte, n)
	for k := range b {
		b[k] = byte('a' + (i*7+j*3+k)%26)
	}
	return b
}

// spin burns CPU without function calls so that the runtime has to preempt
// the goroutine asynchronously, with a signal.
func spin(n int) {
	x := uint64(n)
	for k := 0; k < n*2000; k++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	spinOK.Add(x & 1)
}

func names(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		fail("ReadDir %s: %v", filepath.Base(dir), err)
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	if !sort.StringsAreSorted(out) {
		fail("ReadDir %s: names not sorted", filepath.Base(dir))
	}
	return out
}

// worker runs the file operations of worker i and returns its summary line.
func worker(root string, i int) string {
	dir := filepath.Join(root, fmt.Sprintf("w%d", i))
	if err := os.Mkdir(dir, 0o755); err != nil {
		fail("w%d: Mkdir: %v", i, err)
		return fmt.Sprintf("w%d failed", i)
	}
	for j := 0; j < files; j++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d", j)), content(i, j), 0o644); err != nil {
			fail("w%d: WriteFile f%02d: %v", i, j, err)
		}
		spin(j % 5)
	}
	for j := 0; j < files; j++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%02d", j)))
		if err != nil || !bytes.Equal(b, content(i, j)) {
			fail("w%d: ReadFile f%02d: %d bytes, err %v", i, j, len(b), err)
		}
	}
	if n := names(dir); len(n) != files {
		fail("w%d: %d names after writing, want %d", i, len(n), files)
	}
	for j := 0; j < files; j++ {
		if err := os.Rename(filepath.Join(dir, fmt.Sprintf("f%02d", j)), filepath.Join(dir, fmt.Sprintf("r%02d", j))); err != nil {
			fail("w%d: Rename f%02d: %v", i, j, err)
		}
	}
	for _, n := range names(dir) {
		if !strings.HasPrefix(n, "r") {
			fail("w%d: %s left after rename", i, n)
		}
	}

	// O_APPEND writes, one line each: a write that a signal made the
	// kernel restart must not land twice.
	logPath := filepath.Join(dir, "log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fail("w%d: open log: %v", i, err)
	} else {
		for k := 0; k < appends; k++ {
			if _, err := fmt.Fprintf(f, "w%d line %03d\n", i, k); err != nil {
				fail("w%d: append %d: %v", i, k, err)
			}
			if k%50 == 0 {
				spin(3)
			}
		}
		if err := f.Close(); err != nil {
			fail("w%d: close log: %v", i, err)
		}
	}
	b, err := os.ReadFile(logPath)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if err != nil || len(lines) != appends {
		fail("w%d: log has %d lines, want %d (err %v)", i, len(lines), appends, err)
	} else {
		for k, l := range lines {
			if l != fmt.Sprintf("w%d line %03d", i, k) {
				fail("w%d: log line %d is %q", i, k, l)
				break
			}
		}
	}

	for j := 0; j < files; j += 2 {
		if err := os.Remove(filepath.Join(dir, fmt.Sprintf("r%02d", j))); err != nil {
			fail("w%d: Remove r%02d: %v", i, j, err)
		}
	}
	h := sha256.New()
	total := 0
	left := names(dir)
	for _, n := range left {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			fail("w%d: ReadFile %s: %v", i, n, err)
		}
		total += len(b)
		h.Write([]byte(n))
		h.Write(b)
	}
	return fmt.Sprintf("w%d: %d names, %d bytes, sha256 %x", i, len(left), total, h.Sum(nil)[:8])
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goprog WORKDIR")
		os.Exit(2)
	}
	root := os.Args[1]

	// Count the SIGURGs that reach us (the runtime's own included).
	urg := make(chan os.Signal, 1024)
	signal.Notify(urg, syscall.SIGURG)
	var received atomic.Int64
	go func() {
		for range urg {
			received.Add(1)
		}
	}()

	done := make(chan struct{})
	var sent atomic.Int64
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { // pester: process-directed SIGURG lands on any thread
		defer bg.Done()
		pid := os.Getpid()
		for k := 0; k < 200000; k++ {
			select {
			case <-done:
				return
			default:
			}
			syscall.Kill(pid, syscall.SIGURG)
			sent.Add(1)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() { // collector: stop-the-world pauses preempt every thread
		defer bg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.GC()
			}
		}
	}()

	start := time.Now()
	out := make([]string, workers)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = worker(root, i)
		}()
	}
	wg.Wait()
	close(done)
	bg.Wait()

	top, err := os.ReadDir(root)
	if err != nil {
		fail("ReadDir root: %v", err)
	}
	var dirs []string
	for _, e := range top {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for _, l := range out {
		fmt.Println(l)
	}
	fmt.Printf("directories: %s\n", strings.Join(dirs, " "))
	fmt.Fprintf(os.Stderr, "goprog: %v, %d SIGURG sent, %d received\n", time.Since(start).Round(time.Millisecond), sent.Load(), received.Load())
	if len(errs) > 0 {
		for k, e := range errs {
			if k == maxErrors {
				fmt.Printf("ERROR: ... %d more\n", len(errs)-maxErrors)
				break
			}
			fmt.Printf("ERROR: %s\n", e)
		}
		os.Exit(1)
	}
	fmt.Println("ok")
}
