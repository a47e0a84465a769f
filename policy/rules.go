package policy

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Class says how a routed syscall is handled.
type Class int

const (
	// Path syscalls take a path (maybe plus a dirfd); they are always routed
	// and the supervisor answers "continue" for paths outside the mounts.
	Path Class = iota + 1
	// FD syscalls operate on a file descriptor; they are always routed and
	// the supervisor answers "continue" for host fds.
	FD
	// Exec syscalls change process state the supervisor mirrors: execve and
	// execveat (close-on-exec descriptors go away), umask (the mode of
	// files the supervisor creates) and the set*id family (the credentials
	// permissions are checked with). They are always answered "continue".
	Exec
	// Deny syscalls are answered ENOSYS by the filter itself. They are side
	// doors no filter can watch (io_uring submits file operations from the
	// kernel; a file handle opens an inode without a path; pivot_root
	// makes the host directory behind a mount reachable by other paths);
	// programs fall back to plain syscalls or fail cleanly.
	Deny
	// Socket syscalls take or report an AF_UNIX socket address, which may
	// name a path in a mount: bind creates the socket's inode there,
	// connect looks it up, getsockname and getpeername report the name it
	// was bound by. Every other address is answered "continue".
	Socket
)

var classNames = map[Class]string{
	Path:   "path",
	FD:     "fd",
	Exec:   "exec",
	Deny:   "deny",
	Socket: "sock",
}

func (c Class) String() string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Rule routes one x86-64 syscall.
type Rule struct {
	Name string // as in the kernel's arch/x86/entry/syscalls/syscall_64.tbl
	Nr   int    // x86-64 syscall number
	// Class decides the filter's action; see the Class constants.
	Class Class
}

