package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSysroute runs e2e/cprog/sysroute.c under fsshim: each route tries
// one syscall that, left to the kernel, would reach the host directory
// behind a mount (acct, file_setattr, file handles, open_tree(_attr)
// clones, bind mounts, chroot, inotify, fanotify, quotactl(_fd),
// swapon/swapoff, mount_setattr, fspick, move_mount, fsconfig, bpf object
// pins, landlock rules, finit_module), reports what each call
// answered, and goes on to write through whatever got through. The
// answers must be fsshim's refusals, and the host directory must be
// unchanged byte for byte, including owners, ctimes, inode flags
// (FS_IOC_GETFLAGS: file_setattr's nodump) and extended attributes.
// Natively every route succeeds and changes the directory, so there is no
// oracle leg: the expected answers are written here. The runs use
// --no-isolation: this is the policy and emul layer on its own (in the
// program's namespaces, a root program lacks CAP_SYS_ADMIN and the kernel
// refuses mount, unshare and fanotify_init before fsshim is asked;
// TestRoutesToHostDirs covers that layer).
func TestSysroute(t *testing.T) {
	bin := requireHelper(t, "sysroute")
	for _, r := range sysrouteCases {
		for _, tr := range []string{"unotify", "ptrace"} {
			for _, uid := range []int{0, nobody} {
				want := r.root
				name := r.route + "/" + tr
				if uid != 0 {
					if r.nobody == "" {
						continue
					}
					want = r.nobody
					name += asNobody
				}
				t.Run(name, func(t *testing.T) {
					if os.Geteuid() != 0 {
						t.Skip("needs root (to run as root and as nobody)")
					}
					requireFsshim(t)
					requireTransport(t, tr)
					w, checkHost := mountDir(t)
					if uid != 0 {
						if err := os.Chown(w, uid, uid); err != nil {
							t.Fatal(err)
						}
					}
					before := hostAttrs(t, filepath.Dir(w))
					res, err := execute(proc{args: noIsolation(fsshimTransportArgs(tr, []string{w}, bin, r.route, w)), uid: uid})
					if err != nil {
						t.Fatal(err)
					}
					checkHost()
					if after := hostAttrs(t, filepath.Dir(w)); after != before {
						t.Errorf("owners, ctimes, flags or xattrs under the host directory changed\nbefore:\n%s\nafter:\n%s", before, after)
					}
					if res.exit != 0 || res.stdout != want {
						t.Errorf("sysroute %s: exit %d\ngot:\n%s\nwant:\n%s\nstderr:\n%s", r.route, res.exit, indent(res.stdout), indent(want), indent(res.stderr))
					}
				})
			}
		}
	}
}

