package oms

import (
	"context"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	fluentsb "github.com/retailbridge/retailbridge/services/sandbox/fluent"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// Figures loaded through SetAvailability replace the OMS's own positions, and Fluent sources
// the next order from them: routing follows the inventory process, not the OMS's stale stock.
func TestFluentSourcesFromTheAvailabilityItIsGiven(t *testing.T) {
	t.Parallel()
	svc, sb := newFluent(t, fluentsb.DevPassword)
	ctx := context.Background()
	sb.SetOnHand("dc-east", "A", 9) // the OMS's own, stale view
	sb.SetOnHand("dc-west", "A", 0)
	sb.SetOnHand("store-nyc", "A", 0)
	figures := []*omsv1.LocationAvailability{{LocationId: "dc-east", Sku: "A", Available: 0},
		{LocationId: "dc-west", Sku: "A", Available: 3}, {LocationId: "store-nyc", Sku: "A", Available: 0}}
	resp, err := svc.SetAvailability(ctx, &omsv1.SetAvailabilityRequest{Availability: figures, IdempotencyKey: "k-avail"})
	if err != nil || resp.GetUpdateId() == "" {
		t.Fatalf("SetAvailability = %v, %v", resp, err)
	}
	if got := sb.Stats().InventoryUpdates; got != len(figures) {
		t.Errorf("the OMS took %d positions, want %d", got, len(figures))
	}
	o := omsOrder("o-avail", canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME, "", "A")
	sub, err := svc.SubmitOrder(ctx, &omsv1.SubmitOrderRequest{Order: o, IdempotencyKey: "k-sub"})
	if err != nil {
		t.Fatal(err)
	}
	if got := allocations(t, svc, sub.GetOmsOrderId()); got["o-avail-a"] != "dc-west" {
		t.Errorf("allocated %v; want dc-west, the only location the inventory process says can promise A", got)
	}
	for name, bad := range map[string]*omsv1.SetAvailabilityRequest{
		"no figures":  {IdempotencyKey: "k"},
		"no key":      {Availability: figures},
		"negative":    {Availability: []*omsv1.LocationAvailability{{LocationId: "dc-east", Sku: "A", Available: -1}}, IdempotencyKey: "k"},
		"no location": {Availability: []*omsv1.LocationAvailability{{Sku: "A", Available: 1}}, IdempotencyKey: "k"},
	} {
		if _, err := svc.SetAvailability(ctx, bad); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
}
