package tracer

import (
	"strconv"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// dataFDs is the emul.DataOracle of a supervised program: which file a
// program's fd refers to is the kernel's answer, got from a copy of the
// fd (pidfd_getfd, which needs what ptrace attach needs: fsshim started
// the program) and fstat of it. Nothing is remembered of the fd, so
// nothing can go stale: a close, dup or exec the filter never saw is
// already in the answer.
type dataFDs struct {
	// pidfd returns a pidfd of process tgid (the server's, closed when
	// the process is reaped).
	pidfd func(tgid int) (int, error)
}

// DataFD implements emul.DataOracle.
func (d dataFDs) DataFD(tgid, fd int) (dev, ino uint64, ok bool) {
	pidfd, err := d.pidfd(tgid)
	if err != nil {
		return 0, 0, false
	}
	own, err := pidfdGetfd(pidfd, fd)
	if err != nil {
		return 0, 0, false // EBADF: not open; ESRCH: gone
	}
	defer unix.Close(own)
	var st unix.Stat_t
	if err := unix.Fstat(own, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, 0, false
	}
	return st.Dev, st.Ino, true
}

var _ emul.DataOracle = dataFDs{}

// placeholderFD returns the file to install for emulated description f:
// the one emul made (under the passthrough data path: a removed directory
// or file of the private tmpfs, named like a memfd placeholder), or a
// memfd named after the description.
func placeholderFD(f *emul.File) (int, error) {
	if ph := f.TakePlaceholder(); ph != nil {
		defer ph.Close()
		return unix.FcntlInt(ph.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	}
	return unix.MemfdCreate(placeholderPrefix+strconv.FormatUint(f.ID(), 10), unix.MFD_CLOEXEC)
}
