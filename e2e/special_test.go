package e2e

import (
	"os"
	"testing"
)

// TestSpecialFilesDroppedPrivileges runs the special-file scenarios in a
// program that starts as root and drops to nobody before it uses them, so
// that fsshim (root) serves a target running as another user: the host
// calls it makes for the target (a FIFO open, a connect) must act with the
// target's ids, which SO_PEERCRED and the permission checks show.
func TestSpecialFilesDroppedPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("dropping privileges needs root")
	}
	bin := requireHelper(t, "sysseq")
	for _, sc := range []string{"mknod_fifo", "unix_socket", "unix_socket_net"} {
		runCase(t, progCase{
			name:    "setpriv_" + sc,
			tools:   map[string]string{"sh": "dash", "setpriv": "util-linux"},
			helpers: []string{"sysseq"},
			args: func(w string) []string {
				return []string{"/bin/sh", "-c",
					`chown 65534:65534 "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$2" "$3" "$1"`,
					"sh", w, bin, sc}
			},
		})
	}
}
