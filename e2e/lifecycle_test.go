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

// When fsshim itself is killed, no process of the target may stay: the
// program and everything it started, a daemonized grandchild included,
// run in a PID namespace whose init dies with fsshim (PR_SET_PDEATHSIG),
// and the kernel then kills the rest. Both transports.
func TestFsshimKilledLeavesNoTargetBehind(t *testing.T) {
	requireFsshim(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			requireTransport(t, tr)
			fw, _ := mountDir(t)
			ready := workDir(t) + "/ready"
			// A daemonized sleep (its parent exits at once), then a
			// shell writing into the mount in a loop, so it is inside
			// or about to enter an intercepted call when fsshim dies.
			script := "(sleep 1000 &); echo > " + ready + "; while :; do echo x > " + fw + "/f; done"
			args := fsshimTransportArgs(tr, []string{fw}, "sh", "-c", script)
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = testEnv()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The program's processes: everything below fsshim.
			var procs []int
			for time.Now().Before(deadline) {
				procs = descendants(cmd.Process.Pid)
				if hasSleep(procs) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if !hasSleep(procs) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the daemonized sleep never showed up below fsshim (%v)", procs)
			}
			cmd.Process.Kill()
			cmd.Wait()
			for time.Now().Before(deadline) {
				left := 0
				for _, pid := range procs {
					if alive(pid) {
						left++
					}
				}
				if left == 0 {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			for _, pid := range procs {
				if alive(pid) {
					t.Errorf("process %d (%s) still alive 10s after fsshim was killed", pid, comm(pid))
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
}

// descendants lists the processes below pid (from /proc/PID/task/*/children).
func descendants(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
				out = append(out, descendants(c)...)
			}
		}
	}
	return out
}

func hasSleep(pids []int) bool {
	for _, p := range pids {
		if comm(p) == "sleep" {
			return true
		}
	}
	return false
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
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
