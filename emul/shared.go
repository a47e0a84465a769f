package emul

import (
	"syscall"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

// Shared calls. The common calls of a Kernel without overlays run with
// k.mu held shared, so that calls from different threads (linked's
// goroutines, unotify's receivers) run at once: stat, open, close, read,
// write, pread, pwrite, lseek, rename, unlink, mkdir and dup on the plain
// paths and files most programs use. Everything such a call changes is
// behind a lock of its own: the ramfs's (inside its methods), k.tab for
// the fd tables and descriptions (a short section: a lookup, an install,
// a release), File.pos for a file position. What it only reads (the
// mounts, the process's working directory, credentials and umask, the
// exec shadow) changes only under k.mu held exclusively.
//
// So two shared calls see each other's changes only in what shared calls
// change: the names in directories, and the data, size and times of
// files. An inode's type, mode, owner and extended attributes change
// only in exclusive calls (chmod, chown, setxattr...), except the
// set-user-ID and set-group-ID bits a write clears, which no permission
// check reads. A check a shared call makes on the inode its walk found
// therefore holds when it acts, and where the act goes by name the ramfs
// looks the name up again under its own lock and makes the checks that
// depend on what the name leads to then (Create's EEXIST, Rename's and
// Unlink's type rules): the call takes effect as if it had run alone at
// that moment, as a VFS call does under the parent's i_rwsem.
//
// A shared call that meets anything else — a path the fast walk does not
// take (walk_fast.go), a special file, a mount-table file, O_TMPFILE, an
// O_APPEND write that is empty, faults or is over 1 MiB (the others
// append in one ramfs step), a name another thread made between its walk
// and its create, a rename across directories, a trailing slash or a
// sticky directory where the answer would depend on which inode a name
// leads to when the call acts, a directory whose placeholder is its exec
// shadow's — gives up before it has changed anything (errExclusive), and
// Handle runs it again with k.mu held exclusively, as the kernel's path
// walk drops from RCU mode to ref-walk mode (fs/namei.c). So does a
// supervised call that names an fd emul does not know while another
// receiver's install is in flight (Call.retry): only an exclusive call
// may wait for the install (fileLocked).
//
// A description a shared call finds by fd is held with a reference of
// the call's until the handler returns (fdGet), as fdget does: another
// thread's close cannot then free it, nor the pool hand it out again,
// while the call uses it. A supervised call asks the kernel about an fd
// emul is not sure of (the FDOracle) under k.tab, and the entries it
// drops or learns are k.tab's.
//
// Lock order: k.mu (shared or exclusive), then File.pos, then k.tab, then
// a ramfs's locks. Nothing waits for k.mu while holding another of them.
// A shared call's close and release free a description (freeFile: its
// inode's reference in the ramfs) after k.tab is let go; the rarer paths
// (an install that failed, Release) free it under k.tab, which the order
// allows.

// sharedCalls are the syscalls whose handlers may run shared.
var sharedCalls = func() (t [sysTableSize]bool) {
	for _, nr := range []int{
		unix.SYS_STAT, unix.SYS_LSTAT, unix.SYS_FSTAT, unix.SYS_NEWFSTATAT, unix.SYS_STATX,
		unix.SYS_OPEN, unix.SYS_OPENAT, unix.SYS_CREAT, unix.SYS_CLOSE,
		unix.SYS_READ, unix.SYS_WRITE, unix.SYS_PREAD64, unix.SYS_PWRITE64, unix.SYS_LSEEK,
		unix.SYS_RENAME, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2,
		unix.SYS_UNLINK, unix.SYS_UNLINKAT, unix.SYS_MKDIR, unix.SYS_MKDIRAT, unix.SYS_DUP,
	} {
		t[nr] = true
	}
	return t
}()

// errExclusive is a shared call's answer when it must run exclusively
// (see above). It is no errno: Handle never lets it out.
const errExclusive syscall.Errno = 1 << 16

// exclusive is the Result of a shared call that gives up.
func exclusive() Result { return fail(errExclusive) }

// sharedOK reports whether calls may run shared in k: a Kernel with
// plain mounts and no injected failures (an overlay's copy-up changes the
// mount under its handlers; the injector counts calls). Both are set
// before the first call.
func (k *Kernel) sharedOK() bool {
	return !k.overlays && k.Inject == nil && !k.noShared
}

// fdGet returns the description behind fd of c's process, or nil, as
// fileLocked does. In a shared call the description is held for the rest
// of the call (Call.held).
func (k *Kernel) fdGet(c *Call, fd int) *File {
	if !c.shared {
		return k.fileLocked(c.Proc, fd)
	}
	k.tab.Lock()
	f, wait := k.fileNoWaitLocked(c.Proc, fd)
	if wait {
		// fd may be one another receiver is installing: only a call
		// holding k.mu exclusively may wait for it (Handle runs the
		// call again so).
		c.retry = true
	}
	if f != nil {
		if c.nheld == len(c.held) {
			// A handler looks up at most two fds (rename's dirfds):
			// one that looks up more must not run shared.
			panic("emul: a shared call looked up more fds than Call.held holds")
		}
		f.refs.Add(1)
		c.held[c.nheld] = f
		c.nheld++
	}
	k.tab.Unlock()
	return f
}

// identGet is identLocked for c's process, holding the description in a
// shared call as fdGet does.
func (k *Kernel) identGet(c *Call, fd int) *File {
	if !c.shared {
		return k.identLocked(c.Proc, fd)
	}
	if f := k.fdGet(c, fd); f != nil || c.retry {
		return f
	}
	return k.dataIdent(c.Proc, fd) // in no table: nothing to hold
}

// releaseHeld drops the references fdGet took for c.
//
// Preconditions: k.mu is held shared.
func (k *Kernel) releaseHeld(c *Call) {
	if c.heldIno != nil {
		c.heldFS.Unref(c.heldIno)
		c.heldIno, c.heldFS = nil, nil
	}
	if c.nheld == 0 {
		return
	}
	for i := range c.nheld {
		f := c.held[i]
		c.held[i] = nil
		if k.Oracle != nil {
			// A supervised Kernel's shared calls look descriptions
			// up in k.files (fileLocked's Find): the last reference
			// goes with k.tab held, so none is found at zero.
			k.putFile(c, f)
			continue
		}
		if f.refs.Add(-1) > 0 {
			continue // the common case: an fd still holds it
		}
		// The fd was closed under the call: no table reaches f but
		// k.files, which only exclusive calls look in here (no
		// Oracle).
		k.tab.Lock()
		k.retireFileLocked(f)
		k.tab.Unlock()
		k.freeFile(f)
	}
	c.nheld = 0
}

// newFileAt is newFileAtLocked; in a shared call the description gets
// its id when it is installed (registerFileLocked), and takes over the
// reference the call holds on ino (holdLast, CreateRef) if it holds one.
func (k *Kernel) newFileAt(c *Call, l *loc, ino *ramfs.Inode, flags int) *File {
	if !c.shared {
		return k.newFileAtLocked(l, ino, flags)
	}
	adopt := c.heldIno != nil && c.heldIno == ino
	if adopt {
		c.heldIno, c.heldFS = nil, nil
	}
	f := makeFile(l.m, ino, flags, !adopt)
	f.path = l.appendAbs(f.path)
	if k.Oracle != nil {
		// A supervised transport names the placeholder by the id,
		// and finds descriptions by it, before the install.
		k.tab.Lock()
		k.registerFileLocked(f)
		k.tab.Unlock()
	}
	return f
}

// putFile is putFileLocked, under k.tab in a shared call.
func (k *Kernel) putFile(c *Call, f *File) {
	if c.shared {
		k.tab.Lock()
		last := k.unrefFileLocked(f)
		k.tab.Unlock()
		if last {
			k.freeFile(f)
		}
		return
	}
	k.putFileLocked(f)
}

// dropFD is close's dropFDLocked; a shared call holds k.tab for the
// table only. An fd emul does not know may be one another receiver is
// installing (installing): the close then waits for the installs, as a
// lookup does (fileLocked), so that the install does not record an fd
// the program has closed; a shared call runs again exclusively to wait.
func (k *Kernel) dropFD(c *Call, fd int) bool {
	if !c.shared {
		k.awaitFDLocked(c.Proc, fd)
		return k.dropFDLocked(c.Proc, fd)
	}
	k.tab.Lock()
	f, last, ok := k.takeFDLocked(c.Proc, fd)
	if !ok && k.installingLocked(fd) {
		c.retry = true
	}
	k.tab.Unlock()
	if last {
		k.freeFile(f)
	}
	return ok
}

// posLock takes f's position for a shared call; posUnlock gives it back.
func posLock(c *Call, f *File) {
	if c.shared {
		f.pos.Lock()
	}
}

func posUnlock(c *Call, f *File) {
	if c.shared {
		f.pos.Unlock()
	}
}

// installingLocked reports whether fd, which emul does not know, may be
// one another call is installing (Kernel.Concurrent).
func (k *Kernel) installingLocked(fd int) bool {
	return k.Oracle != nil && k.installing > 0 && fd >= 0
}

// awaitFDLocked waits, while fd is not in p's table, for the installs in
// flight: one may be fd's. A call about to have the kernel close fd
// (close, dup2 onto it) waits so, else the install would record an fd
// the program has closed.
//
// Preconditions: k.mu is held exclusively.
func (k *Kernel) awaitFDLocked(p *Process, fd int) {
	for k.installingLocked(fd) {
		if _, known := p.fds[fd]; known {
			return
		}
		k.waitInstallsLocked()
	}
}

// dropResult releases what the Result of a shared call that is to run
// again holds (Handle): its description, or the host file of an
// InstallHostFD. A shared call gives up before it makes either, so this
// finds nothing to do unless a handler broke that rule.
func (k *Kernel) dropResult(c *Call, r *Result) {
	switch r.Action {
	case InstallFD:
		if r.File != nil {
			k.putFile(c, r.File)
		}
	case InstallHostFD:
		if r.Host != nil {
			r.Host.Close()
		}
	}
}
