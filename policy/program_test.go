package policy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData is struct seccomp_data (include/uapi/linux/seccomp.h).
type seccompData struct {
	Nr   uint32 // int in C; uint32 here so that x32 and -1 are easy to write
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// kernelBytes is seccomp_data as it lies in an x86-64 kernel's memory:
// little-endian.
func kernelBytes(d seccompData) []byte {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, d); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// vmInput encodes d for x/net/bpf's VM. The kernel's BPF_LD|BPF_W|BPF_ABS
// on seccomp_data is a native (little-endian) 32-bit load, while the VM
// loads words big-endian (packet byte order). Reversing every aligned 4-byte
// word of the kernel's bytes makes each VM load return the value the kernel
// would load at the same offset; TestVMInputEncoding proves it.
func vmInput(d seccompData) []byte {
	b := kernelBytes(d)
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return b
}

func runVM(t testing.TB, insns []bpf.Instruction, d seccompData) uint32 {
	t.Helper()
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("bpf.NewVM: %v", err)
	}
	n, err := vm.Run(vmInput(d))
	if err != nil {
		t.Fatalf("VM run on %+v: %v", d, err)
	}
	return uint32(n)
}

// TestVMInputEncoding runs "ld [off]; ret a" for every word of
// seccomp_data and compares with what a little-endian kernel loads there,
// then checks the meaning of the offsets the policy uses.
func TestVMInputEncoding(t *testing.T) {
	d := seccompData{
		Nr:   0x40000002,
		Arch: unix.AUDIT_ARCH_X86_64,
		IP:   0x1122334455667788,
		Args: [6]uint64{0x0102030405060708, 1, 2, 0xdeadbeef_00000022, 4, 0xffffffff_fffffffe},
	}
	mem := kernelBytes(d)
	if len(mem) != 64 {
		t.Fatalf("seccomp_data is %d bytes, want 64", len(mem))
	}
	load := func(off uint32) uint32 {
		return runVM(t, []bpf.Instruction{bpf.LoadAbsolute{Off: off, Size: 4}, bpf.RetA{}}, d)
	}
	for off := uint32(0); off < 64; off += 4 {
		if got, want := load(off), binary.LittleEndian.Uint32(mem[off:]); got != want {
			t.Errorf("VM ld [%d] = %#x, kernel loads %#x", off, got, want)
		}
	}
	for _, c := range []struct {
		what string
		off  uint32
		want uint32
	}{
		{"nr", offNr, 0x40000002},
		{"arch", offArch, unix.AUDIT_ARCH_X86_64},
		{"args[0] lo", argLo(0), 0x05060708},
		{"args[0] hi", argHi(0), 0x01020304},
		{"args[3] lo", argLo(3), 0x00000022},
		{"args[3] hi", argHi(3), 0xdeadbeef},
		{"args[5] lo", argLo(5), 0xfffffffe},
	} {
		if got := load(c.off); got != c.want {
			t.Errorf("%s at %d = %#x, want %#x", c.what, c.off, got, c.want)
		}
	}
}

func program(t testing.TB, tr Transport) []bpf.Instruction {
	t.Helper()
	prog, err := Program(tr)
	if err != nil {
		t.Fatalf("Program(%v): %v", tr, err)
	}
	insns, err := Disassemble(prog)
	if err != nil {
		t.Fatal(err)
	}
	return insns
}

func listing(insns []bpf.Instruction) string {
	var b strings.Builder
	for i, in := range insns {
		fmt.Fprintf(&b, "%4d: %v\n", i, in)
	}
	return b.String()
}

type vmCase struct {
	name string
	d    seccompData
	want uint32
}

// check runs every case and on any failure prints the program once.
func check(t *testing.T, insns []bpf.Instruction, cases []vmCase) {
	t.Helper()
	failed := false
	for _, c := range cases {
		if got := runVM(t, insns, c.d); got != c.want {
			failed = true
			t.Errorf("%s (nr %#x arch %#x args %#x): got %s (%#x), want %s (%#x)",
				c.name, c.d.Nr, c.d.Arch, c.d.Args, retName(got), got, retName(c.want), c.want)
		}
	}
	if failed {
		t.Logf("program:\n%s", listing(insns))
	}
}

func x86(nr int, args ...uint64) seccompData {
	d := seccompData{Nr: uint32(nr), Arch: unix.AUDIT_ARCH_X86_64, IP: 0x401000}
	copy(d.Args[:], args)
	return d
}

// fileMmap and anonMmap are the args of mmap(NULL, 4096, PROT_READ, flags, fd, 0).
func mmapArgs(flags uint64, fd int) []uint64 {
	return []uint64{0, 4096, unix.PROT_READ, flags, uint64(int64(fd)), 0}
}

// expected returns the action Program must give rule r under transport tr
// for arguments that route it (for mmap: a file-backed mapping).
func expected(r Rule, tr Transport) uint32 {
	if r.Class == Deny {
		return unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	}
	if tr == Ptrace {
		return unix.SECCOMP_RET_TRACE
	}
	return unix.SECCOMP_RET_USER_NOTIF
}

