package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// execScript builds C programs (one with make, one with its dynamic
// loader in "$1" too) and writes shell scripts in "$1", then runs them by relative
// and absolute path, from a subdirectory, through
// PATH, after changing them, and as files that cannot run. With a lower
// tree (execTree) it first runs the programs found there and then changes
// one of them.
const execScript = `cd "$1" || exit 9
if [ -e lowprog ]; then
  ./lowprog one; echo "rc=$?"
  ./low.sh two
  PATH="$1/bin:$PATH" lowtool three
fi
printf '#include <stdio.h>\nint main(int c, char **v) { printf("built %%s %%d\\n", v[0], c); return 5; }\n' > hello.c
cc -o hello hello.c && ./hello a b; echo "rc=$?"
"$1/hello" abs; echo "rc=$?"
printf 'hello3: hello.c\n\tcc -o hello3 hello.c\n' > Makefile && make -s && ./hello3 made; echo "rc=$?"
cp /lib64/ld-linux-x86-64.so.2 ld.so && cc -Wl,--dynamic-linker="$1/ld.so" -o hello2 hello.c && ./hello2 loader; echo "rc=$?"
printf '#!/bin/sh\necho "new script $0 $*"\n' > new.sh && chmod +x new.sh && ./new.sh x
if [ -e low.sh ]; then echo 'echo appended' >> low.sh; ./low.sh four; fi
mkdir -p d/e && cd d/e && ../../hello deep; echo "rc=$?"; ../../new.sh deep; cd "$1"
cp new.sh d/viapath && PATH="$1/d:$PATH" && viapath y
chmod -x hello && { ./hello 2>/dev/null; echo "rc=$?"; }
{ ./missing; } 2>/dev/null; echo "rc=$?"
printf 'not a program\n' > junk && chmod +x junk && { ./junk 2>/dev/null; echo "rc=$?"; }
`

// execTree fills dir with a lower tree of programs: a C program built
// natively, a script, and a script in bin/ for PATH.
func execTree(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "low.c")
	if err := os.WriteFile(src, []byte("#include <stdio.h>\nint main(int c, char **v) { printf(\"lower %s %d\\n\", v[0], c); return 4; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cc", "-o", filepath.Join(dir, "lowprog"), src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v %s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"low.sh":      "#!/bin/sh\necho \"lower script $0 $*\"\n",
		"bin/lowtool": "#!/bin/sh\necho \"lower tool $0 $*\"\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Unix(1000000000, 0)
	for _, p := range []string{"lowprog", "low.sh", "bin/lowtool", "bin", "."} {
		if err := os.Chtimes(filepath.Join(dir, p), past, past); err != nil {
			t.Fatal(err)
		}
	}
}

// verifyExec checks that the native run went through every step.
func verifyExec(lower bool) func(string) error {
	return func(out string) error {
		want := []string{"built ./hello 3", "built $W/hello 2", "built ./hello2 2", "built ./hello3 2", "new script ./new.sh x", "built ../../hello 2", "new script ../../new.sh deep",
			"new script $W/d/viapath y", "rc=126", "rc=127"}
		if lower {
			want = append(want, "lower ./lowprog 2", "lower script ./low.sh two", "lower tool $W/bin/lowtool three", "appended")
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				return fmt.Errorf("no %q in the output", w)
			}
		}
		return nil
	}
}

// Programs built and written in a mount run there, as on tmpfs, as root
// and as an unprivileged user.
func TestExecInMount(t *testing.T) {
	requireTool(t, "cc", "gcc")
	requireTool(t, "make", "make")
	for _, uid := range []int{0, nobody} {
		name := "mount"
		if uid != 0 {
			if os.Geteuid() != 0 {
				continue
			}
			name += asNobody
		}
		runCase(t, progCase{
			name:   name,
			args:   func(w string) []string { return []string{"sh", "-c", execScript, "sh", w} },
			verify: verifyExec(false),
			uid:    uid,
		})
	}
}

