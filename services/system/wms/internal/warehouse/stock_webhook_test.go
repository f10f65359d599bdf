package warehouse

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// TestStockWebhooks normalises the stock topics into canonical events carrying the warehouse's
// record id, and refuses incomplete ones as payload errors.
func TestStockWebhooks(t *testing.T) {
	t.Parallel()
	at := timestamppb.New(clock.Add(-30e9).Truncate(1e9))
	atText := at.AsTime().Format("2006-01-02T15:04:05Z")
	tests := []struct {
		name     string
		body     string
		wantType string
		want     any
		bad      bool
	}{
		{"receipt", `{"id":"dlv_r","topic":"inventory.received","data":{"id":"MV-1","sku":"S","location_id":"L","to_state":"available","quantity":4,"occurred_at":"` + atText + `"}}`,
			TypeInventoryReceived, &canonicalv1.InventoryAdjustment{Sku: "S", LocationId: "L", ToState: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE,
				Quantity: 4, OccurredAt: at, SourceRecordId: "MV-1"}, false},
		{"adjustment", `{"id":"dlv_a","topic":"inventory.adjusted","data":{"id":"MV-2","sku":"S","location_id":"L","from_state":"available","to_state":"damaged","quantity":1,"reason":"dropped","occurred_at":"` + atText + `"}}`,
			TypeInventoryAdjusted, &canonicalv1.InventoryAdjustment{Sku: "S", LocationId: "L", FromState: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE,
				ToState: canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED, Quantity: 1, Reason: "dropped", OccurredAt: at, SourceRecordId: "MV-2"}, false},
		{"count", `{"id":"dlv_c","topic":"inventory.counted","data":{"id":"CC-1","sku":"S","location_id":"L","quantities":{"available":7,"damaged":1},"version":9,"updated_at":"` + atText + `"}}`,
			TypeInventoryCounted, &canonicalv1.InventoryPosition{Sku: "S", LocationId: "L", AsOf: at, Version: 9, Quantities: []*canonicalv1.InventoryQuantity{
				{State: canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND, Quantity: 8},
				{State: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE, Quantity: 7},
				{State: canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED, Quantity: 1}}}, false},
		{"unknown state", `{"id":"dlv_x","topic":"inventory.adjusted","data":{"id":"MV-3","sku":"S","location_id":"L","to_state":"lost","quantity":1,"occurred_at":"` + atText + `"}}`, "", nil, true},
		{"no record id", `{"id":"dlv_y","topic":"inventory.received","data":{"sku":"S","location_id":"L","quantity":1,"occurred_at":"` + atText + `"}}`, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, "s", "")
			body := []byte(tt.body)
			_, evs, err := c.ParseWebhook(sign(clock, body, "s"), body)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseWebhook accepted %s", tt.body)
				}
				return
			}
			if err != nil || len(evs) != 1 {
				t.Fatalf("ParseWebhook = %d events, %v", len(evs), err)
			}
			ev := evs[0]
			if ev.GetType() != tt.wantType || ev.GetReferences().GetSystemRecordId() == "" {
				t.Errorf("event type %s record %q, want %s with the record id", ev.GetType(), ev.GetReferences().GetSystemRecordId(), tt.wantType)
			}
			got, err := ev.GetData().UnmarshalNew()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}
