package e2e

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
			startReady(t, cmd, ready)
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

// Signals fsshim is started with ignored (nohup's SIGHUP, the SIGINT of a
// shell's background job) stay ignored in the program, as they would
// natively, though fsshim and its init stage handle them on the way.
// Other ignored signals are not passed on (README, Limits).
func TestIgnoredSignalsStayIgnored(t *testing.T) {
	requireFsshim(t)
	for _, tr := range transports {
		for _, iso := range []string{"isolated", "no-isolation"} {
			t.Run(tr+"/"+iso, func(t *testing.T) {
				requireTransport(t, tr)
				args := append([]string{fsshimBin}, transportFlags(tr)...)
				if iso == "no-isolation" {
					args = append(args, "--no-isolation")
				}
				script := `trap '' INT HUP; exec "$@"`
				full := append(append([]string{"sh", "-c", script, "sh"}, args...),
					"--", "sh", "-c", `kill -INT $$; kill -HUP $$; echo survived`)
				r, err := execute(proc{args: full})
				if err != nil {
					t.Fatal(err)
				}
				if r.exit != 0 || r.stdout != "survived\n" {
					t.Errorf("exit %d, stdout %q, stderr %q; want the program to survive the signals it was started with ignored", r.exit, r.stdout, r.stderr)
				}
			})
		}
	}
}
