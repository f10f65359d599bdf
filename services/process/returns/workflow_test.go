package returns

import (
	"testing"
	"time"
)

// Vendor facts may overtake the step that caused them; the workflow keeps them. Commands never.
func TestVendorFactsAreDeferrable(t *testing.T) {
	t.Parallel()
	def := definition(systems{}, Timings{}.withDefaults(), time.Now)
	for _, s := range []string{SignalInTransit, SignalReceived, SignalInspected} {
		if !def.Deferrable[s] {
			t.Errorf("%s is not deferrable: a webhook overtaking its step's commit would be lost", s)
		}
	}
	for _, s := range []string{SignalCancel, SignalApprove, SignalDeny, SignalOverride} {
		if def.Deferrable[s] {
			t.Errorf("command %s is deferrable: its caller would be told it failed while it is applied later", s)
		}
	}
}
