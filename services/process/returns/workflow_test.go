package returns

import (
	"testing"
	"time"
)

// Vendor facts may overtake the step that caused them; the workflow keeps them. Commands never.
func TestVendorFactsAreDeferrable(t *testing.T) {
	t.Parallel()
	def := definition(systems{}, Timings{}.withDefaults(), time.Now)
	for _, s := range []string{SignalInTransit, SignalReceived, SignalInspected, SignalRefundUpdate} {
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

// The gateway's word on a refund arrives late, repeated and out of order.
func TestMergeRefundStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ current, update, want string }{
		{"", "pending", "pending"},
		{"pending", "succeeded", "succeeded"},
		{"succeeded", "pending", "succeeded"},         // a late refund.created after refund.updated
		{"succeeded", "requires_action", "succeeded"}, // likewise
		{"succeeded", "failed", "failed"},             // the card network returned it
		{"failed", "succeeded", "failed"},
		{"canceled", "pending", "canceled"},
		{"pending", "", "pending"},
		{"requires_action", "canceled", "canceled"},
	} {
		if got := mergeRefundStatus(tc.current, tc.update); got != tc.want {
			t.Errorf("merge(%q, %q) = %q, want %q", tc.current, tc.update, got, tc.want)
		}
	}
}

// Once the refund is made nothing before it is undone: a later permanent failure leaves the
// return for customer service instead of closing the RMA behind a refund that happened.
func TestRefundIsThePivot(t *testing.T) {
	t.Parallel()
	def := definition(systems{}, Timings{}.withDefaults(), time.Now)
	if !def.Pivots[StateRefunding] || len(def.Pivots) != 1 {
		t.Errorf("pivots %v, want the refund only", def.Pivots)
	}
	if _, ok := def.Steps[StateRefunding]; !ok {
		t.Error("the pivot names no step")
	}
}
