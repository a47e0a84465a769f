package emul

// The mount table as the program reads it. df, findmnt, stat -f, mount and
// libmount learn which file system holds a path from /proc/self/mountinfo
// (or /proc/mounts, /proc/self/mounts, /etc/mtab, /proc/PID/...) and match
// the entry to a file by its mount point and by the device number that
// stat reports. Left to the kernel, those files describe a mount path as
// whatever the host has there: in the isolated namespace a read-only bind
// mount of the host directory (ext4, say, options "ro"), and without
// isolation nothing at all, so "df -T" of a file in a mount finds the wrong
// entry or none.
//
// An open for reading of one of those files is answered with a copy of the
// kernel's text (read from /proc/PID/ of the calling process, which has the
// same mount table as the program) in which each fsshim mount is an entry
// of its own: file system type tmpfs, source "fsshim", device 0:N as stat
// reports it (devOf), root "/", mount options "rw,relatime" and tmpfs's
// super options (size in KiB as statfs reports it, nr_inodes with
// --max-inodes, mode/uid/gid of the root directory when not tmpfs's
// defaults). The entry replaces the kernel's entry for the mount path (its
// id, parent and propagation are kept) or, where there is none, is added
// at the end under the innermost mount that contains it. Entries of mounts
// below a mount path are left out: fsshim serves everything there.
//
// The copy is a file in emul's private directory (special.go), one per
// distinct text, and the open is redirected to it (Redirect), so the
// program gets a real file on both transports: reads, seeks, poll and
// close are the kernel's. It differs from the proc file in what fstat says
// of it (a regular file with a size, on the private directory's file
// system) and in that it does not change when mounts change afterwards
// (the program cannot mount: see tracer/isolate.go).
//
// Only absolute paths are recognised (what df, findmnt and libmount use);
// a path relative to a directory in /proc reaches the kernel's file.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// mountTableKind is which of the proc files a path names.
type mountTableKind int

const (
	notMountTable mountTableKind = iota
	tabMountinfo
	tabMounts
	tabMountstats
)

// mountTablePath parses an absolute path naming a mount table: it returns
// the kind, the pid it is of ("self" and "thread-self" as -1) and the path
// cleaned (and /etc/mtab's link followed), or notMountTable.
func mountTablePath(p string) (mountTableKind, int, string) {
	if !strings.HasPrefix(p, "/proc/") && p != "/etc/mtab" {
		return notMountTable, 0, ""
	}
	p = path.Clean(p)
	if p == "/proc/mounts" {
		return tabMounts, -1, p
	}
	if p == "/etc/mtab" {
		// A symlink to the proc file on current systems; a regular
		// file on old ones, which is the host's business.
		t, err := os.Readlink(p)
		if err != nil {
			return notMountTable, 0, ""
		}
		if !path.IsAbs(t) {
			t = path.Join("/etc", t)
		}
		if t == "/etc/mtab" {
			return notMountTable, 0, ""
		}
		return mountTablePath(t)
	}
	parts := strings.Split(strings.TrimPrefix(p, "/proc/"), "/")
	pid := -1
	switch {
	case len(parts) != 2 && len(parts) != 4:
		return notMountTable, 0, ""
	case parts[0] == "self" || parts[0] == "thread-self":
		if parts[0] == "thread-self" && len(parts) != 2 {
			return notMountTable, 0, ""
		}
	default:
		n, err := strconv.Atoi(parts[0])
		if err != nil || n <= 0 || strconv.Itoa(n) != parts[0] {
			return notMountTable, 0, ""
		}
		pid = n
	}
	if len(parts) == 4 {
		if parts[1] != "task" {
			return notMountTable, 0, ""
		}
		if n, err := strconv.Atoi(parts[2]); err != nil || n <= 0 || strconv.Itoa(n) != parts[2] {
			return notMountTable, 0, ""
		}
	}
	switch parts[len(parts)-1] {
	case "mountinfo":
		return tabMountinfo, pid, p
	case "mounts":
		return tabMounts, pid, p
	case "mountstats":
		return tabMountstats, pid, p
	}
	return notMountTable, 0, ""
}

