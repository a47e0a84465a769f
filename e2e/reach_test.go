package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestProgramCannotReachFsshim runs cprog/reach.c under fsshim as an
// unprivileged user (fsshim as that user too; as root the test switches to
// nobody): the program must not take fsshim's fds (its seccomp listener),
// attach to it or read its memory, though both run with the same ids.
func TestProgramCannotReachFsshim(t *testing.T) {
	uid := 0 // not root: the test's own user is unprivileged already
	if os.Geteuid() == 0 {
		uid = nobody
	}
	bin := requireHelper(t, "reach")
	for _, tr := range transports {
		t.Run("fsshim-"+tr, func(t *testing.T) {
			requireTransport(t, tr)
			w, checkHost := mountDir(t)
			if uid != 0 {
				if err := os.Chown(w, uid, uid); err != nil {
					t.Fatal(err)
				}
			}
			r, err := execute(proc{args: fsshimTransportArgs(tr, []string{w}, bin), uid: uid})
			if err != nil {
				t.Fatal(err)
			}
			checkHost()
			if r.exit != 0 || !strings.HasSuffix(r.stdout, "\nok\n") {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exit, indent(r.stdout), indent(r.stderr))
			}
		})
	}
}
