package main

import (
	"fsshim/persist"
	"fsshim/policy"
)

// saveGuard protects the host directories that --save must never write:
// the path of every mount and overlay, whose host directory fsshim hides
// and promises to leave as it is.
func saveGuard(table *policy.Table) persist.Guard {
	var g persist.Guard
	for _, m := range table.Mounts() {
		g = append(g, m.Path)
	}
	return g
}
