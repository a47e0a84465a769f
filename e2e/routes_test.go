package e2e

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRoutesToHostDirs runs cprog/routes.c under fsshim: magic links
// (/proc/self/root, /proc/PPID/root, /proc/1/root, /proc/self/fd/N),
// host symlinks, a CLONE_FS sibling's chdir, a renamed ancestor, threads
// flipping a path string between a host path and one in the mount while
// another creates it, and as root bind mounts, umount, open_by_handle_at
// through another mount and acct. Whatever each answers, the host directory
// behind the --mount, or the --overlay's directory, must be unchanged
// afterwards, under both transports, as root and as an unprivileged user;
// a --mount path missing on the host must still be missing.
func TestRoutesToHostDirs(t *testing.T) {
	bin := requireHelper(t, "routes")
	users := []struct {
		name string
		uid  int
	}{{"self", 0}}
	if os.Geteuid() == 0 {
		users = []struct {
			name string
			uid  int
		}{{"root", 0}, {"nobody", nobody}}
	}
	for _, tr := range transports {
		for _, kind := range []string{"mount", "overlay", "missing"} {
			for _, u := range users {
				t.Run(tr+"/"+kind+"/"+u.name, func(t *testing.T) {
					requireTransport(t, tr)
					p := workDir(t)
					s := workDir(t) // same length as p: a torn flip is one or the other
					flag := kind
					if kind == "missing" {
						// A --mount path that is not on the host.
						p, flag = filepath.Join(p, "m"), "mount"
					} else if err := os.WriteFile(filepath.Join(p, "marker"), []byte("host\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					if u.uid != 0 {
						for _, d := range []string{p, filepath.Dir(p), s} {
							if err := os.Chown(d, u.uid, u.uid); err != nil && kind != "missing" {
								t.Fatal(err)
							}
						}
						os.Chown(filepath.Join(p, "marker"), u.uid, u.uid)
					}
					before := snapshot(t, filepath.Dir(p))
					rounds := 5000
					if tr == "ptrace" {
						rounds = 2000 // a stop per call: slower
					}
					args := append(append([]string{fsshimBin}, transportFlags(tr)...), "--"+flag, p, "--", bin, p, s, strconv.Itoa(rounds))
					r, err := execute(proc{args: args, uid: u.uid})
					if err != nil {
						t.Fatal(err)
					}
					after := snapshot(t, filepath.Dir(p))
					if _, err := os.Lstat(p); kind == "missing" && !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("the --mount path %s, not on the host before, is there after: %v", p, err)
					}
					if kind == "missing" {
						// Its parent is a host directory the program may write
						// (torn path flips name files there).
						before = after
					}
					if before != after {
						t.Errorf("the host directory %s changed\nbefore:\n%s\nafter:\n%s\nthe program printed:\n%s", p, indent(before), indent(after), indent(r.stdout))
					}
					if r.exit != 0 || !strings.HasSuffix(r.stdout, "done\n") {
						t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exit, indent(r.stdout), indent(r.stderr))
					}
					t.Logf("routes:\n%s", indent(r.stdout))
				})
			}
		}
	}
}
