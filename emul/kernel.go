// Package emul is fsshim's Linux syscall layer: it decodes the arguments of
// an x86-64 file syscall, walks paths across the ramfs mounts, keeps the
// open-file-description and per-process fd tables, and answers with a return
// value, an errno, or "continue" (let the host kernel do it).
//
// emul knows nothing of seccomp or ptrace. A transport (tracer's unotify or
// ptrace backends, or the in-process linked build) hands it one Call at a
// time together with a Memory over the caller's address space, and lets
// Complete (answer.go) carry out the Result with the transport's
// primitives (a Target).
//
// Shape: each mount is a layer (layer.go: a plain ramfs, or an overlay of a
// host directory under a ramfs, overlay*.go) that the handlers use without
// asking which; a path walk is a resolver (walk.go) whose steps go through
// the layers, with magic links in walk_proc.go and permission rules in
// perm.go; a plain path is walked first without allocating (walk_fast.go).
// A call's paths and stat records are read and built in its scratch space
// (callBuf), and open file descriptions come from a pool: the common calls
// allocate nothing.
//
// Locking: Kernel.mu guards every table (processes, fds, descriptions,
// locks) and is held through each handler, exclusively, except by the
// common calls of a Kernel without overlays or injected failures, which
// hold it shared and the tables they change under Kernel.tab (shared.go,
// with the rules that keep their checks true and the lock order). It is taken
// before any ramfs.FS lock (taken inside the ramfs's own methods).
// Helpers that expect k.mu held end in "Locked" or say so in a
// "Preconditions:" line; every layer method and resolver method runs
// under k.mu. A Target's primitives are called without k.mu (they may
// block, or call back into the Kernel): the fd a transport hands the
// program (ADDFD), its answer and the transport's own host calls happen
// outside it, and so do the copies of a call's paths from the program
// (Call.prefetch) and of a stat record to it (Call.answerOut). A
// transport may call Handle and Complete from several goroutines at once
// (unotify's receivers, linked's callers); shared calls then run at once,
// host calls their handlers make (opening a backing file) included, and
// the others wait for each other. With Kernel.Concurrent, a call that
// finds an fd unknown while an install is in flight waits for it on
// k.installed (fileLocked), as an execve does (Execve); a shared one runs
// again exclusively to wait.
package emul

import (
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"fsshim/ramfs"
)

// Memory is the caller's address space. ReadAt and WriteAt return the
// number of bytes moved. A fault is reported as an error (EFAULT) together
// with the count moved before it: the bytes from addr up to the first one
// that could not be accessed, so a buffer that runs into an unmapped page
// reports its accessible head (0 when addr itself faults). A short count
// with a nil error never happens. A Memory that cannot tell how far it got
// may report 0 with the error; the calls then fail where Linux would
// return a short count.
type Memory interface {
	ReadAt(p []byte, addr uint64) (int, error)
	WriteAt(p []byte, addr uint64) (int, error)
}

// Host answers the questions about the target that only the transport can
// (it reads /proc for a supervised target, the own process when linked).
type Host interface {
	// FDPath is the host path behind fd of process tgid (for a dirfd that
	// is not one of ours), or an error if fd is not a directory on the host.
	FDPath(tgid, fd int) (string, error)
	// Cwd is the host working directory of process tgid.
	Cwd(tgid int) (string, error)
}

// Action says what the transport must do with a Result; Kernel.Complete
// (answer.go) does it with the transport's primitives.
type Action int

const (
	// Return: answer the syscall with Val, or -Err when Err != 0.
	Return Action = iota
	// Continue: let the host kernel run the syscall unchanged.
	Continue
	// InstallFD: give the target a new fd for File (a placeholder the
	// kernel can hold) and answer the syscall with its number; the
	// Result's reference on File becomes the fd's. FDFlags carries
	// O_CLOEXEC; SetFD >= 0 asks for that exact number (dup2 semantics).
	InstallFD
	// Defer: the call must wait (a lock held by another owner); its answer
	// comes later from TakeCompletions (Kernel.AnswerWaiters) under the
	// Call's ID.
	Defer
	// InstallHostFD: give the target a new fd for the host file Host
	// (an overlay's lower file opened for reading: reads go to the
	// kernel, nothing is copied), answer the syscall with its number,
	// then close Host. FDFlags carries O_CLOEXEC. Only answered when
	// Kernel.HostFDs is set. The new fd is not an emulated fd.
	InstallHostFD
	// Redirect: the call is to run on a host object instead (a special
	// file's shadow, special.go): the transport runs Redir in the
	// target's stead and answers with its result. It may block.
	Redirect
)

func (a Action) String() string {
	switch a {
	case Return:
		return "return"
	case Continue:
		return "continue"
	case InstallFD:
		return "installfd"
	case Defer:
		return "defer"
	case InstallHostFD:
		return "installhostfd"
	case Redirect:
		return "redirect"
	}
	return "?"
}

