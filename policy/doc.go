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
//	deny rules      io_uring_*                                  -> ERRNO(ENOSYS)
//	routed rules    Path, FD, Exec and Socket classes           -> USER_NOTIF or TRACE
//	                mmap only when MAP_ANONYMOUS is clear in arg3
//	default                                                     -> ALLOW
package policy
