package returns

import (
	"testing"

	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// An inspection that overtakes its receipt still tells the customer the parcel was received,
// and only then.
func TestInspectedBeforeReceipt(t *testing.T) {
	t.Parallel()
	at := func(state string) []*returnsv1.TimelineEntry {
		return []*returnsv1.TimelineEntry{{State: state, Description: customerDescription(state)}}
	}
	tests := []struct {
		name     string
		timeline []*returnsv1.TimelineEntry
		state    string
		want     bool
	}{
		{"inspected while in transit", at(StateInTransit), StateDispositioning, true},
		{"inspected while awaiting the parcel", at(StateAwaitingParcel), StateDispositioning, true},
		{"wrong item while in transit", at(StateInTransit), StateException, true},
		{"inspected after the receipt", at(StateAwaitingInspection), StateDispositioning, false},
		{"received in order", at(StateInTransit), StateAwaitingInspection, false},
		{"empty timeline", nil, StateDispositioning, false},
		{"refund after inspection", at(StateDispositioning), StateRefunding, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := inspectedBeforeReceipt(tt.timeline, tt.state); got != tt.want {
				t.Errorf("inspectedBeforeReceipt(%s → %s) = %v, want %v", tt.timeline, tt.state, got, tt.want)
			}
		})
	}
}
