package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// shCase runs a shell script with the work directory as $1 and extra as
// $2...; the script starts in the work directory. Where error messages are
// part of what is compared, the script sends them to stdout.
func shCase(name, script string, extra ...string) progCase {
	return progCase{
		name:  name,
		tools: map[string]string{"sh": "dash"},
		args: func(w string) []string {
			return append([]string{"/bin/sh", "-c", "cd \"$1\" || exit 99\n" + script, "sh", w}, extra...)
		},
	}
}

// TestPrograms runs unmodified programs natively and under fsshim.
func TestPrograms(t *testing.T) {
	for _, c := range programCases(t) {
		// And ptrace with --data forward, which no other test runs
		// with real programs.
		c.legs = append(slices.Clone(transports), "ptrace-forward")
		runCase(t, c)
	}
}

// lsTotal matches the "total" line of ls -l, which the brief lets differ.
var lsTotal = regexp.MustCompile(`(?m)^total \d+$`)

// programCases lists the program runs. Scripts never look at the work
// directory itself (under fsshim it is the root of the mount, whose own
// mode and size are fsshim's choice), only at what they create in it.
func programCases(t *testing.T) []progCase {
	var cases []progCase

	c := shCase("sh_redirections", `
echo hello > a
echo world >> a
cat a
cat < a > b; wc -c < b
exec 3> c; echo via fd 3 >&3; echo more >&3; exec 3>&-; cat c
exec 4< a; read l1 <&4; read l2 <&4; exec 4<&-; echo "read: $l1 $l2"
exec 5<> rw; echo rwdata >&5; exec 5>&-; cat rw
echo to stderr 2> e >&2; cat e
{ echo one; echo two; } > g; cat g
echo x >| h; set -C; (echo y > h) 2>/dev/null || echo noclobber refused; set +C; cat h
: > empty; wc -c < empty
cat missing 2>&1; echo "cat exit $?"
echo > /dev/null; echo devnull ok
ls
`)
	cases = append(cases, c)

	c = shCase("sh_pipes_heredoc", `
printf 'b\na\nc\n' > in
sort < in | tr a-z A-Z > out; cat out
cat <<EOF > doc
line one
value $((6 * 7)) in $(basename "$1")
EOF
cat doc
cat <<'EOF' | wc -l
raw $HOME
two
EOF
seq 1 1000 | tee nums | tail -n 1; wc -l < nums
mkdir sub && (cd sub && pwd && echo inside > f); cat sub/f
for i in 1 2 3; do echo "n$i" > "n$i"; done; cat n1 n2 n3 | tr '\n' ' '; echo
while read x; do echo "got $x"; done < in
first=$(head -n 1 doc); echo "first: $first"
yes | head -n 5000 > yes.txt; wc -l < yes.txt
ls | sort | tr '\n' ' '; echo
`)
	cases = append(cases, c)

	c = shCase("coreutils_cp_mv_rm", `
mkdir -p src/a/b src/c
printf 'one\n' > src/a/one
printf 'two\n' > src/a/b/two
seq 1 500 > src/c/nums
ln -s ../a/one src/c/link
cp -r src dst
cp -a src arch
cp src/c/nums copy1
cp --sparse=always src/c/nums sparsecopy
mv dst/a dst/moved
mv copy1 dst/
mv src/c/nums src/c/nums.renamed
rm -r src/a
rm dst/moved/one
rm -rf arch/c
rm -f nothere
rm nothere 2>&1; echo "rm exit $?"
rmdir dst 2>&1; echo "rmdir exit $?"
mv dst dst2 && ls dst2
find . | sort
cat dst2/moved/b/two dst2/copy1 | wc -l
readlink dst2/c/link
cksum dst2/c/nums sparsecopy src/c/nums.renamed
rm -r dst2 arch src sparsecopy
ls -A | wc -l
`)
	cases = append(cases, c)

	c = shCase("coreutils_ls_l", `
mkdir d
printf abc > f
ln -s f l
ln f h
mkfifo p
chmod 0640 f
mkdir d/sub
touch d/e
chmod 2750 d
ls -l --time-style=+T
ls -la --time-style=+T d/sub
ls -l --time-style=+T d
ls -lR --time-style=+T d
ls -1a
ls -F
ls -d d l
ls -lL --time-style=+T l
ls missing 2>&1; echo "ls exit $?"
`)
	c.normalize = func(s string) string { return lsTotal.ReplaceAllString(s, "total N") }
	cases = append(cases, c)

	c = shCase("coreutils_find", `
mkdir -p a/b/c a/d
touch a/x.txt a/b/y.txt a/b/c/z.log a/d/w.txt
ln -s ../x.txt a/b/lx
find . | sort
find . -type f -name '*.txt' | sort
find . -type d | sort
find . -type l -printf '%p -> %l\n'
find . -mindepth 2 -maxdepth 2 | sort
find . -empty | sort
find . -name c -prune -o -print | sort
find -L . -type f | sort
find . -printf '%y %m %n %s %p\n' | grep -v '^d' | sort
find . -mindepth 1 -type d -printf '%y %m %n %p\n' | sort
find . -name '*.log' -delete
find . -name 'w.txt' -exec rm {} +
find . -depth -type d -empty -delete
find . | sort
find missing 2>&1; echo "find exit $?"
`)
	cases = append(cases, c)

	c = shCase("coreutils_du", `
mkdir -p d/e
printf x > d/one
head -c 5000 /dev/zero > d/five
head -c 9000 /dev/zero > d/e/nine
truncate -s 100000 d/sparse
printf end >> d/sparse
echo "apparent, files:"
du -ab d/one d/five d/e/nine d/sparse
echo "real, files:"
du -a --block-size=1 d/one d/five d/e/nine d/sparse
echo "apparent, tree:"
du -ab d | sort -k2
echo "real, tree:"
du -a --block-size=1 d | sort -k2
du -sk d
du -s --inodes d
`)
	cases = append(cases, c)

	c = shCase("coreutils_cat_touch_ln_stat", `
printf 'first\n' > a
printf 'second\n' > b
cat a b
cat a - b <<EOF
from stdin
EOF
cat -n a b
touch t
stat -c '%s %h %F %a' t
touch -d '2001-09-09 01:46:40' t; stat -c '%Y %X' t
touch -m -d @1234567890 t; stat -c '%Y %X' t
touch -a -d @1234567000 t; stat -c '%Y %X' t
touch -r t a; stat -c '%Y %X' a
touch -c nonexist; ls nonexist 2>&1; echo "ls exit $?"
ln -s a sa; stat -c '%s %h %F %a %N' sa; stat -L -c '%s %h %F %a' sa; readlink sa
ln a ha; stat -c '%s %h %F %a' a ha
ln -s nowhere dangling; stat -c '%F' dangling; cat dangling 2>&1; echo "cat exit $?"
ln -sf b sa; readlink sa; cat sa
ln a b 2>&1; echo "ln exit $?"
mkdir d; stat -c '%h %F %a' d
mkdir d/s1 d/s2; stat -c '%h %F %a' d
mkfifo p; stat -c '%s %h %F %a' p
chmod 4711 t; stat -c '%a %A' t
stat -c '%s %b %B' a
stat -f -c '%T %l' .
`)
	cases = append(cases, c)

	c = shCase("tar_roundtrip", `
mkdir -p tree/sub/deep tree/empty
printf 'hello\n' > tree/a.txt
seq 1 2000 > tree/sub/numbers
head -c 100000 /dev/zero | tr '\0' 'x' > tree/sub/deep/big
ln -s ../a.txt tree/sub/link
ln tree/a.txt tree/hard
mkfifo tree/fifo
truncate -s 1M tree/sparse
printf 'end' >> tree/sparse
chmod 0600 tree/sub/numbers
chmod 0750 tree/sub
find tree -exec touch -h -d @1000000000 {} +
tar --sort=name --owner=0 --group=0 --numeric-owner -cf t.tar tree
echo "listing:"
tar -tvf t.tar
mkdir out
tar -xf t.tar -C out
echo "extracted:"
find out/tree -printf '%y %m %s %n %T@ %p -> %l\n' | sort
cksum tree/a.txt out/tree/a.txt tree/sub/numbers out/tree/sub/numbers tree/sub/deep/big out/tree/sub/deep/big tree/sparse out/tree/sparse
tar --sort=name --owner=0 --group=0 --numeric-owner -cf t2.tar -C out tree
cksum < t.tar; cksum < t2.tar
tar --mtime=@1000000000 --owner=0 --group=0 --numeric-owner -cf t3.tar tree && cksum < t3.tar
tar -czf t.tgz tree && tar -tzf t.tgz | sort
rm -r out/tree/sub
tar -xf t.tar -C out tree/sub/numbers && stat -c '%a %s %Y' out/tree/sub/numbers
`)
	c.tools["tar"] = "tar"
	c.tools["gzip"] = "gzip"
	cases = append(cases, c)

	sqlDir := t.TempDir()
	sqlFile := filepath.Join(sqlDir, "rows.sql")
	var sql strings.Builder
	sql.WriteString("create table t(id integer primary key, name text, v integer);\nbegin;\n")
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(&sql, "insert into t values(%d, 'row%04d', %d);\n", i, i, i*3)
	}
	sql.WriteString(`commit;
select count(*), sum(v), min(name), max(name) from t;
pragma integrity_check;
create index tv on t(v);
update t set v = v * 2 where id % 3 = 0;
delete from t where id % 10 = 0;
select count(*), sum(v) from t;
vacuum;
select count(*), sum(id) from t where v > 1000;
`)
	if err := os.WriteFile(sqlFile, []byte(sql.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"delete", "wal"} {
		c = shCase("sqlite3_"+mode, `
sqlite3 db.sqlite 'pragma journal_mode=`+mode+`;' < /dev/null
sqlite3 db.sqlite < "$2"; echo "sqlite3 exit $?"
sqlite3 db.sqlite 'select count(*) from t; pragma journal_mode;'
ls
wc -c < db.sqlite
`, sqlFile)
		c.tools["sqlite3"] = "sqlite3"
		c.verify = func(out string) error {
			if !strings.Contains(out, "1000|1501500|row0001|row1000") {
				return fmt.Errorf("sqlite3 did not report 1000 rows summing to 1501500")
			}
			return nil
		}
		cases = append(cases, c)
	}

	cases = append(cases, progCase{
		name:    "go_concurrent_files",
		helpers: []string{"goprog"},
		args:    func(w string) []string { return []string{helperBins["goprog"], w} },
		verify: func(out string) error {
			if !strings.HasSuffix(out, "\nok\n") {
				return fmt.Errorf("goprog did not end with ok")
			}
			return nil
		},
	})
	cases = append(cases, progCase{
		name:    "c_fork_dup2_cloexec",
		tools:   map[string]string{"cat": "coreutils", "sh": "dash"},
		helpers: []string{"forkfd"},
		args:    func(w string) []string { return []string{helperBins["forkfd"], w} },
		verify: func(out string) error {
			if !strings.HasSuffix(out, "\nok\n") {
				return fmt.Errorf("forkfd did not end with ok")
			}
			return nil
		},
	})
	return cases
}

