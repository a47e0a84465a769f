package policy

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Transport is the way routed syscalls reach the supervisor.
type Transport int

const (
	// Unotify routes with SECCOMP_RET_USER_NOTIF to a listener fd.
	Unotify Transport = iota
	// Ptrace routes with SECCOMP_RET_TRACE to a ptrace tracer.
	Ptrace
)

func (t Transport) String() string {
	switch t {
	case Unotify:
		return "unotify"
	case Ptrace:
		return "ptrace"
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// ParseTransport is the inverse of Transport.String, for command-line flags.
func ParseTransport(s string) (Transport, error) {
	switch s {
	case "unotify":
		return Unotify, nil
	case "ptrace":
		return Ptrace, nil
	}
	return 0, fmt.Errorf("unknown transport %q (want unotify or ptrace)", s)
}

// Filter return values. x/sys/unix spells the actions; the values with data
// are composed here once.
const (
	retAllow       = unix.SECCOMP_RET_ALLOW
	retKillProcess = unix.SECCOMP_RET_KILL_PROCESS
	retUserNotif   = unix.SECCOMP_RET_USER_NOTIF
	retTrace       = unix.SECCOMP_RET_TRACE // data 0
	retDeny        = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// seccomp_data layout (include/uapi/linux/seccomp.h), loaded by the kernel
// in host byte order, which for x86-64 is little-endian: the low 32 bits of
// args[i] are at argOff(i), the high 32 bits 4 bytes later.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16

	// x32SyscallBit is __X32_SYSCALL_BIT: x32 syscalls arrive with
	// AUDIT_ARCH_X86_64 and this bit set in nr.
	x32SyscallBit = 0x40000000
	// nrNone is nr == -1: no syscall (a tracer's "skip", or syscall(-1),
	// which the kernel answers ENOSYS). It has the x32 bit set but is no
	// x32 call, so the guard lets it through (as libseccomp does).
	nrNone = 0xffffffff

	// mmapFlagsArg is the index of mmap's flags argument.
	mmapFlagsArg = 3

	// maxInsns is BPF_MAXINSNS: the kernel refuses longer programs.
	maxInsns = 4096
)

func argLo(i int) uint32 { return offArgs + 8*uint32(i) }
func argHi(i int) uint32 { return offArgs + 8*uint32(i) + 4 }

// routeAction returns the filter's return value for routed syscalls.
func (t Transport) routeAction() (uint32, error) {
	switch t {
	case Unotify:
		return retUserNotif, nil
	case Ptrace:
		return retTrace, nil
	}
	return 0, fmt.Errorf("policy: unknown transport %d", int(t))
}

// action returns the filter's return value for r under transport tr.
func action(r Rule, tr Transport) (uint32, error) {
	switch r.Class {
	case Deny:
		return retDeny, nil
	case Path, FD, Exec, Socket:
		return tr.routeAction()
	}
	return 0, fmt.Errorf("policy: syscall %s (%d) has unknown class %d", r.Name, r.Nr, int(r.Class))
}

// Program returns the complete classic-BPF seccomp program for x86-64 for
// transport tr:
//
//  1. seccomp_data.arch != AUDIT_ARCH_X86_64 -> SECCOMP_RET_KILL_PROCESS (so
//     i386 int 0x80 cannot slip through); nr >= 0x40000000 (the x32 ABI and
//     anything else outside the x86-64 table) -> SECCOMP_RET_KILL_PROCESS,
//     except nr == -1, which the kernel answers ENOSYS;
//  2. Deny rules -> SECCOMP_RET_ERRNO|ENOSYS;
//  3. Path, FD, Exec and Socket rules -> SECCOMP_RET_USER_NOTIF (Unotify) or
//     SECCOMP_RET_TRACE (Ptrace); mmap only when its flags (arg3) lack
//     MAP_ANONYMOUS, anonymous mappings are allowed;
//  4. everything else -> SECCOMP_RET_ALLOW.
//
// The rules are assembled by go-seccomp-bpf's Policy.Assemble; the guards in
// step 1 are this package's own instructions in front of it, because the
// library's own guard allows foreign architectures and answers x32 with
// ENOSYS. The caller installs the program itself (seccomp(2) with
// SECCOMP_FILTER_FLAG_NEW_LISTENER for Unotify), so that it keeps the
// listener fd.
func Program(tr Transport) ([]unix.SockFilter, error) {
	return ProgramFor(tr, Forward)
}

// ProgramFor is Program for data mode d: under Passthrough the data
// calls (DataCalls) are not routed, except those named in extra. The
// Ptrace program for Passthrough also answers HandoffNr with
// SECCOMP_RET_USER_NOTIF (see HandoffNr), so it must be installed with a
// listener (NeedsListener).
func ProgramFor(tr Transport, d Data, extra ...int) ([]unix.SockFilter, error) {
	insns, err := build(RoutedUnder(d, extra...), tr, arch.X86_64.SyscallNames, cmdRoutesUnder(d, extra...))
	if err != nil {
		return nil, err
	}
	if tr == Ptrace && d == Passthrough {
		insns = withHandoff(insns)
	}
	return toSockFilter(insns)
}

// HandoffNr is the syscall number by which a ptrace tracer hands an fd to
// a tracee under Passthrough. No kernel has a syscall by that number (the
// x86-64 table ends below 1000; numbers from 0x40000000 are x32's), so a
// program that calls it natively gets ENOSYS. The Ptrace program answers
// it with SECCOMP_RET_USER_NOTIF, and only it: at the seccomp stop of a
// routed call the tracer rewrites the call's number into HandoffNr,
// leaving its arguments; after the stop the kernel runs the filter again
// on the rewritten call (__seccomp_filter's recheck_after_trace, which
// skips only a second SECCOMP_RET_TRACE), and the notification reaches
// the listener the tracer holds, which answers it with
// SECCOMP_IOCTL_NOTIF_ADDFD. The filter cannot tell the rewritten call
// from a program's own call of the number, so the listener's side must:
// it serves only the task the tracer armed, and answers every other
// caller ENOSYS, as the kernel would.
const HandoffNr = 0x3ff0_f5f5

// withHandoff puts the HandoffNr rule right after the guards of a Ptrace
// program (which leave nr in A): the number is in no rule table, so the
// library would never name it.
func withHandoff(insns []bpf.Instruction) []bpf.Instruction {
	const guards = 7 // the arch and x32 guards (build)
	out := make([]bpf.Instruction, 0, len(insns)+2)
	out = append(out, insns[:guards]...)
	out = append(out,
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: HandoffNr, SkipFalse: 1},
		bpf.RetConstant{Val: retUserNotif},
	)
	return append(out, insns[guards:]...)
}

// NeedsListener reports whether prog can answer SECCOMP_RET_USER_NOTIF,
// that is whether it must be installed with
// SECCOMP_FILTER_FLAG_NEW_LISTENER (without a listener the kernel answers
// such a call ENOSYS).
func NeedsListener(prog []unix.SockFilter) bool {
	for _, f := range prog {
		if f.Code == unix.BPF_RET|unix.BPF_K && f.K&unix.SECCOMP_RET_ACTION_FULL == retUserNotif {
			return true
		}
	}
	return false
}

// build assembles the program for rules. known is the library's x86-64 name
// table; rules whose names it lacks are routed by number with this package's
// own instructions instead of being dropped. Tests pass a reduced table to
// exercise that path. The rules in cmds are routed only for the commands
// listed there (cmdBlock).
//
// The kernel caches, per syscall number, an ALLOW that the filter gives
// whatever the arguments and instruction pointer (seccomp_cache_prepare:
// it runs the program with only nr and arch known, and any other load
// makes the number uncacheable); a cached call skips the filter. So
// argument loads sit only on the branch of the call whose arguments
// decide, after its number was compared: every number the filter allows
// whatever the arguments stays cached. TestCacheableAllows checks it.
func build(rules []Rule, tr Transport, known map[string]int, cmds map[int]cmdRoute) ([]bpf.Instruction, error) {
	// Policy.Assemble picks its syscall table and byte order from GOARCH;
	// the program is for x86-64 and only an amd64 build assembles it right.
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("policy: the seccomp program is for x86-64 and must be built on amd64 (GOARCH=%s)", runtime.GOARCH)
	}
	route, err := tr.routeAction()
	if err != nil {
		return nil, err
	}

	// Sort the rules into the library's groups and our own by-number list.
	var (
		deny, routed []string
		mmapByName   bool
		byNumber     []Rule
	)
	for _, r := range rules {
		if _, err := action(r, tr); err != nil {
			return nil, err
		}
		if _, ok := cmds[r.Nr]; ok && r.Class != Deny {
			continue // cmdBlock below
		}
		nr, ok := known[r.Name]
		if !ok {
			byNumber = append(byNumber, r)
			continue
		}
		if nr != r.Nr {
			return nil, fmt.Errorf("policy: syscall %s is %d in fsshim's table but %d in go-seccomp-bpf's", r.Name, r.Nr, nr)
		}
		switch {
		case r.Class == Deny:
			deny = append(deny, r.Name)
		case r.Nr == unix.SYS_MMAP:
			mmapByName = true
		default:
			routed = append(routed, r.Name)
		}
	}

	// The library's prologue. The routed group must come last, and the mmap
	// condition last in it: the library's argument checks leave an argument
	// in the accumulator and fall through to the next syscall comparison,
	// so anything compared after them would compare flags, not nr.
	pol := seccomp.Policy{DefaultAction: seccomp.ActionAllow}
	if len(deny) > 0 {
		pol.Syscalls = append(pol.Syscalls, seccomp.SyscallGroup{
			Names:  deny,
			Action: seccomp.Action(retDeny),
		})
	}
	if len(routed) > 0 || mmapByName {
		g := seccomp.SyscallGroup{Names: routed, Action: seccomp.Action(route)}
		if mmapByName {
			g.NamesWithCondtions = []seccomp.NameWithConditions{{
				Name: "mmap",
				Conditions: seccomp.ArgumentConditions{{
					Argument:  mmapFlagsArg,
					Operation: seccomp.BitsNotSet,
					Value:     unix.MAP_ANONYMOUS,
				}},
			}}
		}
		pol.Syscalls = append(pol.Syscalls, g)
	}
	var lib []bpf.Instruction
	if len(pol.Syscalls) > 0 {
		lib, err = pol.Assemble()
		if err != nil {
			return nil, fmt.Errorf("policy: go-seccomp-bpf: %w", err)
		}
		if len(lib) < 2 || lib[0] != (bpf.LoadAbsolute{Off: offArch, Size: 4}) {
			return nil, errors.New("policy: go-seccomp-bpf program does not start by loading seccomp_data.arch")
		}
		if j, ok := lib[1].(bpf.JumpIf); !ok || j.Val != unix.AUDIT_ARCH_X86_64 {
			return nil, fmt.Errorf("policy: go-seccomp-bpf assembled for another architecture (%v)", lib[1])
		}
	} else {
		lib = []bpf.Instruction{bpf.RetConstant{Val: retAllow}}
	}

	prog := []bpf.Instruction{
		// 0-2: arch guard.
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AUDIT_ARCH_X86_64, SkipTrue: 1},
		bpf.RetConstant{Val: retKillProcess},
		// 3-6: x32 guard; nr stays in A for what follows.
		bpf.LoadAbsolute{Off: offNr, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: nrNone, SkipTrue: 1},
		bpf.RetConstant{Val: retKillProcess},
	}
	// Rules the library cannot name, by number, then the calls routed by
	// command. Every block either returns or leaves nr in A.
	for _, r := range byNumber {
		ret, _ := action(r, tr)
		if r.Nr == unix.SYS_MMAP && r.Class != Deny {
			prog = append(prog,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(r.Nr), SkipFalse: 4},
				bpf.LoadAbsolute{Off: argLo(mmapFlagsArg), Size: 4},
				bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: unix.MAP_ANONYMOUS, SkipTrue: 1},
				bpf.RetConstant{Val: ret},
				bpf.RetConstant{Val: retAllow},
			)
			continue
		}
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(r.Nr), SkipFalse: 1},
			bpf.RetConstant{Val: ret},
		)
	}
	for _, r := range rules {
		if c, ok := cmds[r.Nr]; ok && r.Class != Deny {
			prog = append(prog, cmdBlock(r.Nr, c, route)...)
		}
	}
	prog = append(prog, lib...)
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("policy: seccomp program has %d instructions, the kernel takes at most %d", len(prog), maxInsns)
	}
	return prog, nil
}

