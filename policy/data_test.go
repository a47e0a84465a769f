package policy

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPassthroughProgram runs the passthrough filter in the BPF VM: every
// data call is allowed, every other rule still routed, and a data call
// named for fault injection is routed again.
func TestPassthroughProgram(t *testing.T) {
	for _, tr := range []Transport{Unotify, Ptrace} {
		prog, err := ProgramFor(tr, Passthrough, unix.SYS_WRITE)
		if err != nil {
			t.Fatal(err)
		}
		insns, err := Disassemble(prog)
		if err != nil {
			t.Fatal(err)
		}
		var cases []vmCase
		for _, r := range Rules() {
			want := expected(r, tr)
			if dataCalls[r.Nr] && r.Nr != unix.SYS_WRITE {
				want = unix.SECCOMP_RET_ALLOW
			}
			args := []uint64{3}
			if r.Nr == unix.SYS_MMAP {
				args = mmapArgs(unix.MAP_SHARED, 3)
			}
			cases = append(cases, vmCase{name: tr.String() + " " + r.Name, d: x86(r.Nr, args...), want: want})
		}
		check(t, insns, cases)
	}
	for _, name := range []string{"read", "write", "close", "lseek", "fstat", "openat", "getdents64"} {
		nr := map[string]int{"read": unix.SYS_READ, "write": unix.SYS_WRITE, "close": unix.SYS_CLOSE, "lseek": unix.SYS_LSEEK,
			"fstat": unix.SYS_FSTAT, "openat": unix.SYS_OPENAT, "getdents64": unix.SYS_GETDENTS64}[name]
		want := name == "read" || name == "write" || name == "close"
		if got := dataCalls[nr]; got != want {
			t.Errorf("%s is a data call: %v, want %v", name, got, want)
		}
	}
	if n := len(DataCalls()); n != len(dataCalls) {
		t.Errorf("DataCalls has %d rules, the set %d: a data call without a rule", n, len(dataCalls))
	}
}

func TestDumpPassthrough(t *testing.T) {
	out, err := DumpFor(nil, Unotify, Passthrough)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"data passthrough", "read                fd     allow", "fstat               fd     user_notif"} {
		if !strings.Contains(out, want) {
			t.Errorf("DumpFor(passthrough) lacks %q:\n%s", want, out)
		}
	}
}