// TestExitStatus checks that the program's exit status comes through
// fsshim, including death by signal, and fsshim's own codes for a program
// that cannot be run.
func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		name   string
		script string
		want   int
	}{
		{"exit_7", "exit 7", 7},
		{"exit_0_after_work", "echo x > f && test -s f", 0},
		{"exit_255", "exit 255", 255},
		{"kill_9", "kill -9 $$", 137},
		{"kill_term", "kill -TERM $$", 143},
		{"exit_of_last_in_mount", "echo data > f; grep -q nomatch f", 1},
	} {
		pc := shCase(c.name, c.script)
		pc.wantExit = c.want
		runCase(t, pc)
	}

	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho no\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want int
	}{
		{"program_not_found", []string{"/nonexistent/fsshim-e2e-program"}, 127},
		{"program_not_in_path", []string{"fsshim-e2e-no-such-program"}, 127},
		{"program_not_executable", []string{notExec}, 126},
		{"program_is_a_directory", []string{t.TempDir()}, 126},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Run("native", func(t *testing.T) {
				_, _, exit := runNative(t, "/bin/sh", "-c", `"$@"`, "sh", c.args[0])
				if exit != c.want {
					t.Errorf("sh exited %d, want %d", exit, c.want)
				}
			})
			t.Run("fsshim", func(t *testing.T) {
				w, checkHost := mountDir(t)
				stdout, stderr, exit := runFsshim(t, []string{w}, c.args...)
				checkHost()
				if exit != c.want {
					t.Errorf("fsshim exited %d, want %d\nstdout:\n%s\nstderr:\n%s", exit, c.want, indent(stdout), indent(stderr))
				}
			})
		})
	}
}

