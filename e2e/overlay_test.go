package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// overlayTree fills dir with the host files the overlay tests start from,
// all with one old modification time.
func overlayTree(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"a":          "alpha\n",
		"b":          "bravo\n",
		"big":        strings.Repeat("0123456789abcdef", 1250), // 20000 bytes
		"sub/c":      "charlie\n",
		"sub/deep/d": "delta\n",
		"ro":         "read-only\n",
	}
	for _, d := range []string{"sub/deep", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "ro"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	past := time.Unix(1000000000, 0)
	for _, p := range []string{"a", "b", "big", "ro", "sub/c", "sub/deep/d", "sub/deep", "sub", "empty", "."} {
		if err := os.Chtimes(filepath.Join(dir, p), past, past); err != nil {
			t.Fatal(err)
		}
	}
}

// overlayScript works in "$1" through every kind of change an overlay
// handles: reads of lower files, an append (copy-up), removals (whiteouts),
// a directory removed and made again (opaque), moves across layers (a
// directory with lower files: mv falls back to copying), a copy whose
// source is a lower file read in place, a lower file read through an fd
// after its removal, and listings of the merged directories. It prints no
// times and no inode numbers, only relations, and nothing about the
// directory above "$1" (under fsshim the kernel's working directory is not
// "$1", see README's limits).
const overlayScript = `cd "$1" || exit 9
cat a sub/c link
ino=$(stat -c %i a)
echo appended >> a
cat a
[ "$(stat -c %i a)" = "$ino" ] && echo same-inode-after-copy-up
rm b && echo removed b
cat b 2>/dev/null || echo b is gone
mkdir newdir && rmdir newdir && echo mkdir-rmdir
rm -r sub/deep && ls sub
rmdir empty && mkdir empty && touch empty/fresh && ls -a empty
chmod 0600 ro && stat -c '%n %a %s' ro
mv a sub/a2 && cat sub/a2
mv sub/c c2 && cat c2
mv sub moved && ls -a moved
cp big big2 && cmp big big2 && echo cp-ok
exec 3<big
rm big
wc -c <&3
exec 3<&-
ln c2 c2-hard && stat -c '%n %h' c2 c2-hard
echo new > fresh && cat fresh
ls -l --time-style=+ . moved empty
stat -c '%n %F %h %s %a' . moved empty link
find . | sort
`

