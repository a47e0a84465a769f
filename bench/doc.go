// Package bench is fsshim's benchmark harness: it runs the same work on
// every transport — the host kernel (native), the seccomp user-notify
// supervisor (unotify), the ptrace supervisor (ptrace, when the build has
// it) and the in-process linked build (linked) — interleaved run by run,
// and reports each figure of merit as a median with its range and its
// ratio to native, as a table, as JSON and as a chart.
//
// Workloads:
//
//   - postmark: bench/postmark (PostMark 1.51 in Go) driving raw syscalls
//     (native, unotify, ptrace) or linked.Linked (linked); figure of merit
//     transactions per second. Debian's C PostMark (/usr/bin/postmark),
//     when installed, runs the same configuration natively and under the
//     supervising transports as a second row; its figure is the wall time
//     of the process, since it reports whole seconds only.
//   - micro: one loop per operation (package micro), ns per operation.
//   - threads: 1, 2, 4... OS threads of one process doing independent file
//     work in one mount, each in its own directory (package threads);
//     figure of merit iterations per second of all threads together, and
//     each transport's scaling: that figure over its own at 1 thread.
//
// Every measurement runs in a child process of the fsshim binary (the
// hidden `fsshim bench-worker` mode, see Worker), so the transports differ
// only in what stands between that loop and the file system.
package bench
