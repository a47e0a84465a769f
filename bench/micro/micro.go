// Package micro holds fsshim's per-operation micro-benchmarks: small loops
// of file system calls on a fsys.Sys, timed with the monotonic clock, so
// the same loop measures the host kernel, a supervised process (Raw calls
// intercepted by a transport) and the linked build (calls into emul as
// function calls).
package micro

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/bench/fsys"
)

// Op is one micro-benchmark.
type Op struct {
	// Name is the key used on command lines and in JSON.
	Name string
	// Title is the row label of tables and charts.
	Title string
	// RowTitles, by transport name, label that transport's row where its
	// figure is of something else than Title says.
	RowTitles map[string]string
	// Does says what one iteration does, in system calls.
	Does string
	// Divisor scales the iteration count down for expensive ops: an op
	// runs max(1, N/Divisor) iterations when N is asked for.
	Divisor int
	// prepare sets up the op's files under dir and returns the body of
	// one iteration and a cleanup that removes what prepare made.
	prepare func(s fsys.Sys, dir string) (body func(i int) error, cleanup func() error, err error)
}

// Iterations is the number of timed iterations the op runs for a
// requested n.
func (o Op) Iterations(n int) int {
	d := o.Divisor
	if d < 1 {
		d = 1
	}
	if n/d < 1 {
		return 1
	}
	return n / d
}

const (
	fileSize = 1 << 20 // data file of read-4k, write-4k and pread-512
	dents    = 1000    // entries of the getdents directory
)

// Ops lists every micro-benchmark, cheapest first.
var Ops = []Op{
	{Name: "unrouted", Title: "getppid", Does: "getppid, which no transport intercepts: the host kernel's call, plus under a filter what the filter's presence costs (the kernel's entry into seccomp; the filter program does not run, the call being in the kernel's cache of calls allowed whatever their arguments)",
		Divisor: 1, prepare: prepUnrouted},
	{Name: "bare", Title: "dup(-1)", Does: "dup(-1), answered EBADF: by the kernel, natively and (after the round trip) supervised, where every data mode routes dup (passthrough leaves close to the kernel); linked, by emul through its dispatcher, the syscall as a function call",
		RowTitles: map[string]string{"linked": "syscall as a function call"}, Divisor: 1, prepare: prepBare},
	{Name: "stat", Title: "stat", Does: "stat of a 100-byte file", Divisor: 1, prepare: prepStat},
	{Name: "pread-512", Title: "pread 512 B", Does: "pread64 of 512 B at rotating offsets of a 1 MiB file", Divisor: 1, prepare: prepPread},
	{Name: "read-4k", Title: "read 4 KiB", Does: "read of 4 KiB, sequential through 1 MiB, lseek to 0 every 256", Divisor: 1, prepare: prepRead},
	{Name: "write-4k", Title: "write 4 KiB", Does: "write of 4 KiB, sequential through 1 MiB, lseek to 0 every 256", Divisor: 1, prepare: prepWrite},
	{Name: "open-close", Title: "open+close", Does: "open O_RDONLY + close", Divisor: 1, prepare: prepOpenClose},
	{Name: "rename", Title: "rename", Does: "rename a <-> b", Divisor: 1, prepare: prepRename},
	{Name: "mkdir-rmdir", Title: "mkdir+rmdir", Does: "mkdir + rmdir", Divisor: 1, prepare: prepMkdir},
	{Name: "create-unlink", Title: "create+unlink", Does: "open O_CREAT|O_EXCL + close + unlink", Divisor: 1, prepare: prepCreate},
	{Name: "getdents-1000", Title: "getdents 1000 entries", Does: "lseek to 0 + getdents64 (32 KiB buffer) until end, 1002 entries", Divisor: 20, prepare: prepGetdents},
}

// Lookup finds an op by name.
func Lookup(name string) (Op, bool) {
	for _, o := range Ops {
		if o.Name == name {
			return o, true
		}
	}
	return Op{}, false
}

// Names returns the op names in order.
func Names() []string {
	var s []string
	for _, o := range Ops {
		s = append(s, o.Name)
	}
	return s
}