// Result is emul's answer to one Call.
type Result struct {
	Action  Action
	Val     int64
	Err     syscall.Errno
	File    *File
	FDFlags int
	SetFD   int
	// Fill, with Continue, asks the transport to make the placeholder of
	// Fill hold the file's current data before the kernel runs the call
	// (mmap of a ramfs file maps the placeholder).
	Fill *File
	// FillFD is the target's fd number of that placeholder.
	FillFD int
	// Host is the file of an InstallHostFD.
	Host LowerFile
	// Redir is the call to run for a Redirect.
	Redir *Redirection
}

func ret(v int64) Result          { return Result{Action: Return, Val: v} }
func fail(e syscall.Errno) Result { return Result{Action: Return, Err: e} }
func cont() Result                { return Result{Action: Continue} }
func errResult(err error) Result  { return fail(Errno(err)) }
func retErr(v int64, err error) Result {
	if err != nil {
		return errResult(err)
	}
	return ret(v)
}

// Call is one intercepted syscall.
type Call struct {
	// ID identifies the call for a deferred answer; 0 means the transport
	// cannot answer later.
	ID   uint64
	Tid  int
	Proc *Process
	Nr   int
	Args [6]uint64
	Mem  Memory

	// installing: the call's InstallFD is counted in Kernel.installing
	// until finishInstall records it.
	installing bool

	// shared: the call runs with Kernel.mu held shared (shared.go).
	shared bool
	// held are the descriptions a shared call looked up by fd, each with
	// a reference of the call's, dropped when the handler returns
	// (fdget's reference).
	held  [2]*File
	nheld int
	// retry: a shared call met what only an exclusive one may wait for
	// (fdGet); Handle runs it again exclusively.
	retry bool
	// heldIno is the inode a shared call's walk ended on, referenced in
	// heldFS until the handler returns (holdLast).
	heldIno *ramfs.Inode
	heldFS  *ramfs.FS

	// buf is the call's scratch (callBuf). A transport that reuses its
	// Calls keeps it with them (linked); otherwise Handle lends one for
	// the call.
	buf *callBuf
	// pad makes a Call 192 bytes: two threads' Calls never share a
	// cache line.
	_ [56]byte
}

// callBuf is one call's scratch space: the paths read from the caller's
// memory (two for the calls that name two, and one that a path read as a
// string is copied from) and a stat record being encoded. Handlers use it
// until they return; nothing in it outlives the call (a string made from
// a path is a copy).
type callBuf struct {
	path [3][pathMax]byte
	stat [sizeofStatx]byte
	// data carries file data between the caller and the ramfs
	// (readInto, writeFrom).
	data scratch
	// pre holds the call's path arguments as read before it took k.mu
	// (prefetch), preAt what each read found.
	pre   [2][pathMax]byte
	preAt [2]prefetched
	// out is a result the handler left for Handle to copy to the caller
	// once k.mu is released (answerOut): the outLen bytes of stat, at
	// outAddr. later says Handle will do so.
	later   bool
	outLen  int
	outAddr uint64
}

var callBufs = sync.Pool{New: func() any { return new(callBuf) }}

// NewCall returns a Call with scratch space of its own, for a transport
// that reuses its Calls (a Call without it borrows some from Handle).
func NewCall() *Call { return &Call{buf: new(callBuf)} }

// scratch returns the call's scratch space (made for a Call a handler
// got without Handle, as tests call them).
func (c *Call) scratch() *callBuf {
	if c.buf == nil {
		c.buf = new(callBuf)
	}
	return c.buf
}

// Mount is one ramfs mounted at an absolute host path.
type Mount struct {
	Path string
	FS   *ramfs.FS
	// Lower, if set, makes the mount an overlay (overlay.go): FS is the
	// upper layer and Lower the read-only lower one, never written.
	Lower Lower

	// layer is what the handlers see of the mount (layer.go): FS
	// itself, or the overlay of Lower under FS. Set by NewKernel.
	layer layer
	// DataDev is the device number of the backing files of FS's Store
	// (passthrough.go); 0 when there is none.
	DataDev uint64
	// Placeholders, if set, makes the placeholders of the mount's
	// directories and O_PATH descriptions under Passthrough.
	Placeholders PlaceholderMaker
}

