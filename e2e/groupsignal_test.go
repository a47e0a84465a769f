package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A signal sent to fsshim's whole process group (as a terminal sends
// SIGINT, or a hang-up SIGHUP) reaches the program, which handles it as it
// would natively: the isolated program's PID 1, in that group too, must
// not die of it (its death would end the program with SIGKILL).
func TestGroupSignalReachesProgram(t *testing.T) {
	requireFsshim(t)
	for name, sig := range map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP} {
		t.Run(name, func(t *testing.T) {
			ready := filepath.Join(workDir(t), "ready")
			script := `trap 'echo got; exit 7' ` + name + `; touch "$1"; while :; do sleep 0.05; done`
			cmd := exec.Command(fsshimBin, "--", "sh", "-c", script, "sh", ready)
			cmd.Env = testEnv()
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out bytes.Buffer
			cmd.Stdout = &out
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
			syscall.Kill(-cmd.Process.Pid, sig)
			err := cmd.Wait()
			ee, _ := err.(*exec.ExitError)
			// fsshim passes SIGTERM and SIGHUP (and a SIGINT no terminal
			// sent) on to the program as well, so the trap may run twice.
			if ee == nil || ee.ExitCode() != 7 || !strings.HasPrefix(out.String(), "got\n") {
				t.Errorf("fsshim ended with %v, stdout %q; want exit 7 and \"got\" from the program's trap", err, out.String())
			}
		})
	}
}
