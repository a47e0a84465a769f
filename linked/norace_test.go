//go:build !race

package linked

const raceEnabled = false