// Kernel holds the emulated state shared by every target process.
type Kernel struct {
	// mu and tab have cache lines of their own: every call writes one or
	// both, and the fields below are read by every call.
	_ cacheLine
	// mu is held exclusively by every handler, and shared by the calls
	// shared.go lists while the Kernel is one shared calls may run in
	// (sharedOK); see "Locking" in the package doc.
	mu sync.RWMutex
	_  cacheLine
	// tab guards, while mu is held shared, the tables a shared call
	// changes: the fd tables (Process.fds and the fields Process says),
	// files, nextID, seq, installing, each File's refs, locks, waiters
	// and done. A holder of mu exclusively touches them without it.
	// Nothing waits for mu while holding it; under it the Oracle may ask
	// the kernel about an fd (its own lock, kcmp, /proc) and a last
	// release may reach the ramfs's locks.
	tab sync.Mutex
	_   cacheLine
	// Guards of the fields below: "mu" is k.mu held exclusively; "tab"
	// is k.mu held exclusively, or shared with k.tab held. Fields that
	// say neither are set by NewKernel or before the first call, and
	// only read after.

	mounts []*Mount // sorted by path
	// seq counts the changes to the processes' fd tables (fdEntry.seq).
	// Guard: tab.
	seq uint64
	// installing counts, while Concurrent, the InstallFD answers handed
	// out and not yet recorded (finishInstall), and the InstallHostFD
	// ones whose host file fsshim has not closed yet (complete);
	// installed is signalled when one ends. Guard: tab; a wait on
	// installed holds mu (its Locker).
	installing int
	installed  sync.Cond
	host       Host
	procs      map[int]*Process         // Guard: mu.
	files      map[uint64]*File         // Guard: tab.
	nextID     uint64                   // Guard: tab.
	buf        scratch                  // Guard: mu.
	dirents    []direntRec              // getdents' records. Guard: mu.
	locks      map[*ramfs.Inode][]*lock // Guard: tab.
	waiters    []lockWaiter             // Guard: tab.
	done       []Completion             // Guard: tab.
	special    specials                 // special.go. Guard: mu.
	shadow     execShadow               // exec.go. Guard: mu.

	// overlays is set when a mount is an overlay.
	overlays bool

	// Inject, if set, fails chosen calls on purpose (--inject).
	Inject Injector

	// HostFDs says the transport can give the target a host fd
	// (InstallHostFD): then an open for reading of a file in an
	// overlay's lower layer alone gets the host file; otherwise the
	// file is copied up.
	HostFDs bool

	// Oracle, if set, checks the table of emulated fds against the
	// kernel's (a supervised target); nil means emul's table is the fd
	// table itself (linked).
	Oracle FDOracle

	// Passthrough says the filter leaves the data calls, close among
	// them, to the kernel (passthrough.go): regular files of mounts with
	// a Store are opened onto their backing files (this needs HostFDs),
	// and since a close is never seen, every use of an emulated fd is
	// checked against the kernel's table.
	Passthrough bool
	// Data, if set, tells which file a program's fd refers to
	// (passthrough.go).
	Data DataOracle

	// Concurrent says the transport serves calls from several goroutines
	// at once and gives the program an InstallFD's fd before it is
	// recorded (unotify's ADDFD with SEND): another thread of the
	// program may then name the new fd before finishInstall has run. A
	// call that finds an fd unknown while such an install is in flight
	// waits for it (fileLocked) instead of taking the fd for a host one.
	// Set before the first call.
	Concurrent bool

	// OnFault, if set, is told about unexpected internal errors that were
	// turned into EIO (so they are logged, never silent).
	OnFault func(msg string)

	// noShared runs every call exclusively (shared.go): tests compare
	// the two ways. Set before the first call.
	noShared bool
}

// NewKernel makes a Kernel serving the given mounts.
func NewKernel(mounts []*Mount, host Host) *Kernel {
	ms := append([]*Mount(nil), mounts...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Path < ms[j].Path })
	overlays := false
	for _, m := range ms {
		m.layer = ramLayer{fs: m.FS}
		if m.Lower != nil {
			m.layer = newOverlay(m)
			overlays = true
		}
	}
	k := &Kernel{
		mounts: ms,
		host:   host,
		procs:  map[int]*Process{},
		files:  map[uint64]*File{},
		locks:  map[*ramfs.Inode][]*lock{},
		nextID: 1,
	}
	k.installed.L = &k.mu
	k.overlays = overlays
	return k
}

// Mounts returns the mount table.
func (k *Kernel) Mounts() []*Mount { return k.mounts }

// mountAt returns the mount whose path is exactly p.
func (k *Kernel) mountAt(p string) *Mount {
	for _, m := range k.mounts {
		if m.Path == p {
			return m
		}
	}
	return nil
}

// underMount reports whether clean absolute p is inside or above a mount
// (so a walk from p could reach one).
func (k *Kernel) mayReachMount(p string) bool {
	for _, m := range k.mounts {
		if p == "/" || m.Path == p || strings.HasPrefix(m.Path, p+"/") || strings.HasPrefix(p, m.Path+"/") {
			return true
		}
	}
	return false
}

