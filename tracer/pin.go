package tracer

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// --pin puts the program and the thread that serves it on one CPU.
//
// ptrace has no synchronous wake-up: a tracer and a tracee on two CPUs pay
// a cross-CPU wake-up at every stop and every resume (tens of µs in a VM
// whose idle CPUs sleep deeply), while on one CPU the stop hands the CPU
// over directly. unotify's answer hands the CPU over synchronously
// (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), but its fd hand-off does not: the
// kernel wakes the program for SECCOMP_IOCTL_NOTIF_ADDFD with a plain
// complete(), which places it on an idle CPU, and fsshim waits on the
// other CPU for the install, so every open of a mount's file pays two
// cross-CPU wake-ups. On one CPU they are plain switches.

// pinThread binds the calling thread to the CPU it runs on (ptrace: the
// tracing thread, from which the program is forked, is the only one that
// serves).
func pinThread() error {
	set, err := thisCPU()
	if err != nil {
		return err
	}
	return unix.SchedSetaffinity(0, &set)
}

// thisCPU is the mask of the one CPU the calling thread runs on.
func thisCPU() (unix.CPUSet, error) {
	var set unix.CPUSet
	cpu, err := getcpu()
	if err != nil {
		return set, err
	}
	set.Set(cpu)
	return set, nil
}

// pinProcess binds every thread of fsshim to the CPU the calling thread
// runs on (unotify: any of Go's threads may run a receiver) and returns
// what puts the masks back. A thread made while the masks change is made
// by a thread that has one of the two masks, so the threads are listed
// again until a pass finds none it has not set.
func pinProcess() (undo func(), err error) {
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, err
	}
	set, err := thisCPU()
	if err != nil {
		return nil, err
	}
	if err := setAllThreads(&set); err != nil {
		setAllThreads(&old)
		return nil, err
	}
	return func() { setAllThreads(&old) }, nil
}

// setAllThreads sets the CPU mask of every thread of this process.
func setAllThreads(set *unix.CPUSet) error {
	done := map[int]bool{}
	for {
		d, err := os.Open("/proc/self/task")
		if err != nil {
			return err
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return err
		}
		added := false
		for _, n := range names {
			tid, err := strconv.Atoi(n)
			if err != nil || done[tid] {
				continue
			}
			// A thread that has ended since the listing is ESRCH.
			if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
				return err
			}
			done[tid], added = true, true
		}
		if !added {
			return nil
		}
	}
}
