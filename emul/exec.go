package emul

// Running programs stored in a mount.
//
// The kernel loads a new program itself: fsshim cannot answer execve, and
// under unotify it cannot change the path the kernel reads again either.
// So the kernel's view is made to agree with the ramfs. The transport
// hands emul an ExecShadow: for each mount path, a writable directory (a
// tmpfs of fsshim's, which the program's mount namespace shows read-only
// over the mount path; tracer/execshadow.go). Execve checks the call as
// Linux's do_open_execat does (the walk's search permissions, ENOENT,
// ENOTDIR, ELOOP under AT_SYMLINK_NOFOLLOW, EACCES for a file that is not
// regular or has no execute permission for the caller, ETXTBSY while a
// description has it open for writing), then writes a copy of the file
// into the shadow at the name the kernel will look up and lets the call
// run. The kernel then does the rest: ENOEXEC and the binfmt handlers,
// "#!" scripts (the interpreter gets the path as given and opens it,
// which emul answers from the ramfs), argv and envp, E2BIG, and the
// close-on-exec fds.
//
// Where the kernel looks: the path as the caller wrote it, taken
// lexically from the kernel's working directory or the dirfd, whose
// directories the shadow holds as plain directories. That is why Chdir
// into a mount is also let run (after the ramfs allowed it): the
// kernel's working directory then moves to the shadow's directory of the
// same name, and a relative exec from there finds the copy. For the same
// reason a directory of a mount the program opens (O_PATH too) gets the
// shadow's directory of the same path as its placeholder
// (dirPlaceholderLocked): the kernel walks an execveat(dirfd, name, 0)
// from there, and an Fchdir to it is let run as a chdir is. A path whose
// lexical place is outside every mount (a host symlink into a mount) gets
// its copy at the file's own path in the mount.
//
// The same agreement serves walks that leave a mount: a path that climbs
// out with ".." (from the working directory, a dirfd or an absolute path
// through the mount) is continued, and the kernel climbs the shadow's
// directories of the same names to the host directory above the mount;
// the directories it passes are made in the shadow first
// (kernelClimbsLocked).
//
// execveat(fd, "", AT_EMPTY_PATH) of an emulated fd (fexecve) runs its
// placeholder: the transport fills it with the file's data (Fill) and the
// kernel executes it, as it would the file. So does an exec of
// /proc/self/fd/N or /dev/fd/N, a magic link the kernel follows to the
// placeholder.
//
// Also as in Linux: a "#!" interpreter, or an ELF program's interpreter
// (PT_INTERP, the dynamic loader), that lies in a mount is checked and
// copied with the program (the kernel opens it without a call fsshim sees);
// a mount whose host path is on a noexec mount is noexec (its shadow is
// mounted so); opening or truncating a running program answers ETXTBSY
// (execBusyLocked asks the kernel, which refuses to open the running
// copy for writing).
//
// Differences from Linux, each from the copy being what runs:
//   - /proc/PID/exe of the new program names the place the kernel found the
//     copy: the path lexically as written (a ramfs symlink is not followed
//     in the name); after fexecve it is the placeholder
//     ("/memfd:fsshim-N (deleted)"). AT_EXECFN is the path as given, as in
//     Linux (/dev/fd/N after fexecve).
//   - Set-user-ID and set-group-ID bits give no privileges: the program
//     runs with no_new_privs (tracer/launch.go), under which the kernel
//     ignores them on every exec, of host programs too. The shadow is
//     nosuid besides, so that emul's chmod and chown rules never decide
//     who gains privileges.
//   - ETXTBSY for writers counts the newest copy of a file only: a program
//     still running from an older copy (the file was changed and run
//     again) does not hold its file busy.
//   - Where a directory's placeholder could not be the shadow's
//     directory (the program's view of the shadow could not be opened, or
//     under ptrace the program's own open of it failed), an exec relative
//     to it is answered EXDEV (with a log line), and after an fchdir to it
//     (which the kernel then cannot follow) a relative exec runs the file
//     emul finds from a copy put where the kernel's own working directory
//     leads (/proc/PID/exe then names that place), or is answered EXDEV
//     when that is outside the mounts.
//   - A directory renamed after it was opened keeps the shadow's
//     directory of its old path as placeholder: a relative exec or a
//     climb out with ".." through that fd, or after an fchdir to it,
//     starts where the old path was.
//   - Copies stay in the shadow until replaced by a newer one or the run
//     ends: host memory outside --size.
//
// Without an ExecShadow (a program run without namespaces), execs of files
// in mounts are answered EXDEV with a log line: the kernel would find the
// host's file, or none. Walks that climb out of a mount through its
// directories are then left to the kernel only where the host has those
// directories behind the mount (kernelClimbsLocked).

