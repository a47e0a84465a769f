// Command goprog-reopen is threads_open.c in Go: eight goroutines, each
// looping over its own file with open(O_WRONLY|O_CREAT|O_TRUNC), write,
// close, open(O_RDONLY), read to the end, compare, close, through raw
// syscalls so that every descriptor number is seen. Meanwhile one
// goroutine sends the process SIGURG in a tight loop and another forces
// garbage collections (as goprog does), so that the calls are interrupted
// by signals while a supervisor is answering them.
//
// Every goroutine's data is its own (each byte carries the worker number),
// so reading another worker's file is a mismatch. Standard input is
// reopened on /dev/null first: with 0, 1 and 2 open, open() returning one
// of them handed out a descriptor that was not free.
//
//	goprog-reopen WORKDIR ITERATIONS
//
// Prints one line per worker and "ok"; every mismatch prints "ERROR: ..."
// naming the worker, file, iteration and offset, and makes the exit status
// 1.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	workers   = 8
	maxSize   = 8192
	maxErrors = 20
)

var (
	errMu sync.Mutex
	errs  []string
)

func fail(format string, a ...any) {
	errMu.Lock()
	defer errMu.Unlock()
	errs = append(errs, fmt.Sprintf(format, a...))
}

// content is what worker w writes in iteration i: a header naming both,
// then bytes that depend on w, i and the offset.
func content(w, i int) []byte {
	n := 1 + (w*7919+i*104729)%maxSize
	b := make([]byte, n)
	for k := range b {
		b[k] = byte('a'+(w*3+k+i)%23) | byte(w<<5&0x80)
	}
	copy(b, fmt.Sprintf("W%d I%06d\n", w, i))
	return b
}

// openFresh opens path and checks that the result is a new descriptor.
func openFresh(w, i int, path string, flags int, how string) (int, bool) {
	fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		fail("worker %d file %s iteration %d: open %s: %v", w, path, i, how, err)
		return -1, false
	}
	if fd <= 2 {
		fail("worker %d file %s iteration %d: open %s returned %d, which was open already", w, path, i, how, fd)
		return -1, false
	}
	return fd, true
}

// worker runs the loop of worker w and returns its summary line.
func worker(root string, w, iterations int) string {
	path := filepath.Join(root, fmt.Sprintf("w%d", w))
	got := make([]byte, maxSize+1)
	bytesCompared := 0
	i := 0
	ok := true
	for ; i < iterations && ok; i++ {
		want := content(w, i)
		fd, good := openFresh(w, i, path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, "O_WRONLY|O_CREAT|O_TRUNC")
		if !good {
			ok = false
			break
		}
		if n, err := syscall.Write(fd, want); n != len(want) || err != nil {
			fail("worker %d file %s iteration %d: write to fd %d: %d of %d bytes, err %v", w, path, i, fd, n, len(want), err)
			ok = false
		}
		if err := syscall.Close(fd); err != nil {
			fail("worker %d file %s iteration %d: close %d: %v", w, path, i, fd, err)
			ok = false
		}
		if !ok {
			break
		}

		fd, good = openFresh(w, i, path, syscall.O_RDONLY, "O_RDONLY")
		if !good {
			ok = false
			break
		}
		total := 0
		for total < len(got) {
			n, err := syscall.Read(fd, got[total:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				fail("worker %d file %s iteration %d: read fd %d at offset %d: %v", w, path, i, fd, total, err)
				ok = false
				break
			}
			if n == 0 {
				break
			}
			total += n
		}
		if ok && !bytes.Equal(got[:total], want) {
			k := 0
			for k < total && k < len(want) && got[k] == want[k] {
				k++
			}
			head, _, _ := bytes.Cut(got[:min(total, 11)], []byte("\n"))
			fail("worker %d file %s iteration %d: read %d bytes, want %d; first difference at offset %d (data starts %q)",
				w, path, i, total, len(want), k, head)
			ok = false
		}
		if err := syscall.Close(fd); err != nil {
			fail("worker %d file %s iteration %d: close %d: %v", w, path, i, fd, err)
			ok = false
		}
		bytesCompared += len(want)
	}
	state := "ok"
	if !ok {
		state = "FAILED"
	}
	return fmt.Sprintf("worker %d: %s, %d iterations, %d bytes compared", w, state, i, bytesCompared)
}

// sameFile reports whether fd is still the file st describes.
func sameFile(fd int, st *syscall.Stat_t) bool {
	var now syscall.Stat_t
	return syscall.Fstat(fd, &now) == nil && now.Dev == st.Dev && now.Ino == st.Ino
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goprog-reopen WORKDIR ITERATIONS")
		os.Exit(2)
	}
	root := os.Args[1]
	iterations, err := strconv.Atoi(os.Args[2])
	if err != nil || iterations < 1 {
		fmt.Fprintln(os.Stderr, "goprog-reopen: bad iteration count", os.Args[2])
		os.Exit(2)
	}

	null, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
	if err == nil && null != 0 {
		err = syscall.Dup3(null, 0, 0)
		syscall.Close(null)
	}
	if err != nil {
		fmt.Printf("FATAL: /dev/null on stdin: %v\n", err)
		os.Exit(2)
	}
	var std [3]syscall.Stat_t
	for fd := range std {
		if err := syscall.Fstat(fd, &std[fd]); err != nil {
			fmt.Printf("FATAL: fstat %d: %v\n", fd, err)
			os.Exit(2)
		}
	}

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
		for {
			select {
			case <-done:
				return
			default:
			}
			syscall.Kill(pid, syscall.SIGURG)
			sent.Add(1)
			time.Sleep(50 * time.Microsecond)
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
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[w] = worker(root, w, iterations)
		}()
	}
	wg.Wait()
	close(done)
	bg.Wait()

	for fd := range std {
		if !sameFile(fd, &std[fd]) {
			fail("fd %d is no longer the file it was at the start", fd)
		}
	}
	if n, err := syscall.Read(0, make([]byte, 1)); n != 0 || err != nil {
		fail("stdin (/dev/null) read returned %d, %v; want end of file", n, err)
	}

	for _, l := range out {
		fmt.Println(l)
	}
	fmt.Fprintf(os.Stderr, "goprog-reopen: %v, %d SIGURG sent, %d received\n", time.Since(start).Round(time.Millisecond), sent.Load(), received.Load())
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