// Process is the emulated state of one target process (thread group): its
// fds that refer to ramfs files and its working directory when that lies in
// a mount.
//
// Guards (see Kernel): fds, changed, sweepAt, NeedScan, unseen, dups,
// execBy and CredsStale are "tab"'s (the fd table and what BeginCall, which
// runs with k.mu shared, reads and clears of it); the other unexported
// fields are "mu"'s, and so are the exported ones, written by the
// transport through Kernel methods (SetIDs, SetNSpid, ShareFDs), except
// NeedScan and Dead, which say how.
type Process struct {
	Tgid int
	fds  map[int]fdEntry
	// fs is the working directory, shared with the processes that share
	// it in the kernel (clone with CLONE_FS: ShareFS), as fs_struct is.
	fs *fsContext
	// Creds are the ids the process acts with; Uid and Gid (fsuid and
	// fsgid) are also what new files get. Written under k.mu: by SetIDs
	// (the transport, from /proc) and by Process for a child.
	Creds
	// Umask: written under k.mu, by the umask handler and SetIDs.
	Umask uint32
	// NSpid is the process's pid in each PID namespace from the
	// transport's own down to the process's (/proc/PID/status, NSpid):
	// a pid the program names (/proc/PID/fd/N) is one of its own
	// namespace's. Empty means the transport's namespace only. Written
	// under k.mu (SetNSpid) when the transport learns the process.
	NSpid []int
	// CredsStale is set when the credentials or umask may have changed
	// behind emul's back (the set*id family, an execve): the transport
	// re-reads them before the process's next call (BeginCall tells it,
	// SetIDs stores them). Guard: tab.
	CredsStale bool
	// NeedScan is set for a process whose fd table emul has not read yet
	// (a new child learnt from a fork event, or a passthrough table
	// grown past sweepAt): the transport reads it before the process's
	// next call (BeginCall tells it). Set by the transport before the
	// process's first call or by emul under k.mu, cleared by SetFDs
	// under k.mu.
	NeedScan bool
	// unseen holds the threads whose continued calls may have put
	// placeholders in the fd table that fds lacks (a dup the kernel
	// made), each with where the new fd is to be looked for. Such a call
	// has run by the time its thread makes its next call, so the
	// transport looks then (BeginCall, FoundDup); until then a miss in
	// fds asks the kernel (fileLocked).
	unseen map[int]DupProbe
	// dups counts the marks in unseen ever made: a probe is to be
	// trusted only when no other dup of the process may have run since
	// its own (markUnseen, BeginCall).
	dups uint64
	// execBy holds the threads whose continued execve may not have run
	// yet: once it runs, close-on-exec placeholders are gone. A thread's
	// next call comes after its execve has run or failed, so the mark
	// goes then (BeginCall); a thread other than the leader whose exec
	// succeeds is never heard of again, and its mark stays.
	execBy map[int]bool
	// SharedFDs is set when the process shares its fd table with another
	// process (clone with CLONE_FILES): that one's closes are not this
	// one's calls. Set under k.mu (ShareFDs) when the transport learns
	// the process.
	SharedFDs bool
	// Dead is set by Exit under k.mu; the transport reads it under the
	// lock it calls Exit with (tracer's procs.mu).
	Dead bool
	// sweepAt is the table size at which a passthrough Kernel has the
	// table read again (installLocked).
	sweepAt int
	// changed is the Kernel.seq of the last change to fds (SetFDs).
	changed uint64
}

// FDOracle answers from the kernel what a target's fd refers to, so emul's
// table of emulated fds is a cache checked at the moment it matters, never
// a mirror trusted blindly. An entry can go stale only by what does not
// pass through emul: an execve closes close-on-exec fds, a process sharing
// the fd table (CLONE_FILES) closes or replaces numbers, and a continued
// dup2 may fail or not have run yet. While one of those may have happened,
// each use of an entry asks the kernel (fileLocked); otherwise every
// change to the table was one of the process's own routed calls.
type FDOracle interface {
	// Holds reports whether fd of process tgid is, in the kernel's fd
	// table now, the placeholder of f.
	Holds(tgid, fd int, f *File) bool
	// Find returns the description whose placeholder fd of process tgid
	// is, or 0 when it is none.
	Find(tgid, fd int) uint64
	// Forget is told that f has no fd left in any process.
	Forget(f *File)
}

// DupProbe says where the fd a continued dup of an emulated fd made is to
// be found in the target's table: the placeholder of description ID at
// fd Min itself (Exact: dup2, dup3), or at the lowest fd from Min on that
// holds it and that emul does not have as it yet (dup, F_DUPFD: the
// kernel took the lowest free number from Min on). Mark is ScanStart's
// mark from when the call was seen, for FoundDup.
type DupProbe struct {
	ID    uint64
	Min   int
	Exact bool
	Mark  uint64
	// alone: no other thread's dup was pending when this one was seen;
	// dups is Process.dups then.
	alone bool
	dups  uint64
}

