package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"fsshim/bench/fsys"
	"fsshim/bench/micro"
	"fsshim/bench/postmark"
	"fsshim/bench/threads"
	flag "fsshim/internal/flags"
)

// ResultPrefix starts each line a worker prints for the harness; the rest
// of the line is one JSON object.
const ResultPrefix = "fsshim-bench-result "

// PostmarkResult is what a PostMark worker reports of one run.
type PostmarkResult struct {
	Transactions   int     `json:"transactions"`
	TxPerSec       float64 `json:"tx_per_sec"`
	ElapsedSec     float64 `json:"elapsed_s"`
	CreateSec      float64 `json:"create_s"`
	TransactionSec float64 `json:"transaction_s"`
	DeleteSec      float64 `json:"delete_s"`
	Created        int     `json:"created"`
	Read           int     `json:"read"`
	Appended       int     `json:"appended"`
	Deleted        int     `json:"deleted"`
	BytesRead      int64   `json:"bytes_read"`
	BytesWritten   int64   `json:"bytes_written"`
}

func newPostmarkResult(r postmark.Result) PostmarkResult {
	return PostmarkResult{
		Transactions:   r.Transactions,
		TxPerSec:       float64(r.Transactions) / r.TransactionTime.Seconds(),
		ElapsedSec:     r.Elapsed.Seconds(),
		CreateSec:      r.CreateTime.Seconds(),
		TransactionSec: r.TransactionTime.Seconds(),
		DeleteSec:      r.DeleteTime.Seconds(),
		Created:        r.Created,
		Read:           r.Read,
		Appended:       r.Appended,
		Deleted:        r.Deleted,
		BytesRead:      r.BytesRead,
		BytesWritten:   r.BytesWritten,
	}
}

const workerUsage = `usage (hidden; the harness runs these):
  fsshim bench-worker micro [--linked] OPS N DIR
      run each op of OPS ("all" or a comma-separated list of: %s) with N
      iterations (fewer for expensive ops) in the existing directory DIR,
      and print ns/op per op
  fsshim bench-worker postmark [--linked] CFG
      run the PostMark configuration in CFG once and print its figures
  fsshim bench-worker threads [--linked] N ITERS DIR
      for each thread count of N (a comma-separated list, e.g. 1,2,4), in
      turn: N OS threads each make DIR/tK and its files, warm up, wait at a
      barrier, then run ITERS iterations of: %s;
      print iterations/s of all threads (barrier release to the last
      thread's end) and remove what they made; DIR must exist (unless
      --linked)
  fsshim bench-worker small-files [--linked] N DIR
      make N files of %d B in DIR/files and remove them, and print how
      MemAvailable moved
With --linked the calls go to an in-process ramfs (linked.Linked) mounted
at DIR, or at the configuration's locations; without, they are raw syscalls.
`

// Worker is the hidden `fsshim bench-worker` mode that does one run of a
// workload and prints its numbers as ResultPrefix lines on stdout.
func Worker(args []string, stdout, stderr io.Writer) int {
	usage := func() int {
		fmt.Fprintf(stderr, workerUsage, strings.Join(micro.Names(), ", "), threads.Does, SmallFileSize)
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	fs := flag.NewFlagSet("bench-worker")
	fs.SetOutput(stderr)
	linked := fs.Bool("linked", false, "use the in-process linked build")
	if err := fs.Parse(args[1:]); err != nil {
		return usage()
	}
	rest := fs.Args()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "fsshim bench-worker: %v\n", err)
		return 1
	}
	switch args[0] {
	case "micro":
		if len(rest) != 3 {
			return usage()
		}
		ops, err := micro.ParseOps(rest[0])
		if err != nil {
			return fail(err)
		}
		n, dir, s, err := iterDirSys(rest[1], rest[2], *linked)
		if err != nil {
			return fail(err)
		}
		for _, op := range ops {
			r, err := micro.Run(s, op, n, dir)
			if err != nil {
				return fail(err)
			}
			emit(stdout, r)
		}
		return 0
	case "postmark":
		if len(rest) != 1 {
			return usage()
		}
		cfg, err := readConfig(rest[0])
		if err != nil {
			return fail(err)
		}
		var s postmark.FS = postmark.Raw{}
		if *linked {
			l, err := fsys.NewLinked(mountPaths(cfg), 0)
			if err != nil {
				return fail(err)
			}
			s = l
		}
		r, err := postmark.Run(s, cfg)
		if err != nil {
			return fail(err)
		}
		emit(stdout, newPostmarkResult(r))
		return 0
	case "small-files":
		if len(rest) != 2 {
			return usage()
		}
		n, dir, s, err := iterDirSys(rest[0], rest[1], *linked)
		if err != nil {
			return fail(err)
		}
		r, err := smallFiles(s, n, dir) // programs.go
		if err != nil {
			return fail(err)
		}
		emit(stdout, r)
		return 0
	case "threads":
		if len(rest) != 3 {
			return usage()
		}
		counts, err := threads.ParseCounts(rest[0])
		if err != nil {
			return fail(err)
		}
		iters, dir, s, err := iterDirSys(rest[1], rest[2], *linked)
		if err != nil {
			return fail(err)
		}
		for _, n := range counts {
			r, err := threads.Run(s, n, iters, dir)
			if err != nil {
				threads.Remove(s, n, dir)
				return fail(fmt.Errorf("%d threads: %v", n, err))
			}
			if err := threads.Remove(s, n, dir); err != nil {
				return fail(fmt.Errorf("%d threads: cleanup: %v", n, err))
			}
			emit(stdout, r)
		}
		return 0
	}
	return usage()
}

// iterDirSys reads the ITERS and DIR arguments of the micro and threads
// workers and makes the system they call: raw syscalls, or a linked ramfs
// mounted at DIR.
func iterDirSys(iters, dir string, linked bool) (int, string, fsys.Sys, error) {
	n, err := strconv.Atoi(iters)
	if err != nil || n < 1 {
		return 0, "", nil, fmt.Errorf("bad iteration count %q", iters)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0, "", nil, err
	}
	if !linked {
		return n, abs, fsys.Raw{}, nil
	}
	l, err := fsys.NewLinked([]string{abs}, 0)
	if err != nil {
		return 0, "", nil, err
	}
	return n, abs, l, nil
}

func emit(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(w, "%s%s\n", ResultPrefix, b)
}

// readConfig parses a PostMark configuration file.
func readConfig(path string) (postmark.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return postmark.Config{}, err
	}
	defer f.Close()
	cfg, _, err := postmark.ParseConfig(f)
	if err != nil {
		return postmark.Config{}, err
	}
	return cfg, cfg.Validate()
}

// mountPaths is where a linked PostMark run needs a ramfs: the
// configuration's locations, or the current directory without one.
func mountPaths(cfg postmark.Config) []string {
	var ps []string
	for _, l := range Locations(cfg) {
		ps = append(ps, l.Path)
	}
	if len(ps) == 0 {
		ps = []string{"."}
	}
	return ps
}

// parseResults returns the JSON of every ResultPrefix line in out.
func parseResults(out []byte) [][]byte {
	var rs [][]byte
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), ResultPrefix); ok {
			rs = append(rs, []byte(s))
		}
	}
	return rs
}
