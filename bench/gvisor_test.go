package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGvisorArgv runs the script gvisorArgv puts before a command in the
// sandbox (without runsc: its prefix is dropped) and checks that it makes
// the directories and copies in the files under /dev the command names,
// so the command sees them where gVisor's own /dev would lack them.
func TestGvisorArgv(t *testing.T) {
	if st, err := os.Stat("/dev/shm"); err != nil || !st.IsDir() {
		t.Skip("no /dev/shm here")
	}
	base, err := os.MkdirTemp("/dev/shm", "fsshim-gvisor-test-")
	if err != nil {
		t.Skip("/dev/shm is not writable: ", err)
	}
	defer os.RemoveAll(base)
	cfg := filepath.Join(base, "sub", "pm.cfg")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	const text = "set number 10\nset location 'x y'\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "mnt", "a")
	argv := gvisorArgv([]string{dir}, []string{"cat", cfg})
	if argv[0] != "runsc" || argv[3] != "do" {
		t.Fatalf("argv = %q, want runsc ... do ...", argv)
	}
	// In the sandbox the file would be missing: remove it, as it is there.
	os.RemoveAll(filepath.Join(base, "sub"))
	out, err := exec.Command(argv[4], argv[5:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%q: %v\n%s", argv[4:], err, out)
	}
	if string(out) != text {
		t.Errorf("the command read %q, want %q", out, text)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("the mount directory was not made: %v", err)
	}
}