// markUnseen notes that tid's continued call duplicates f to fd min
// (exact) or to the lowest free fd from min on.
func (k *Kernel) markUnseen(p *Process, tid int, f *File, min int, exact bool) {
	if p.unseen == nil {
		p.unseen = map[int]DupProbe{}
	}
	delete(p.unseen, tid)
	p.dups++
	p.unseen[tid] = DupProbe{ID: f.id, Min: min, Exact: exact, Mark: k.seq, alone: len(p.unseen) == 0, dups: p.dups}
}

// BeginCall is told of each call of thread tid before it is handled: the
// thread's earlier continued calls have run by now. It reports whether the
// fd table must be re-read first (an earlier call was an execve, or the
// table was never read or has grown; the caller re-reads it then:
// ScanStart, SetFDs), else where a placeholder an earlier call duplicated
// is to be looked for (probe; the caller looks and tells FoundDup, or
// re-reads the whole table), and whether the credentials and umask must
// be read (the caller reads them and gives them to SetIDs).
func (k *Kernel) BeginCall(p *Process, tid int) (rescan bool, probe *DupProbe, creds bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	k.tab.Lock()
	defer k.tab.Unlock()
	if p.execBy[tid] {
		// The exec has run or failed: the table now shows which.
		delete(p.execBy, tid)
		rescan = true
	}
	if pr, ok := p.unseen[tid]; ok {
		delete(p.unseen, tid)
		probe = &pr
		// The fd this dup made is the first of its description from
		// Min on that emul lacks only while no other dup of the
		// process (another thread's, or another process's on a shared
		// table) can have run since the call was seen: else the whole
		// table is read.
		if !pr.alone || pr.dups != p.dups || p.SharedFDs {
			rescan = true
		}
	}
	creds = p.CredsStale
	p.CredsStale = false
	rescan = rescan || p.NeedScan
	if rescan {
		probe = nil // the read of the whole table finds it
	}
	return rescan, probe, creds
}

// FoundDup is told that the kernel's fd table holds, at fd, the
// placeholder of description id (the transport asked the kernel, after
// pr's call had run). It reports whether the entry is new to emul; one
// that emul had already is left as it is (the look goes on past it, for
// a non-exact probe).
func (k *Kernel) FoundDup(p *Process, fd int, id uint64, pr DupProbe) (installed bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.files[id]
	if f == nil || p.Dead {
		return false
	}
	if e, ok := p.fds[fd]; ok && e.file == f {
		if !e.tentative || p.changed > pr.Mark {
			return false
		}
		// A dup2's entry, made before the kernel ran it: the kernel
		// now shows it, and nothing changed the table since.
		e.tentative = false
		p.fds[fd] = e
		return false
	}
	if e, ok := p.fds[fd]; ok && e.seq > pr.Mark {
		return false // made since by another call of the process
	}
	overtaken := p.changed > pr.Mark
	k.installLocked(p, fd, f)
	if overtaken && k.Oracle != nil {
		// Other calls changed the table meanwhile: checked at each
		// use until the table is read again, as SetFDs does.
		e := p.fds[fd]
		e.tentative = true
		p.fds[fd] = e
	}
	return true
}

// SetNSpid gives p its pids in the PID namespaces (Process.NSpid).
func (k *Kernel) SetNSpid(p *Process, nspid []int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p.NSpid = nspid
}

// ShareFDs marks processes that share one fd table (Process.SharedFDs).
func (k *Kernel) ShareFDs(ps ...*Process) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range ps {
		p.SharedFDs = true
	}
}

// SetIDs gives p the credentials and umask read from the kernel.
func (k *Kernel) SetIDs(p *Process, c Creds, umask uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p.Creds, p.Umask = c, umask
}

// ExecDone is told that an execve of p has run (a transport that sees it
// happen: ptrace's exec event).
func (k *Kernel) ExecDone(p *Process) {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(p.execBy)
}

// fsContext is a working directory, as the kernel's fs_struct: one per
// process unless processes share it.
type fsContext struct {
	// cwd is the working directory when it lies inside a mount; nil
	// means the host kernel's working directory is in force. The
	// kernel's own working directory is never cached: a rename of a host
	// directory would make a copy stale. It is read when needed
	// (Host.Cwd).
	cwd   *File
	users int
	// kernelAstray: the kernel's working directory is not the exec
	// shadow's of cwd (an fchdir into a mount moved only emul's; exec.go).
	kernelAstray bool
}

// dropFSLocked gives up p's use of its fsContext.
func (k *Kernel) dropFSLocked(p *Process) {
	p.fs.users--
	if p.fs.users == 0 && p.fs.cwd != nil {
		k.putFileLocked(p.fs.cwd)
		p.fs.cwd = nil
	}
}

// ShareFS makes p use parent's working directory from now on: the kernel
// says they share one (clone with CLONE_FS), so a chdir by either moves
// both.
func (k *Kernel) ShareFS(parent, p *Process) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p.fs == parent.fs {
		return
	}
	k.dropFSLocked(p)
	p.fs = parent.fs
	p.fs.users++
}