// mountTableOpenLocked answers an open of one of the mount tables, or
// reports false to let the caller go on (any other path, an open for
// writing, a table fsshim cannot read, which the kernel then answers).
func (k *Kernel) mountTableOpenLocked(p *Process, name string, flags int) (Result, bool) {
	if len(name) < 6 || name[0] != '/' || (name[1] != 'p' && name[1] != 'e') {
		return Result{}, false // the common case, cheaply
	}
	kind, pid, clean := mountTablePath(name)
	if kind == notMountTable {
		return Result{}, false
	}
	if flags&oAccmode != syscall.O_RDONLY || flags&(oPath|syscall.O_DIRECTORY|syscall.O_CREAT|oTmpfile) != 0 {
		return Result{}, false
	}
	if k.mountContaining(name) != nil {
		return Result{}, false // a ramfs path, which the caller serves
	}
	// The caller's own table, or the one of the process it names, read
	// in the caller's /proc (the pid is one of its PID namespace's).
	src := fmt.Sprintf("/proc/%d/root%s", p.Tgid, clean)
	if pid < 0 {
		file := map[mountTableKind]string{tabMountinfo: "mountinfo", tabMounts: "mounts", tabMountstats: "mountstats"}[kind]
		src = fmt.Sprintf("/proc/%d/%s", p.Tgid, file)
	}
	in, err := os.ReadFile(src)
	if err != nil {
		return Result{}, false // the kernel answers
	}
	ms := k.tableMountsLocked()
	var out []byte
	switch kind {
	case tabMountinfo:
		out = rewriteMountinfo(in, ms)
	case tabMounts:
		out = rewriteMounts(in, ms)
	default:
		out = rewriteMountstats(in, ms)
	}
	copyPath, e := k.mountTableCopyLocked(out)
	if e != 0 {
		return fail(e), true
	}
	flags &^= syscall.O_NOATIME
	return Result{Action: Redirect, Redir: &Redirection{Nr: unix.SYS_OPENAT, Path: copyPath, Flags: flags}}, true
}

// mountContaining returns the mount clean absolute p lies in, or nil.
func (k *Kernel) mountContaining(p string) *Mount {
	p = path.Clean(p)
	var best *Mount
	for _, m := range k.mounts {
		if p == m.Path || strings.HasPrefix(p, m.Path+"/") || m.Path == "/" {
			if best == nil || len(m.Path) > len(best.Path) {
				best = m
			}
		}
	}
	return best
}

// mountTableCopyLocked returns the path of a file in the private directory
// holding text, made the first time this text is asked for.
func (k *Kernel) mountTableCopyLocked(text []byte) (string, syscall.Errno) {
	dir, e := k.specialDirLocked()
	if e != 0 {
		return "", e
	}
	sum := sha256.Sum256(text)
	p := filepath.Join(dir, "mounts-"+hex.EncodeToString(sum[:16]))
	if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() && st.Size() == int64(len(text)) {
		return p, 0
	}
	tmp := p + ".new"
	err := os.WriteFile(tmp, text, 0o444)
	if err == nil {
		err = os.Chmod(tmp, 0o444) // whatever the umask
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		k.fault("writing the mount table's copy: " + err.Error())
		return "", syscall.EIO
	}
	return p, 0
}

// tableMount is what the mount tables say of one fsshim mount.
type tableMount struct {
	path  string
	minor uint32 // device 0:minor, as stat reports (devOf)
	opts  string // tmpfs's super options
}

// tableMountsLocked describes the mounts for the mount tables.
func (k *Kernel) tableMountsLocked() []tableMount {
	ms := make([]tableMount, 0, len(k.mounts))
	for _, m := range k.mounts {
		_, mnr := k.devOf(m)
		s := m.FS.Statfs()
		opts := fmt.Sprintf("size=%dk", s.Blocks*uint64(s.Bsize)/1024)
		if s.Files < 1<<32 {
			opts += fmt.Sprintf(",nr_inodes=%d", s.Files)
		}
		a := m.FS.Getattr(m.FS.Root())
		if mode := a.Mode & 0o7777; mode != 0o1777 {
			opts += fmt.Sprintf(",mode=%03o", mode)
		}
		if a.Uid != 0 {
			opts += fmt.Sprintf(",uid=%d", a.Uid)
		}
		if a.Gid != 0 {
			opts += fmt.Sprintf(",gid=%d", a.Gid)
		}
		ms = append(ms, tableMount{path: m.Path, minor: mnr, opts: opts})
	}
	return ms
}

// mountEscape writes a path as the mount tables do (mangle: space, tab,
// newline and backslash as \ooo).
func mountEscape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// mountUnescape reverses mountEscape.
func mountUnescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tableEdit says what becomes of each line of a mount table: lines is the
// text split in lines, mountPoint gives a line's mount point (or ok false
// for a line to keep as it is). It returns, per line, the index of the
// mount it becomes (-1 to keep, -2 to drop), and the mounts that had no
// line.
func tableEdit(lines []string, ms []tableMount, mountPoint func(string) (string, bool)) (fate []int, missing []int) {
	fate = make([]int, len(lines))
	last := make([]int, len(ms)) // the last line of each mount path
	for i := range last {
		last[i] = -1
	}
	for i, l := range lines {
		fate[i] = -1
		mp, ok := mountPoint(l)
		if !ok {
			continue
		}
		for j, m := range ms {
			switch {
			case mp == m.path:
				// Earlier entries at the same place are hidden by the
				// last one, which becomes the mount's.
				last[j] = i
				fate[i] = -2
			case strings.HasPrefix(mp, m.path+"/") || m.path == "/":
				fate[i] = -2 // below a mount: fsshim serves it
			}
		}
	}
	for j, i := range last {
		if i < 0 {
			missing = append(missing, j)
			continue
		}
		fate[i] = j
	}
	return fate, missing
}