// An overlay of a host directory behaves like a copy of it on tmpfs, and
// the host directory is left exactly as it was. The same script runs on
// the kernel's own overlayfs over the same tree too (as root), which must
// agree with the copy except where overlayfsAsCopy says.
func TestOverlay(t *testing.T) {
	requireTmpfs(t)
	run := func(t *testing.T, args []string, w string) result {
		t.Helper()
		r, err := execute(proc{args: args})
		if err != nil {
			t.Fatal(err)
		}
		r.stdout, r.stderr = normalizeWork(r.stdout, w), normalizeWork(r.stderr, w)
		return r
	}
	native := func(t *testing.T) result {
		t.Helper()
		src := workDir(t)
		overlayTree(t, src)
		w := workDir(t)
		if out, err := exec.Command("cp", "-a", src+"/.", w).CombinedOutput(); err != nil {
			t.Fatalf("cp -a: %v %s", err, out)
		}
		return run(t, []string{"sh", "-c", overlayScript, "sh", w}, w)
	}
	want := native(t)
	if want.exit != 0 || !strings.Contains(want.stdout, "same-inode-after-copy-up") || !strings.Contains(want.stdout, "cp-ok") {
		t.Fatalf("the native run went wrong: exit %d\nstdout:\n%s\nstderr:\n%s", want.exit, indent(want.stdout), indent(want.stderr))
	}
	if again := native(t); again.stdout != want.stdout {
		n, a, b := firstDiff(want.stdout, again.stdout)
		t.Fatalf("the native run is not deterministic: line %d\n%s\n%s", n, a, b)
	}
	// The kernel's own overlayfs over the same lower tree (root only).
	t.Run("overlayfs", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to mount overlayfs")
		}
		lower, w := workDir(t), workDir(t)
		overlayTree(t, lower)
		scratch := workDir(t)
		upper, work := filepath.Join(scratch, "upper"), filepath.Join(scratch, "work")
		for _, d := range []string{upper, work} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// The merged root takes the upper directory's times and mode.
		past := time.Unix(1000000000, 0)
		if err := os.Chtimes(upper, past, past); err != nil {
			t.Fatal(err)
		}
		opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
		if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, w).CombinedOutput(); err != nil {
			t.Skipf("mount -t overlay: %v %s", err, out)
		}
		defer exec.Command("umount", w).Run()
		got := run(t, []string{"sh", "-c", overlayScript, "sh", w}, w)
		got.stdout = overlayfsAsCopy(want.stdout, got.stdout)
		if n, a, b := firstDiff(want.stdout, got.stdout); n != 0 || got.exit != want.exit {
			t.Errorf("stdout differs at line %d (exit %d, tmpfs copy %d)\ntmpfs copy: %s\noverlayfs:  %s\noverlayfs stdout:\n%s\nstderr:\n%s",
				n, got.exit, want.exit, a, b, indent(got.stdout), indent(got.stderr))
		}
	})
	for _, tr := range transports {
		t.Run("fsshim-"+tr, func(t *testing.T) {
			requireTransport(t, tr)
			h := workDir(t)
			overlayTree(t, h)
			before := snapshot(t, h)
			got := run(t, append(append([]string{fsshimBin}, transportFlags(tr)...), "--overlay", h, "--", "sh", "-c", overlayScript, "sh", h), h)
			if after := snapshot(t, h); after != before {
				t.Errorf("the host directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if n, a, b := firstDiff(want.stdout, got.stdout); n != 0 || got.exit != want.exit {
				t.Errorf("stdout differs at line %d (exit %d, native %d)\nnative: %s\nfsshim: %s\nnative stdout:\n%s\nfsshim stdout:\n%s\nfsshim stderr:\n%s",
					n, got.exit, want.exit, a, b, indent(want.stdout), indent(got.stdout), indent(got.stderr))
			}
		})
	}
}

// overlayfsAsCopy returns the overlayfs run's output with the one
// difference from a copy on tmpfs that fsshim's overlay does not take
// over: overlayfs reports a merged directory (one with lower entries) with
// one link and its upper directory's size (ovl_getattr), where a copy has
// 2 plus its subdirectories and its own size. Only a "NAME directory 1
// SIZE MODE" line of stat that the copy's run has as "NAME directory N
// SIZE' MODE" is replaced by the copy's line.
func overlayfsAsCopy(copyOut, ovlOut string) string {
	cl, ol := strings.Split(copyOut, "\n"), strings.Split(ovlOut, "\n")
	for i := range ol {
		if i >= len(cl) || cl[i] == ol[i] {
			continue
		}
		of, cf := strings.Fields(ol[i]), strings.Fields(cl[i])
		if len(of) == 5 && len(cf) == 5 && of[0] == cf[0] && of[1] == "directory" && cf[1] == "directory" && of[2] == "1" && of[4] == cf[4] {
			ol[i] = cl[i]
		}
	}
	return strings.Join(ol, "\n")
}

// runIn runs fsshim with args in directory dir.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(fsshimBin, args...)
	cmd.Dir = dir
	cmd.Env = testEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), exit
}