type fdEntry struct {
	file *File
	// tentative: made for a continued dup2/dup3 the kernel may not have
	// run (or may refuse), or taken from a read of the table that other
	// calls of the process overtook (SetFDs); checked at each use until
	// the table is re-read.
	tentative bool
	// seq is when the entry was made (Kernel.seq): a read of the table
	// that began before it cannot have seen it (SetFDs).
	seq uint64
	// cloexec is FD_CLOEXEC where emul's table is the fd table itself
	// (no Oracle: linked); otherwise the kernel keeps it.
	cloexec bool
}

// setCloexecLocked sets FD_CLOEXEC of p's entry fd (no Oracle).
func (p *Process) setCloexecLocked(fd int, on bool) {
	if e, ok := p.fds[fd]; ok {
		e.cloexec = on
		p.fds[fd] = e
	}
}

// Process returns the process with this tgid, creating it (with no fds and
// the given parent's working directory) when new.
func (k *Kernel) Process(tgid int, parent *Process) *Process {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p := k.procs[tgid]; p != nil {
		return p
	}
	p := &Process{Tgid: tgid, fds: map[int]fdEntry{}, Umask: 0o022, fs: &fsContext{users: 1}, sweepAt: 64}
	if parent != nil {
		if parent.fs.cwd != nil {
			p.fs.cwd = parent.fs.cwd
			parent.fs.cwd.refs.Add(1)
		}
		p.fs.kernelAstray = parent.fs.kernelAstray // a copy of the kernel's too
		p.Creds, p.Umask = parent.Creds, parent.Umask
	}
	k.procs[tgid] = p
	return p
}

// seenByLocked returns the process that p names pid (a pid in p's own
// PID namespace), or nil.
func (k *Kernel) seenByLocked(p *Process, pid int) *Process {
	d := len(p.NSpid) - 1
	if d <= 0 {
		return k.procs[pid]
	}
	for _, q := range k.procs {
		if len(q.NSpid) > d && q.NSpid[d] == pid {
			return q
		}
	}
	return nil
}

// LookupProcess returns a known process or nil.
func (k *Kernel) LookupProcess(tgid int) *Process {
	k.mu.RLock() // procs changes only under k.mu held exclusively
	defer k.mu.RUnlock()
	return k.procs[tgid]
}

// Exit forgets a process that has ended: its fds are closed.
func (k *Kernel) Exit(p *Process) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for fd := range p.fds {
		k.dropFDLocked(p, fd)
	}
	k.dropProcessLocksLocked(p, nil)
	k.dropFSLocked(p)
	p.Dead = true
	delete(k.procs, p.Tgid)
}

// installLocked records that fd of p now refers to f, with a reference of
// its own (after an InstallFD, or when a re-read of the target's fd table
// found a placeholder for f).
func (k *Kernel) installLocked(p *Process, fd int, f *File) {
	if old, ok := p.fds[fd]; ok && old.file == f {
		return
	}
	k.dropFDLocked(p, fd)
	f.refs.Add(1)
	k.seq++
	p.fds[fd] = fdEntry{file: f, seq: k.seq}
	p.changed = k.seq
	if k.Passthrough && len(p.fds) >= p.sweepAt {
		// Closes are not seen: entries of closed fds pile up (each
		// holds fsshim's placeholder) until a read of the fd table
		// drops them. Reading it when the table has doubled keeps
		// the cost in proportion.
		p.NeedScan = true
	}
}

// FileByID returns the open file description with this id, or nil.
func (k *Kernel) FileByID(id uint64) *File {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.files[id]
}

// ScanStart is told that a read of p's fd table in the kernel is about
// to begin; the mark it returns goes to SetFDs with what the read found.
func (k *Kernel) ScanStart(p *Process) (mark uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.seq
}

// SetFDs replaces p's fd table with the given fd -> description id map
// (the result of reading the target's real fd table, begun at mark).
// Ids that are not known descriptions are ignored. Other threads of p
// may have opened and closed while the table was read (a transport
// serving several calls at once): entries made since mark are kept as
// they are, and when the table changed at all since then, what the read
// found is taken as tentative, checked against the kernel at each use.
func (k *Kernel) SetFDs(p *Process, fds map[int]uint64, mark uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	overtaken := p.changed > mark
	for fd, e := range p.fds {
		if e.seq > mark {
			continue
		}
		if id, ok := fds[fd]; !ok || id != e.file.id {
			k.dropFDLocked(p, fd)
		}
	}
	for fd, id := range fds {
		if e, ok := p.fds[fd]; ok && e.seq > mark {
			continue
		}
		if f := k.files[id]; f != nil {
			k.installLocked(p, fd, f)
			if overtaken && k.Oracle != nil {
				e := p.fds[fd]
				e.tentative = true
				p.fds[fd] = e
			}
		}
	}
	p.NeedScan = false
	p.sweepAt = 2*len(p.fds) + 64
}

