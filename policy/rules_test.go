package policy

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
)

// The routing table as the design states it, one class a line. Rules() must
// hold exactly these names, each with its class.
var specRules = map[Class]string{
	Path: `open creat openat openat2 stat lstat newfstatat statx statfs access faccessat faccessat2
		mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 link linkat symlink symlinkat
		readlink readlinkat chdir getcwd truncate chmod fchmodat fchmodat2 chown lchown fchownat
		utimensat utime utimes futimesat mknod mknodat setxattr lsetxattr getxattr lgetxattr
		listxattr llistxattr removexattr lremovexattr setxattrat getxattrat listxattrat removexattrat
		name_to_handle_at inotify_add_watch chroot open_tree open_tree_attr move_mount fsconfig fspick
		mount_setattr mount umount2 acct swapon swapoff quotactl fanotify_mark bpf file_getattr file_setattr`,
	FD: `read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 lseek close
		close_range dup dup2 dup3 fcntl fstat fstatfs getdents getdents64 fchdir ftruncate fallocate
		fsync fdatasync sync_file_range syncfs fchmod fchown fsetxattr fgetxattr flistxattr
		fremovexattr ioctl mmap sendfile copy_file_range splice tee fadvise64 readahead flock
		quotactl_fd landlock_add_rule finit_module kexec_file_load`,
	Exec:   `execve execveat umask setuid setgid setreuid setregid setgroups setresuid setresgid setfsuid setfsgid`,
	Deny:   `io_uring_setup io_uring_enter io_uring_register io_setup open_by_handle_at pivot_root uselib`,
	Socket: `connect bind getsockname getpeername`,
}

func TestRulesMatchSpec(t *testing.T) {
	got := map[Class][]string{}
	for _, r := range Rules() {
		got[r.Class] = append(got[r.Class], r.Name)
	}
	for c, names := range specRules {
		want := strings.Fields(names)
		sort.Strings(want)
		g := got[c]
		sort.Strings(g)
		if !slices.Equal(g, want) {
			t.Errorf("class %v:\n got  %v\n want %v", c, g, want)
		}
		delete(got, c)
	}
	for c, names := range got {
		t.Errorf("rules with unexpected class %v: %v", c, names)
	}
}

func TestRulesSortedUniqueAndNumbered(t *testing.T) {
	rs := Rules()
	names := map[string]bool{}
	for i, r := range rs {
		if i > 0 && rs[i-1].Nr >= r.Nr {
			t.Errorf("Rules() not strictly sorted by Nr at %d: %v then %v", i, rs[i-1], r)
		}
		if names[r.Name] {
			t.Errorf("%s listed twice", r.Name)
		}
		names[r.Name] = true
		// The library's table comes from the kernel's syscall_64.tbl; x/sys
		// from the kernel headers. They must agree.
		if nr, ok := arch.X86_64.SyscallNames[r.Name]; ok && nr != r.Nr {
			t.Errorf("%s: Nr %d, go-seccomp-bpf says %d", r.Name, r.Nr, nr)
		}
		if got, ok := Lookup(r.Nr); !ok || got != r {
			t.Errorf("Lookup(%d) = %v, %v; want %v", r.Nr, got, ok, r)
		}
	}
	// Spot checks against syscall_64.tbl, including the new ones.
	for name, nr := range map[string]int{
		"read": 0, "open": 2, "mmap": 9, "execve": 59, "newfstatat": 262, "io_uring_setup": 425,
		"open_tree": 428, "fchmodat2": 452, "setxattrat": 463, "getxattrat": 464,
		"listxattrat": 465, "removexattrat": 466,
	} {
		var found bool
		for _, r := range rs {
			if r.Name == name {
				found = true
				if r.Nr != nr {
					t.Errorf("%s = %d, want %d", name, r.Nr, nr)
				}
			}
		}
		if !found {
			t.Errorf("%s missing", name)
		}
	}
	if _, ok := Lookup(39); ok { // getpid
		t.Errorf("Lookup(getpid) found a rule")
	}
}

func TestRulesIsACopy(t *testing.T) {
	Rules()[0].Class = Deny
	if Rules()[0].Class == Deny {
		t.Errorf("changing Rules()' result changed the table")
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Path: "path", FD: "fd", Exec: "exec", Deny: "deny", Socket: "sock", 0: "Class(0)"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}
