package tracer

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// The ABI structs must have the sizes the kernel uses: the ioctl numbers
// encode them, and SECCOMP_GET_NOTIF_SIZES reports them.
func TestABISizes(t *testing.T) {
	ioctlSize := func(req uint) uintptr { return uintptr(req>>16) & 0x3fff }
	if got, want := unsafe.Sizeof(seccompNotif{}), ioctlSize(unix.SECCOMP_IOCTL_NOTIF_RECV); got != want {
		t.Errorf("seccomp_notif is %d bytes, NOTIF_RECV says %d", got, want)
	}
	if got, want := unsafe.Sizeof(seccompNotifResp{}), ioctlSize(unix.SECCOMP_IOCTL_NOTIF_SEND); got != want {
		t.Errorf("seccomp_notif_resp is %d bytes, NOTIF_SEND says %d", got, want)
	}
	if got, want := unsafe.Sizeof(seccompNotifAddfd{}), ioctlSize(unix.SECCOMP_IOCTL_NOTIF_ADDFD); got != want {
		t.Errorf("seccomp_notif_addfd is %d bytes, NOTIF_ADDFD says %d", got, want)
	}
	sizes, e := getNotifSizes()
	if e != 0 {
		t.Skipf("SECCOMP_GET_NOTIF_SIZES: %v (kernel without user notification)", e)
	}
	if uintptr(sizes.SeccompNotif) != unsafe.Sizeof(seccompNotif{}) ||
		uintptr(sizes.SeccompNotifResp) != unsafe.Sizeof(seccompNotifResp{}) ||
		uintptr(sizes.SeccompData) != unsafe.Sizeof(seccompData{}) {
		t.Errorf("kernel sizes %+v, ours notif %d resp %d data %d", sizes,
			unsafe.Sizeof(seccompNotif{}), unsafe.Sizeof(seccompNotifResp{}), unsafe.Sizeof(seccompData{}))
	}
}

func TestPlaceholderID(t *testing.T) {
	for link, want := range map[string]uint64{
		"/memfd:fsshim-1 (deleted)":   1,
		"/memfd:fsshim-987 (deleted)": 987,
		"/memfd:fsshim-42":            42,
	} {
		if id, ok := placeholderID(link); !ok || id != want {
			t.Errorf("placeholderID(%q) = %d, %v; want %d", link, id, ok, want)
		}
	}
	for _, link := range []string{"/memfd:other (deleted)", "/tmp/fsshim-1", "pipe:[123]", "/memfd:fsshim-x (deleted)", "/memfd:fsshim- (deleted)"} {
		if id, ok := placeholderID(link); ok {
			t.Errorf("placeholderID(%q) = %d, want no match", link, id)
		}
	}
}

func TestReadStatusSelf(t *testing.T) {
	st, err := readStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.Tgid != os.Getpid() || st.PPid != os.Getppid() || st.Fsuid != uint32(os.Geteuid()) {
		t.Errorf("status = %+v (pid %d ppid %d euid %d)", st, os.Getpid(), os.Getppid(), os.Geteuid())
	}
	mask := unix.Umask(0o027)
	unix.Umask(mask)
	if st.Umask != uint32(mask) {
		t.Errorf("umask %o, want %o", st.Umask, mask)
	}
}

// scanFDs finds placeholders by their memfd names in a real fd table.
func TestScanFDsFindsPlaceholders(t *testing.T) {
	fd, err := unix.MemfdCreate(placeholderPrefix+"31337", unix.MFD_CLOEXEC)
	if err != nil {
		t.Skip(err)
	}
	defer unix.Close(fd)
	m, _, err := scanFDs(os.Getpid(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m[fd] != 31337 {
		t.Errorf("scanFDs = %v, want fd %d -> 31337", m, fd)
	}
	for other, id := range m {
		if other != fd {
			t.Errorf("fd %d taken for placeholder %d", other, id)
		}
	}
}

func TestStatsReport(t *testing.T) {
	s := NewStats(func(nr int) string {
		if nr == 0 {
			return "read"
		}
		return ""
	})
	s.Handoff = 1000 * time.Nanosecond
	for i := 0; i < 100; i++ {
		s.record(0, emul.Emulated, 200*time.Nanosecond, 500*time.Nanosecond)
	}
	s.record(1, emul.Failed, 100, 300)
	s.record(1, emul.Continued, 100, 300)
	s.Wall = time.Millisecond
	r := s.Report()
	if len(r.Rows) != 2 || r.Rows[0].Syscall != "read" || r.Rows[1].Syscall != "syscall_1" {
		t.Fatalf("rows = %+v", r.Rows)
	}
	read := r.Rows[0]
	if read.Calls != 100 || read.Emulated != 100 || read.HandlerTotal != 100*200 || read.RoundTotal != 100*(500+1000) {
		t.Errorf("read row = %+v", read)
	}
	if r.Total.Calls != 102 || r.Total.Failed != 1 || r.Total.Host != 1 {
		t.Errorf("total = %+v", r.Total)
	}
	wantSwitch := r.Total.RoundTotal - r.Total.HandlerTotal
	if r.SwitchNs != wantSwitch || r.SwitchShare != wantSwitch/1e6 {
		t.Errorf("switch %v share %v", r.SwitchNs, r.SwitchShare)
	}
	var buf bytes.Buffer
	r.WriteTable(&buf)
	if !strings.Contains(buf.String(), "read") || !strings.Contains(buf.String(), "total") {
		t.Errorf("table:\n%s", buf.String())
	}
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Total.Calls != 102 {
		t.Errorf("JSON round trip: %v %+v", err, back.Total)
	}
}

// A shadow directory's placeholder shows its path in /proc/PID/fd, which
// several descriptions of the same directory share: a re-read finds each
// by the directory, then kcmp.
func TestShadowDirPlaceholdersFound(t *testing.T) {
	dir := t.TempDir()
	ph := newPlaceholders()
	defer ph.closeAll()
	var fds [2]int
	for i := range fds {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		own, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		ph.add(uint64(10+i), own, dir)
		fds[i] = fd
	}
	m, others, err := scanFDs(os.Getpid(), ph.namesShadowDir)
	if err != nil {
		t.Fatal(err)
	}
	got := ph.verified(os.Getpid(), m, others)
	if got[fds[0]] != 10 || got[fds[1]] != 11 {
		t.Errorf("verified = %v, want fd %d -> 10, fd %d -> 11", got, fds[0], fds[1])
	}
	if id := ph.Find(os.Getpid(), fds[1]); id != 11 {
		t.Errorf("Find = %d, want 11", id)
	}
	other, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	if id := ph.Find(os.Getpid(), other); id != 0 {
		t.Errorf("Find of another fd on the same directory = %d, want 0", id)
	}
	ph.mu.Lock()
	fd10 := ph.fds[10]
	ph.dropLocked(10, fd10)
	left := len(ph.dirs) == 1 && slices.Equal(ph.byPath[dir], []uint64{11})
	ph.mu.Unlock()
	if !left {
		t.Errorf("after dropping one: dirs %v by path %v", ph.dirs, ph.byPath)
	}
}