import (
	"debug/elf"
	"io"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// ExecShadow gives emul the writable side of the exec shadows: the
// directory over mount path p, as an fd emul may create and replace files
// and directories under (never closed by emul).
type ExecShadow interface {
	ShadowRoot(p string) (fd int, ok bool)
}

// ShadowViewer is implemented by an ExecShadow that also has each shadow
// as the program's mount namespace shows it (read-only, with the mount
// flags the program's view has): ShadowView returns an fd on the shadow
// over mount path p there, which emul opens directories from to stand
// for the mount's directories in the program's fd table
// (dirPlaceholderLocked). Never closed by emul.
type ShadowViewer interface {
	ShadowView(p string) (fd int, ok bool)
}

// SetExecShadow gives the kernel its ExecShadow (before the program runs).
func (k *Kernel) SetExecShadow(s ExecShadow) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.shadow.src = s
	k.shadow.staged = map[string]stagedCopy{}
}

// execShadow is the Kernel's state for exec shadows.
type execShadow struct {
	src ExecShadow
	// staged remembers what was copied where (by "mount path\x00rel"), so
	// that running the same unchanged file again copies nothing.
	staged map[string]stagedCopy
	seq    int
}

// stagedCopy identifies the version of a file a shadow copy was made from.
type stagedCopy struct {
	ino          *ramfs.Inode
	lower        string
	size         int64
	mtime, ctime time.Time
}

// Execve follows execve(2) and execveat(2) (fs/exec.c: do_open_execat,
// then the kernel's own loading). See the top of this file.
func (k *Kernel) Execve(c *Call) Result {
	// fsshim's own copy of a backing file it has just given a program
	// (closed right after the answer) counts as a writer to the lease
	// test of mayExecLocked: with several receivers, another may still
	// hold one. Waited for first, before anything is looked at.
	k.waitInstallsLocked()
	r := k.execLocked(c)
	if r.Action == Continue {
		// Close-on-exec placeholders vanish with the exec, when it
		// succeeds; until the thread's next call shows it has run
		// (BeginCall), each use of an emulated fd of the process is
		// checked against the kernel's table (fileLocked).
		c.Proc.CredsStale = true
		if c.Proc.execBy == nil {
			c.Proc.execBy = map[int]bool{}
		}
		c.Proc.execBy[c.Tid] = true
	}
	return r
}

