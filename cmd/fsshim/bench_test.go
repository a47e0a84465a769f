package main

import (
	"strings"
	"testing"
)

// TestBenchArgs checks that `fsshim bench` refuses bad thread counts and
// iteration counts before it measures anything, saying which flag is
// wrong, and that the threads and programs workloads are named in the
// help.
func TestBenchArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"threads", "--threads", "0"}, `--threads: bad thread count "0"`},
		{[]string{"threads", "--threads", "1,x"}, `--threads: bad thread count "x"`},
		{[]string{"threads", "--threads", "2,2"}, "--threads: thread count 2 given twice"},
		{[]string{"threads", "--iters", "-5"}, "--iters must be at least 1"},
		{[]string{"thread"}, `unknown workload "thread"`},
		{[]string{"programs", "--files", "0"}, "--files must be at least 1"},
		{[]string{"programs", "--transports", "native", "--tree", "/nonexistent/tree"}, "the untar row's tree (--tree): lstat /nonexistent/tree: no such file or directory"},
	} {
		var out, errOut strings.Builder
		if code := benchMain(tc.args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.msg) {
			t.Errorf("bench %q = %d, stderr %q; want 2 and %q", tc.args, code, errOut.String(), tc.msg)
		}
		if out.Len() != 0 {
			t.Errorf("bench %q printed %q", tc.args, out.String())
		}
	}
	var out, errOut strings.Builder
	if code := benchMain([]string{"--help"}, &out, &errOut); code != 0 ||
		!strings.Contains(errOut.String(), "[postmark|micro|threads|programs]") || !strings.Contains(errOut.String(), "--threads LIST") ||
		!strings.Contains(errOut.String(), "--tree DIR") {
		t.Errorf("bench --help = %d:\n%s", code, errOut.String())
	}
}
