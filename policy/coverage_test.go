package policy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
)

// Every x86-64 syscall, classified by hand. A syscall the kernel adds
// later lands in none of these lists and fails TestEverySyscallClassified
// until someone decides whether it can name a file.

// takesFile: the syscall takes a path, a dirfd, or an fd naming a file
// (or a path inside a struct it points to). Each must be in the routing
// table: routed (emul answers it for mounts and continues elsewhere, or
// refuses it for mounts) or denied by the filter.
var takesFile = `
	open creat openat openat2 stat lstat newfstatat statx statfs access faccessat faccessat2
	mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 link linkat symlink symlinkat
	readlink readlinkat chdir fchdir getcwd truncate ftruncate chmod fchmod fchmodat fchmodat2
	chown fchown lchown fchownat utime utimes futimesat utimensat mknod mknodat
	setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr
	removexattr lremovexattr fremovexattr setxattrat getxattrat listxattrat removexattrat
	read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 lseek close
	close_range dup dup2 dup3 fcntl ioctl fstat fstatfs getdents getdents64 fallocate fsync
	fdatasync sync_file_range syncfs mmap sendfile copy_file_range splice tee fadvise64
	readahead flock
	execve execveat
	connect bind getsockname getpeername
	name_to_handle_at open_by_handle_at inotify_add_watch fanotify_mark chroot pivot_root
	open_tree open_tree_attr move_mount fsconfig fspick mount_setattr mount umount2
	acct swapon swapoff quotactl quotactl_fd uselib bpf landlock_add_rule finit_module
	kexec_file_load file_getattr file_setattr
`

// kernelServes: takes an fd that may be an emulated file's placeholder (a
// memfd or a real special node, see DESIGN.md) or an AF_UNIX path, and the
// kernel's own answer is the one a tmpfs file would get, or the call
// cannot change a file. Each says why it is not routed.
var kernelServes = map[string]string{
	"poll":             "readiness of a regular file: the placeholder is one",
	"select":           "as poll",
	"pselect6":         "as poll",
	"ppoll":            "as poll",
	"epoll_ctl":        "EPERM for a regular file, as for the placeholder",
	"epoll_ctl_old":    "not implemented on x86-64 (ENOSYS)",
	"vmsplice":         "needs a pipe; the placeholder is not one (EBADF), as a tmpfs file is not",
	"cachestat":        "page-cache statistics of the placeholder: read-only",
	"kcmp":             "KCMP_FILE compares open file descriptions: one placeholder per description",
	"pidfd_getfd":      "copies a placeholder like any fd (the fd-table caveat of DESIGN.md)",
	"prctl":            "PR_SET_MM_EXE_FILE names the placeholder as /proc/self/exe: changes no file",
	"sendto":           "an AF_UNIX datagram address is looked up on the host (README limit); sending changes no file",
	"sendmsg":          "as sendto; SCM_RIGHTS passes placeholders like any fd",
	"sendmmsg":         "as sendmsg",
	"recvmsg":          "SCM_RIGHTS receives placeholders like any fd",
	"recvmmsg":         "as recvmsg",
	"setns":            "takes a namespace fd; a placeholder is none (EINVAL)",
	"fsmount":          "takes an fs context fd from fsopen; a placeholder is none (EINVAL)",
	"statmount":        "takes a mount id, reads mount information only",
	"listmount":        "as statmount",
	"mq_open":          "a POSIX message queue name in the mqueue fs, not a path",
	"mq_unlink":        "as mq_open",
	"memfd_create":     "the name is a label, not a path",
	"fsopen":           "takes a file system type name",
	"sysfs":            "takes a file system type name",
	"delete_module":    "takes a module name",
	"perf_event_open":  "PERF_FLAG_PID_CGROUP takes a cgroup directory fd: cgroupfs, never a mount",
	"clone3":           "CLONE_INTO_CGROUP takes a cgroup directory fd: as perf_event_open",
	"inotify_rm_watch": "takes a watch descriptor",
}

