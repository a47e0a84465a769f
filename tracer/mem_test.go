package tracer

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"fsshim/policy"
)

// TestProcMemAnsweredCall: procMem reads and writes a caller's memory only
// while its call is pending. The helper blocks in a uname that its own
// filter sends to the test; a read of the buffer then gives the helper's
// bytes. Once the call is answered (the helper says so from after it),
// the same pid is still the helper's, but a read and a write must both
// fail ESRCH, and the helper's buffer must keep what its uname put there.
func TestProcMemAnsweredCall(t *testing.T) {
	requireTransport(t, policy.Unotify)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Args = []string{helperArg0, "notified"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Until its call is answered only a kill ends the helper.
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := bufio.NewReader(out)
	var pid, lfdNum int
	var addr uint64
	line, err := lines.ReadString('\n')
	if _, err2 := fmt.Sscanf(line, "%d %d %x", &pid, &lfdNum, &addr); err != nil || err2 != nil {
		t.Fatalf("helper said %q (%v, %v)", line, err, err2)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	lfd, err := pidfdGetfd(pidfd, lfdNum)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)

	var n seccompNotif
	if e := notifRecv(lfd, &n); e != 0 {
		t.Fatal("recv:", e)
	}
	if n.Data.Nr != unix.SYS_UNAME || int(n.Pid) != pid || n.Data.Args[0] != addr {
		t.Fatalf("notification %+v, want uname(%#x) of %d", n, addr, pid)
	}
	m := procMem{pid: int(n.Pid), id: n.ID, lfd: lfd}
	got := make([]byte, len(notifiedMarker))
	if _, err := m.ReadAt(got, addr); err != nil || string(got) != notifiedMarker {
		t.Fatalf("read of the pending call: %q, %v; want %q", got, err, notifiedMarker)
	}
	if e := notifSend(lfd, &seccompNotifResp{ID: n.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}); e != 0 {
		t.Fatal("send:", e)
	}
	if line, err := lines.ReadString('\n'); line != "answered\n" {
		t.Fatalf("helper said %q (%v), want answered", line, err)
	}
	if n, err := m.ReadAt(got, addr); err != unix.ESRCH {
		t.Errorf("read after the answer: %d bytes %q, %v; want ESRCH", n, got[:n], err)
	}
	if n, err := m.WriteAt([]byte("written after"), addr); err != unix.ESRCH {
		t.Errorf("write after the answer: %d, %v; want ESRCH", n, err)
	}
	stdin.Close()
	rest, _ := io.ReadAll(lines)
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	if want := unix.ByteSliceToString(uts.Sysname[:]) + "\n"; string(rest) != want {
		t.Errorf("the helper's sysname after its uname: %q, want %q", rest, want)
	}
}

const notifiedMarker = "not yet answered"

// notifiedBuf is helperNotified's uname buffer: a variable of the package,
// so that its address, printed before the call, stays the one the call
// gets (a goroutine's stack moves when it grows).
var notifiedBuf unix.Utsname

// helperNotified is TestProcMemAnsweredCall's program: it sends its own
// uname to a listener of its own, whose fd number it prints with its pid
// and the buffer's address, and prints the buffer's sysname once the
// uname has returned and its stdin has ended.
func helperNotified() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_UNAME},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_USER_NOTIF},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	// The main thread is locked (init), so the filter and the uname are
	// the same thread's.
	lfd, e := installFilter(prog, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	if e != 0 {
		return fmt.Errorf("seccomp: %v", e)
	}
	uts := &notifiedBuf
	copy(uts.Sysname[:], notifiedMarker)
	fmt.Printf("%d %d %x\n", os.Getpid(), lfd, uintptr(unsafe.Pointer(uts)))
	if err := unix.Uname(uts); err != nil {
		return err
	}
	fmt.Println("answered")
	io.Copy(io.Discard, os.Stdin)
	fmt.Println(unix.ByteSliceToString(uts.Sysname[:]))
	return nil
}