// FDs returns p's emulated fd numbers and their description ids.
func (k *Kernel) FDs(p *Process) map[int]uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := make(map[int]uint64, len(p.fds))
	for fd, e := range p.fds {
		m[fd] = e.file.id
	}
	return m
}

// dropFDLocked closes fd of p in emul's table; it reports whether fd was
// there.
func (k *Kernel) dropFDLocked(p *Process, fd int) bool {
	f, last, ok := k.takeFDLocked(p, fd)
	if last {
		k.freeFile(f)
	}
	return ok
}

// takeFDLocked takes fd out of p's table and drops its reference on its
// description f; last says it was f's last (see unrefFileLocked).
func (k *Kernel) takeFDLocked(p *Process, fd int) (f *File, last, ok bool) {
	e, ok := p.fds[fd]
	if !ok {
		return nil, false, false
	}
	delete(p.fds, fd)
	k.seq++
	p.changed = k.seq
	if n := e.file.ino; len(k.locks[n]) > 0 {
		// Any close of the file drops the process's POSIX locks on it.
		k.releaseLocked(n, func(l *lock) bool { return l.kind == posixLock && l.proc == p })
	}
	return e.file, k.unrefFileLocked(e.file), true
}

// fileLocked returns the description behind fd of p, or nil when fd is not
// an emulated fd. With an Oracle, while an entry may be stale (see
// FDOracle) the answer is the kernel's: an entry whose fd no longer holds
// its placeholder is dropped (the close the kernel did is taken as seen
// now); and while a continued dup may have added a placeholder emul has
// not seen, a miss asks the kernel too.
func (k *Kernel) fileLocked(p *Process, fd int) *File {
	for {
		f, wait := k.fileNoWaitLocked(p, fd)
		if !wait {
			return f
		}
		// An fd handed out and not yet recorded may be this one: the
		// program can name it as soon as it has it.
		k.waitInstallsLocked()
	}
}

// fileNoWaitLocked is fileLocked up to its wait: wait says fd is unknown
// while an install is in flight, and the answer must wait for it (with
// k.mu held exclusively: waitInstallsLocked).
func (k *Kernel) fileNoWaitLocked(p *Process, fd int) (f *File, wait bool) {
	e, ok := p.fds[fd]
	if k.Oracle == nil {
		if ok {
			return e.file, false
		}
		return nil, false
	}
	if ok {
		unsure := e.tentative || len(p.execBy) > 0 || p.SharedFDs || k.Passthrough
		if !unsure || k.Oracle.Holds(p.Tgid, fd, e.file) {
			return e.file, false
		}
		k.dropFDLocked(p, fd)
	}
	if len(p.unseen) > 0 && fd >= 0 {
		if f := k.files[k.Oracle.Find(p.Tgid, fd)]; f != nil {
			k.installLocked(p, fd, f)
			return f, false
		}
	}
	return nil, k.installingLocked(fd)
}

// File is an open file description on a ramfs inode.
type File struct {
	id    uint64
	m     *Mount
	ino   *ramfs.Inode
	flags int // open(2) flags as given, minus O_CREAT|O_EXCL|O_TRUNC|O_CLOEXEC
	// off is the file position: a shared call (read, write, lseek)
	// holds pos while it uses it, as f_pos_lock; others hold k.mu.
	off int64
	pos sync.Mutex
	// refs counts the fds, working directories and calls that hold the
	// description. It is taken under k.mu exclusively or k.tab, and
	// dropped so too, or, in a Kernel without an Oracle (where only
	// exclusive calls look in k.files), by a shared call's releaseHeld
	// without k.tab: the last drop then takes k.tab to take f out of the
	// tables.
	refs atomic.Int32
	// path is the absolute path the file was opened by (for getcwd after
	// fchdir and for readlink of /proc/self/fd), kept in a buffer the
	// description reuses (newFileLocked).
	path []byte
	// placeholder is the file the transport is to install for the
	// description, until it takes it (TakePlaceholder).
	placeholder ramfs.DataFile
	// shadowAt is, when the placeholder is the exec shadow's directory
	// of the same path (exec.go: dirPlaceholderLocked), that path.
	shadowAt string
	// dents is the listing getdents serves a directory of an overlay
	// mount from (overlay.go), taken at position 0.
	dents []dent
	// pad makes a File 192 bytes, a size class of its own: two
	// descriptions, which different threads write (pos, refs), never
	// share a cache line.
	_ [56]byte
}

// cacheLine is a cache line's worth of padding.
type cacheLine [64]byte

// ID is the description's identity; transports name placeholders by it.
// A description a shared call of a Kernel without an Oracle (linked)
// made has it from its install on, 0 before (shared.go: newFileAt).
func (f *File) ID() uint64 { return f.id }

