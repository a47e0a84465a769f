package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"fsshim/emul"
	"fsshim/policy"
	"fsshim/ramfs"
	"fsshim/ramfs/backing"
)

// dataPlan is how the data of the mounts' regular files is served
// (--data): the mode, and under passthrough one private tmpfs per mount.
type dataPlan struct {
	mode   policy.Data
	stores []*backing.Dir // by mount, nil under forward
	// extra are data calls routed all the same because an --inject rule
	// names them.
	extra []int
}

// planData decides the data mode (--data). Passthrough needs a private
// tmpfs (and a transport that can give the program an fd onto a file:
// unotify's ADDFD, or ptrace's hand-off to the same ioctl); when the mode
// was not asked for explicitly and the tmpfs cannot be had, it falls back
// to forward with a warning on warn.
func planData(s *setup, warn io.Writer) (dataPlan, error) {
	explicit, nmounts, capacity := s.dataSet, s.table.Len(), s.capacity
	mode, err := policy.ParseData(s.data)
	if err != nil {
		return dataPlan{}, err
	}
	plan := dataPlan{mode: mode}
	if mode != policy.Passthrough {
		return plan, nil
	}
	sizes := make([]int64, nmounts)
	for i := range sizes {
		sizes[i] = capacity
	}
	plan.stores, err = backing.Mount(sizes)
	if err != nil {
		if explicit || !errors.Is(err, backing.ErrUnavailable) {
			return dataPlan{}, fmt.Errorf("--data passthrough: %v", err)
		}
		fmt.Fprintf(warn, "fsshim: %v: file data is served by fsshim (--data forward)\n", err)
		plan.mode = policy.Forward
		plan.stores = nil
		return plan, nil
	}
	for _, r := range s.faults {
		plan.extra = append(plan.extra, r.Nr)
	}
	return plan, nil
}

// close gives up the tmpfs fds (the backing files go with the last fd
// onto them).
func (p dataPlan) close() {
	for _, d := range p.stores {
		d.Close()
	}
}

// writeUnrouted says which calls the filter left to the kernel, under the
// --stats table.
func (p dataPlan) writeUnrouted(w io.Writer) {
	if p.mode != policy.Passthrough {
		return
	}
	var names []string
	for _, r := range policy.DataCalls() {
		routed := false
		for _, nr := range p.extra {
			routed = routed || nr == r.Nr
		}
		if !routed {
			names = append(names, r.Name)
		}
	}
	fmt.Fprintf(w, "not intercepted (--data passthrough: the kernel serves them, on a mount's files too): %s\n", strings.Join(names, ", "))
	if by := policy.CmdRouted(p.mode, p.extra...); len(by) > 0 {
		fmt.Fprintf(w, "intercepted for some commands only (the others fsshim has nothing to add to): %s\n", strings.Join(by, "; "))
	}
}

// dev is the device number of mount i's backing files (0 under forward).
func (p dataPlan) dev(i int) uint64 {
	if p.stores == nil {
		return 0
	}
	return p.stores[i].Dev()
}

// placeholders is what makes mount i's placeholders (nil under forward:
// the transport's memfds).
func (p dataPlan) placeholders(i int) emul.PlaceholderMaker {
	if p.stores == nil {
		return nil
	}
	return p.stores[i]
}

// giveBackMemory returns to the system, while the program runs, the
// memory of files it removed: the Go runtime frees the ramfs's records of
// removed files at its next collection, which an idle supervisor may not
// start for minutes, and keeps freed pages for a while after. Once a
// second it looks at what the mounts' ramfs hold, and when that has
// fallen by a quarter of its high-water mark since the last time (and by
// 1 MiB at least) it has the runtime collect and give the freed pages
// back. (Under passthrough the
// data itself is the kernel's: a removed file's pages go with it.) The
// returned func stops it.
func giveBackMemory(ems []*emul.Mount) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var peak int64
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var used int64
			for _, m := range ems {
				b, _ := m.FS.Used()
				used += b
			}
			peak = max(peak, used)
			if drop := peak - used; drop >= 1<<20 && drop >= peak/4 {
				debug.FreeOSMemory()
				peak = used
			}
		}
	}()
	return func() { close(done) }
}

// dumpData is the data mode --dump-policy shows: the one asked for (a
// private tmpfs is not mounted to print it).
func dumpData(flag string) policy.Data {
	d, err := policy.ParseData(flag)
	if err != nil {
		return policy.Forward
	}
	return d
}

// store is mount i's Store (nil under forward: data in the Go heap).
func (p dataPlan) store(i int) ramfs.Store {
	if p.stores == nil {
		return nil
	}
	return p.stores[i]
}
