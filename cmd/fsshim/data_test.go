package main

import (
	"io"
	"strings"
	"testing"

	"fsshim/policy"
)

// TestPlanData: both transports get passthrough with a private tmpfs per
// mount when the kernel gives one, and forward when it is asked for.
func TestPlanData(t *testing.T) {
	table, err := policy.NewTable([]policy.Mount{{Path: "/a"}, {Path: "/b"}})
	if err != nil {
		t.Fatal(err)
	}
	setupFor := func(data string, set bool, tr policy.Transport) *setup {
		return &setup{options: options{data: data, dataSet: set}, transport: tr, table: table, capacity: 1 << 20}
	}
	if p, err := planData(setupFor("forward", true, policy.Ptrace), io.Discard); err != nil || p.mode != policy.Forward || p.stores != nil {
		t.Errorf("ptrace with --data forward: mode %v, %d stores, %v; want forward", p.mode, len(p.stores), err)
	}
	if _, err := planData(setupFor("sideways", true, policy.Unotify), io.Discard); err == nil {
		t.Errorf("--data sideways accepted")
	}
	p, err := planData(setupFor("forward", true, policy.Unotify), io.Discard)
	if err != nil || p.mode != policy.Forward || p.store(0) != nil || p.placeholders(1) != nil || p.dev(0) != 0 {
		t.Errorf("--data forward: mode %v, store %v, %v", p.mode, p.store(0), err)
	}
	var warn strings.Builder
	p, err = planData(setupFor("passthrough", false, policy.Unotify), &warn)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if p.mode == policy.Forward {
		t.Skipf("no private tmpfs here: %s", warn.String())
	}
	if len(p.stores) != 2 || p.dev(0) == 0 || p.dev(0) == p.dev(1) || p.store(1) == nil || p.placeholders(0) == nil {
		t.Errorf("passthrough: %d stores, devices %d and %d; want one tmpfs per mount", len(p.stores), p.dev(0), p.dev(1))
	}
	pt, err := planData(setupFor("passthrough", false, policy.Ptrace), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer pt.close()
	if pt.mode != policy.Passthrough || len(pt.stores) != 2 {
		t.Errorf("ptrace, --data not given: mode %v, %d stores; want passthrough", pt.mode, len(pt.stores))
	}
	if dumpData("passthrough") != policy.Passthrough || dumpData("forward") != policy.Forward {
		t.Errorf("dumpData does not follow --data")
	}
}
