// Package tracer launches a target under fsshim's seccomp filter and serves
// its intercepted syscalls with emul, over one of two transports: seccomp
// user notification (unotify.go: the filter answers SECCOMP_RET_USER_NOTIF
// and fsshim receives each call on the listener) or ptrace (ptrace.go:
// SECCOMP_RET_TRACE, one ptrace stop per routed call). It also holds the
// process launch (launch.go, isolate.go), the placeholders that stand for
// emulated fds in the target (placeholder.go) and the per-syscall
// statistics (stats.go). tracer knows nothing of file systems.
//
// Each transport is the primitives of emul's answer protocol: a call is
// handled (emul.Kernel.Handle) and its Result carried out by
// emul.Kernel.Complete, which calls the transport's emul.Target methods
// (answer, continue, install an fd, run a call in the target). What both
// supervising transports know of the target's threads and processes is
// procs (procs.go).
//
// Goroutines and what guards what:
//
//   - Under unotify, the receivers (server.serveAll, grow): goroutines
//     that take turns on the listener (the token, handOff), each serving
//     the notification it got with its own buffers and timings (a
//     receiver is the emul.Target of its call). The locked OS thread
//     that launched the target only waits for the end. The receivers
//     share procs, whose tids procs.mu guards and pidfds procs.pidMu; a
//     task is locked (task.mu) by the receiver serving that thread's
//     call until it is done with it. Everything they tell emul of
//     a process (ids, NSpid, shared tables, fd tables) goes through
//     emul.Kernel methods that take its lock.
//   - Under ptrace, the tracer goroutine, on the locked OS thread that
//     launched the target: it alone uses procs, procMem and the tracer's
//     fields (injections, deferred calls, timings).
//   - Under ptrace with --data passthrough, the fd hand-off's receiver
//     (handoff.serve): it shares with the tracer only the handoff, whose
//     grants handoff.mu guards; the tracer arms a thread before resuming
//     it, and the receiver takes the grant.
//   - Under unotify, one goroutine per redirected call in progress
//     (runRedirect): it makes the host call and answers its own
//     notification. It gets what it needs by value (the ids, the
//     redirection) and touches shared state only through hostOps (its own
//     mutex), Stats (its own mutex) and the listener fd, which is set
//     before any such goroutine starts.
//   - The signal forwarder (forward): the pid and the control socket only.
//   - Run's caller: it waits for the serving goroutines (a channel) before
//     it reads what they wrote (exit code, control socket) or
//     closes what it holds (procs.close).
//
// Lock order: procs.mu, then emul.Kernel.mu, then placeholders.mu or
// procs.pidMu (emul handlers reach them under emul's lock: the Oracle's
// Holds and Find, dataFDs' pidfd); task.mu is taken before emul's lock;
// hostOps.mu, Stats.mu, server.recvMu and handoff.mu are taken alone. placeholders.mu guards the
// placeholder table, hostOps.mu the FIFO opens in progress, Stats.mu the
// statistics rows, server.recvMu the receivers' count and first error.
package tracer