func splitLines(in []byte) []string {
	s := strings.TrimSuffix(string(in), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func joinLines(lines []string) []byte {
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// rewriteMountinfo rewrites /proc/PID/mountinfo (proc(5): "ID PARENT
// MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPEROPTS").
func rewriteMountinfo(in []byte, ms []tableMount) []byte {
	lines := splitLines(in)
	fields := func(l string) []string { return strings.Split(l, " ") }
	fate, missing := tableEdit(lines, ms, func(l string) (string, bool) {
		f := fields(l)
		if len(f) < 10 {
			return "", false
		}
		return mountUnescape(f[4]), true
	})
	entry := func(id, parent string, optional []string, m tableMount) string {
		f := append([]string{id, parent, fmt.Sprintf("0:%d", m.minor), "/", mountEscape(m.path), "rw,relatime"}, optional...)
		return strings.Join(append(f, "-", "tmpfs", "fsshim", "rw,"+m.opts), " ")
	}
	var out []string
	maxID := 0
	ids := map[string]string{} // mount point -> id of the entries kept
	for i, l := range lines {
		f := fields(l)
		if id, err := strconv.Atoi(f[0]); err == nil && id > maxID {
			maxID = id
		}
		switch j := fate[i]; {
		case j == -2:
		case j >= 0:
			sep := len(f)
			for k := 6; k < len(f); k++ {
				if f[k] == "-" {
					sep = k
					break
				}
			}
			out = append(out, entry(f[0], f[1], f[6:sep], ms[j]))
			ids[ms[j].path] = f[0]
		default:
			out = append(out, l)
			if len(f) >= 5 {
				ids[mountUnescape(f[4])] = f[0]
			}
		}
	}
	for _, j := range missing {
		m := ms[j]
		parent, best := "1", -1
		for mp, id := range ids {
			if (mp == "/" || strings.HasPrefix(m.path, mp+"/")) && len(mp) > best {
				parent, best = id, len(mp)
			}
		}
		maxID++
		id := strconv.Itoa(maxID)
		out = append(out, entry(id, parent, nil, m))
		ids[m.path] = id
	}
	return joinLines(out)
}

// rewriteMounts rewrites /proc/PID/mounts (fstab(5) format: "SOURCE
// MOUNTPOINT TYPE OPTIONS 0 0").
func rewriteMounts(in []byte, ms []tableMount) []byte {
	lines := splitLines(in)
	fate, missing := tableEdit(lines, ms, func(l string) (string, bool) {
		f := strings.Split(l, " ")
		if len(f) < 4 {
			return "", false
		}
		return mountUnescape(f[1]), true
	})
	entry := func(m tableMount) string {
		return "fsshim " + mountEscape(m.path) + " tmpfs rw,relatime," + m.opts + " 0 0"
	}
	return applyTableEdit(lines, fate, missing, ms, entry)
}

// rewriteMountstats rewrites /proc/PID/mountstats ("device SOURCE mounted
// on MOUNTPOINT with fstype TYPE [statistics...]").
func rewriteMountstats(in []byte, ms []tableMount) []byte {
	lines := splitLines(in)
	fate, missing := tableEdit(lines, ms, func(l string) (string, bool) {
		f := strings.Split(l, " ")
		if len(f) < 7 || f[0] != "device" || f[2] != "mounted" || f[3] != "on" {
			return "", false
		}
		return mountUnescape(f[4]), true
	})
	entry := func(m tableMount) string {
		return "device fsshim mounted on " + mountEscape(m.path) + " with fstype tmpfs"
	}
	return applyTableEdit(lines, fate, missing, ms, entry)
}

// applyTableEdit builds a table from lines and tableEdit's verdicts: a
// line whose fate is -2 is dropped, one that names mount j becomes
// entry(ms[j]), the others stay; the mounts the table lacked are added at
// the end.
func applyTableEdit(lines []string, fate, missing []int, ms []tableMount, entry func(tableMount) string) []byte {
	var out []string
	for i, l := range lines {
		switch j := fate[i]; {
		case j == -2:
		case j >= 0:
			out = append(out, entry(ms[j]))
		default:
			out = append(out, l)
		}
	}
	for _, j := range missing {
		out = append(out, entry(ms[j]))
	}
	return joinLines(out)
}
