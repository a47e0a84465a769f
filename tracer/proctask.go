package tracer

import (
	"bytes"
	"errors"
	"os"
	"strconv"
)

// TaskTgid returns the thread group of task pid as process viewer names
// it (emul.TaskHost): the Tgid line of the status file in viewer's own
// /proc, so both numbers are in viewer's PID namespace.
func (procHost) TaskTgid(viewer, pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(viewer) + "/root/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("Tgid:")); ok {
			return strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return 0, errors.New("no Tgid in " + strconv.Itoa(pid) + "'s status")
}
