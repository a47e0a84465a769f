package policy

import (
	"testing"

	"golang.org/x/sys/unix"
)

// constAllow runs prog as the kernel does when it builds its per-syscall
// cache of allowed calls (seccomp_cache_prepare): with only nr and arch
// known. It reports whether the program reaches SECCOMP_RET_ALLOW without
// loading anything else (cached: the call then skips the filter) and
// whether it could decide at all without the arguments.
func constAllow(prog []unix.SockFilter, nr, arch uint32) (allow, decided bool) {
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			switch in.K {
			case offNr:
				a = nr
			case offArch:
				a = arch
			default:
				return false, false // the arguments or the IP decide
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K == unix.SECCOMP_RET_ALLOW, true
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var ok bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				ok = a == in.K
			case unix.BPF_JGE:
				ok = a >= in.K
			case unix.BPF_JGT:
				ok = a > in.K
			case unix.BPF_JSET:
				ok = a&in.K != 0
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= in.K
		default:
			return false, false // an instruction the kernel does not emulate
		}
	}
	return false, false
}

// TestCacheableAllows: every x86-64 syscall the filter allows whatever
// its arguments is one the kernel can cache as allowed, so that it costs
// no run of the filter; the calls decided by an argument (file-backed
// mmap, fcntl by command) and only those are left to the filter, and
// nothing routed or denied is ever taken for allowed.
func TestCacheableAllows(t *testing.T) {
	const nrSyscalls = 512 // past the x86-64 table
	for _, tc := range []struct {
		tr Transport
		d  Data
	}{{Unotify, Passthrough}, {Unotify, Forward}, {Ptrace, Forward}} {
		prog, err := ProgramFor(tc.tr, tc.d)
		if err != nil {
			t.Fatal(err)
		}
		routed := map[int]bool{}
		for _, r := range RoutedUnder(tc.d) {
			routed[r.Nr] = true
		}
		byArg := map[int]bool{unix.SYS_MMAP: true}
		for nr := range cmdRoutesUnder(tc.d) {
			byArg[nr] = true
		}
		for nr := 0; nr < nrSyscalls; nr++ {
			allow, decided := constAllow(prog, uint32(nr), unix.AUDIT_ARCH_X86_64)
			switch {
			case byArg[nr]:
				if decided {
					t.Errorf("%v %v: syscall %d is decided by an argument but the filter never loads it", tc.tr, tc.d, nr)
				}
			case routed[nr]:
				if !decided || allow {
					t.Errorf("%v %v: routed syscall %d: cacheable allow %v, decided %v", tc.tr, tc.d, nr, allow, decided)
				}
			default:
				if !allow {
					r, _ := Lookup(nr)
					t.Errorf("%v %v: syscall %d %s is allowed but not cacheable: each call runs the filter", tc.tr, tc.d, nr, r.Name)
				}
			}
		}
		// The compat (i386) table is killed outright, never allowed.
		for nr := 0; nr < nrSyscalls; nr++ {
			if allow, decided := constAllow(prog, uint32(nr), unix.AUDIT_ARCH_I386); allow || !decided {
				t.Errorf("%v %v: i386 syscall %d: allow %v, decided %v", tc.tr, tc.d, nr, allow, decided)
			}
		}
	}
}

// TestFcntlByCommand runs the passthrough filter in the BPF VM on fcntl:
// routed for the commands emul answers or learns from, whatever the high
// bits of the argument (the kernel reads an unsigned int), allowed for
// the others; routed whole under forward and when a fault names fcntl.
func TestFcntlByCommand(t *testing.T) {
	const allow = unix.SECCOMP_RET_ALLOW
	for _, tr := range []Transport{Unotify, Ptrace} {
		route := expected(Rule{Class: FD}, tr)
		run := func(d Data, extra ...int) []vmCase {
			var cases []vmCase
			for i, cmd := range cmdCalls[unix.SYS_FCNTL].cmds {
				name := cmdCalls[unix.SYS_FCNTL].names[i]
				cases = append(cases,
					vmCase{name, x86(unix.SYS_FCNTL, 3, uint64(cmd), 0), route},
					vmCase{name + " high bits", x86(unix.SYS_FCNTL, 3, 0xffffffff_00000000|uint64(cmd), 0), route},
				)
			}
			want := uint32(allow)
			if d == Forward || len(extra) > 0 {
				want = route
			}
			for _, c := range []struct {
				name string
				cmd  uint64
			}{
				{"F_GETFD", unix.F_GETFD}, {"F_SETFD", unix.F_SETFD}, {"F_SETOWN", unix.F_SETOWN},
				{"F_GETPIPE_SZ", unix.F_GETPIPE_SZ}, {"F_ADD_SEALS", unix.F_ADD_SEALS},
				{"F_SETFD high bits", 1<<32 | unix.F_SETFD}, {"F_GETFL+2^32 is F_GETFL", 1<<32 | unix.F_GETFL},
			} {
				w := want
				if c.cmd&0xffffffff == unix.F_GETFL {
					w = route
				}
				cases = append(cases, vmCase{c.name, x86(unix.SYS_FCNTL, 3, c.cmd, unix.FD_CLOEXEC), w})
			}
			// The other calls are untouched by fcntl's block.
			cases = append(cases,
				vmCase{"read", x86(unix.SYS_READ, 3, 0, 0), map[Data]uint32{Passthrough: allow, Forward: route}[d]},
				vmCase{"fstat F_GETFL-like args", x86(unix.SYS_FSTAT, 3, unix.F_GETFL), route},
				vmCase{"getpid", x86(unix.SYS_GETPID), allow},
			)
			return cases
		}
		for _, d := range []Data{Passthrough, Forward} {
			prog, err := ProgramFor(tr, d)
			if err != nil {
				t.Fatal(err)
			}
			insns, err := Disassemble(prog)
			if err != nil {
				t.Fatal(err)
			}
			check(t, insns, run(d))
		}
		prog, err := ProgramFor(tr, Passthrough, unix.SYS_FCNTL)
		if err != nil {
			t.Fatal(err)
		}
		insns, err := Disassemble(prog)
		if err != nil {
			t.Fatal(err)
		}
		check(t, insns, run(Passthrough, unix.SYS_FCNTL))
	}
	if got := CmdRouted(Passthrough); len(got) != 1 || got[0][:len("fcntl (only F_DUPFD,")] != "fcntl (only F_DUPFD," {
		t.Errorf("CmdRouted(Passthrough) = %q", got)
	}
	if got := CmdRouted(Passthrough, unix.SYS_FCNTL); len(got) != 0 {
		t.Errorf("CmdRouted with fcntl injected = %q, want none", got)
	}
	if got := CmdRouted(Forward); len(got) != 0 {
		t.Errorf("CmdRouted(Forward) = %q, want none", got)
	}
}