func programCases(rules []Rule, tr Transport) []vmCase {
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		kill   = unix.SECCOMP_RET_KILL_PROCESS
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	route := expected(Rule{Class: Path}, tr)
	var cases []vmCase

	// Every rule reaches the supervisor (or is denied), whatever its args.
	for _, r := range rules {
		args := []uint64{3, 0x7ffd0000, 0x241, 0o644, 0, 0}
		if r.Nr == unix.SYS_MMAP {
			args = mmapArgs(unix.MAP_PRIVATE, 3)
		}
		cases = append(cases,
			vmCase{r.Name, x86(r.Nr, args...), expected(r, tr)},
			vmCase{r.Name + " zero args", x86(r.Nr), expected(r, tr)},
		)
	}
	cases = append(cases,
		// Not file syscalls: allowed.
		vmCase{"getpid", x86(unix.SYS_GETPID), allow},
		vmCase{"futex", x86(unix.SYS_FUTEX, 0x7f0000, 0x80, 2), allow},
		vmCase{"clock_gettime", x86(unix.SYS_CLOCK_GETTIME, 1, 0x7ffd0000), allow},
		vmCase{"exit_group", x86(unix.SYS_EXIT_GROUP, 0), allow},
		vmCase{"munmap", x86(unix.SYS_MUNMAP, 0x7f0000, 4096), allow},
		vmCase{"nr past the table", x86(499), allow},

		// mmap: only file-backed mappings go to the supervisor.
		vmCase{"mmap anonymous private", x86(unix.SYS_MMAP, mmapArgs(unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, -1)...), allow},
		vmCase{"mmap anonymous shared", x86(unix.SYS_MMAP, mmapArgs(unix.MAP_SHARED|unix.MAP_ANONYMOUS, -1)...), allow},
		vmCase{"mmap anonymous, high flag bits", x86(unix.SYS_MMAP, mmapArgs(0xffffffff_00000022, -1)...), allow},
		vmCase{"mmap anonymous stack", x86(unix.SYS_MMAP, mmapArgs(unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK|unix.MAP_GROWSDOWN, -1)...), allow},
		vmCase{"mmap file shared", x86(unix.SYS_MMAP, mmapArgs(unix.MAP_SHARED, 3)...), route},
		vmCase{"mmap file private fixed", x86(unix.SYS_MMAP, mmapArgs(unix.MAP_PRIVATE|unix.MAP_FIXED, 7)...), route},
		vmCase{"mmap flags 0", x86(unix.SYS_MMAP, mmapArgs(0, 3)...), route},
		vmCase{"mmap file, high flag bits", x86(unix.SYS_MMAP, mmapArgs(1<<32|unix.MAP_PRIVATE, 3)...), route},

		// Other ABIs are killed outright.
		vmCase{"i386 open (int 0x80)", seccompData{Nr: 5, Arch: unix.AUDIT_ARCH_I386}, kill},
		vmCase{"i386 getpid", seccompData{Nr: 20, Arch: unix.AUDIT_ARCH_I386}, kill},
		vmCase{"i386 nr 0", seccompData{Nr: 0, Arch: unix.AUDIT_ARCH_I386}, kill},
		vmCase{"aarch64 openat", seccompData{Nr: 56, Arch: unix.AUDIT_ARCH_AARCH64}, kill},
		vmCase{"arch 0", seccompData{Nr: 2}, kill},
		vmCase{"x32 open", x86(x32SyscallBit | unix.SYS_OPEN), kill},
		vmCase{"x32 read", x86(x32SyscallBit | unix.SYS_READ), kill},
		vmCase{"x32 getpid", x86(x32SyscallBit | unix.SYS_GETPID), kill},
		vmCase{"x32 preadv (x32 number 534)", x86(x32SyscallBit | 534), kill},
		vmCase{"nr 0x80000002", x86(0x80000002), kill},
		vmCase{"nr 0xfffffffe", x86(0xfffffffe), kill},
		// nr -1 is no syscall: the kernel answers ENOSYS, and so does the
		// filter (go-seccomp-bpf's own x32 check); it is not killed.
		vmCase{"nr -1", x86(-1), enosys},

		// The io_uring side door.
		vmCase{"io_uring_setup", x86(unix.SYS_IO_URING_SETUP, 8, 0x7ffd0000), enosys},
	)

	// go-seccomp-bpf's argument checks leave the argument in A and fall
	// through. Anonymous mmaps whose flags' low word equals a routed number
	// (MAP_SHARED|MAP_ANONYMOUS is 0x21, dup2's number) must still be
	// allowed.
	for _, r := range rules {
		flags := uint64(r.Nr) | unix.MAP_ANONYMOUS
		cases = append(cases, vmCase{
			fmt.Sprintf("mmap anonymous flags %#x (low word looks like %s)", flags, r.Name),
			x86(unix.SYS_MMAP, mmapArgs(flags, -1)...), allow,
		})
	}
	return cases
}

func TestProgram(t *testing.T) {
	for _, tr := range []Transport{Unotify, Ptrace} {
		t.Run(tr.String(), func(t *testing.T) {
			check(t, program(t, tr), programCases(Rules(), tr))
		})
	}
}