// A host symlink that points into an overlay leads where Linux would go:
// into the merged view (the lower files, the program's changes), not to
// the host directory behind it, which stays as it was. The same script
// runs natively on a copy of the tree with the symlink pointing at it.
func TestOverlayHostSymlinkInto(t *testing.T) {
	requireFsshim(t)
	const script = `l="$1"; d="$2"
cat "$l/lnk/a" "$l/lnk/sub/c"
echo new > "$l/lnk/n" && cat "$d/n"
echo more >> "$l/lnk/sub/c" && cat "$d/sub/c"
rm "$l/lnk/b" && ls "$d"
mkdir "$l/lnk/sub/x" && ls "$d/sub"
cd "$l/lnk/sub" && cat ../a && ls ..
`
	run := func(t *testing.T, tree string, args func(links string) []string) result {
		t.Helper()
		links := workDir(t)
		if err := os.Symlink(tree, filepath.Join(links, "lnk")); err != nil {
			t.Fatal(err)
		}
		r, err := execute(proc{args: append(args(links), "sh", "-c", script, "sh", links, tree)})
		if err != nil {
			t.Fatal(err)
		}
		r.stdout = strings.ReplaceAll(strings.ReplaceAll(r.stdout, tree, "$D"), links, "$L")
		return r
	}
	nat := workDir(t)
	overlayTree(t, nat)
	want := run(t, nat, func(string) []string { return nil })
	if want.exit != 0 {
		t.Fatalf("the native run failed: exit %d\n%s", want.exit, indent(want.stderr))
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			requireTransport(t, tr)
			h := workDir(t)
			overlayTree(t, h)
			before := snapshot(t, h)
			got := run(t, h, func(string) []string {
				return append(append([]string{fsshimBin, "--overlay", h}, transportFlags(tr)...), "--")
			})
			if got.exit != want.exit || got.stdout != want.stdout {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", got.exit, want.exit, indent(got.stdout), indent(want.stdout), indent(got.stderr))
			}
			if after := snapshot(t, h); after != before {
				t.Errorf("the host directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// With no --mount and no --overlay the current directory is an overlay:
// existing files are there, new ones stay in fsshim, nothing is copied
// first and the directory is not touched.
func TestOverlayDefault(t *testing.T) {
	requireFsshim(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			requireTransport(t, tr)
			dir := workDir(t)
			if err := os.WriteFile(filepath.Join(dir, "existing"), []byte("from the host\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			stdout, stderr, exit := runIn(t, dir, append(transportFlags(tr), "--", "sh", "-c", "cat existing; echo x > new; ls")...)
			if exit != 0 || stdout != "from the host\nexisting\nnew\n" {
				t.Errorf("exit %d stdout %q stderr %q", exit, stdout, stderr)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("the directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// --save of an overlay saves the merged view: the lower files left alone,
// the program's changes, no whiteouts.
func TestOverlaySave(t *testing.T) {
	requireFsshim(t)
	h := workDir(t)
	overlayTree(t, h)
	before := snapshot(t, h)
	out := filepath.Join(workDir(t), "out")
	_, stderr, exit := runFsshimArgs(t, "--overlay", h, "--save", h+"="+out, "--",
		"sh", "-c", `cd "$1" && rm b && rm -r sub/deep && echo more >> sub/c && echo n > new`, "sh", h)
	if exit != 0 {
		t.Fatalf("exit %d: %s", exit, stderr)
	}
	if after := snapshot(t, h); after != before {
		t.Errorf("the host directory changed")
	}
	for name, want := range map[string]string{"a": "alpha\n", "sub/c": "charlie\nmore\n", "new": "n\n", "ro": "read-only\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("saved %s = %q, %v; want %q", name, b, err, want)
		}
	}
	for _, gone := range []string{"b", "sub/deep"} {
		if _, err := os.Lstat(filepath.Join(out, gone)); err == nil {
			t.Errorf("saved copy has %s, which the program removed", gone)
		}
	}
	if l, err := os.Readlink(filepath.Join(out, "link")); err != nil || l != "a" {
		t.Errorf("saved link = %q, %v", l, err)
	}
	if fi, err := os.Stat(filepath.Join(out, "a")); err != nil || !fi.ModTime().Equal(time.Unix(1000000000, 0)) {
		t.Errorf("saved a lost its time: %v %v", fi, err)
	}
}

// --overlay wants an existing directory.
func TestOverlayFlagErrors(t *testing.T) {
	requireFsshim(t)
	dir := workDir(t)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, c := range []struct{ arg, msg string }{
		{filepath.Join(dir, "missing"), "does not exist"},
		{file, "not a directory"},
		{dir, "given twice"},
	} {
		args := []string{"--overlay", c.arg}
		if c.msg == "given twice" {
			args = append(args, "--mount", dir)
		}
		_, stderr, exit := runFsshimArgs(t, append(args, "--", "true")...)
		if exit != 125 || !strings.Contains(stderr, c.msg) {
			t.Errorf("--overlay %s: exit %d stderr %q, want 125 and %q", c.arg, exit, stderr, c.msg)
		}
	}
}
