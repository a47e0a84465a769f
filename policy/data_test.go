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

// TestHandoff: the ptrace program for passthrough answers HandoffNr, with
// any arguments, with SECCOMP_RET_USER_NOTIF and still routes its other
// calls with SECCOMP_RET_TRACE; no other program routes the number (the
// kernel answers it ENOSYS). NeedsListener says which programs need a
// listener.
func TestHandoff(t *testing.T) {
	if HandoffNr >= x32SyscallBit || HandoffNr < 1000 {
		t.Fatalf("HandoffNr %#x is not between the x86-64 table and the x32 range", HandoffNr)
	}
	for _, c := range []struct {
		tr       Transport
		d        Data
		want     uint32
		listener bool
	}{
		{Ptrace, Passthrough, unix.SECCOMP_RET_USER_NOTIF, true},
		{Ptrace, Forward, unix.SECCOMP_RET_ALLOW, false},
		{Unotify, Passthrough, unix.SECCOMP_RET_ALLOW, true},
		{Unotify, Forward, unix.SECCOMP_RET_ALLOW, true},
	} {
		prog, err := ProgramFor(c.tr, c.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := NeedsListener(prog); got != c.listener {
			t.Errorf("%v %v: NeedsListener %v, want %v", c.tr, c.d, got, c.listener)
		}
		insns, err := Disassemble(prog)
		if err != nil {
			t.Fatal(err)
		}
		name := c.tr.String() + " " + c.d.String()
		cases := []vmCase{
			{name: name + " handoff", d: x86(HandoffNr), want: c.want},
			{name: name + " handoff with openat's arguments", d: x86(HandoffNr, ^uint64(99), 0x1000, unix.O_RDWR|unix.O_CLOEXEC, 0o644), want: c.want},
			{name: name + " openat", d: x86(unix.SYS_OPENAT, ^uint64(99), 0x1000), want: expected(Rule{Class: Path}, c.tr)},
			{name: name + " handoff+1", d: x86(HandoffNr + 1), want: unix.SECCOMP_RET_ALLOW},
			{name: name + " x32", d: x86(x32SyscallBit | unix.SYS_OPENAT), want: unix.SECCOMP_RET_KILL_PROCESS},
			{name: name + " i386", d: seccompData{Nr: HandoffNr, Arch: unix.AUDIT_ARCH_I386}, want: unix.SECCOMP_RET_KILL_PROCESS},
		}
		check(t, insns, cases)
	}
}

func TestDumpHandoff(t *testing.T) {
	for _, c := range []struct {
		tr   Transport
		d    Data
		want bool
	}{{Ptrace, Passthrough, true}, {Ptrace, Forward, false}, {Unotify, Passthrough, false}} {
		out, err := DumpFor(nil, c.tr, c.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out, "hand-off: nr == 0x3ff0f5f5"); got != c.want {
			t.Errorf("DumpFor(%v, %v) shows the hand-off: %v, want %v:\n%s", c.tr, c.d, got, c.want, out)
		}
	}
}