// TestFsshimUsage checks fsshim's own errors (status 125) and the
// --stats-json output. These have no native leg.
func TestFsshimUsage(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"unknown_flag", []string{"--no-such-flag", "--", "/bin/true"}},
		{"mount_without_path", []string{"--mount"}},
		{"no_program", []string{"--mount", "/tmp/fsshim-e2e-unused", "--"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Run("fsshim", func(t *testing.T) {
				requireFsshim(t)
				r, err := execute(proc{args: append([]string{fsshimBin}, c.args...)})
				if err != nil {
					t.Fatal(err)
				}
				if r.exit != 125 {
					t.Errorf("fsshim %q exited %d, want 125\nstderr:\n%s", c.args, r.exit, indent(r.stderr))
				}
				if strings.TrimSpace(r.stderr) == "" {
					t.Errorf("fsshim %q printed no error message", c.args)
				}
			})
		})
	}
	t.Run("stats_json", func(t *testing.T) {
		t.Run("fsshim", func(t *testing.T) { testStatsJSON(t) })
	})
}

func testStatsJSON(t *testing.T) {
	requireFsshim(t)
	w, checkHost := mountDir(t)
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	r, err := execute(proc{args: append([]string{fsshimBin, "--stats", "--stats-json", statsFile, "--mount", w, "--"},
		"/bin/sh", "-c", `echo hello > "$1/f" && cat "$1/f"`, "sh", w)})
	if err != nil {
		t.Fatal(err)
	}
	checkHost()
	if r.exit != 0 || r.stdout != "hello\n" {
		t.Fatalf("exit %d, stdout %q, want 0 and %q\nstderr:\n%s", r.exit, r.stdout, "hello\n", indent(r.stderr))
	}
	b, err := os.ReadFile(statsFile)
	if err != nil {
		t.Fatalf("--stats-json wrote nothing: %v", err)
	}
	if !json.Valid(b) || !strings.Contains(string(b), "openat") {
		t.Errorf("--stats-json is not JSON naming openat:\n%s", b)
	}
	if !strings.Contains(r.stderr, "openat") {
		t.Errorf("--stats printed no table with openat on stderr:\n%s", r.stderr)
	}
}
