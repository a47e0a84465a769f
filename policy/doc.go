// Package policy is fsshim's policy as data: the mount table (which paths
// the supervisor answers from ramfs), the syscall routing table (which x86-64
// syscalls the seccomp filter sends to the supervisor, and why) and the
// classic-BPF seccomp program built from them.
//
// Everything here is pure and deterministic: nothing in this package makes a
// system call, loads a filter or touches the file system, so all of it can be
// printed (Dump) and tested without a kernel. The caller installs the program
// itself with seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER)
// so that it keeps the listener fd.
//
// The program is built for x86-64 only. Its shape is:
//
//	arch guard      seccomp_data.arch != AUDIT_ARCH_X86_64      -> KILL_PROCESS
//	x32 guard       nr >= 0x40000000 (except nr == -1)          -> KILL_PROCESS
//	hand-off        nr == HandoffNr (ptrace, data passthrough)  -> USER_NOTIF
//	deny rules      io_uring_*, io_setup, open_by_handle_at,
//	                pivot_root, uselib                          -> ERRNO(ENOSYS)
//	routed rules    Path, FD, Exec and Socket classes           -> USER_NOTIF or TRACE
//	                mmap only when MAP_ANONYMOUS is clear in arg3;
//	                under passthrough, fcntl only for the commands
//	                emul answers or learns from (low word of arg1)
//	default                                                     -> ALLOW
//
// Arguments are loaded only on the branch of the call they decide, after
// its number was compared, so every call allowed whatever its arguments
// is one the kernel caches as allowed (seccomp_cache_prepare) and runs no
// filter for; TestCacheableAllows keeps it so.
//
// Every syscall that takes a path, a dirfd or an fd naming a file is routed
// or denied; coverage_test.go walks the whole x86-64 table to keep it so.
// Some routed calls cannot be served for a file in a mount, because they
// attach a kernel object to the inode the kernel would find on the host,
// in the directory the mount hides; emul refuses them there and lets the
// host run them elsewhere: acct (EPERM), mount of or onto a mount path and
// bind/move of a tree holding one (EPERM), umount2, swapon and swapoff
// (EINVAL), quotactl (ENOTBLK; EXDEV for a quota file), quotactl_fd (ENOSYS),
// inotify_add_watch, fanotify_mark and name_to_handle_at (EOPNOTSUPP: no
// events, no handles for a ramfs), open_tree and open_tree_attr (EOPNOTSUPP;
// EPERM for a clone of a tree holding a mount), move_mount, mount_setattr,
// fspick and fsconfig (EPERM), chroot (EOPNOTSUPP in a mount, EPERM above
// one), bpf object pins (EPERM: no bpffs), landlock_add_rule, finit_module
// and kexec_file_load on an emulated fd (EOPNOTSUPP). Those needing a
// capability answer EPERM to a caller without it, as the kernel would.
// file_getattr and file_setattr are served: a ramfs file has no inode
// flags (setting one answers EOPNOTSUPP).
package policy
