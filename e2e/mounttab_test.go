package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMountTable checks that a program sees each mount as a tmpfs of the
// size given with --size, the way df, findmnt and stat -f learn it (the
// mount table files in /proc, and statfs, whose free blocks follow what is
// written and removed): with the mount path on the
// host's file system wherever the test's temporary directory is (ext4,
// say), and with and without isolation (without it the host has no entry
// for the path at all). No native leg: natively the path is not a mount.
func TestMountTable(t *testing.T) {
	requireTool(t, "findmnt", "util-linux")
	requireTool(t, "df", "coreutils")
	for _, tr := range transports {
		for _, iso := range []bool{true, false} {
			name := tr
			if !iso {
				name += "/no-isolation"
			}
			t.Run(name, func(t *testing.T) {
				requireTransport(t, tr)
				mnt := filepath.Join(t.TempDir(), "m nt") // a space, escaped in the tables
				script := `set -e
cd "$1"
echo "stat: $(stat -f -c '%T %S %b' .)"
echo "df: $(df -P -T . | tail -n 1 | awk '{print $1, $2, $3}') $(df --output=target . | tail -n 1)"
echo "findmnt: $(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$1")"
for f in /proc/self/mountinfo /proc/mounts /proc/self/mounts /proc/1/mountinfo /proc/$$/mounts /proc/thread-self/mountstats; do
	echo "$f: $(grep -c fsshim "$f")"
done
free0=$(stat -f -c %f .)
head -c 1048576 /dev/zero > big
echo "1 MiB takes: $((free0 - $(stat -f -c %f .))) blocks"
rm big
echo "removed, back: $(($(stat -f -c %f .) - free0))"
mkdir -p sub/dir && cd sub/dir && echo "df sub: $(df --output=fstype,target . | tail -n 1)"
`
				args := append(append([]string{fsshimBin}, transportFlags(tr)...), "--size", "10M", "--mount", mnt)
				if !iso {
					args = append(args, "--no-isolation")
				}
				args = append(args, "--", "sh", "-c", script, "sh", mnt)
				r, err := execute(proc{args: args})
				if err != nil {
					t.Fatal(err)
				}
				if r.exit != 0 {
					t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exit, indent(r.stdout), indent(r.stderr))
				}
				want := fmt.Sprintf(`stat: tmpfs 4096 2560
df: fsshim tmpfs 10240 %[1]s
findmnt: fsshim tmpfs  rw,relatime,size=10240k,mode=755
/proc/self/mountinfo: 1
/proc/mounts: 1
/proc/self/mounts: 1
/proc/1/mountinfo: 1
/proc/$$/mounts: 1
/proc/thread-self/mountstats: 1
1 MiB takes: 256 blocks
removed, back: 0
df sub: tmpfs %[1]s
`, mnt)
				got := r.stdout
				// $$ is the shell's pid in its namespace.
				got = replaceProcPid(got)
				if n, a, b := firstDiff(want, got); n != 0 {
					t.Errorf("line %d\nwant: %s\ngot:  %s\nstdout:\n%s\nstderr:\n%s", n, a, b, indent(r.stdout), indent(r.stderr))
				}
				if _, err := os.Stat(mnt); iso && err == nil {
					t.Errorf("the mount path made for the run is still there")
				}
			})
		}
	}
}

// replaceProcPid writes "/proc/N/mounts:" as "/proc/$$/mounts:".
func replaceProcPid(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "/proc/"); ok {
			if pid, tail, ok := strings.Cut(rest, "/mounts:"); ok && pid != "self" && pid != "1" {
				lines[i] = "/proc/$$/mounts:" + tail
			}
		}
	}
	return strings.Join(lines, "\n")
}