// In an overlay the lower programs run unchanged, changed ones run as
// changed (from the upper layer), new ones run, and the host directory is
// left as it was; the same script on a tmpfs copy is the oracle. The
// default overlay (no --mount: the working directory) is run too.
func TestExecInOverlay(t *testing.T) {
	requireTmpfs(t)
	requireFsshim(t)
	requireTool(t, "cc", "gcc")
	requireTool(t, "make", "make")
	run := func(t *testing.T, args []string, dir, w string) result {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = testEnv()
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		r := result{}
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			r.exit = ee.ExitCode()
		}
		r.stdout, r.stderr = normalizeWork(out.String(), w), normalizeWork(errb.String(), w)
		return r
	}
	src := workDir(t)
	execTree(t, src)
	w := workDir(t)
	if out, err := exec.Command("cp", "-a", src+"/.", w).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	want := run(t, []string{"sh", "-c", execScript, "sh", w}, "/", w)
	if err := verifyExec(true)(want.stdout); err != nil || want.exit != 0 {
		t.Fatalf("the native run went wrong: %v, exit %d\nstdout:\n%s\nstderr:\n%s", err, want.exit, indent(want.stdout), indent(want.stderr))
	}
	for _, tr := range transports {
		for _, dflt := range []bool{false, true} {
			name := tr + "/overlay"
			if dflt {
				name = tr + "/default"
			}
			t.Run(name, func(t *testing.T) {
				requireTransport(t, tr)
				h := workDir(t)
				execTree(t, h)
				before := snapshot(t, h)
				args := append(append([]string{fsshimBin}, transportFlags(tr)...), "--overlay", h, "--", "sh", "-c", execScript, "sh", h)
				dir := "/"
				if dflt {
					args = append(append([]string{fsshimBin}, transportFlags(tr)...), "--", "sh", "-c", execScript, "sh", h)
					dir = h
				}
				got := run(t, args, dir, h)
				if after := snapshot(t, h); after != before {
					t.Errorf("the host directory changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				if n, a, b := firstDiff(want.stdout, got.stdout); n != 0 || got.exit != want.exit {
					t.Errorf("stdout differs at line %d (exit %d, native %d)\nnative: %s\nfsshim: %s\nfsshim stdout:\n%s\nfsshim stderr:\n%s",
						n, got.exit, want.exit, a, b, indent(got.stdout), indent(got.stderr))
				}
			})
		}
	}
}

// Programs run while another process replaces them: each exec runs one
// whole version (the copy the kernel runs is written aside and renamed
// into place), and none fails.
//
// The writer runs in a subshell of its own, not in the shell that started
// the readers: a process whose background children end while it makes
// routed calls meets the unotify EINTR limitation (README, Limits: dash's
// SIGCHLD handler has no SA_RESTART, so its redirection's F_DUPFD or open
// fails EINTR when a child's end comes before fsshim receives the call).
// Here every process that makes routed calls has only foreground
// children, whose SIGCHLD comes while it waits for them, and the shell
// with background children makes none after starting them.
func TestExecWhileReplaced(t *testing.T) {
	requireFsshim(t)
	const script = `cd "$1" || exit 9
mk() { printf '#!/bin/sh\necho v%s\n' "$1" > t.tmp && chmod +x t.tmp && mv t.tmp prog; }
mk 0
for i in 1 2 3 4; do
  ( for j in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do ./prog || echo FAIL; done ) &
done
( k=1; while [ $k -le 40 ]; do mk $k; k=$((k+1)); done ) &
wait
`
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			requireTransport(t, tr)
			w, checkHost := mountDir(t)
			r, err := execute(proc{args: fsshimTransportArgs(tr, []string{w}, "sh", "-c", script, "sh", w), timeout: 2 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			checkHost()
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if r.exit != 0 || len(lines) != 100 || r.stderr != "" {
				t.Fatalf("exit %d, %d lines (want 100)\nstdout:\n%s\nstderr:\n%s", r.exit, len(lines), indent(r.stdout), indent(r.stderr))
			}
			for _, l := range lines {
				if len(l) < 2 || l[0] != 'v' || strings.Trim(l[1:], "0123456789") != "" {
					t.Fatalf("a run printed %q", l)
				}
			}
		})
	}
}

