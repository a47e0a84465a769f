package emul

import (
	"testing"

	"fsshim/ramfs"
)

// oracleAll is an FDOracle whose kernel table holds every placeholder
// emul thinks it does.
type oracleAll struct{}

func (oracleAll) Holds(tgid, fd int, f *File) bool { return true }
func (oracleAll) Find(tgid, fd int) uint64         { return 0 }
func (oracleAll) Forget(f *File)                   {}

// TestDupProbe: a continued dup of an emulated fd is looked for where the
// kernel put it (BeginCall's probe, FoundDup) only while no other dup of
// the process can have run since; otherwise the whole table is read.
func TestDupProbe(t *testing.T) {
	fs := ramfs.New(ramfs.Options{})
	m := &Mount{Path: "/m", FS: fs}
	k := NewKernel([]*Mount{m}, fakeHost{cwd: "/"})
	k.Oracle = oracleAll{}
	p := k.Process(1, nil)
	k.mu.Lock()
	f := k.allocFileLocked(m, fs.Root(), 0)
	k.installLocked(p, 5, f)
	k.putFileLocked(f) // the Result's reference
	k.mu.Unlock()

	// One thread's F_DUPFD(5, 3): a probe from 3, not a read of the table.
	k.mu.Lock()
	k.markUnseen(p, 10, f, 3, false)
	k.mu.Unlock()
	rescan, probe, _ := k.BeginCall(p, 10)
	if rescan || probe == nil || probe.ID != f.ID() || probe.Min != 3 || probe.Exact {
		t.Fatalf("BeginCall after one dup: rescan %v probe %+v, want a probe for %d from 3", rescan, probe, f.ID())
	}
	if k.FoundDup(p, 5, f.ID(), *probe) {
		t.Errorf("FoundDup on the duplicated fd itself installed it again")
	}
	if !k.FoundDup(p, 6, f.ID(), *probe) {
		t.Errorf("FoundDup on the new fd did not install it")
	}
	if got := k.FDs(p); got[6] != f.ID() || got[5] != f.ID() {
		t.Errorf("fds after FoundDup: %v", got)
	}
	if rescan, probe, _ := k.BeginCall(p, 10); rescan || probe != nil {
		t.Errorf("second BeginCall: rescan %v probe %+v, want nothing to do", rescan, probe)
	}

	// Two threads dup at once: neither probe can tell whose fd it finds.
	k.mu.Lock()
	k.markUnseen(p, 10, f, 0, false)
	k.markUnseen(p, 11, f, 0, false)
	k.mu.Unlock()
	for _, tid := range []int{10, 11} {
		if rescan, probe, _ := k.BeginCall(p, tid); !rescan || probe != nil {
			t.Errorf("thread %d after two dups: rescan %v probe %+v, want a read of the table", tid, rescan, probe)
		}
	}
	// A dup by a thread after another's was seen, and one on a shared
	// table: the same.
	k.mu.Lock()
	k.markUnseen(p, 10, f, 0, false)
	k.mu.Unlock()
	if rescan, probe, _ := k.BeginCall(p, 10); rescan || probe == nil {
		t.Fatalf("lone dup: rescan %v probe %+v", rescan, probe)
	}
	k.mu.Lock()
	k.markUnseen(p, 10, f, 0, false)
	k.mu.Unlock()
	k.ShareFDs(p)
	if rescan, probe, _ := k.BeginCall(p, 10); !rescan || probe != nil {
		t.Errorf("dup on a shared table: rescan %v probe %+v, want a read of the table", rescan, probe)
	}
}