// rules is the x86-64 routing table, grouped by class as in the design. The
// numbers are x/sys/unix's, which come from the kernel headers; a test checks
// them against go-seccomp-bpf's table.
var rules = []Rule{
	// Path: the syscall names a file by path.
	{"open", unix.SYS_OPEN, Path},
	{"creat", unix.SYS_CREAT, Path},
	{"openat", unix.SYS_OPENAT, Path},
	{"openat2", unix.SYS_OPENAT2, Path},
	{"stat", unix.SYS_STAT, Path},
	{"lstat", unix.SYS_LSTAT, Path},
	{"newfstatat", unix.SYS_NEWFSTATAT, Path},
	{"statx", unix.SYS_STATX, Path},
	{"statfs", unix.SYS_STATFS, Path},
	{"access", unix.SYS_ACCESS, Path},
	{"faccessat", unix.SYS_FACCESSAT, Path},
	{"faccessat2", unix.SYS_FACCESSAT2, Path},
	{"mkdir", unix.SYS_MKDIR, Path},
	{"mkdirat", unix.SYS_MKDIRAT, Path},
	{"rmdir", unix.SYS_RMDIR, Path},
	{"unlink", unix.SYS_UNLINK, Path},
	{"unlinkat", unix.SYS_UNLINKAT, Path},
	{"rename", unix.SYS_RENAME, Path},
	{"renameat", unix.SYS_RENAMEAT, Path},
	{"renameat2", unix.SYS_RENAMEAT2, Path},
	{"link", unix.SYS_LINK, Path},
	{"linkat", unix.SYS_LINKAT, Path},
	{"symlink", unix.SYS_SYMLINK, Path},
	{"symlinkat", unix.SYS_SYMLINKAT, Path},
	{"readlink", unix.SYS_READLINK, Path},
	{"readlinkat", unix.SYS_READLINKAT, Path},
	{"chdir", unix.SYS_CHDIR, Path},
	{"getcwd", unix.SYS_GETCWD, Path},
	{"truncate", unix.SYS_TRUNCATE, Path},
	{"chmod", unix.SYS_CHMOD, Path},
	{"fchmodat", unix.SYS_FCHMODAT, Path},
	{"fchmodat2", unix.SYS_FCHMODAT2, Path}, // 452
	{"chown", unix.SYS_CHOWN, Path},
	{"lchown", unix.SYS_LCHOWN, Path},
	{"fchownat", unix.SYS_FCHOWNAT, Path},
	{"utimensat", unix.SYS_UTIMENSAT, Path},
	{"utime", unix.SYS_UTIME, Path},
	{"utimes", unix.SYS_UTIMES, Path},
	{"futimesat", unix.SYS_FUTIMESAT, Path},
	{"mknod", unix.SYS_MKNOD, Path},
	{"mknodat", unix.SYS_MKNODAT, Path},
	{"setxattr", unix.SYS_SETXATTR, Path},
	{"lsetxattr", unix.SYS_LSETXATTR, Path},
	{"getxattr", unix.SYS_GETXATTR, Path},
	{"lgetxattr", unix.SYS_LGETXATTR, Path},
	{"listxattr", unix.SYS_LISTXATTR, Path},
	{"llistxattr", unix.SYS_LLISTXATTR, Path},
	{"removexattr", unix.SYS_REMOVEXATTR, Path},
	{"lremovexattr", unix.SYS_LREMOVEXATTR, Path},
	{"setxattrat", unix.SYS_SETXATTRAT, Path},       // 463
	{"getxattrat", unix.SYS_GETXATTRAT, Path},       // 464
	{"listxattrat", unix.SYS_LISTXATTRAT, Path},     // 465
	{"removexattrat", unix.SYS_REMOVEXATTRAT, Path}, // 466
	{"name_to_handle_at", unix.SYS_NAME_TO_HANDLE_AT, Path},
	{"inotify_add_watch", unix.SYS_INOTIFY_ADD_WATCH, Path},
	{"chroot", unix.SYS_CHROOT, Path},
	{"open_tree", unix.SYS_OPEN_TREE, Path}, // 428
	// Calls that attach a kernel object to a file, or a mount to a tree:
	// no ramfs can serve them, so emul (emul/sys_route.go) refuses them
	// for a file in a mount, and for a host tree holding one where the
	// call would clone or move it, and lets the host run the rest.
	{"open_tree_attr", unix.SYS_OPEN_TREE_ATTR, Path}, // 467
	{"move_mount", unix.SYS_MOVE_MOUNT, Path},         // 429
	{"fsconfig", unix.SYS_FSCONFIG, Path},             // 431: FSCONFIG_SET_PATH, _FD, source=
	{"fspick", unix.SYS_FSPICK, Path},                 // 433
	{"mount_setattr", unix.SYS_MOUNT_SETATTR, Path},   // 442
	{"mount", unix.SYS_MOUNT, Path},
	{"umount2", unix.SYS_UMOUNT2, Path},
	{"acct", unix.SYS_ACCT, Path},
	{"swapon", unix.SYS_SWAPON, Path},
	{"swapoff", unix.SYS_SWAPOFF, Path},
	{"quotactl", unix.SYS_QUOTACTL, Path},
	{"fanotify_mark", unix.SYS_FANOTIFY_MARK, Path},
	{"bpf", unix.SYS_BPF, Path}, // BPF_OBJ_PIN and BPF_OBJ_GET take a path
	// file_getattr and file_setattr (Linux 6.17) are answered as the
	// FS_IOC_GETFLAGS/SETFLAGS ioctls are: a ramfs file has no flags.
	// Numbers from arch/x86/entry/syscalls/syscall_64.tbl.
	{"file_getattr", unix.SYS_FILE_GETATTR, Path}, // 468
	{"file_setattr", unix.SYS_FILE_SETATTR, Path}, // 469

	// FD: the syscall works on an open file descriptor.
	{"read", unix.SYS_READ, FD},
	{"write", unix.SYS_WRITE, FD},
	{"pread64", unix.SYS_PREAD64, FD},
	{"pwrite64", unix.SYS_PWRITE64, FD},
	{"readv", unix.SYS_READV, FD},
	{"writev", unix.SYS_WRITEV, FD},
	{"preadv", unix.SYS_PREADV, FD},
	{"pwritev", unix.SYS_PWRITEV, FD},
	{"preadv2", unix.SYS_PREADV2, FD},
	{"pwritev2", unix.SYS_PWRITEV2, FD},
	{"lseek", unix.SYS_LSEEK, FD},
	{"close", unix.SYS_CLOSE, FD},
	{"close_range", unix.SYS_CLOSE_RANGE, FD},
	{"dup", unix.SYS_DUP, FD},
	{"dup2", unix.SYS_DUP2, FD},
	{"dup3", unix.SYS_DUP3, FD},
	{"fcntl", unix.SYS_FCNTL, FD},
	{"fstat", unix.SYS_FSTAT, FD},
	{"fstatfs", unix.SYS_FSTATFS, FD},
	{"getdents", unix.SYS_GETDENTS, FD},
	{"getdents64", unix.SYS_GETDENTS64, FD},
	{"fchdir", unix.SYS_FCHDIR, FD},
	{"ftruncate", unix.SYS_FTRUNCATE, FD},
	{"fallocate", unix.SYS_FALLOCATE, FD},
	{"fsync", unix.SYS_FSYNC, FD},
	{"fdatasync", unix.SYS_FDATASYNC, FD},
	{"sync_file_range", unix.SYS_SYNC_FILE_RANGE, FD},
	{"syncfs", unix.SYS_SYNCFS, FD},
	{"fchmod", unix.SYS_FCHMOD, FD},
	{"fchown", unix.SYS_FCHOWN, FD},
	{"fsetxattr", unix.SYS_FSETXATTR, FD},
	{"fgetxattr", unix.SYS_FGETXATTR, FD},
	{"flistxattr", unix.SYS_FLISTXATTR, FD},
	{"fremovexattr", unix.SYS_FREMOVEXATTR, FD},
	{"ioctl", unix.SYS_IOCTL, FD},
	{"mmap", unix.SYS_MMAP, FD}, // only file-backed mappings: see Program
	{"sendfile", unix.SYS_SENDFILE, FD},
	{"copy_file_range", unix.SYS_COPY_FILE_RANGE, FD},
	{"splice", unix.SYS_SPLICE, FD},
	{"tee", unix.SYS_TEE, FD},
	{"fadvise64", unix.SYS_FADVISE64, FD},
	{"readahead", unix.SYS_READAHEAD, FD},
	{"flock", unix.SYS_FLOCK, FD},
	// An emulated fd is refused: the kernel would see the placeholder.
	{"quotactl_fd", unix.SYS_QUOTACTL_FD, FD},             // 443
	{"landlock_add_rule", unix.SYS_LANDLOCK_ADD_RULE, FD}, // 445: parent_fd in rule_attr
	{"finit_module", unix.SYS_FINIT_MODULE, FD},
	{"kexec_file_load", unix.SYS_KEXEC_FILE_LOAD, FD},

	// Exec: the fd table changes (close-on-exec).
	{"execve", unix.SYS_EXECVE, Exec},
	{"execveat", unix.SYS_EXECVEAT, Exec},
	{"umask", unix.SYS_UMASK, Exec},
	// Credential changes: permission checks use the new ids.
	{"setuid", unix.SYS_SETUID, Exec},
	{"setgid", unix.SYS_SETGID, Exec},
	{"setreuid", unix.SYS_SETREUID, Exec},
	{"setregid", unix.SYS_SETREGID, Exec},
	{"setgroups", unix.SYS_SETGROUPS, Exec},
	{"setresuid", unix.SYS_SETRESUID, Exec},
	{"setresgid", unix.SYS_SETRESGID, Exec},
	{"setfsuid", unix.SYS_SETFSUID, Exec},
	{"setfsgid", unix.SYS_SETFSGID, Exec},

	// Socket: AF_UNIX addresses may be paths in a mount.
	{"connect", unix.SYS_CONNECT, Socket},
	{"bind", unix.SYS_BIND, Socket},
	{"getsockname", unix.SYS_GETSOCKNAME, Socket},
	{"getpeername", unix.SYS_GETPEERNAME, Socket},

	// Deny: side doors that bypass every seccomp filter.
	{"io_uring_setup", unix.SYS_IO_URING_SETUP, Deny},
	{"io_uring_enter", unix.SYS_IO_URING_ENTER, Deny},
	{"io_uring_register", unix.SYS_IO_URING_REGISTER, Deny},
	// Linux AIO submits reads and writes the filter never sees either.
	{"io_setup", unix.SYS_IO_SETUP, Deny},
	// A file handle names an inode without a path: with
	// CAP_DAC_READ_SEARCH a handle of the host file behind a mount (made
	// on the host, or guessed: on most file systems it is the inode and
	// generation numbers) would open it, and no path is there to check.
	{"open_by_handle_at", unix.SYS_OPEN_BY_HANDLE_AT, Deny},
	// pivot_root moves the old root under a new one, where every host
	// directory behind a mount is reachable by a path fsshim takes for a
	// host path; there is no safe answer but "no".
	{"pivot_root", unix.SYS_PIVOT_ROOT, Deny},
	// uselib loads a library by path (ENOSYS on most kernels already).
	{"uselib", unix.SYS_USELIB, Deny},
}