// cmdBlock routes syscall nr (in A) only when the low 32 bits of its
// command argument are one of c.cmds, and allows it otherwise; any other
// nr falls through with A unchanged.
func cmdBlock(nr int, c cmdRoute, route uint32) []bpf.Instruction {
	n := len(c.cmds)
	out := []bpf.Instruction{
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr), SkipFalse: uint8(n + 3)},
		bpf.LoadAbsolute{Off: argLo(c.arg), Size: 4},
	}
	for i, cmd := range c.cmds {
		// The k-th comparison jumps over the rest and the allow.
		out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: cmd, SkipTrue: uint8(n - i)})
	}
	return append(out, bpf.RetConstant{Val: retAllow}, bpf.RetConstant{Val: route})
}

// toSockFilter encodes insns for seccomp(2).
func toSockFilter(insns []bpf.Instruction) ([]unix.SockFilter, error) {
	raw, err := bpf.Assemble(insns)
	if err != nil {
		return nil, fmt.Errorf("policy: assembling BPF: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// Disassemble decodes a program as returned by Program.
func Disassemble(prog []unix.SockFilter) ([]bpf.Instruction, error) {
	raw := make([]bpf.RawInstruction, len(prog))
	for i, f := range prog {
		raw[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		var bad []string
		for i, in := range insns {
			if r, isRaw := in.(bpf.RawInstruction); isRaw {
				bad = append(bad, fmt.Sprintf("%d: %#v", i, r))
			}
		}
		return insns, fmt.Errorf("policy: cannot disassemble instructions %s", strings.Join(bad, ", "))
	}
	return insns, nil
}
