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
//   - The serving goroutine, on a locked OS thread (it launched the target,
//     and for ptrace it is the tracer thread): the unotify server's loop or
//     the ptrace tracer's trace. It alone uses procs (tids, pidfds), the
//     transport's own fields (the notification and answer buffers, the
//     injections, deferred calls and timings) and procMem, and it alone
//     calls into the emul.Kernel, so the exported emul.Process fields it
//     writes (Creds, Umask, NSpid, CredsStale, NeedScan, SharedFDs) are
//     never written while a handler runs (see emul.Process).
//   - Under unotify, one goroutine per redirected call in progress
//     (runRedirect): it makes the host call and answers its own
//     notification. It gets what it needs by value (the ids, the
//     redirection) and touches shared state only through hostOps (its own
//     mutex), Stats (its own mutex) and the listener fd, which is set
//     before any such goroutine starts.
//   - The signal forwarder (forward): the pid and the control socket only.
//   - Run's caller: it waits for the serving goroutine (a channel) before
//     it reads what that goroutine wrote (exit code, control socket) or
//     closes what it holds (procs.close).
//
// placeholders.mu guards the placeholder table (Holds and Find are called
// from emul handlers, under emul's lock: placeholders.mu is taken after
// emul.Kernel.mu, never before), hostOps.mu the FIFO opens in progress,
// Stats.mu the statistics rows.
package tracer