// sortedRules is rules sorted by number; byNr indexes it by number.
var (
	sortedRules []Rule
	byNr        map[int]Rule
)

func init() {
	sortedRules = slices.Clone(rules)
	slices.SortFunc(sortedRules, func(a, b Rule) int { return a.Nr - b.Nr })
	byNr = make(map[int]Rule, len(sortedRules))
	for _, r := range sortedRules {
		if _, dup := byNr[r.Nr]; dup {
			panic(fmt.Sprintf("policy: syscall %d (%s) is in the routing table twice", r.Nr, r.Name))
		}
		byNr[r.Nr] = r
	}
}

// Rules returns the x86-64 routing table sorted by syscall number. The
// caller owns the returned slice.
func Rules() []Rule {
	return slices.Clone(sortedRules)
}

// Lookup returns the rule for x86-64 syscall number nr, if it has one.
func Lookup(nr int) (Rule, bool) {
	r, ok := byNr[nr]
	return r, ok
}

// Data says where the data of regular files in a mount is served.
type Data int

const (
	// Passthrough: a program's fd onto a ramfs file is an fd onto the
	// file's backing file in kernel memory (ramfs/backing), and the
	// kernel serves the data calls (DataCalls) unrouted.
	Passthrough Data = iota
	// Forward: every fd call is routed and fsshim serves the data from
	// its own memory ("every file call forwarded").
	Forward
)

