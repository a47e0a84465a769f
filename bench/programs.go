package bench

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/bench/fsys"
)

// The programs workload: unmodified programs and the memory of many small
// files, the measures the data path is judged by. Its rows:
const (
	// ProgDD is host-only I/O: dd between /dev/zero and /dev/null, no
	// mount touched, so every call it makes is one fsshim need not see.
	ProgDD = "dd"
	// ProgUntar unpacks a tree into the mount, then find, du and rm -r.
	ProgUntar = "untar"
	// ProgFiles is the memory that Files small files take while they
	// exist (the drop in MemAvailable, fsshim's own memory included).
	ProgFiles = "small-files"
)

// Defaults of the programs workload.
const (
	DefaultTree      = "/usr/include"
	DefaultFiles     = 100000
	SmallFileSize    = 100
	ddCount          = 100000
	smallFilesPerDir = 1000
)

// ddArgv is the host-only I/O row's program.
var ddArgv = []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=512", "count=" + strconv.Itoa(ddCount)}

// DDCommand is the host-only I/O row's command line.
func DDCommand() string { return strings.Join(ddArgv, " ") }

// untarScript unpacks $2 into a new directory under $1, lists it with find
// (printing the count), sums it with du and removes it.
const untarScript = `set -e
t="$1/tree"
mkdir "$t"
tar -C "$t" -xf "$2"
find "$t" | wc -l
du -s "$t" > /dev/null
rm -r "$t"`

// SmallFilesResult is what a small-files worker reports of one run.
type SmallFilesResult struct {
	Files int `json:"files"`
	Size  int `json:"size"`
	// DropKB is how much MemAvailable fell while the files existed;
	// KeptKB how much of that had not come back once they were removed.
	DropKB    int64   `json:"drop_kb"`
	KeptKB    int64   `json:"kept_kb"`
	CreateSec float64 `json:"create_s"`
	RemoveSec float64 `json:"remove_s"`
	AvailKB   int64   `json:"mem_available_kb"`
}

// programRows are the programs workload's rows, for Summarize.
var programRows = []struct{ w, title, unit string }{
	{ProgDD, "dd 512 B × " + strconv.Itoa(ddCount) + " (host-only I/O), wall time", "s"},
	{ProgUntar, "untar + find + du + rm -r, wall time", "s"},
	{ProgFiles, "small files, memory while they exist", "MB"},
}

// cProgram reports whether a row runs a program that cannot be linked
// with emul.
func cProgram(w string) bool { return w == PostmarkC || w == ProgDD || w == ProgUntar }