// Every rule reaches the supervisor even if go-seccomp-bpf does not know its
// name: build routes those by number with its own instructions.
func TestProgramRoutesUnknownNamesByNumber(t *testing.T) {
	known := maps.Clone(arch.X86_64.SyscallNames)
	for _, n := range []string{"fchmodat2", "setxattrat", "mmap", "io_uring_setup", "close", "execveat"} {
		delete(known, n)
	}
	rules := append(Rules(), Rule{Name: "fsshim_test_future", Nr: 490, Class: Path})
	for _, tr := range []Transport{Unotify, Ptrace} {
		t.Run(tr.String(), func(t *testing.T) {
			insns, err := build(rules, tr, known, nil)
			if err != nil {
				t.Fatal(err)
			}
			check(t, insns, programCases(rules, tr))
		})
	}
}

// If only unknown names are left, the library is not asked at all.
func TestProgramAllByNumber(t *testing.T) {
	rules := []Rule{{"mmap", unix.SYS_MMAP, FD}, {"open", unix.SYS_OPEN, Path}, {"io_uring_setup", unix.SYS_IO_URING_SETUP, Deny}}
	insns, err := build(rules, Unotify, map[string]int{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, insns, []vmCase{
		{"open", x86(unix.SYS_OPEN), unix.SECCOMP_RET_USER_NOTIF},
		{"io_uring_setup", x86(unix.SYS_IO_URING_SETUP), unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"mmap file", x86(unix.SYS_MMAP, mmapArgs(unix.MAP_SHARED, 3)...), unix.SECCOMP_RET_USER_NOTIF},
		{"mmap anon", x86(unix.SYS_MMAP, mmapArgs(unix.MAP_SHARED|unix.MAP_ANONYMOUS, -1)...), unix.SECCOMP_RET_ALLOW},
		{"getpid", x86(unix.SYS_GETPID), unix.SECCOMP_RET_ALLOW},
		{"i386", seccompData{Nr: 5, Arch: unix.AUDIT_ARCH_I386}, unix.SECCOMP_RET_KILL_PROCESS},
		{"x32", x86(x32SyscallBit | 2), unix.SECCOMP_RET_KILL_PROCESS},
	})
}

func TestProgramErrors(t *testing.T) {
	if _, err := Program(Transport(7)); err == nil {
		t.Errorf("Program(Transport(7)) succeeded")
	}
	// A name the library knows under another number is a mistake in one
	// of the tables, not something to paper over.
	if _, err := build([]Rule{{"open", 3, Path}}, Unotify, arch.X86_64.SyscallNames, nil); err == nil ||
		!strings.Contains(err.Error(), "open") {
		t.Errorf("build with open=3: err = %v, want a mismatch error", err)
	}
	if _, err := build([]Rule{{"open", 2, Class(9)}}, Unotify, arch.X86_64.SyscallNames, nil); err == nil {
		t.Errorf("build with an unknown class succeeded")
	}
}

func TestProgramShape(t *testing.T) {
	for _, tr := range []Transport{Unotify, Ptrace} {
		a, err := Program(tr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Program(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a, b) {
			t.Errorf("Program(%v) differs between calls", tr)
		}
		if len(a) > maxInsns {
			t.Errorf("Program(%v) has %d instructions, limit %d", tr, len(a), maxInsns)
		}
		insns := program(t, tr)
		// The guard comes first: nothing may be decided before the arch
		// is checked.
		want := []bpf.Instruction{
			bpf.LoadAbsolute{Off: offArch, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AUDIT_ARCH_X86_64, SkipTrue: 1},
			bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS},
		}
		if !slices.Equal(insns[:3], want) {
			t.Errorf("Program(%v) starts\n%s\nwant\n%s", tr, listing(insns[:3]), listing(want))
		}
		// Only the action differs between transports.
		var rets []uint32
		for _, in := range insns {
			if r, ok := in.(bpf.RetConstant); ok && !slices.Contains(rets, r.Val) {
				rets = append(rets, r.Val)
			}
		}
		slices.Sort(rets)
		route := expected(Rule{Class: FD}, tr)
		wantRets := []uint32{unix.SECCOMP_RET_KILL_PROCESS, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS), route, unix.SECCOMP_RET_ALLOW}
		slices.Sort(wantRets)
		if !slices.Equal(rets, wantRets) {
			t.Errorf("Program(%v) returns %#x, want exactly %#x", tr, rets, wantRets)
		}
	}
}

func TestTransport(t *testing.T) {
	for _, tr := range []Transport{Unotify, Ptrace} {
		got, err := ParseTransport(tr.String())
		if err != nil || got != tr {
			t.Errorf("ParseTransport(%q) = %v, %v", tr.String(), got, err)
		}
	}
	if _, err := ParseTransport("linked"); err == nil {
		t.Errorf("ParseTransport(linked) succeeded")
	}
	if s := Transport(5).String(); s != "Transport(5)" {
		t.Errorf("Transport(5).String() = %q", s)
	}
}
