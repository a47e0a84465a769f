package tracer

import (
	"bytes"
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// TaskTgid returns the thread group of task pid as process viewer names
// it (emul.TaskHost): the Tgid line of the status file in viewer's own
// /proc, so both numbers are in viewer's PID namespace.
func (procHost) TaskTgid(viewer, pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(viewer) + "/root/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("Tgid:")); ok {
			return strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return 0, errors.New("no Tgid in " + strconv.Itoa(pid) + "'s status")
}

// HostDir describes directory hp as process tgid sees it (emul.HostDirer):
// stat through its own root, so in its mount namespace.
func (procHost) HostDir(tgid int, hp string) (mode, uid, gid uint32, err error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(tgid)+"/root"+hp, &st); err != nil {
		return 0, 0, 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, 0, 0, unix.ENOTDIR
	}
	return st.Mode, st.Uid, st.Gid, nil
}

// HostLstat looks at hp as process tgid sees it (emul.HostLinker): lstat
// through its own root, and the target of a symlink. Only the last
// component may be a symlink (emul asks component by component): the
// kernel would follow an absolute one in the middle from fsshim's root.
func (procHost) HostLstat(tgid int, hp string) (uint32, string, error) {
	p := "/proc/" + strconv.Itoa(tgid) + "/root" + hp
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return 0, "", err
	}
	typ := st.Mode & unix.S_IFMT
	if typ != unix.S_IFLNK {
		return typ, "", nil
	}
	t, err := os.Readlink(p)
	return typ, t, err
}
