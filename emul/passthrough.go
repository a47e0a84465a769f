package emul

import (
	"syscall"

	"fsshim/ramfs"
)

// The passthrough data path. When a mount's ramfs keeps its files' data in
// a Store (ramfs/backing), an open of a regular file gives the program an
// fd onto the file's backing file (InstallHostFD): its own open file
// description, with the access mode and status flags the program asked
// for. The data calls (read, write, lseek, mmap, fsync, ftruncate,
// fallocate, sendfile, splice, copy_file_range, close...) then need no
// routing: the kernel runs them on the backing file as it would on tmpfs.
// What stays routed needs the ramfs's names or metadata: path calls, and
// the fd calls that report or change metadata (fstat, fchmod, fchown,
// futimens, fxattr, fstatfs, and *at calls with AT_EMPTY_PATH).
//
// emul keeps no table of such fds (close is not routed, so it could not
// be kept); the kernel is asked which file a program's fd refers to when a
// call needs it (DataOracle), and the backing file's device and inode
// number name the ramfs inode (ramfs.FS.InodeByDataKey). Directories and
// O_PATH descriptions still get placeholders (kernel.go); with close not
// routed, every use of one is checked against the kernel (fileLocked).

// DataOracle answers from the kernel which file a program's fd refers to.
type DataOracle interface {
	// DataFD returns the device and inode number of the regular file fd
	// of process tgid refers to; ok is false when fd is not open, is no
	// regular file or cannot be inspected.
	DataFD(tgid, fd int) (dev, ino uint64, ok bool)
}

// PlaceholderMaker makes the file a transport installs for an emulated
// description under Passthrough (File.TakePlaceholder), where the kernel
// answers the unrouted calls on it: one that answers them as a directory
// (or an O_PATH fd) does, unlike a memfd.
type PlaceholderMaker interface {
	Placeholder(id uint64, opath bool) (ramfs.DataFile, error)
}

// placeholderLocked gives the description of r (an InstallFD answer) the
// placeholder its transport is to install, when the mount makes them.
func (k *Kernel) placeholderLocked(c *Call, m *Mount, r Result) Result {
	if k.dirPlaceholderLocked(r.File) { // exec.go
		return r
	}
	if !k.Passthrough || m.Placeholders == nil {
		return r
	}
	ph, err := m.Placeholders.Placeholder(r.File.id, r.File.flags&oPath != 0)
	if err != nil {
		k.putFile(c, r.File)
		return errResult(err)
	}
	r.File.placeholder = ph
	return r
}

// TakePlaceholder hands the transport the file to install as f's
// placeholder, made by the mount (see PlaceholderMaker), or nil: the
// transport then makes its own (a memfd). The caller closes it.
func (f *File) TakePlaceholder() ramfs.DataFile {
	ph := f.placeholder
	f.placeholder = nil
	return ph
}

// dataFlags are the open(2) flags a backing file is opened with: the
// access mode and the status flags its open file description keeps.
const dataFlags = oAccmode | syscall.O_APPEND | syscall.O_NONBLOCK | syscall.O_DIRECT |
	syscall.O_NOATIME | syscall.O_DSYNC | syscall.O_SYNC | syscall.O_ASYNC

// passthroughLocked reports whether an open of ino in m with flags is
// answered with an fd onto the backing file.
func (k *Kernel) passthroughLocked(m *Mount, ino *ramfs.Inode, flags int) bool {
	return k.passthroughFSLocked(m, flags) && isReg(ino)
}

// passthroughFSLocked reports whether an open of a regular file in m with
// flags is answered with an fd onto the backing file.
func (k *Kernel) passthroughFSLocked(m *Mount, flags int) bool {
	return k.Passthrough && k.HostFDs && m.FS.HasStore() && flags&oPath == 0
}

// openDataLocked answers an open of regular file ino with an fd onto its
// backing file; path is what it was opened by.
func (k *Kernel) openDataLocked(m *Mount, ino *ramfs.Inode, flags int, path string) Result {
	df, err := m.FS.OpenData(ino, flags&dataFlags)
	if err != nil {
		return errResult(err)
	}
	return k.installDataLocked(m, ino, df, flags, path)
}

// installDataLocked answers an open of regular file ino with df, its
// backing file opened as the program asked.
func (k *Kernel) installDataLocked(m *Mount, ino *ramfs.Inode, df ramfs.DataFile, flags int, path string) Result {
	m.FS.SetOpenedPath(ino, path)
	return Result{Action: InstallHostFD, Host: df, FDFlags: flags & syscall.O_CLOEXEC, SetFD: -1}
}

// identLocked returns the description behind fd of p for a call that
// needs the file's identity (its inode, not its data): an emulated fd's
// description, or, for an fd onto a backing file, a description made for
// this call from what the kernel says of the fd. nil when fd is neither.
func (k *Kernel) identLocked(p *Process, fd int) *File {
	if f := k.fileLocked(p, fd); f != nil {
		return f
	}
	return k.dataIdent(p, fd)
}

// dataIdent is identLocked's answer for an fd that is not an emulated
// one: a description of the file whose backing file fd is, made for the
// call, or nil. It reads no table of emul's.
func (k *Kernel) dataIdent(p *Process, fd int) *File {
	if k.Data == nil || fd < 0 || !k.Passthrough {
		return nil
	}
	dev, key, ok := k.Data.DataFD(p.Tgid, fd)
	if !ok {
		return nil
	}
	for _, m := range k.mounts {
		if m.DataDev == 0 || m.DataDev != dev {
			continue
		}
		n := m.FS.InodeByDataKey(key)
		if n == nil {
			return nil
		}
		// A description for this call alone, in no table: the calls
		// that come here need the inode, not the fd's access mode
		// (the kernel's, on the fd itself).
		return &File{m: m, ino: n, path: []byte(m.FS.OpenedPath(n))}
	}
	return nil
}