// ParseOps turns "all" or a comma-separated list of names into ops.
func ParseOps(list string) ([]Op, error) {
	if list == "" || list == "all" {
		return Ops, nil
	}
	var ops []Op
	for _, n := range strings.Split(list, ",") {
		o, ok := Lookup(strings.TrimSpace(n))
		if !ok {
			return nil, fmt.Errorf("unknown micro-benchmark %q (have: %s)", n, strings.Join(Names(), ", "))
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// Result is one op's measurement.
type Result struct {
	Op      string  `json:"op"`
	Iters   int     `json:"iters"`
	NsPerOp float64 `json:"ns_per_op"`
}

// Run prepares op in dir (which must exist and is left as it was found),
// runs a short untimed warm-up, then times Iterations(n) iterations with
// the monotonic clock and returns the mean time per iteration.
func Run(s fsys.Sys, op Op, n int, dir string) (Result, error) {
	iters := op.Iterations(n)
	body, cleanup, err := op.prepare(s, dir)
	if err != nil {
		return Result{}, fmt.Errorf("%s: setup: %w", op.Name, err)
	}
	warm := iters/10 + 1
	for i := range warm {
		if err := body(i); err != nil {
			cleanup()
			return Result{}, fmt.Errorf("%s: warm-up: %w", op.Name, err)
		}
	}
	start := time.Now()
	for i := range iters {
		if err := body(warm + i); err != nil {
			cleanup()
			return Result{}, fmt.Errorf("%s: iteration %d: %w", op.Name, i, err)
		}
	}
	el := time.Since(start)
	if err := cleanup(); err != nil {
		return Result{}, fmt.Errorf("%s: cleanup: %w", op.Name, err)
	}
	return Result{Op: op.Name, Iters: iters, NsPerOp: float64(el.Nanoseconds()) / float64(iters)}, nil
}

func nothing() error { return nil }

func prepUnrouted(fsys.Sys, string) (func(int) error, func() error, error) {
	body := func(int) error {
		if _, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); e != 0 {
			return fmt.Errorf("getppid: %v", e)
		}
		return nil
	}
	return body, nothing, nil
}

func prepBare(s fsys.Sys, _ string) (func(int) error, func() error, error) {
	body := func(int) error {
		if err := s.Bare(); !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("dup(-1) = %v, want EBADF", err)
		}
		return nil
	}
	return body, nothing, nil
}

// makeFile creates path with size bytes.
func makeFile(s fsys.Sys, path string, size int) error {
	fd, err := s.Open(path, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	for left := size; left > 0; {
		k := min(left, len(buf))
		n, err := s.Write(fd, buf[:k])
		if err != nil {
			s.Close(fd)
			return err
		}
		left -= n
	}
	return s.Close(fd)
}

func prepStat(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	p := filepath.Join(dir, "stat")
	if err := makeFile(s, p, 100); err != nil {
		return nil, nil, err
	}
	var st unix.Stat_t
	body := func(int) error {
		if err := s.Stat(p, &st); err != nil {
			return err
		}
		if st.Size != 100 {
			return fmt.Errorf("stat size %d, want 100", st.Size)
		}
		return nil
	}
	return body, func() error { return s.Unlink(p) }, nil
}

// openData creates a fileSize data file and opens it with flags.
func openData(s fsys.Sys, dir string, flags int) (fd int, path string, err error) {
	path = filepath.Join(dir, "data")
	if err := makeFile(s, path, fileSize); err != nil {
		return -1, "", err
	}
	fd, err = s.Open(path, flags, 0)
	if err != nil {
		s.Unlink(path)
		return -1, "", err
	}
	return fd, path, nil
}

func closeUnlink(s fsys.Sys, fd int, path string) func() error {
	return func() error {
		err := s.Close(fd)
		if e := s.Unlink(path); err == nil {
			err = e
		}
		return err
	}
}

func prepPread(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	fd, path, err := openData(s, dir, unix.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, 512)
	body := func(i int) error {
		n, err := s.Pread(fd, buf, int64(i%(fileSize/512))*512)
		if err != nil {
			return err
		}
		if n != len(buf) {
			return fmt.Errorf("pread returned %d bytes, want %d", n, len(buf))
		}
		return nil
	}
	return body, closeUnlink(s, fd, path), nil
}

// sequential returns a body that does f on fd 4 KiB at a time through a
// fileSize file, rewinding with lseek at the end.
func sequential(s fsys.Sys, fd int, f func(int, []byte) (int, error)) func(int) error {
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	per := fileSize / len(buf)
	return func(i int) error {
		if i%per == 0 && i > 0 {
			if _, err := s.Lseek(fd, 0, unix.SEEK_SET); err != nil {
				return err
			}
		}
		n, err := f(fd, buf)
		if err != nil {
			return err
		}
		if n != len(buf) {
			return fmt.Errorf("transferred %d bytes, want %d", n, len(buf))
		}
		return nil
	}
}

func prepRead(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	fd, path, err := openData(s, dir, unix.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	return sequential(s, fd, s.Read), closeUnlink(s, fd, path), nil
}

func prepWrite(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	fd, path, err := openData(s, dir, unix.O_WRONLY)
	if err != nil {
		return nil, nil, err
	}
	return sequential(s, fd, s.Write), closeUnlink(s, fd, path), nil
}

func prepOpenClose(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	p := filepath.Join(dir, "oc")
	if err := makeFile(s, p, 0); err != nil {
		return nil, nil, err
	}
	body := func(int) error {
		fd, err := s.Open(p, unix.O_RDONLY, 0)
		if err != nil {
			return err
		}
		return s.Close(fd)
	}
	return body, func() error { return s.Unlink(p) }, nil
}

func prepRename(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	a, b := filepath.Join(dir, "ra"), filepath.Join(dir, "rb")
	if err := makeFile(s, a, 0); err != nil {
		return nil, nil, err
	}
	cur := a
	body := func(i int) error {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		if err := s.Rename(from, to); err != nil {
			return err
		}
		cur = to
		return nil
	}
	return body, func() error { return s.Unlink(cur) }, nil
}

func prepMkdir(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	p := filepath.Join(dir, "md")
	body := func(int) error {
		if err := s.Mkdir(p, 0o755); err != nil {
			return err
		}
		return s.Rmdir(p)
	}
	return body, nothing, nil
}

func prepCreate(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	p := filepath.Join(dir, "cu")
	body := func(int) error {
		fd, err := s.Open(p, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if err := s.Close(fd); err != nil {
			return err
		}
		return s.Unlink(p)
	}
	return body, nothing, nil
}

func prepGetdents(s fsys.Sys, dir string) (func(int) error, func() error, error) {
	d := filepath.Join(dir, "dents")
	if err := s.Mkdir(d, 0o755); err != nil {
		return nil, nil, err
	}
	names := make([]string, dents)
	for i := range names {
		names[i] = filepath.Join(d, "f"+strconv.Itoa(10000 + i)[1:])
		if err := makeFile(s, names[i], 0); err != nil {
			return nil, nil, err
		}
	}
	cleanup := func() error {
		var first error
		for _, n := range names {
			if err := s.Unlink(n); err != nil && first == nil {
				first = err
			}
		}
		if err := s.Rmdir(d); err != nil && first == nil {
			first = err
		}
		return first
	}
	fd, err := s.Open(d, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	buf := make([]byte, 32<<10) // glibc's readdir buffer
	list := func(count bool) (int, error) {
		if _, err := s.Lseek(fd, 0, unix.SEEK_SET); err != nil {
			return 0, err
		}
		entries := 0
		for {
			n, err := s.Getdents64(fd, buf)
			if err != nil {
				return 0, err
			}
			if n == 0 {
				return entries, nil
			}
			if count {
				entries += countDirents(buf[:n])
			}
		}
	}
	if n, err := list(true); err != nil || n != dents+2 {
		s.Close(fd)
		cleanup()
		if err == nil {
			err = fmt.Errorf("listing has %d entries, want %d", n, dents+2)
		}
		return nil, nil, err
	}
	body := func(int) error {
		_, err := list(false)
		return err
	}
	return body, func() error {
		err := s.Close(fd)
		if e := cleanup(); err == nil {
			err = e
		}
		return err
	}, nil
}

// countDirents counts linux_dirent64 records: d_reclen is the u16 at
// offset 16 of each.
func countDirents(b []byte) int {
	n := 0
	for len(b) >= 19 {
		rl := int(b[16]) | int(b[17])<<8
		if rl == 0 || rl > len(b) {
			break
		}
		n++
		b = b[rl:]
	}
	return n
}
