//go:build !amd64

package faults

// fileSyscalls is empty: the numbers of the table in sysnum_amd64.go differ
// on other architectures (and some of the calls do not exist there), so
// Parse refuses every rule rather than fail the wrong calls.
var fileSyscalls = map[string]int{}
