package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// When fsshim itself is killed, no process of the target may stay blocked
// on a syscall that nobody will answer: the program it started dies with it
// (PR_SET_PDEATHSIG) and anything else gets ENOSYS from the closed listener.
func TestFsshimKilledLeavesNoTargetBehind(t *testing.T) {
	requireFsshim(t)
	fw, _ := mountDir(t)
	pidFile := workDir(t) + "/pid"
	// The shell writes into the mount in a loop, so it is inside or about
	// to enter an intercepted call when fsshim dies.
	script := "echo $$ > " + pidFile + "; while :; do echo x > " + fw + "/f; done"
	args := fsshimArgs([]string{fw}, "sh", "-c", script)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = testEnv()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(10 * time.Millisecond)
	}
	if pid == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the target never started")
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("target %d still alive 10s after fsshim was killed", pid)
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// A target killed in the middle of its calls leaves fsshim clean: fsshim
// reports the signal as 128+N and exits.
func TestTargetKilledMidCall(t *testing.T) {
	requireFsshim(t)
	fw, check := mountDir(t)
	script := "(while :; do echo x >> " + fw + "/f; done) & sleep 0.2; kill -9 $!; kill -9 $$"
	_, stderr, exit := runFsshim(t, []string{fw}, "sh", "-c", script)
	if exit != 128+9 {
		t.Fatalf("exit %d, want 137; stderr:\n%s", exit, stderr)
	}
	if strings.Contains(stderr, "fsshim:") {
		t.Errorf("fsshim complained:\n%s", stderr)
	}
	check()
}
