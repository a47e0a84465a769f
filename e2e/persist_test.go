package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// --save writes a mount's contents to the host when the program ends,
// whichever way it ends, and a failed save leaves the previous copy alone.
func TestSave(t *testing.T) {
	requireFsshim(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			requireTransport(t, tr)
			out := filepath.Join(workDir(t), "out")
			arch := filepath.Join(workDir(t), "out.tar.gz")
			m, check := mountDir(t)
			script := `cd "$1" && printf hello > f && mkdir -p d/e && ln -s ../f d/e/l && ln f hard && chmod 0640 f`
			args := append(transportFlags(tr), "--mount", m, "--save", m+"="+out, "--save", m+"="+arch, "--",
				"sh", "-c", script, "sh", m)
			_, stderr, exit := runFsshimArgs(t, args...)
			if exit != 0 {
				t.Fatalf("exit %d: %s", exit, stderr)
			}
			check()
			if b, err := os.ReadFile(filepath.Join(out, "f")); err != nil || string(b) != "hello" {
				t.Errorf("saved f = %q, %v", b, err)
			}
			if l, err := os.Readlink(filepath.Join(out, "d/e/l")); err != nil || l != "../f" {
				t.Errorf("saved link = %q, %v", l, err)
			}
			var a, b syscall.Stat_t
			if syscall.Stat(filepath.Join(out, "f"), &a) != nil || syscall.Stat(filepath.Join(out, "hard"), &b) != nil || a.Ino != b.Ino || a.Mode&0o777 != 0o640 {
				t.Errorf("hard link or mode lost: f ino %d mode %o, hard ino %d", a.Ino, a.Mode&0o777, b.Ino)
			}
			listing, err := exec.Command("tar", "tzf", arch).Output()
			if err != nil || !strings.Contains(string(listing), "d/e/l") || !strings.Contains(string(listing), "hard") {
				t.Errorf("archive listing %q, %v", listing, err)
			}
		})
	}
}

// The program dies mid-write: what it wrote before is saved.
func TestSaveAfterCrash(t *testing.T) {
	requireFsshim(t)
	out := filepath.Join(workDir(t), "out")
	m, _ := mountDir(t)
	script := `cd "$1" && i=0; while [ $i -lt 200 ]; do echo line$i >> log; i=$((i+1)); done; kill -9 $$`
	_, stderr, exit := runFsshimArgs(t, "--mount", m, "--save", m+"="+out, "--", "sh", "-c", script, "sh", m)
	if exit != 137 {
		t.Fatalf("exit %d, want 137: %s", exit, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "log"))
	if err != nil || strings.Count(string(b), "\n") != 200 || !strings.HasSuffix(string(b), "line199\n") {
		t.Errorf("saved log has %d lines (%v)", strings.Count(string(b), "\n"), err)
	}
}

// SIGTERM, SIGHUP or SIGINT sent to fsshim alone reach the program, and
// the save still happens.
func TestSaveOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) { saveOnSignal(t, sig) })
	}
}

func saveOnSignal(t *testing.T, sig syscall.Signal) {
	requireFsshim(t)
	out := filepath.Join(workDir(t), "out")
	m, _ := mountDir(t)
	ready := filepath.Join(workDir(t), "ready")
	script := `cd "$1" && echo before > f && touch "$2" && while :; do sleep 0.05; done`
	cmd := exec.Command(fsshimBin, "--mount", m, "--save", m+"="+out, "--", "sh", "-c", script, "sh", m, ready)
	cmd.Env = testEnv()
	startReady(t, cmd, ready)
	cmd.Process.Signal(sig)
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != 128+int(sig) {
		t.Errorf("fsshim ended with %v, want exit %d", err, 128+int(sig))
	}
	if b, err := os.ReadFile(filepath.Join(out, "f")); err != nil || string(b) != "before\n" {
		t.Errorf("saved f = %q, %v", b, err)
	}
}

// A save that cannot be written says so, exits non-zero, and the previous
// copy is left as it was.
func TestSaveFailureKeepsPrevious(t *testing.T) {
	requireFsshim(t)
	dir := workDir(t)
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "old"), []byte("previous"), 0o644)
	m, _ := mountDir(t)
	// A destination whose parent is a regular file cannot be created.
	bad := filepath.Join(dir, "out", "old", "x")
	_, stderr, exit := runFsshimArgs(t, "--mount", m, "--save", m+"="+bad, "--", "sh", "-c", "echo new > "+m+"/f")
	if exit == 0 || !strings.Contains(stderr, "--save") {
		t.Errorf("exit %d, stderr %q: want a non-zero exit and a message", exit, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(out, "old")); err != nil || string(b) != "previous" {
		t.Errorf("previous copy changed: %q, %v", b, err)
	}
}