// noFile: takes neither a path nor an fd naming a file. (umask and the
// set*id calls are routed all the same: emul mirrors them.)
var noFile = `
	mprotect munmap brk rt_sigaction rt_sigprocmask rt_sigreturn pipe sched_yield mremap msync
	mincore madvise shmget shmat shmctl pause nanosleep getitimer alarm setitimer getpid socket
	accept recvfrom shutdown listen socketpair setsockopt getsockopt clone fork vfork exit
	wait4 kill uname semget semop semctl shmdt msgget msgsnd msgrcv msgctl umask gettimeofday
	getrlimit getrusage sysinfo times ptrace getuid syslog getgid setuid setgid geteuid getegid
	setpgid getppid getpgrp setsid setreuid setregid getgroups setgroups setresuid getresuid
	setresgid getresgid getpgid setfsuid setfsgid getsid capget capset rt_sigpending
	rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack personality ustat getpriority
	setpriority sched_setparam sched_getparam sched_setscheduler sched_getscheduler
	sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock mlockall
	munlockall vhangup modify_ldt _sysctl arch_prctl adjtimex setrlimit sync settimeofday
	reboot sethostname setdomainname iopl ioperm create_module init_module get_kernel_syms
	query_module nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid tkill time
	futex sched_setaffinity sched_getaffinity set_thread_area io_setup io_destroy io_getevents
	io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_wait_old
	remap_file_pages set_tid_address restart_syscall semtimedop timer_create timer_settime
	timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres
	clock_nanosleep exit_group epoll_wait tgkill vserver mbind set_mempolicy get_mempolicy
	mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key
	keyctl ioprio_set ioprio_get inotify_init migrate_pages unshare set_robust_list
	get_robust_list move_pages epoll_pwait signalfd timerfd_create eventfd timerfd_settime
	timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 pipe2 inotify_init1
	rt_tgsigqueueinfo fanotify_init prlimit64 clock_adjtime getcpu process_vm_readv
	process_vm_writev sched_setattr sched_getattr seccomp getrandom userfaultfd membarrier
	mlock2 pkey_mprotect pkey_alloc pkey_free io_pgetevents rseq uretprobe pidfd_send_signal
	io_uring_setup io_uring_enter io_uring_register pidfd_open process_madvise epoll_pwait2
	landlock_create_ruleset landlock_restrict_self memfd_secret process_mrelease futex_waitv
	set_mempolicy_home_node map_shadow_stack futex_wake futex_wait futex_requeue
	lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal listns rseq_slice_yield uprobe
`

// x86Syscalls returns every x86-64 syscall fsshim's dependencies know:
// go-seccomp-bpf's table and the SYS_ constants of the x/sys/unix this
// module builds with (read from its source, which may be newer).
func x86Syscalls(t *testing.T) map[int]string {
	all := map[int]string{}
	for name, nr := range arch.X86_64.SyscallNames {
		all[nr] = name
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	if err != nil {
		t.Fatalf("go list -m golang.org/x/sys: %v", err)
	}
	f, err := os.Open(filepath.Join(strings.TrimSpace(string(out)), "unix", "zsysnum_linux_amd64.go"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^\s*SYS_([A-Z0-9_]+)\s*=\s*(\d+)\s*$`)
	s := bufio.NewScanner(f)
	n := 0
	for s.Scan() {
		m := re.FindStringSubmatch(s.Text())
		if m == nil {
			continue
		}
		nr, _ := strconv.Atoi(m[2])
		name := strings.ToLower(m[1])
		if old, ok := all[nr]; ok && old != name {
			t.Errorf("syscall %d is %s in go-seccomp-bpf but %s in x/sys", nr, old, name)
		}
		all[nr] = name
		n++
	}
	if err := s.Err(); err != nil || n < 300 {
		t.Fatalf("reading x/sys's syscall table: %v (%d entries)", err, n)
	}
	return all
}

// TestEverySyscallClassified walks the whole x86-64 table: every syscall
// must be in exactly one of takesFile, kernelServes and noFile, and every
// one in takesFile must be routed or denied.
func TestEverySyscallClassified(t *testing.T) {
	class := map[string]string{}
	add := func(list, names string) {
		for _, n := range strings.Fields(names) {
			if prev, ok := class[n]; ok {
				t.Errorf("%s is in both %s and %s", n, prev, list)
			}
			class[n] = list
		}
	}
	add("takesFile", takesFile)
	add("noFile", noFile)
	for n := range kernelServes {
		add("kernelServes", n)
	}
	all := x86Syscalls(t)
	seen := map[string]bool{}
	for nr := 0; nr < 1024; nr++ {
		name, ok := all[nr]
		if !ok {
			continue
		}
		seen[name] = true
		c, ok := class[name]
		if !ok {
			t.Errorf("unclassified syscall %d %s: add it to takesFile (and route or deny it), kernelServes or noFile", nr, name)
			continue
		}
		if c != "takesFile" {
			continue
		}
		r, ok := Lookup(nr)
		if !ok || r.Name != name {
			t.Errorf("syscall %d %s takes a path or names a file by fd but is neither routed nor denied", nr, name)
		}
	}
	for n, c := range class {
		if !seen[n] {
			t.Errorf("%s (in %s) is not an x86-64 syscall", n, c)
		}
	}
	// The routing table holds nothing the lists call fileless but the
	// calls emul mirrors.
	for _, r := range Rules() {
		if class[r.Name] != "takesFile" && r.Class != Exec && r.Class != Deny {
			t.Errorf("%s is routed as %v but not listed in takesFile", r.Name, r.Class)
		}
	}
}