func (d Data) String() string {
	switch d {
	case Passthrough:
		return "passthrough"
	case Forward:
		return "forward"
	}
	return fmt.Sprintf("Data(%d)", int(d))
}

// ParseData is the inverse of Data.String, for command-line flags.
func ParseData(s string) (Data, error) {
	switch s {
	case "passthrough":
		return Passthrough, nil
	case "forward":
		return Forward, nil
	}
	return 0, fmt.Errorf("unknown data mode %q (want passthrough or forward)", s)
}

// dataCalls are the fd calls that only move or describe data, or drop an
// fd: on a backing file the kernel answers them as it would on tmpfs, and
// on any other fd fsshim has nothing to add, so under Passthrough they
// are not routed. Calls on fds that need the ramfs's metadata (fstat,
// fchmod, fchown, fxattr, fstatfs), directory fds (getdents, fchdir), the
// dup family and fcntl (which keep emul's placeholders of directories
// known) and ioctl, mmap and flock (which a directory placeholder would
// answer unlike a directory) stay routed; so does lseek, which positions
// a directory's listing, and the fsync family, which the placeholder of
// an O_PATH description (an fd with neither read nor write access, as
// O_PATH cannot be installed) would answer 0 instead of EBADF.
var dataCalls = map[int]bool{
	unix.SYS_READ:            true,
	unix.SYS_WRITE:           true,
	unix.SYS_PREAD64:         true,
	unix.SYS_PWRITE64:        true,
	unix.SYS_READV:           true,
	unix.SYS_WRITEV:          true,
	unix.SYS_PREADV:          true,
	unix.SYS_PWRITEV:         true,
	unix.SYS_PREADV2:         true,
	unix.SYS_PWRITEV2:        true,
	unix.SYS_CLOSE:           true,
	unix.SYS_CLOSE_RANGE:     true,
	unix.SYS_FTRUNCATE:       true,
	unix.SYS_FALLOCATE:       true,
	unix.SYS_SENDFILE:        true,
	unix.SYS_COPY_FILE_RANGE: true,
	unix.SYS_SPLICE:          true,
	unix.SYS_TEE:             true,
	unix.SYS_FADVISE64:       true,
	unix.SYS_READAHEAD:       true,
}

