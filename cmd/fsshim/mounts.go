package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"fsshim/emul"
	"fsshim/faults"
	"fsshim/lowerfs"
	"fsshim/persist"
	"fsshim/policy"
	"fsshim/ramfs"
	"fsshim/tracer"
)

// buildMounts makes one ramfs per mount of s: an overlay's over its host
// directory, a preloaded one filled from its source, an empty one with
// the owner and mode of the directory it hides. The returned func closes
// the overlays' host directories; on an error they are closed already.
func buildMounts(s *setup, data dataPlan) ([]*emul.Mount, func(), error) {
	var ems []*emul.Mount
	var lowers []*lowerfs.Dir
	closeLowers := func() {
		for i := len(lowers) - 1; i >= 0; i-- {
			lowers[i].Close()
		}
	}
	for i, m := range s.table.Mounts() {
		rfs := ramfs.New(ramfs.Options{Capacity: s.capacity, MaxInodes: s.maxInodes, Store: data.store(i)})
		em := &emul.Mount{Path: m.Path, FS: rfs, DataDev: data.dev(i), Placeholders: data.placeholders(i)}
		switch {
		case s.overlays[m.Path]:
			lower, err := lowerfs.Open(m.Path)
			if err != nil {
				closeLowers()
				return nil, nil, fmt.Errorf("--overlay %s: %v", m.Path, err)
			}
			lowers = append(lowers, lower)
			initRoot(rfs, m.Path)
			em.Lower = lower
		case m.Source != "":
			if err := preload(rfs, m, s.capacity); err != nil {
				closeLowers()
				return nil, nil, err
			}
		default:
			initRoot(rfs, m.Path)
		}
		ems = append(ems, em)
	}
	return ems, closeLowers, nil
}

// newKernel puts emul in front of the mounts, with the --inject faults
// (nil when there are none). Its Cleanup removes the host nodes behind
// FIFOs, devices and sockets in the mounts.
func newKernel(s *setup, ems []*emul.Mount, data dataPlan, stderr io.Writer) (*emul.Kernel, *faults.Set) {
	k := emul.NewKernel(ems, tracer.ProcHost())
	// The unotify supervisor can give the program a host fd (ADDFD), and
	// so can the ptrace tracer when its filter has the listener of the
	// fd hand-off (--data passthrough): an overlay's lower files are then
	// read in place. Under ptrace with --data forward they are copied up
	// when opened.
	k.HostFDs = s.transport == policy.Unotify || data.mode == policy.Passthrough
	var inject *faults.Set
	if len(s.faults) > 0 {
		inject = faults.NewSet(s.faults)
		k.Inject = inject
	}
	k.OnFault = func(msg string) { fmt.Fprintln(stderr, "fsshim:", msg) }
	return k, inject
}

// preload copies m.Source into the ramfs, refusing up front when the host
// tree is larger than the capacity.
func preload(rfs *ramfs.FS, m policy.Mount, capacity int64) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("preloading %s: %v", m.Path, err)
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return fmt.Errorf("preloading %s: %s is neither a directory nor a tar archive", m.Path, m.Source)
	}
	if capacity > 0 && st.IsDir() {
		var total int64
		filepath.Walk(m.Source, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				total += fi.Size()
			}
			return nil
		})
		if total > capacity {
			return fmt.Errorf("preloading %s from %s needs %s but --size is %s; raise --size or give --mount PATH for an empty mount",
				m.Path, m.Source, human(total), human(capacity))
		}
	}
	if err := persist.Load(rfs, rfs.Root(), m.Source); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("preloading %s from %s: the ramfs is full (--size %s)", m.Path, m.Source, human(capacity))
		}
		return fmt.Errorf("preloading %s from %s: %v", m.Path, m.Source, err)
	}
	return nil
}

// initRoot gives an empty mount's root directory the owner, mode and times
// of the host directory it hides, or, where there is none, the invoking
// user as owner and mode 0755, so that the program may use it as it could
// the directory it expects.
func initRoot(rfs *ramfs.FS, path string) {
	root := rfs.Root()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		rfs.Chown(root, int64(st.Uid), int64(st.Gid))
		rfs.Chmod(root, st.Mode&0o7777)
		at, mt := time.Unix(st.Atim.Unix()), time.Unix(st.Mtim.Unix())
		rfs.SetTimes(root, &at, &mt)
		return
	}
	rfs.Chown(root, int64(os.Geteuid()), int64(os.Getegid()))
	rfs.Chmod(root, 0o755)
}