// Path is the absolute path the description was opened by.
func (f *File) Path() string { return string(f.path) }

// ShadowDir is the path of the exec shadow's directory the description's
// placeholder is, as the program's mount namespace names it, or "" when
// the placeholder is no such directory (exec.go).
func (f *File) ShadowDir() string { return f.shadowAt }

// NoShadowDir tells f that its transport installed another placeholder
// than the shadow directory (before the install is finished).
func (f *File) NoShadowDir() { f.shadowAt = "" }

// files holds descriptions whose last reference went (putFileLocked), for
// newFileLocked to use again with their path buffers, as the kernel takes
// a struct file from its slab.
var files = sync.Pool{New: func() any { return new(File) }}

// newFileLocked makes a description of ino opened by path p.
func (k *Kernel) newFileLocked(m *Mount, ino *ramfs.Inode, flags int, p string) *File {
	f := k.allocFileLocked(m, ino, flags)
	f.path = append(f.path, p...)
	return f
}

// newFileAtLocked makes a description of ino opened by l's path.
func (k *Kernel) newFileAtLocked(l *loc, ino *ramfs.Inode, flags int) *File {
	f := k.allocFileLocked(l.m, ino, flags)
	f.path = l.appendAbs(f.path)
	return f
}

// allocFileLocked makes a description of ino with an empty path, with the
// reference of the Result that hands it out.
func (k *Kernel) allocFileLocked(m *Mount, ino *ramfs.Inode, flags int) *File {
	f := makeFile(m, ino, flags, true)
	k.registerFileLocked(f)
	return f
}

// makeFile takes a description of ino from the pool, with an empty path,
// a reference on ino (taken here when ref, else the caller's, handed
// over) and the reference of the Result that hands it out;
// registerFileLocked gives it its id. It touches no table of emul's.
func makeFile(m *Mount, ino *ramfs.Inode, flags int, ref bool) *File {
	f := files.Get().(*File)
	*f = File{m: m, ino: ino, flags: flags, path: f.path[:0]}
	if ref {
		m.FS.Ref(ino)
	}
	f.refs.Store(1) // the Result's reference, handed to the new fd or released by Complete
	return f
}

// registerFileLocked gives f its id and puts it in k.files. A
// description a shared call made has none until it is installed
// (InstallLowest, finishInstall), so that the open takes k.tab once.
func (k *Kernel) registerFileLocked(f *File) {
	if f.id != 0 {
		return
	}
	f.id = k.nextID
	k.nextID++
	k.files[f.id] = f
}

func (k *Kernel) putFileLocked(f *File) {
	if k.unrefFileLocked(f) {
		k.freeFile(f)
	}
}

// unrefFileLocked drops a reference on f. On the last it takes f out of
// emul's tables (k.files, its locks) and reports that f is to be freed
// (freeFile), which a shared call does after it has let go of k.tab.
func (k *Kernel) unrefFileLocked(f *File) (last bool) {
	if f.refs.Add(-1) > 0 {
		return false
	}
	k.retireFileLocked(f)
	return true
}

// retireFileLocked takes f, whose last reference is gone, out of emul's
// tables.
func (k *Kernel) retireFileLocked(f *File) {
	delete(k.files, f.id)
	if k.Oracle != nil {
		k.Oracle.Forget(f)
	}
	k.dropFileLocksLocked(f)
}

// freeFile releases what a description no table holds any more keeps
// outside them: its placeholder, its inode's reference, and itself, to
// the pool. It needs no lock of emul's.
func (k *Kernel) freeFile(f *File) {
	if f.placeholder != nil {
		f.placeholder.Close() // never installed
		f.placeholder = nil
	}
	f.m.FS.Unref(f.ino)
	if cap(f.path) <= pathMax {
		*f = File{path: f.path[:0]}
		files.Put(f)
	}
}

func cleanAbs(p string) string { return path.Clean(p) }

// FileOf returns the description behind fd of p, or nil if fd is not an
// emulated fd.
func (k *Kernel) FileOf(p *Process, fd int) *File {
	if k.Oracle != nil {
		// fileLocked may ask the kernel, or wait for an install.
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.fileLocked(p, fd)
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	k.tab.Lock()
	defer k.tab.Unlock()
	return k.fileLocked(p, fd)
}

// ioFile returns the emulated file behind fd argument 0 for a call that
// needs an open description. done means r is the answer: Continue for an
// fd that is not emulated, EBADF for an O_PATH description.
func (k *Kernel) ioFile(c *Call) (f *File, r Result, done bool) {
	f = k.fdGet(c, fdArg(c.Args[0]))
	if f == nil {
		return nil, cont(), true
	}
	if f.flags&oPath != 0 {
		return nil, fail(syscall.EBADF), true
	}
	return f, Result{}, false
}
