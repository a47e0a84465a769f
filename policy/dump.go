package policy

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Dump describes the policy for people: the mounts, every routed syscall
// with its class and the filter's action, then the BPF program for transport
// tr, one instruction per line with the absolute jump targets and what the
// constants mean. The output depends only on t and tr. A nil t is an empty
// table.
func Dump(t *Table, tr Transport) (string, error) { return DumpFor(t, tr, Forward) }

// DumpFor is Dump for data mode d: under Passthrough the data calls are
// listed as allowed.
func DumpFor(t *Table, tr Transport, d Data) (string, error) {
	prog, err := ProgramFor(tr, d)
	if err != nil {
		return "", err
	}
	insns, err := Disassemble(prog)
	if err != nil {
		return "", err
	}
	route, err := tr.routeAction()
	if err != nil {
		return "", err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "fsshim policy: x86-64, transport %s", tr)
	if d == Passthrough {
		b.WriteString(", data passthrough")
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "\nmounts (%d):\n", t.Len())
	if t.Len() == 0 {
		b.WriteString("  (none: every path goes to the host)\n")
	}
	for i, m := range t.Mounts() {
		src := "empty"
		if m.Source != "" {
			src = "from " + m.Source
		}
		fmt.Fprintf(&b, "  %d  %s  (%s)\n", i, m.Path, src)
	}

	fmt.Fprintf(&b, "\nsyscalls (%d, by number; all others allowed):\n", len(sortedRules))
	fmt.Fprintf(&b, "  %4s  %-18s  %-5s  %s\n", "nr", "name", "class", "action")
	for _, r := range sortedRules {
		ret, err := action(r, tr)
		if err != nil {
			return "", err
		}
		act := retName(ret)
		if d == Passthrough && dataCalls[r.Nr] {
			act = retName(retAllow) + " (--data passthrough: the kernel serves it)"
		} else if c, ok := cmdRoutesUnder(d)[r.Nr]; ok && r.Class != Deny {
			act += fmt.Sprintf(" if cmd (arg%d) is %s, else allow (--data passthrough: fsshim has nothing to add)", c.arg, strings.Join(c.names, ", "))
		} else if r.Nr == unix.SYS_MMAP && r.Class != Deny {
			act += " if flags (arg3) lack MAP_ANONYMOUS, else allow"
		}
		fmt.Fprintf(&b, "  %4d  %-18s  %-5s  %s\n", r.Nr, r.Name, r.Class, act)
	}
	fmt.Fprintf(&b, "  guards: arch != AUDIT_ARCH_X86_64 -> %s; nr >= %#x except -1 (x32 ABI) -> %s\n",
		retName(retKillProcess), x32SyscallBit, retName(retKillProcess))
	if tr == Ptrace && d == Passthrough {
		fmt.Fprintf(&b, "  hand-off: nr == %#x (no syscall) -> %s: the tracer's way to give a task an fd (only the task it armed is served; any other caller gets ENOSYS)\n",
			HandoffNr, retName(retUserNotif))
	}

	fmt.Fprintf(&b, "\nBPF program (%d instructions, routed action %s):\n", len(insns), retName(route))
	lastLoad := -1 // offset of the most recent load in program order
	for i, in := range insns {
		// Jumps and returns are spelled from the raw instruction, with
		// absolute targets: x/net/bpf's String shows relative skips and may
		// invert the condition. Everything else uses String.
		text := fmt.Sprint(in)
		var note string
		switch in := in.(type) {
		case bpf.LoadAbsolute:
			lastLoad = int(in.Off)
			note = fieldName(in.Off)
		case bpf.JumpIf:
			f := prog[i]
			k := konst(f.K)
			if jumpOp(f.Code) == "jset" {
				k = fmt.Sprintf("%#x", f.K) // a mask
			}
			text = fmt.Sprintf("%s #%s jt %d jf %d", jumpOp(f.Code), k, i+1+int(f.Jt), i+1+int(f.Jf))
			note = constName(lastLoad, in.Val)
		case bpf.Jump:
			text = fmt.Sprintf("ja %d", i+1+int(in.Skip))
		case bpf.RetConstant:
			text = "ret #" + konst(in.Val)
			note = retName(in.Val)
		}
		line := fmt.Sprintf("%4d: %s", i, text)
		if note != "" {
			line = fmt.Sprintf("%-36s ; %s", line, note)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// jumpOp names a conditional jump's raw operation (BPF_JMP|op|BPF_K).
func jumpOp(code uint16) string {
	switch code & 0xf0 { // BPF_OP(code)
	case unix.BPF_JEQ:
		return "jeq"
	case unix.BPF_JGT:
		return "jgt"
	case unix.BPF_JGE:
		return "jge"
	case unix.BPF_JSET:
		return "jset"
	}
	return fmt.Sprintf("jmp(%#x)", code)
}

// konst spells an instruction's constant: decimal while small (syscall
// numbers, offsets), hexadecimal when large (arches, masks, return values).
func konst(k uint32) string {
	if k < 0x1000 {
		return fmt.Sprint(k)
	}
	return fmt.Sprintf("%#x", k)
}

// retName spells a seccomp filter return value.
func retName(v uint32) string {
	data := v & unix.SECCOMP_RET_DATA
	switch v & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_KILL_PROCESS:
		return "kill_process"
	case unix.SECCOMP_RET_KILL_THREAD:
		return "kill_thread"
	case unix.SECCOMP_RET_TRAP:
		return fmt.Sprintf("trap(%d)", data)
	case unix.SECCOMP_RET_ERRNO:
		if name := unix.ErrnoName(unix.Errno(data)); name != "" {
			return "errno(" + name + ")"
		}
		return fmt.Sprintf("errno(%d)", data)
	case unix.SECCOMP_RET_USER_NOTIF:
		return "user_notif"
	case unix.SECCOMP_RET_TRACE:
		return fmt.Sprintf("trace(%d)", data)
	case unix.SECCOMP_RET_LOG:
		return "log"
	case unix.SECCOMP_RET_ALLOW:
		return "allow"
	}
	return fmt.Sprintf("unknown(%#x)", v)
}

// fieldName names the seccomp_data word at off.
func fieldName(off uint32) string {
	switch {
	case off == offNr:
		return "nr"
	case off == offArch:
		return "arch"
	case off == 8:
		return "instruction_pointer lo"
	case off == 12:
		return "instruction_pointer hi"
	case off >= offArgs && off < offArgs+6*8 && off%4 == 0:
		i := (off - offArgs) / 8
		if off%8 == 0 {
			return fmt.Sprintf("args[%d] lo", i)
		}
		return fmt.Sprintf("args[%d] hi", i)
	}
	return fmt.Sprintf("offset %d", off)
}

// constName says what a jump's constant means, given the field last loaded.
func constName(field int, v uint32) string {
	switch field {
	case offArch:
		switch v {
		case unix.AUDIT_ARCH_X86_64:
			return "AUDIT_ARCH_X86_64"
		case unix.AUDIT_ARCH_I386:
			return "AUDIT_ARCH_I386"
		}
	case offNr:
		if r, ok := Lookup(int(v)); ok {
			return r.Name
		}
		switch v {
		case x32SyscallBit:
			return "x32 syscall bit"
		case nrNone:
			return "nr -1"
		}
	case int(argLo(mmapFlagsArg)):
		if v == unix.MAP_ANONYMOUS {
			return "MAP_ANONYMOUS"
		}
	}
	for _, c := range cmdCalls {
		if field == int(argLo(c.arg)) {
			if i := slices.Index(c.cmds, v); i >= 0 {
				return c.names[i]
			}
		}
	}
	return ""
}