// --mount PATH=FILE.tar preloads from an archive; --size gives ENOSPC at
// the limit and every byte written before it is in the saved copy.
func TestPreloadArchiveAndFillToLimit(t *testing.T) {
	requireFsshim(t)
	src := workDir(t)
	os.WriteFile(filepath.Join(src, "seed"), []byte("from the archive"), 0o600)
	arch := filepath.Join(workDir(t), "seed.tar")
	if out, err := exec.Command("tar", "-C", src, "-cf", arch, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	out := filepath.Join(workDir(t), "out")
	m, _ := mountDir(t)
	// dd writes 4 KiB blocks until the 256 KiB mount is full.
	script := `cat "$1/seed" > /dev/null || exit 3; dd if=/dev/zero of="$1/fill" bs=4096 count=1000 2>&2; echo "dd=$?"; ls -l "$1/fill" | awk '{print $5}'`
	stdout, stderr, exit := runFsshimArgs(t, "--size", "256K", "--mount", m+"="+arch, "--save", m+"="+out, "--", "sh", "-c", script, "sh", m)
	if exit != 0 {
		t.Fatalf("exit %d: %s", exit, stderr)
	}
	lines := strings.Fields(stdout)
	if len(lines) != 2 || lines[0] != "dd=1" {
		t.Fatalf("stdout %q: want dd to fail with ENOSPC", stdout)
	}
	size, _ := strconv.Atoi(lines[1])
	if size <= 0 || size >= 1000*4096 {
		t.Fatalf("fill size %d", size)
	}
	if b, err := os.ReadFile(filepath.Join(out, "seed")); err != nil || string(b) != "from the archive" {
		t.Errorf("seed = %q, %v", b, err)
	}
	st, err := os.Stat(filepath.Join(out, "fill"))
	if err != nil || st.Size() != int64(size) {
		t.Errorf("saved fill is %v bytes (%v), the program saw %d", st, err, size)
	}
	if !strings.Contains(stderr, "No space left") {
		t.Errorf("dd said %q", stderr)
	}
}

// --inject fails chosen calls on files in a mount and --stats counts them;
// host files are never failed.
func TestInject(t *testing.T) {
	requireFsshim(t)
	m, _ := mountDir(t)
	script := `cd "$1"; for i in 1 2 3 4; do echo $i >> f || echo "write $i failed"; done; echo host-ok`
	stdout, stderr, exit := runFsshimArgs(t, "--mount", m, "--inject", "write:EIO:nth=3", "--stats", "--", "sh", "-c", script, "sh", m)
	if exit != 0 {
		t.Fatalf("exit %d: %s", exit, stderr)
	}
	if !strings.Contains(stdout, "write 3 failed") || strings.Contains(stdout, "write 2 failed") || !strings.Contains(stdout, "host-ok") {
		t.Errorf("stdout %q", stdout)
	}
	if !strings.Contains(stderr, "injected 1 faults: --inject write:EIO:nth=3") {
		t.Errorf("--stats does not count the fault:\n%s", stderr)
	}
	if _, stderr, exit := runFsshimArgs(t, "--inject", "write:EWHAT", "--mount", m, "--", "true"); exit != 125 || !strings.Contains(stderr, "EWHAT") {
		t.Errorf("bad --inject: exit %d, %q", exit, stderr)
	}
}

// --max-inodes limits the files a mount can hold.
func TestMaxInodes(t *testing.T) {
	requireFsshim(t)
	m, _ := mountDir(t)
	script := `cd "$1"; n=0; while touch f$n 2>/dev/null; do n=$((n+1)); [ $n -gt 100 ] && break; done; echo $n`
	stdout, stderr, exit := runFsshimArgs(t, "--max-inodes", "10", "--mount", m, "--", "sh", "-c", script, "sh", m)
	if exit != 0 {
		t.Fatalf("exit %d: %s", exit, stderr)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(stdout))
	if n < 5 || n > 10 {
		t.Errorf("created %d files under --max-inodes 10", n)
	}
}

// runFsshimArgs runs fsshim with exactly these arguments.
func runFsshimArgs(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	r, err := execute(proc{args: append([]string{fsshimBin}, args...)})
	if err != nil {
		t.Fatal(err)
	}
	return r.stdout, r.stderr, r.exit
}

// With no --mount the current directory is served as an overlay: nothing
// is copied before the program starts, so --size does not limit what is
// there already, and the directory is not touched. A --mount PATH=HOSTDIR
// copy that would not fit in --size is refused before the program starts.
func TestDefaultOverlayAndPreloadRefusal(t *testing.T) {
	requireFsshim(t)
	dir := workDir(t)
	os.WriteFile(filepath.Join(dir, "big"), make([]byte, 64<<10), 0o644)
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(fsshimBin, args...)
		cmd.Dir = dir
		cmd.Env = testEnv()
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	_, stderr, exit := run("--size", "16K", "--mount", dir+"="+dir, "--", "true")
	if exit != 125 || !strings.Contains(stderr, "--size") {
		t.Errorf("preload: exit %d, stderr %q: want 125 and a message naming --size", exit, stderr)
	}
	stdout, stderr, exit := run("--size", "16K", "--", "sh", "-c", "wc -c < big; rm big; echo new > n; ls")
	if exit != 0 || len(strings.Fields(stdout)) == 0 || strings.Fields(stdout)[0] != "65536" || !strings.Contains(stdout, "n") || strings.Contains(stdout, "big") {
		t.Errorf("exit %d stdout %q stderr %q", exit, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "big")); err != nil {
		t.Errorf("the host copy was touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "n")); err == nil {
		t.Errorf("a file created under fsshim reached the host")
	}
}

// A preload source that cannot be read is a clear error before the program
// starts: nothing runs.
func TestPreloadErrors(t *testing.T) {
	requireFsshim(t)
	m, _ := mountDir(t)
	marker := filepath.Join(workDir(t), "ran")
	garbage := filepath.Join(workDir(t), "bad.tar")
	os.WriteFile(garbage, []byte("this is not a tar archive at all, not even close to one"), 0o644)
	for _, src := range []string{filepath.Join(workDir(t), "missing.tar"), garbage} {
		_, stderr, exit := runFsshimArgs(t, "--mount", m+"="+src, "--", "touch", marker)
		if exit != 125 || !strings.Contains(stderr, "preloading") {
			t.Errorf("--mount %s: exit %d, stderr %q: want 125 and a message", src, exit, stderr)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("the program ran although the preload of %s failed", src)
		}
	}
}

// startReady starts cmd and waits until the program it runs has made the
// file ready (it touches it once it is running), failing the test after
// 10 s.
func startReady(t *testing.T, cmd *exec.Cmd, ready string) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the program never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