func (k *Kernel) execLocked(c *Call) Result {
	dirfd, addr, flags := atFDCWD, c.Args[0], 0
	if c.Nr == unix.SYS_EXECVEAT {
		dirfd, addr, flags = fdArg(c.Args[0]), c.Args[1], int(int32(c.Args[4]))
	}
	if flags&^(atEmptyPath|atSymlinkNofollow) != 0 {
		return cont() // EINVAL from the kernel
	}
	name, e := c.readPath(addr, flags&atEmptyPath != 0)
	if e != 0 {
		return fail(e)
	}
	p := c.Proc
	if name == "" {
		// fexecve: the fd itself.
		if dirfd == atFDCWD {
			return cont()
		}
		f := k.fileLocked(p, dirfd)
		if f == nil {
			return k.execBackingLocked(p, dirfd)
		}
		if e := k.mayExecLocked(p, loc{m: f.m, ino: f.ino}); e != 0 {
			return fail(e)
		}
		if k.noexecLocked(f.m) {
			return fail(syscall.EACCES) // path_noexec
		}
		return Result{Action: Continue, Fill: f, FillFD: dirfd}
	}
	fl := followLast
	if flags&atSymlinkNofollow != 0 {
		fl = 0
	} else if ml, ok := parseMagic(name); ok && ml.what == "fd" && k.magicProcLocked(p, ml) == p && k.fileLocked(p, ml.fd) == nil {
		// The magic link of an fd onto a backing file (the passthrough
		// data path): the kernel runs that file.
		if r := k.execBackingLocked(p, ml.fd); r.Action != Continue {
			return r
		}
		return cont()
	} else if f, fd := k.ownFDLinkLocked(p, name); f != nil {
		// /proc/self/fd/N, /dev/fd/N: the kernel follows the magic link
		// to the placeholder, which runs as for fexecve.
		if e := k.mayExecLocked(p, loc{m: f.m, ino: f.ino}); e != 0 {
			return fail(e)
		}
		if k.noexecLocked(f.m) {
			return fail(syscall.EACCES)
		}
		return Result{Action: Continue, Fill: f, FillFD: fd}
	}
	l, e := k.walkLocked(p, dirfd, name, fl)
	if e != 0 {
		return fail(e)
	}
	if l.host {
		return k.hostResult(c, l)
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	if l.node().typ() == syscall.S_IFLNK {
		return fail(syscall.ELOOP) // AT_SYMLINK_NOFOLLOW: O_NOFOLLOW's answer
	}
	if e := k.mayExecLocked(p, l); e != 0 {
		return fail(e)
	}
	if k.shadow.src == nil {
		return k.unsupportedExecLocked("exec of " + l.absPath() + ", a file in a mount, needs the program's namespaces (run without --no-isolation)")
	}
	return k.stageAtLocked(c, dirfd, name, l, 0)
}

// ownFDLinkLocked returns the emulated file and fd number an absolute
// /proc/self/fd/N, /proc/PID/fd/N (PID the caller) or /dev/fd/N names, or
// nil.
func (k *Kernel) ownFDLinkLocked(p *Process, name string) (*File, int) {
	ml, ok := parseMagic(name)
	if !ok || ml.what != "fd" || k.magicProcLocked(p, ml) != p {
		return nil, 0
	}
	return k.fileLocked(p, ml.fd), ml.fd
}

// execBackingLocked answers an fexecve of fd when it is onto a backing
// file (the passthrough data path), which the kernel runs itself: emul
// checks it as the file of the mount, and the backing file, which only
// fsshim's user may otherwise run, gets read and execute bits for its
// owner and others (the private tmpfs is nosuid, and no program reaches
// it by a path). Any other fd is the kernel's.
func (k *Kernel) execBackingLocked(p *Process, fd int) Result {
	f := k.identLocked(p, fd)
	if f == nil || !isReg(f.ino) {
		return cont()
	}
	if e := k.mayExecLocked(p, loc{m: f.m, ino: f.ino}); e != 0 {
		return fail(e)
	}
	if k.noexecLocked(f.m) {
		return fail(syscall.EACCES)
	}
	df, err := f.m.FS.OpenData(f.ino, syscall.O_RDONLY)
	if err != nil {
		return errResult(err)
	}
	defer df.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(df.Fd()), &st); err != nil {
		return errResult(err)
	}
	if want := st.Mode&0o7777 | 0o505; want != st.Mode&0o7777 {
		if err := unix.Fchmod(int(df.Fd()), want); err != nil {
			return errResult(err)
		}
	}
	return cont()
}

// mayExecLocked is do_open_execat's check of the file: a regular file the
// caller may execute (generic_permission's MAY_EXEC: root needs one
// execute bit), not open for writing (deny_write_access).
func (k *Kernel) mayExecLocked(p *Process, l loc) syscall.Errno {
	n := l.node()
	if n.typ() != syscall.S_IFREG {
		return syscall.EACCES
	}
	if e := k.permLocked(p, l.m, n, mayExec); e != 0 {
		return e
	}
	if l.ino != nil {
		for _, f := range k.files {
			if f.ino == l.ino && f.flags&oPath == 0 && f.flags&oAccmode != syscall.O_RDONLY {
				return syscall.ETXTBSY
			}
		}
		if k.Passthrough && l.m.FS.HasStore() && backingWritten(l.m, l.ino) {
			return syscall.ETXTBSY
		}
	}
	return 0
}