// programsJobs sets up the programs workload: a tarball of opt.Tree in
// work for the untar row, and a directory that is the supervised runs'
// mount (its host side must stay as it is).
func programsJobs(opt *Options, rep *Report, work string, avail map[string]bool) ([]job, error) {
	if opt.Tree == "" {
		opt.Tree = DefaultTree
	}
	if opt.Files < 1 {
		opt.Files = DefaultFiles
	}
	tree, err := filepath.Abs(opt.Tree)
	if err != nil {
		return nil, err
	}
	entries := 0
	err = filepath.WalkDir(tree, func(_ string, _ fs.DirEntry, err error) error {
		entries++
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("the untar row's tree (--tree): %v", err)
	}
	tarball := filepath.Join(work, "tree.tar")
	if out, err := exec.Command("tar", "-cf", tarball, "-C", filepath.Dir(tree), filepath.Base(tree)).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tar of %s: %v: %s", tree, err, lastLines(string(out), 2))
	}
	var tarSize int64
	if st, err := os.Stat(tarball); err == nil {
		tarSize = st.Size()
	}
	dir := filepath.Join(work, "programs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	rep.Tree, rep.Files = tree, opt.Files
	rep.Description = fmt.Sprintf("programs: %s; untar of %s (%d entries, %.0f MB of tar); %d files of %d B",
		strings.Join(ddArgv, " "), tree, entries, float64(tarSize)/1e6, opt.Files, SmallFileSize)

	var jobs []job
	add := func(workload, transport string, argv []string, parse func([]byte, time.Duration, int) ([]Sample, error)) {
		j := job{workload: workload, transport: transport, parse: parse, argv: argv}
		if transport != Native && transport != Linked {
			j.argv = supervise(opt.Exe, transport, []string{dir}, argv)
		}
		if transport != Native {
			j.mounts = []string{dir}
		}
		jobs = append(jobs, j)
	}
	files := []string{"bench-worker", "small-files", strconv.Itoa(opt.Files), dir}
	for _, t := range opt.Transports {
		if !avail[t] {
			continue
		}
		if t == Linked {
			add(ProgFiles, t, append([]string{opt.Exe, files[0], files[1], "--linked"}, files[2:]...), parseSmallFiles(opt.Files))
			continue
		}
		add(ProgDD, t, ddArgv, parseWall(nil))
		add(ProgUntar, t, []string{"sh", "-c", untarScript, "sh", dir, tarball}, parseWall(untarCheck(entries)))
		add(ProgFiles, t, append([]string{opt.Exe}, files...), parseSmallFiles(opt.Files))
	}
	return jobs, nil
}

// parseWall takes the wall time of the process as the figure, after check
// (if any) has accepted its output.
func parseWall(check func(out []byte) error) func([]byte, time.Duration, int) ([]Sample, error) {
	return func(out []byte, wall time.Duration, _ int) ([]Sample, error) {
		if check != nil {
			if err := check(out); err != nil {
				return nil, err
			}
		}
		return []Sample{{Value: wall.Seconds(), Unit: "s"}}, nil
	}
}

// untarCheck accepts the untar script's output when find listed every
// entry of the tree (and the directory it was unpacked in).
func untarCheck(entries int) func([]byte) error {
	return func(out []byte) error {
		n, err := strconv.Atoi(string(bytes.TrimSpace(out)))
		if err != nil || n != entries+1 {
			return fmt.Errorf("find listed %q entries, want %d: the tree was not unpacked whole", bytes.TrimSpace(out), entries+1)
		}
		return nil
	}
}

func parseSmallFiles(files int) func([]byte, time.Duration, int) ([]Sample, error) {
	return func(out []byte, _ time.Duration, _ int) ([]Sample, error) {
		var r SmallFilesResult
		raw, err := oneResult(out, &r)
		if err != nil {
			return nil, err
		}
		if r.Files != files {
			return nil, fmt.Errorf("worker made %d files, want %d", r.Files, files)
		}
		return []Sample{{Value: float64(r.DropKB) / 1024, Unit: "MB", Raw: raw}}, nil
	}
}

// memAvailable is MemAvailable of /proc/meminfo, in kB.
func memAvailable() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemAvailable")
}

// smallFiles is the small-files worker: n files of SmallFileSize bytes in
// DIR/files/dK (smallFilesPerDir to a directory), MemAvailable read before,
// while they exist and after they are removed.
func smallFiles(s fsys.Sys, n int, dir string) (SmallFilesResult, error) {
	r := SmallFilesResult{Files: n, Size: SmallFileSize}
	top := filepath.Join(dir, "files")
	data := bytes.Repeat([]byte{'x'}, SmallFileSize)
	before, err := memAvailable()
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	if err := s.Mkdir(top, 0o755); err != nil {
		return r, fmt.Errorf("mkdir %s: %v", top, err)
	}
	name := func(i int) string {
		return filepath.Join(top, "d"+strconv.Itoa(i/smallFilesPerDir), strconv.Itoa(i))
	}
	for i := range n {
		if i%smallFilesPerDir == 0 {
			if err := s.Mkdir(filepath.Dir(name(i)), 0o755); err != nil {
				return r, fmt.Errorf("mkdir: %v", err)
			}
		}
		fd, err := s.Open(name(i), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return r, fmt.Errorf("create %s: %v", name(i), err)
		}
		k, err := s.Write(fd, data)
		s.Close(fd)
		if k != len(data) {
			return r, fmt.Errorf("write %s: %d bytes, %v", name(i), k, err)
		}
	}
	r.CreateSec = time.Since(t0).Seconds()
	during, err := memAvailable()
	if err != nil {
		return r, err
	}
	t0 = time.Now()
	for i := range n {
		if err := s.Unlink(name(i)); err != nil {
			return r, fmt.Errorf("unlink %s: %v", name(i), err)
		}
		if i%smallFilesPerDir == smallFilesPerDir-1 || i == n-1 {
			if err := s.Rmdir(filepath.Dir(name(i))); err != nil {
				return r, fmt.Errorf("rmdir: %v", err)
			}
		}
	}
	if err := s.Rmdir(top); err != nil {
		return r, fmt.Errorf("rmdir %s: %v", top, err)
	}
	r.RemoveSec = time.Since(t0).Seconds()
	after, err := memAvailable()
	if err != nil {
		return r, err
	}
	r.AvailKB, r.DropKB, r.KeptKB = before, before-during, before-after
	return r, nil
}
