package emul

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// An overlay over an empty lower directory is a ramfs with extra steps:
// through the layer interface every call must answer as on a plain mount
// (same results, errors and stat figures but inode numbers). A layer that
// mishandles a case the other handles shows here without a host.
func TestLayersAgree(t *testing.T) {
	plain := newRig(t)
	ov, _, _ := newOverlayRig(t, newFakeLower(), false)
	type step struct {
		nr   int
		args []any // strings are paths, ints are numbers
	}
	steps := []step{
		{unix.SYS_MKDIR, []any{"/m/a", 0o755}},
		{unix.SYS_MKDIR, []any{"/m/a/b", 0o700}},
		{unix.SYS_MKDIR, []any{"/m/a", 0o755}},
		{unix.SYS_OPEN, []any{"/m/a/f", unix.O_CREAT | unix.O_WRONLY, 0o640}},
		{unix.SYS_OPEN, []any{"/m/a/f/", unix.O_RDONLY, 0}},
		{unix.SYS_OPEN, []any{"/m/a/nope/x", unix.O_CREAT | unix.O_WRONLY, 0o640}},
		{unix.SYS_SYMLINK, []any{"a/f", "/m/l"}},
		{unix.SYS_SYMLINK, []any{"../a", "/m/a/b/up"}},
		{unix.SYS_LINK, []any{"/m/a/f", "/m/a/g"}},
		{unix.SYS_LINK, []any{"/m/a", "/m/a2"}},
		{unix.SYS_RENAME, []any{"/m/a/g", "/m/h"}},
		{unix.SYS_RENAME, []any{"/m/a", "/m/a/b/c"}},
		{unix.SYS_RENAME, []any{"/m/h", "/m/a/f"}},
		{unix.SYS_RENAME, []any{"/m/a/b", "/m/a/f"}},
		{unix.SYS_RENAME, []any{"/m/a/f", "/m/a/b"}},
		{unix.SYS_RMDIR, []any{"/m/a"}},
		{unix.SYS_RMDIR, []any{"/m/a/b/."}},
		{unix.SYS_UNLINK, []any{"/m/a/b"}},
		{unix.SYS_UNLINK, []any{"/m/l/"}},
		{unix.SYS_CHMOD, []any{"/m/l", 0o600}},
		{unix.SYS_TRUNCATE, []any{"/m/l", 3}},
		{unix.SYS_CHDIR, []any{"/m/a/b/up/b"}},
		{unix.SYS_MKDIR, []any{"../../d", 0o755}},
		{unix.SYS_RENAME, []any{"/m/d", "/m/a/b/d"}},
		{unix.SYS_RMDIR, []any{"d"}},
		{unix.SYS_MKNOD, []any{"/m/fifo", unix.S_IFIFO | 0o644, 0}},
		{unix.SYS_RENAME, []any{"/m/fifo", "/m/fifo2"}},
		{unix.SYS_UNLINK, []any{"/m/fifo2"}},
		{unix.SYS_UNLINK, []any{"/m/l"}},
	}
	stats := []string{"/m", "/m/a", "/m/a/", "/m/a/b", "/m/a/f", "/m/l", "/m/a/b/up", "/m/a/b/up/", "/m/a/b/up/f", "/m/nope", "/m/a/f/x"}
	check := func(when string) {
		t.Helper()
		for _, p := range stats {
			for _, follow := range []bool{true, false} {
				a, ea := plain.stat(p, follow)
				b, eb := ov.stat(p, follow)
				a.ino, b.ino, a.dev, b.dev = 0, 0, 0, 0
				if a != b || ea != eb {
					t.Errorf("%s: stat %s (follow %v): plain %+v %v, overlay %+v %v", when, p, follow, a, ea, b, eb)
				}
			}
		}
		for _, d := range []string{"/m", "/m/a", "/m/a/b"} {
			if a, b := plain.listOrErr(d), ov.listOrErr(d); a != b {
				t.Errorf("%s: listing of %s: plain %s, overlay %s", when, d, a, b)
			}
		}
	}
	for _, s := range steps {
		var res [2]Result
		for i, r := range []*rig{plain, ov} {
			var args []uint64
			for _, a := range s.args {
				switch v := a.(type) {
				case string:
					args = append(args, r.mem.str(v))
				case int:
					args = append(args, uint64(v))
				}
			}
			res[i] = r.call(s.nr, args...)
			if res[i].Action == Return && res[i].Err == 0 && s.nr == unix.SYS_OPEN {
				r.ok(unix.SYS_CLOSE, uint64(res[i].Val))
			}
		}
		if res[0].Action != res[1].Action || res[0].Err != res[1].Err || res[0].Val != res[1].Val {
			t.Errorf("syscall %d %v: plain %v %d %v, overlay %v %d %v", s.nr, s.args,
				res[0].Action, res[0].Val, res[0].Err, res[1].Action, res[1].Val, res[1].Err)
		}
		check(fmt.Sprintf("after %d %v", s.nr, s.args))
	}
}

// listOrErr is list as one string, or the error opening the directory.
func (r *rig) listOrErr(p string) string {
	res := r.call(unix.SYS_OPEN, r.mem.str(p), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if res.Err != 0 {
		return res.Err.Error()
	}
	r.ok(unix.SYS_CLOSE, uint64(res.Val))
	return strings.Join(r.list(p), " ")
}