// sysrouteCases are the routes with what sysroute prints under fsshim as
// root and as nobody ("" = not run as nobody: the route needs privileges
// nobody lacks before it reaches the call under test).
var sysrouteCases = []struct{ route, root, nobody string }{
	{"acct", `
acct: EPERM
acct-sentinel: ENOENT`, "="},
	{"file_setattr", `
file_getattr: ok
xflags: 0
file_setattr-nodump: EOPNOTSUPP
file_setattr-sentinel: ENOENT
file_setattr-dir: EOPNOTSUPP
file_setattr-clear: ok
FS_IOC_SETFLAGS-nodump: EOPNOTSUPP
FS_IOC_GETFLAGS: ok`, "="},
	{"handle", `
name_to_handle_at: EOPNOTSUPP
name_to_handle_at-sentinel: ENOENT
name_to_handle_at-dir: EOPNOTSUPP
name_to_handle_at-parent: ok
open_by_handle_at-parent: ENOSYS`, "="},
	{"open_tree", `
open_tree-mount: EOPNOTSUPP
open_tree-parent: EPERM
open_tree-plain: EOPNOTSUPP`, `
open_tree-mount: EPERM
open_tree-parent: EPERM
open_tree-plain: EOPNOTSUPP`},
	{"open_tree_attr", `
open_tree-mount: EOPNOTSUPP
open_tree-parent: EPERM
open_tree-plain: EOPNOTSUPP`, `
open_tree-mount: EPERM
open_tree-parent: EPERM
open_tree-plain: EOPNOTSUPP`},
	{"mount", `
mount-bind: EPERM
mount-bind-parent: EPERM
mount-onto: EPERM
umount2: EINVAL`, ""},
	{"chroot", `
chroot-mount: EOPNOTSUPP
chroot-parent: EPERM`, `
chroot-mount: EPERM
chroot-parent: EPERM`},
	{"inotify", `
inotify_add_watch: EOPNOTSUPP
inotify_add_watch-file: EOPNOTSUPP`, "="},
	{"fanotify", `
fanotify_mark: EOPNOTSUPP
fanotify_mark-dirfd: EOPNOTSUPP`, ""},
	// A quota file in a mount is refused (EXDEV) before the kernel looks
	// at the device.
	{"quotactl", `
quotactl-special: ENOTBLK
quotactl-quotaon-file: EXDEV
quotactl_fd: ENOSYS`, "="},
	{"swap", `
swapon: EINVAL
swapoff: EINVAL
swapon-sentinel: ENOENT`, `
swapon: EPERM
swapoff: EPERM
swapon-sentinel: ENOENT`},
	{"newmount", `
mount_setattr: EPERM
mount_setattr-fd: EPERM
fspick: EPERM
fspick-fd: EPERM
move_mount-from: EPERM
move_mount-onto: EPERM
fsconfig-path: EPERM
fsconfig-string: EPERM
fsconfig-fd: EPERM`, `
mount_setattr: EPERM
mount_setattr-fd: EPERM
fspick: EPERM
fspick-fd: EPERM
move_mount-from: EPERM
move_mount-onto: EPERM
fsopen: EPERM`},
	{"bpf", `
bpf-obj_get: EPERM
bpf-obj_pin: EPERM
bpf-obj_get-sentinel: ENOENT`, "="},
	{"landlock", `
landlock_create_ruleset: ok
landlock_add_rule: EOPNOTSUPP
landlock_add_rule-host: ok`, "="},
	{"finit_module", `
finit_module: EOPNOTSUPP`, `
finit_module: EPERM`},
}

func init() {
	// Every route ends with what the program sees: the hidden sentinel
	// and no file written through a side door.
	const tail = "sentinel: ENOENT\nescaped: ENOENT\n"
	for i := range sysrouteCases {
		c := &sysrouteCases[i]
		c.root = strings.TrimPrefix(c.root, "\n") + "\n" + tail
		switch c.nobody {
		case "":
		case "=":
			c.nobody = c.root
		default:
			c.nobody = strings.TrimPrefix(c.nobody, "\n") + "\n" + tail
		}
	}
}

// hostAttrs describes what snapshot leaves out for every file under dir:
// owner, ctime (any metadata change moves it), the inode flags
// FS_IOC_GETFLAGS reports (nodump, append, immutable: what file_setattr
// sets) and the extended attributes with their values.
func hostAttrs(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%s uid=%d gid=%d ctime=%d.%09d", rel, st.Uid, st.Gid, st.Ctim.Sec, st.Ctim.Nsec)
		if d.Type().IsRegular() || d.IsDir() {
			flags, err := inodeFlags(p)
			if err != nil && err != syscall.ENOTTY {
				return fmt.Errorf("FS_IOC_GETFLAGS %s: %w", p, err)
			}
			line += fmt.Sprintf(" flags=%#x", flags)
		}
		names, err := xattrNames(p)
		if err != nil && err != syscall.ENOTSUP {
			return fmt.Errorf("llistxattr %s: %w", p, err)
		}
		for _, name := range names {
			v, err := xattrValue(p, name)
			if err != nil {
				return fmt.Errorf("lgetxattr %s %s: %w", p, name, err)
			}
			line += fmt.Sprintf(" %s=%q", name, v)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("hostAttrs %s: %v", dir, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// noIsolation adds --no-isolation to an fsshim command line.
func noIsolation(args []string) []string {
	return append([]string{args[0], "--no-isolation"}, args[1:]...)
}