// backingWritten reports whether a program holds n's backing file open
// for writing (the passthrough data path gives programs fds onto it, which
// emul does not see): the kernel grants a read lease only on a file no
// one has open for writing, and fsshim holds no writer of its own between
// calls. Where leases are off the answer is "not written".
func backingWritten(m *Mount, n *ramfs.Inode) bool {
	df, err := m.FS.OpenData(n, syscall.O_RDONLY)
	if err != nil {
		return false
	}
	defer df.Close()
	_, err = unix.FcntlInt(df.Fd(), unix.F_SETLEASE, unix.F_RDLCK)
	if err == nil {
		unix.FcntlInt(df.Fd(), unix.F_SETLEASE, unix.F_UNLCK)
	}
	return err == unix.EAGAIN || err == unix.EBUSY
}

// noexecLocked reports whether m's path lies on a noexec mount: its
// shadow is mounted noexec then (tracer/execshadow.go), so the kernel
// refuses the copies; a placeholder, which the kernel would run, is
// refused here.
func (k *Kernel) noexecLocked(m *Mount) bool {
	if k.shadow.src == nil {
		return false
	}
	root, ok := k.shadow.src.ShadowRoot(m.Path)
	if !ok {
		return false
	}
	var st unix.Statfs_t
	return unix.Fstatfs(root, &st) == nil && st.Flags&unix.ST_NOEXEC != 0
}

// unsupportedExecLocked answers an exec of a file in a mount the kernel
// cannot be shown.
func (k *Kernel) unsupportedExecLocked(what string) Result {
	if k.OnFault != nil {
		k.OnFault(what + ": answered EXDEV")
	}
	return fail(syscall.EXDEV)
}

// kernelPlaceLocked returns the absolute path the kernel will walk for
// name (relative to dirfd), lexically, or "" when it cannot be told.
func (k *Kernel) kernelPlaceLocked(p *Process, dirfd int, name string) string {
	if strings.HasPrefix(name, "/") {
		return path.Clean(name)
	}
	var base string
	var err error
	if dirfd == atFDCWD {
		base, err = k.host.Cwd(p.Tgid)
	} else if f := k.fileLocked(p, dirfd); f != nil {
		// The kernel walks from the placeholder: a directory of the
		// shadow, or a file it cannot walk from.
		if f.shadowAt == "" {
			return ""
		}
		base = f.shadowAt
	} else {
		base, err = k.host.FDPath(p.Tgid, dirfd)
	}
	if err != nil || !strings.HasPrefix(base, "/") {
		return ""
	}
	return path.Join(base, name)
}

// shadowOfLocked returns the mount holding absolute path hp and the
// shadow root fd over it, or ok false.
func (k *Kernel) shadowOfLocked(hp string) (m *Mount, rel string, fd int, ok bool) {
	if k.shadow.src == nil {
		return nil, "", -1, false
	}
	for _, mm := range k.mounts {
		if hp == mm.Path || strings.HasPrefix(hp, mm.Path+"/") || mm.Path == "/" {
			if m == nil || len(mm.Path) > len(m.Path) {
				m = mm
			}
		}
	}
	if m == nil {
		return nil, "", -1, false
	}
	fd, ok = k.shadow.src.ShadowRoot(m.Path)
	if !ok {
		return nil, "", -1, false
	}
	rel = strings.TrimPrefix(strings.TrimPrefix(hp, m.Path), "/")
	return m, rel, fd, true
}

// stageAtLocked writes the copy of l where the kernel will look for name
// (relative to dirfd) and lets the exec run; a script's interpreter in a
// mount is staged too (depth counts the scripts on the way).
func (k *Kernel) stageAtLocked(c *Call, dirfd int, name string, l loc, depth int) Result {
	// After an fchdir into a mount the kernel's working directory is
	// not the shadow's of the emulated one: the copy goes where the
	// kernel will look all the same, when that is in a shadow.
	astray := dirfd == atFDCWD && !strings.HasPrefix(name, "/") && c.Proc.fs.kernelAstray
	place := k.kernelPlaceLocked(c.Proc, dirfd, name)
	if place == "" {
		return k.unsupportedExecLocked("exec of " + l.absPath() + " relative to a directory of a mount the kernel does not walk")
	}
	m, rel, root, ok := k.shadowOfLocked(place)
	if !ok && astray {
		return k.unsupportedExecLocked("relative exec of " + l.absPath() + " after fchdir into a mount, from outside the mounts")
	}
	if !ok {
		// A host symlink into a mount: the kernel follows it to the
		// file's own path.
		if m, rel, root, ok = k.shadowOfLocked(l.absPath()); !ok {
			return k.unsupportedExecLocked("exec of " + l.absPath() + " by a path the kernel resolves outside the mounts")
		}
	}
	if rel == "" {
		return fail(syscall.EACCES) // the mount root: a directory
	}
	if e := k.stageLocked(m, root, rel, l); e != 0 {
		if k.OnFault != nil {
			k.OnFault("copying " + l.absPath() + " for exec: " + e.Error())
		}
		return fail(e)
	}
	if depth < maxInterpDepth {
		head := k.execHeadLocked(m, l)
		if interp, ok := scriptInterp(head); ok {
			return k.stageInterpLocked(c, interp, depth+1)
		}
		if interp, ok := k.elfInterpLocked(m, l, head); ok {
			return k.stageInterpLocked(c, interp, maxInterpDepth)
		}
	}
	return cont()
}

