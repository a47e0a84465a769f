package tracer

import (
	"testing"

	"fsshim/policy"
)

// The probe's call must reach fsshim under every data mode: one the
// filter leaves to the kernel would be timed natively, and the hand-off
// would come out as a native syscall's cost.
func TestProbeCallRouted(t *testing.T) {
	for _, d := range []policy.Data{policy.Passthrough, policy.Forward} {
		routed := false
		for _, r := range policy.RoutedUnder(d) {
			if r.Nr == probeCall {
				routed = true
			}
		}
		if !routed {
			t.Errorf("the probe's call (%d) is not routed under --data %v", probeCall, d)
		}
	}
}
