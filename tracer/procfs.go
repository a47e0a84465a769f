package tracer

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"fsshim/emul"
)

// taskStatus holds what fsshim needs from /proc/TID/status.
type taskStatus struct {
	Tgid, PPid int
	Fsuid      uint32
	Fsgid      uint32
	Ruid, Rgid uint32
	Groups     []uint32
	Umask      uint32
	Threads    int
	// NSpid is the pid in each PID namespace from fsshim's down.
	NSpid []int
}

// creds are the ids emul checks permissions with.
func (st taskStatus) creds() emul.Creds {
	return emul.Creds{Uid: st.Fsuid, Gid: st.Fsgid, Ruid: st.Ruid, Rgid: st.Rgid, Groups: st.Groups}
}

func readStatus(tid int) (taskStatus, error) {
	var st taskStatus
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return st, err
	}
	st.Umask = 0o022
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		f := strings.Fields(string(v))
		if string(k) == "NSpid" {
			for _, x := range f {
				if n, err := strconv.Atoi(x); err == nil {
					st.NSpid = append(st.NSpid, n)
				}
			}
			continue
		}
		if string(k) == "Groups" {
			for _, g := range f {
				if n, err := strconv.ParseUint(g, 10, 32); err == nil {
					st.Groups = append(st.Groups, uint32(n))
				}
			}
			continue
		}
		if len(f) == 0 {
			continue
		}
		switch string(k) {
		case "Tgid":
			st.Tgid, _ = strconv.Atoi(f[0])
		case "PPid":
			st.PPid, _ = strconv.Atoi(f[0])
		case "Threads":
			st.Threads, _ = strconv.Atoi(f[0])
		case "Umask":
			u, _ := strconv.ParseUint(f[0], 8, 32)
			st.Umask = uint32(u)
		case "Uid":
			if len(f) >= 4 {
				r, _ := strconv.ParseUint(f[0], 10, 32)
				u, _ := strconv.ParseUint(f[3], 10, 32)
				st.Ruid, st.Fsuid = uint32(r), uint32(u)
			}
		case "Gid":
			if len(f) >= 4 {
				r, _ := strconv.ParseUint(f[0], 10, 32)
				u, _ := strconv.ParseUint(f[3], 10, 32)
				st.Rgid, st.Fsgid = uint32(r), uint32(u)
			}
		}
	}
	if st.Tgid == 0 {
		return st, errors.New("no Tgid in status")
	}
	return st, nil
}

// placeholderPrefix names the memfds fsshim installs in targets; the
// suffix is the emul description id.
const placeholderPrefix = "fsshim-"

// scanFDs reads the target's fd table and returns the fds that are fsshim
// placeholders, by description id, and the other fds whose link dir
// reports as perhaps a shadow directory's placeholder, with their links
// (placeholders.verified tells); dir may be nil.
func scanFDs(tgid int, dir func(link []byte) bool) (map[int]uint64, map[int]string, error) {
	fdDir := "/proc/" + strconv.Itoa(tgid) + "/fd"
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, nil, err
	}
	out := map[int]uint64{}
	var others map[int]string
	buf := make([]byte, unix.PathMax)
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		n, err := unix.Readlink(fdDir+"/"+e.Name(), buf)
		if err != nil {
			continue
		}
		if id, ok := placeholderID(string(buf[:n])); ok {
			out[fd] = id
		} else if dir != nil && dir(buf[:n]) {
			if others == nil {
				others = map[int]string{}
			}
			others[fd] = string(buf[:n])
		}
	}
	return out, others, nil
}

// placeholderID parses "/memfd:fsshim-123 (deleted)".
func placeholderID(link string) (uint64, bool) {
	rest, ok := strings.CutPrefix(link, "/memfd:"+placeholderPrefix)
	if !ok {
		// "/fsshim-123 (deleted)": a passthrough placeholder
		// (placeholderFD).
		if rest, ok = strings.CutPrefix(link, "/"+placeholderPrefix); !ok {
			return 0, false
		}
	}
	rest = strings.TrimSuffix(rest, " (deleted)")
	id, err := strconv.ParseUint(rest, 10, 64)
	return id, err == nil
}

// procHost implements emul.Host from /proc.
type procHost struct{}

// ProcHost returns the emul.Host of supervised targets: it reads /proc.
func ProcHost() emul.Host { return procHost{} }

func (procHost) FDPath(tgid, fd int) (string, error) {
	p, err := os.Readlink("/proc/" + strconv.Itoa(tgid) + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(p, "/") {
		return "", errors.New("not a path")
	}
	return p, nil
}

func (procHost) Cwd(tgid int) (string, error) {
	return os.Readlink("/proc/" + strconv.Itoa(tgid) + "/cwd")
}

// FDAccMode returns the O_ACCMODE bits fd of process tgid was opened with
// (the "flags:" line of /proc/PID/fdinfo/N; emul.FDAccModer).
func (procHost) FDAccMode(tgid, fd int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tgid) + "/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return 0, err
			}
			return int(f) & unix.O_ACCMODE, nil
		}
	}
	return 0, errors.New("no flags in fdinfo")
}