// elfInterpLocked returns the program interpreter (PT_INTERP: the
// dynamic loader) an ELF file names, which the kernel opens as it opens a
// script's (load_elf_binary).
func (k *Kernel) elfInterpLocked(m *Mount, l loc, head []byte) (string, bool) {
	if len(head) < 4 || string(head[:4]) != elf.ELFMAG {
		return "", false
	}
	var r io.ReaderAt
	if l.ino != nil {
		r = inodeReader{m.FS, l.ino}
	} else {
		f, err := m.Lower.Open(l.ov.lo.rel, 0)
		if err != nil {
			return "", false
		}
		defer f.Close()
		r = f
	}
	ef, err := elf.NewFile(r)
	if err != nil {
		return "", false
	}
	for _, prog := range ef.Progs {
		if prog.Type != elf.PT_INTERP || prog.Filesz == 0 || prog.Filesz > 4096 {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err != nil {
			return "", false
		}
		s, _, _ := strings.Cut(string(b), "\x00")
		return s, s != ""
	}
	return "", false
}

// maxInterpDepth bounds the chain of "#!" interpreters followed (the
// kernel's own bound, BINPRM_MAX_RECURSION, ends it with ELOOP first). An
// ELF interpreter ends a chain: the kernel runs no interpreter of it.
const maxInterpDepth = 5

// stageInterpLocked makes a script's interpreter visible to the kernel
// when it lies in a mount: the kernel opens it (open_exec, relative to the
// working directory) without a call fsshim sees, so it is checked and
// copied now, as the script was.
func (k *Kernel) stageInterpLocked(c *Call, interp string, depth int) Result {
	place := k.kernelPlaceLocked(c.Proc, atFDCWD, interp)
	if place == "" || !k.inMount(place) {
		return cont() // the host's, for the kernel to find
	}
	l, e := k.walkLocked(c.Proc, atFDCWD, interp, followLast)
	if e != 0 {
		return fail(e)
	}
	if l.host {
		return k.hostResult(c, l)
	}
	if e := mustExist(&l); e != 0 {
		return fail(e)
	}
	if e := k.mayExecLocked(c.Proc, l); e != 0 {
		return fail(e)
	}
	return k.stageAtLocked(c, atFDCWD, interp, l, depth)
}

// execHeadLocked returns the first bytes of l's file, as many as the
// kernel reads to choose a binary format (BINPRM_BUF_SIZE).
func (k *Kernel) execHeadLocked(m *Mount, l loc) []byte {
	b := make([]byte, 256)
	var n int
	if l.ino != nil {
		n, _ = m.FS.ReadAt(l.ino, b, 0)
	} else if f, err := m.Lower.Open(l.ov.lo.rel, 0); err == nil {
		n, _ = f.ReadAt(b, 0)
		f.Close()
	}
	return b[:n]
}

// scriptInterp returns the interpreter a "#!" line names, as
// fs/binfmt_script.c reads it.
func scriptInterp(head []byte) (string, bool) {
	if len(head) < 2 || head[0] != '#' || head[1] != '!' {
		return "", false
	}
	line := head[2:]
	if i := strings.IndexByte(string(line), '\n'); i >= 0 {
		line = line[:i]
	}
	s := strings.TrimLeft(string(line), " \t")
	if i := strings.IndexAny(s, " \t\x00"); i >= 0 {
		s = s[:i]
	}
	return s, s != ""
}

// inMount reports whether absolute host path hp is at or below a mount.
func (k *Kernel) inMount(hp string) bool {
	for _, m := range k.mounts {
		if hp == m.Path || strings.HasPrefix(hp, m.Path+"/") || m.Path == "/" {
			return true
		}
	}
	return false
}

// stageLocked puts a copy of l's file at rel under the shadow root fd,
// unless the copy there is of the same version already.
func (k *Kernel) stageLocked(m *Mount, root int, rel string, l loc) syscall.Errno {
	ver := stagedCopy{ino: l.ino}
	if l.ino != nil {
		// Seen as a stat sees it: a change after this one takes a time
		// that tells the versions apart (multigrain timestamps).
		a := m.FS.Stat(l.ino, true)
		ver.size, ver.mtime, ver.ctime = a.Size, a.Mtime, a.Ctime
	} else {
		ver.lower = l.ov.lo.rel
		ver.size, ver.mtime, ver.ctime = l.ov.lo.a.Size, l.ov.lo.a.Mtime, l.ov.lo.a.Ctime
	}
	key := m.Path + "\x00" + rel
	if k.shadow.staged[key] == ver {
		// The copy is still there unless a directory took its name
		// (shadowDir, for a chdir) since.
		var st unix.Stat_t
		if unix.Fstatat(root, rel, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == ver.size {
			return 0
		}
	}
	dir, base, e := shadowDir(root, rel, true)
	if e != 0 {
		return e
	}
	defer unix.Close(dir)
	k.shadow.seq++
	tmp := ".fsshim-exec-" + strconv.Itoa(k.shadow.seq)
	// Mode 0755: the program's view is read-only all the same, and
	// fsshim may open a copy for writing to ask the kernel whether it
	// runs (execBusyLocked).
	fd, err := unix.Openat(dir, tmp, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o755)
	if err != nil {
		return errnoOf(err)
	}
	werr := k.copyExecData(m, l, fd)
	if werr == nil {
		werr = unix.Fchmod(fd, 0o755)
	}
	// Closed before the exec: an fd open for writing would make the
	// kernel answer ETXTBSY.
	unix.Close(fd)
	if werr == nil {
		werr = unix.Renameat(dir, tmp, dir, base)
		if werr == unix.EISDIR || werr == unix.ENOTEMPTY || werr == unix.EEXIST {
			// A directory of the shadow stands where the file is now.
			removeShadowTree(dir, base)
			werr = unix.Renameat(dir, tmp, dir, base)
		}
	}
	if werr != nil {
		unix.Unlinkat(dir, tmp, 0)
		return errnoOf(werr)
	}
	k.shadow.staged[key] = ver
	return 0
}

// execBusyLocked is deny_write_access's answer for an open for writing
// (or a truncate) of n: ETXTBSY while a program runs from a copy of n.
// The kernel knows: a copy being executed refuses to be opened for
// writing, and fsshim tries that on each copy of n it made.
func (k *Kernel) execBusyLocked(n *ramfs.Inode) syscall.Errno {
	if n == nil || k.shadow.src == nil {
		return 0
	}
	for key, v := range k.shadow.staged {
		if v.ino != n {
			continue
		}
		mp, rel, _ := strings.Cut(key, "\x00")
		root, ok := k.shadow.src.ShadowRoot(mp)
		if !ok {
			continue
		}
		fd, err := unix.Openat(root, rel, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err == unix.ETXTBSY {
			return syscall.ETXTBSY
		}
		if err == nil {
			unix.Close(fd)
		}
	}
	return 0
}

// copyExecData writes the data of l's file into fd.
func (k *Kernel) copyExecData(m *Mount, l loc, fd int) error {
	var r io.ReaderAt
	var size int64
	if l.ino != nil {
		r = inodeReader{m.FS, l.ino}
		size = m.FS.Getattr(l.ino).Size
	} else {
		f, err := m.Lower.Open(l.ov.lo.rel, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
		size = -1
	}
	buf := make([]byte, 1<<20)
	var off int64
	for size < 0 || off < size {
		n, err := r.ReadAt(buf, off)
		if n > 0 {
			if _, werr := unix.Pwrite(fd, buf[:n], off); werr != nil {
				return werr
			}
			off += int64(n)
		}
		if err == io.EOF || n == 0 {
			break
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type inodeReader struct {
	fs  *ramfs.FS
	ino *ramfs.Inode
}

func (r inodeReader) ReadAt(p []byte, off int64) (int, error) { return r.fs.ReadAt(r.ino, p, off) }

// shadowDir opens the directory of rel's last component under root,
// making (or, where a file of the shadow stands, replacing) the
// directories on the way when make is set, and returns it with that
// component. rel is clean and relative.
func shadowDir(root int, rel string, make bool) (dir int, base string, e syscall.Errno) {
	parts := strings.Split(rel, "/")
	dir, err := unix.Openat(root, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", errnoOf(err)
	}
	for _, c := range parts[:len(parts)-1] {
		next, err := unix.Openat(dir, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil && make {
			if err == unix.ENOTDIR {
				unix.Unlinkat(dir, c, 0)
			}
			if merr := unix.Mkdirat(dir, c, 0o755); merr == nil {
				unix.Fchmodat(dir, c, 0o755, 0)
			}
			next, err = unix.Openat(dir, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		unix.Close(dir)
		if err != nil {
			return -1, "", errnoOf(err)
		}
		dir = next
	}
	return dir, parts[len(parts)-1], 0
}

// removeShadowTree removes name under dir and everything below it.
func removeShadowTree(dir int, name string) {
	if unix.Unlinkat(dir, name, 0) == nil {
		return
	}
	d, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(d, buf)
		if err != nil || n <= 0 {
			break
		}
		var names []string
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
		for _, c := range names {
			removeShadowTree(d, c)
		}
	}
	unix.Close(d)
	unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
}

// kernelChdirLocked moves the kernel's working directory along with a
// chdir into a mount that emul allowed (r): it makes the directory the
// kernel will walk to in the shadow and lets the call run, so a relative
// exec from there finds its copy. Where the kernel's view cannot be kept
// (no shadow, a relative path from a working directory the kernel does not
// share, a path the kernel resolves elsewhere) the chdir is emul's alone,
// and a relative exec is refused until the next chdir.
func (k *Kernel) kernelChdirLocked(c *Call, r Result) Result {
	fs := c.Proc.fs
	if k.shadow.src == nil {
		return r
	}
	name, e := c.readPath(c.Args[0], false)
	if e != 0 || (fs.kernelAstray && !strings.HasPrefix(name, "/")) {
		fs.kernelAstray = true
		return r
	}
	place := k.kernelPlaceLocked(c.Proc, atFDCWD, name)
	_, rel, root, ok := k.shadowOfLocked(place)
	if place == "" || !ok {
		fs.kernelAstray = true
		return r
	}
	if rel != "" {
		dir, _, e := shadowDir(root, rel+"/.", true)
		if e != 0 {
			fs.kernelAstray = true
			return r
		}
		unix.Close(dir)
	}
	fs.kernelAstray = false
	return cont()
}

// dirPlaceholderLocked gives f, a description of a directory of a mount
// about to be installed, the exec shadow's directory of the same path as
// its placeholder (made there if need be) and reports whether it did. The
// kernel then walks from the placeholder as from the directory: an
// execveat relative to it finds the copy emul puts at the name the kernel
// looks up, an fchdir to it moves the kernel's working directory there as
// a chdir does (Fchdir), and ".." from it climbs the shadow's directories
// towards the host directories above the mount, as the ramfs's do. The
// placeholder is opened from the program's view of the shadow (read-only,
// nosuid, nodev), never from fsshim's writable clone: the program holds
// it, and calls on it that emul does not see can change nothing. An
// O_PATH description of a directory gets one too (a transport cannot
// install an O_PATH file): under the passthrough data path, whose data
// calls are not routed, those calls on it then answer as on a directory
// opened for reading (read EISDIR where O_PATH gives EBADF; README,
// Limits). Mounts without an exec shadow keep the other placeholders.
func (k *Kernel) dirPlaceholderLocked(f *File) bool {
	if k.shadow.src == nil || f.ino == nil || !isDir(f.ino) {
		return false
	}
	v, ok := k.shadow.src.(ShadowViewer)
	if !ok {
		return false
	}
	at := string(f.path)
	m, rel, root, ok := k.shadowOfLocked(at)
	if !ok || m != f.m {
		return false
	}
	view, ok := v.ShadowView(m.Path)
	if !ok {
		return false
	}
	name := "."
	if rel != "" {
		name = rel
	}
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(view, name, flags, 0)
	if err != nil && rel != "" {
		// Not there yet (or a copy of a program stands on the way):
		// made through the writable side, then opened again.
		dir, _, e := shadowDir(root, rel+"/.", true)
		if e != 0 {
			return false
		}
		unix.Close(dir)
		fd, err = unix.Openat(view, name, flags, 0)
	}
	if err != nil {
		return false
	}
	if f.placeholder != nil {
		f.placeholder.Close()
	}
	f.placeholder, f.shadowAt = shadowDirFile(fd), at
	return true
}

// kernelClimbsLocked readies the kernel's walk, of the same string as
// emul's, through ps, the directories of mounts emul's walk left by ".."
// on its way to the host, and reports whether the kernel will find them.
// With exec shadows it makes them there. Without (--no-isolation) the
// kernel walks the host directories behind the mount: only where each is
// a directory there does it climb as emul did (where one is missing or a
// symlink, the call is answered EXDEV instead: README, Limits).
func (k *Kernel) kernelClimbsLocked(p *Process, ps []string) bool {
	if k.shadow.src != nil {
		k.shadowDirsLocked(ps)
		return true
	}
	hl, ok := k.host.(HostLinker)
	if !ok {
		return true // no way to tell: as written (hostConfirm's rule)
	}
	for _, d := range ps {
		if typ, _, err := hl.HostLstat(p.Tgid, d); err != nil || typ != syscall.S_IFDIR {
			return false
		}
	}
	return true
}

// shadowDirsLocked makes the exec shadow's directories at the absolute
// paths ps (directories of mounts a walk passed through before it left
// the mount by ".."), so that the kernel, walking the same string, finds
// them on its way out as emul's walk found the ramfs's.
func (k *Kernel) shadowDirsLocked(ps []string) {
	for _, p := range ps {
		_, rel, root, ok := k.shadowOfLocked(p)
		if !ok || rel == "" {
			continue
		}
		if dir, _, e := shadowDir(root, rel+"/.", true); e == 0 {
			unix.Close(dir)
		}
	}
}

// mirrorLocked readies the exec shadows for a call whose walk went
// through a mount and back out to the host (a ramfs symlink to a host
// path, or ".." above a mount's root after one): it makes there the
// directories the walk climbed out of and each symlink it followed, with
// the same target, so that the kernel, walking the same string, takes the
// same route through the shadows and ends at the same host path; the call
// is then continued and the kernel does everything else, as for any host
// path. It reports false when a shadow is missing or cannot be written.
//
// The shadows stay read-only to the program: what it finds there later
// (a stale symlink, after the ramfs one changed) leads only to host paths
// a symlink of its own named, and every call on a path in a mount is
// walked by emul again, which refreshes what it continues through.
func (k *Kernel) mirrorLocked(pl *shadowPlan) bool {
	k.shadowDirsLocked(pl.dirs)
	for _, ln := range pl.links {
		_, rel, root, ok := k.shadowOfLocked(ln[0])
		if !ok || rel == "" {
			return false
		}
		dir, base, e := shadowDir(root, rel, true)
		if e != 0 {
			return false
		}
		buf := make([]byte, len(ln[1])+1)
		if n, err := unix.Readlinkat(dir, base, buf); err != nil || n != len(ln[1]) || string(buf[:n]) != ln[1] {
			removeShadowTree(dir, base)
			if err := unix.Symlinkat(ln[1], dir, base); err != nil {
				unix.Close(dir)
				return false
			}
		}
		unix.Close(dir)
	}
	return true
}

// shadowDirFile is a directory of an exec shadow, as a placeholder.
type shadowDirFile int

func (d shadowDirFile) ReadAt([]byte, int64) (int, error) { return 0, syscall.EISDIR }
func (d shadowDirFile) Close() error                      { return unix.Close(int(d)) }
func (d shadowDirFile) Fd() uintptr                       { return uintptr(d) }

// errnoOf is the errno of a host call's error.
func errnoOf(err error) syscall.Errno {
	if en, ok := err.(syscall.Errno); ok {
		return en
	}
	return syscall.EIO
}