// The program on fsshim's own command line may be one stored in a
// preloaded mount: it is run from there, and a missing one exits 127.
func TestExecPreloadedProgram(t *testing.T) {
	requireFsshim(t)
	src := workDir(t)
	if err := os.WriteFile(filepath.Join(src, "tool"), []byte("#!/bin/sh\necho preloaded \"$0\" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			requireTransport(t, tr)
			w, checkHost := mountDir(t)
			r, err := execute(proc{args: append(append([]string{fsshimBin}, transportFlags(tr)...), "--mount", w+"="+src, "--", w+"/tool", "a b")})
			if err != nil {
				t.Fatal(err)
			}
			if want := "preloaded " + w + "/tool a b\n"; r.exit != 0 || r.stdout != want {
				t.Errorf("exit %d stdout %q stderr %q; want %q", r.exit, r.stdout, r.stderr, want)
			}
			r, err = execute(proc{args: append(append([]string{fsshimBin}, transportFlags(tr)...), "--mount", w+"="+src, "--", w+"/missing")})
			if err != nil {
				t.Fatal(err)
			}
			if r.exit != 127 {
				t.Errorf("missing program: exit %d, want 127 (stderr %q)", r.exit, r.stderr)
			}
			checkHost()
		})
	}
}

// A mount or overlay whose host directory lies on a noexec mount is
// noexec too: a program written there cannot run (EACCES: the shell's
// 126), as natively. Root only: it mounts a noexec tmpfs.
func TestExecNoexec(t *testing.T) {
	requireFsshim(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a noexec tmpfs")
	}
	const script = `cd "$1" && printf '#!/bin/sh\necho ran\n' > s && chmod +x s && ./s 2>/dev/null; echo "rc=$?"`
	noexecDir := func(t *testing.T) string {
		d := workDir(t)
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "noexec", "tmpfs", d).CombinedOutput(); err != nil {
			t.Skipf("mount -o noexec: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", d).Run() })
		return d
	}
	nat, err := execute(proc{args: []string{"sh", "-c", script, "sh", noexecDir(t)}})
	if err != nil || nat.stdout != "rc=126\n" {
		t.Fatalf("native: %v %q %q", err, nat.stdout, nat.stderr)
	}
	for _, tr := range transports {
		for _, flag := range []string{"--mount", "--overlay"} {
			t.Run(tr+flag, func(t *testing.T) {
				requireTransport(t, tr)
				d := noexecDir(t)
				r, err := execute(proc{args: append(append([]string{fsshimBin}, transportFlags(tr)...), flag, d, "--", "sh", "-c", script, "sh", d)})
				if err != nil {
					t.Fatal(err)
				}
				if r.stdout != nat.stdout {
					t.Errorf("stdout %q, want %q (stderr %q)", r.stdout, nat.stdout, r.stderr)
				}
			})
		}
	}
}

// Set-user-ID bits give no privileges under fsshim, to a program stored in
// a mount as to a host program: the program runs with no_new_privs, under
// which the kernel ignores them on every exec (README, Limits). Natively
// the same commands gain root. Root only: it makes set-user-ID root
// programs and runs them as an unprivileged user.
func TestExecSetuidNotHonoured(t *testing.T) {
	requireFsshim(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to make set-user-ID root programs")
	}
	requireTool(t, "setpriv", "util-linux")
	id := requireTool(t, "id", "coreutils")
	// Root makes a set-user-ID root copy of id in "$1" and runs it, and
	// the host copy "$2", as nobody.
	const script = `cp "$3" "$1/id" && chmod 4755 "$1/id" &&
for p in "$1/id" "$2"; do setpriv --reuid=65534 --regid=65534 --clear-groups "$p" -u; done`
	host := workDir(t)
	data, err := os.ReadFile(id)
	if err != nil {
		t.Fatal(err)
	}
	hostID := filepath.Join(host, "id")
	if err := os.WriteFile(hostID, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(hostID, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	nat, err := execute(proc{args: []string{"sh", "-c", script, "sh", workDir(t), hostID, id}})
	if err != nil {
		t.Fatal(err)
	}
	if nat.stdout != "0\n0\n" {
		t.Skipf("natively the set-user-ID programs did not run as root (a nosuid tmpfs?): %q %q", nat.stdout, nat.stderr)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			requireTransport(t, tr)
			w, checkHost := mountDir(t)
			r, err := execute(proc{args: append(append([]string{fsshimBin}, transportFlags(tr)...), "--mount", w, "--", "sh", "-c", script, "sh", w, hostID, id)})
			if err != nil {
				t.Fatal(err)
			}
			if want := "65534\n65534\n"; r.stdout != want {
				t.Errorf("stdout %q, want %q (stderr %q)", r.stdout, want, r.stderr)
			}
			checkHost()
		})
	}
}