// cmdRoute is a routed call whose command argument decides whether fsshim
// has anything to do with it: the filter routes it only for the commands
// in cmds and allows every other one.
type cmdRoute struct {
	arg  int      // index of the command argument (an unsigned int in the kernel)
	cmds []uint32 // commands routed, in the order the filter tests them
	// names spell cmds for --dump-policy and --stats, in the same order.
	names []string
}

// cmdCalls are the calls Passthrough routes only for some commands.
//
// fcntl: emul answers F_GETFL and F_SETFL (the flags of a description are
// its own, not its placeholder's) and the POSIX and OFD lock commands of
// an emulated fd, and learns of the new fd of F_DUPFD and
// F_DUPFD_CLOEXEC; every other command (F_GETFD, F_SETFD, F_SETOWN,
// leases, seals, pipe sizes, ...) it continues on any fd, so the kernel
// answers them unrouted. The kernel reads the command as an unsigned int:
// the filter compares the low 32 bits of the argument alone.
var cmdCalls = map[int]cmdRoute{
	unix.SYS_FCNTL: {
		arg: 1,
		cmds: []uint32{unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_GETFL, unix.F_SETFL,
			unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW},
		names: []string{"F_DUPFD", "F_DUPFD_CLOEXEC", "F_GETFL", "F_SETFL",
			"F_GETLK", "F_SETLK", "F_SETLKW", "F_OFD_GETLK", "F_OFD_SETLK", "F_OFD_SETLKW"},
	},
}

// cmdRoutesUnder returns the calls routed by command under data mode d:
// none under Forward (every fd call is routed), and under Passthrough
// those of cmdCalls that no fault injection names (extra: those are
// routed whole).
func cmdRoutesUnder(d Data, extra ...int) map[int]cmdRoute {
	if d != Passthrough {
		return nil
	}
	out := map[int]cmdRoute{}
	for nr, c := range cmdCalls {
		if !slices.Contains(extra, nr) {
			out[nr] = c
		}
	}
	return out
}

// CmdRouted describes, for --stats, the calls data mode d routes only for
// some commands (extra as for RoutedUnder): "fcntl (only F_DUPFD, ...)".
func CmdRouted(d Data, extra ...int) []string {
	var out []string
	routes := cmdRoutesUnder(d, extra...)
	for _, r := range sortedRules {
		if c, ok := routes[r.Nr]; ok {
			out = append(out, fmt.Sprintf("%s (only %s)", r.Name, strings.Join(c.names, ", ")))
		}
	}
	return out
}

// DataCalls returns the rules of the calls Passthrough leaves unrouted,
// sorted by number.
func DataCalls() []Rule {
	var out []Rule
	for _, r := range sortedRules {
		if dataCalls[r.Nr] {
			out = append(out, r)
		}
	}
	return out
}

// RoutedUnder returns the rules routed (or denied) under data mode d,
// sorted by number. extra names data calls to route all the same (a
// fault injected into them).
func RoutedUnder(d Data, extra ...int) []Rule {
	if d == Forward {
		return Rules()
	}
	var out []Rule
	for _, r := range sortedRules {
		if !dataCalls[r.Nr] || slices.Contains(extra, r.Nr) {
			out = append(out, r)
		}
	}
	return out
}
