package connectortest

import (
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// testCancelShippingOrder cancels an order the warehouse has not shipped (twice, under two
// keys: both succeed), refuses to cancel one it shipped (already_shipped) and an unknown one
// (order_not_found).
func testCancelShippingOrder(t *testing.T, start Start) {
	sb := start(t)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 20*time.Second)
	loc := sb.Locations()[0]
	open, err := c.CreateShippingOrder(ctx, SampleShipment("shp_cancel", loc, "APP-000"), "cancel-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"cancel-open", "cancel-open-again"} {
		if err := c.CancelShippingOrder(ctx, open, "shp_cancel", "order cancelled", key); err != nil {
			t.Errorf("cancel (%s) of an open order: %v", key, err)
		}
	}
	shipped, err := c.CreateShippingOrder(ctx, SampleShipment("shp_gone", loc, "APP-000"), "cancel-2")
	if err != nil {
		t.Fatal(err)
	}
	if sb.Capabilities().Acknowledgement {
		sb.Acknowledge(t, shipped)
	}
	sb.Ship(t, shipped)
	WantErr(t, c.CancelShippingOrder(ctx, shipped, "shp_gone", "order cancelled", "cancel-shipped"), errs.FailedPrecondition, "already_shipped")
	WantErr(t, c.CancelShippingOrder(ctx, "no-such-order", "", "order cancelled", "cancel-unknown"), errs.NotFound, "order_not_found")
}
