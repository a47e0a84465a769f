package emul

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"fsshim/ramfs"
)

func TestParseMagic(t *testing.T) {
	for _, c := range []struct {
		path string
		want magicLink
		ok   bool
	}{
		{"/proc/self/root", magicLink{what: "root"}, true},
		{"/proc/thread-self/cwd", magicLink{what: "cwd"}, true},
		{"/proc/12/cwd", magicLink{pid: 12, what: "cwd"}, true},
		{"/proc/12/task/13/root", magicLink{pid: 12, tid: 13, what: "root"}, true},
		{"/proc/self/task/13/fd/4", magicLink{tid: 13, what: "fd", fd: 4}, true},
		{"/proc/12/fd/0", magicLink{pid: 12, what: "fd"}, true},
		{"/dev/fd/7", magicLink{what: "fd", fd: 7}, true},
		{"/dev/stderr", magicLink{what: "fd", fd: 2}, true},
		{"/proc/thread-self/task/13/cwd", magicLink{}, false},
		{"/proc/12/task/x/cwd", magicLink{}, false},
		{"/proc/12/task/13", magicLink{}, false},
		{"/proc/0/cwd", magicLink{}, false},
		{"/proc/-1/root", magicLink{}, false},
		{"/proc/12/fd/-1", magicLink{}, false},
		{"/proc/12/fd/1/x", magicLink{}, false},
		{"/proc/12/fdinfo/1", magicLink{}, false},
		{"/proc/12/exe", magicLink{}, false},
		{"/dev/fd", magicLink{}, false},
		{"/dev/fd/", magicLink{}, false},
		{"/proc/self", magicLink{}, false},
	} {
		got, ok := parseMagic(c.path)
		if got != c.want || ok != c.ok {
			t.Errorf("parseMagic(%q) = %+v, %v; want %+v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

// FuzzParseMagic: never a panic, and a link parsed is a link of the form
// it was parsed from, which parses back the same.
func FuzzParseMagic(f *testing.F) {
	for _, s := range []string{"/proc/self/root", "/proc/1/task/2/fd/3", "/dev/fd/0", "/dev/stdin", "/proc//cwd", "/proc/1/task//cwd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := parseMagic(s)
		if !ok {
			return
		}
		if l.pid < 0 || l.tid < 0 || l.fd < 0 || (l.what != "root" && l.what != "cwd" && l.what != "fd") {
			t.Fatalf("parseMagic(%q) = %+v", s, l)
		}
		who := "self"
		if l.pid != 0 {
			who = strconv.Itoa(l.pid)
		}
		p := "/proc/" + who
		if l.tid != 0 {
			p += "/task/" + strconv.Itoa(l.tid)
		}
		p += "/" + l.what
		if l.what == "fd" {
			p += "/" + strconv.Itoa(l.fd)
		}
		if back, ok := parseMagic(p); !ok || back != l {
			t.Fatalf("parseMagic(%q) = %+v, but %q parses as %+v, %v", s, l, p, back, ok)
		}
	})
}

// FuzzWalk walks arbitrary paths in a kernel with a plain mount and an
// overlay: never a panic; an error, or a result on the host or in a
// mount whose path lies in that mount; the same answer twice; and where
// the fast walk takes the path, the resolver's answer.
func FuzzWalk(f *testing.F) {
	for _, s := range []string{"/m/a/../b", "/o/d/f", "../../o/l/x", "/proc/self/cwd/../m", "/dev/fd/../../m/a", "a/./b//", "/o/d/../../m/a/b/c/", "l/../l/l",
		"/m/a/b", "/m/a/b/", "/m/a/b/c", "/m/a/x", "/m/a/x/y", "/m/a/f", "/m/a/f/", "/m/a/f/g", "/m/a/sl", "/m/a/sl/", "/m/a/sl/c", "/m/a/dl",
		"a/b", "a/b/c/", "a/f", "a/nope", "/m", "/m/", "/mm/a", "/m//a", "/m/a/" + strings.Repeat("n", 256)} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(followLast))
		f.Add(s, uint8(lastNoFollow))
	}
	fl := newFakeLower("d/", "d/f=data", "l->d", "abs->/m/a")
	m := &Mount{Path: "/m", FS: ramfs.New(ramfs.Options{})}
	o := &Mount{Path: "/o", FS: ramfs.New(ramfs.Options{}), Lower: fl}
	h := &linkHost{movingHost: movingHost{cwd: "/m", fds: map[int]string{}}, links: map[string]string{"/t": "/o/d"}, dirs: map[string]bool{"/dev": true}}
	k := NewKernel([]*Mount{m, o}, h)
	r := &rig{t: nil, k: k, p: k.Process(1, nil), mem: newArena(), nextFD: 3}
	do := func(nr int, args ...uint64) {
		c := Call{Tid: 1, Proc: r.p, Nr: nr, Mem: r.mem}
		copy(c.Args[:], args)
		if res := k.Handle(&c); res.Err != 0 {
			f.Fatalf("setup call %d: %v", nr, res.Err)
		}
	}
	for _, p := range []string{"/m/a", "/m/a/b", "/m/a/b/c"} {
		do(unix.SYS_MKDIR, r.mem.str(p), 0o755)
	}
	do(unix.SYS_MKNOD, r.mem.str("/m/a/f"), unix.S_IFREG|0o644, 0)
	do(unix.SYS_SYMLINK, r.mem.str("b"), r.mem.str("/m/a/sl"))
	do(unix.SYS_SYMLINK, r.mem.str("gone"), r.mem.str("/m/a/dl"))
	f.Fuzz(func(t *testing.T, name string, flags uint8) {
		if len(name) > 512 || strings.IndexByte(name, 0) >= 0 {
			return
		}
		fl := walkFlags(flags) & (followLast | noSymlinks | beneath | noXdev | inRoot | lastNoFollow | noMagiclinks)
		k.mu.Lock()
		defer k.mu.Unlock()
		a, ea := k.walkLocked(r.p, atFDCWD, name, fl)
		b, eb := k.walkLocked(r.p, atFDCWD, name, fl)
		if ea != eb || a.host != b.host || a.hostPath != b.hostPath || a.m != b.m || a.ino != b.ino || a.abs != b.abs || a.name != b.name {
			t.Fatalf("walk %q twice: %+v %v, then %+v %v", name, a, ea, b, eb)
		}
		if fa, ef, ok := k.walkFastLocked(&Call{Proc: r.p}, atFDCWD, []byte(name), fl); ok {
			if ef != ea || ea == 0 && (fa.host != a.host || fa.redirected != a.redirected || fa.m != a.m || fa.dir != a.dir ||
				fa.name != a.name || fa.ino != a.ino || fa.ov != a.ov || fa.absPath() != a.abs || fa.slash != a.slash || fa.kernelRoot != a.kernelRoot) {
				t.Fatalf("walk %q (flags %#x): fast %+v %v (abs %q), resolver %+v %v", name, fl, fa, ef, fa.absPath(), a, ea)
			}
		}
		if ea != 0 {
			return
		}
		if !a.host && a.m == nil {
			t.Fatalf("walk %q: neither host nor mount: %+v", name, a)
		}
		if !a.host && a.abs != a.m.Path && !strings.HasPrefix(a.abs, a.m.Path+"/") {
			t.Fatalf("walk %q: %q is not in mount %s", name, a.abs, a.m.Path)
		}
	})
}
