package commerce_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// TestOrderLifecycleWebhooks: a checkout, a fulfilment and a cancellation in the shop arrive as
// signed orders/create, fulfillments/create, orders/cancelled and orders/updated deliveries and
// leave the service as the canonical events the contracts declare, with the order's id.
func TestOrderLifecycleWebhooks(t *testing.T) {
	rig := newWebhookRig(t)
	customer := dataset().Customers[0].ID
	placed, err := rig.sb.PlaceOrder(customer, []demo.Line{{SKU: "SKU-LC-1", Title: "Lifecycle", Quantity: 1, UnitPriceMinor: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.sb.FulfillOrder(placed); err != nil {
		t.Fatal(err)
	}
	cancelled, err := rig.sb.PlaceOrder(customer, []demo.Line{{SKU: "SKU-LC-2", Title: "Lifecycle", Quantity: 1, UnitPriceMinor: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.sb.CancelOrder(cancelled); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rig.sb.DrainWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	testkit.Eventually(t, 10*time.Second, "six events streamed", func() bool {
		got = got[:0]
		for _, ev := range rig.streamed(t) {
			got = append(got, events.TypeOf(ev.GetType()).String()+" "+ev.GetReferences().GetOrderId())
		}
		return len(got) == 6
	})
	slices.Sort(got)
	want := []string{
		"EVENT_TYPE_COMMERCE_FULFILLMENT_UPDATED " + placed,
		"EVENT_TYPE_COMMERCE_ORDER_CANCELLED " + cancelled,
		"EVENT_TYPE_COMMERCE_ORDER_CREATED " + cancelled,
		"EVENT_TYPE_COMMERCE_ORDER_CREATED " + placed,
		"EVENT_TYPE_COMMERCE_ORDER_UPDATED " + cancelled,
		"EVENT_TYPE_COMMERCE_ORDER_UPDATED " + placed,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("events = %v\nwant %v", got, want)
	}
	for _, ev := range rig.streamed(t) {
		if events.TypeOf(ev.GetType()) != canonicalv1.EventType_EVENT_TYPE_COMMERCE_FULFILLMENT_UPDATED {
			continue
		}
		sh := &canonicalv1.Shipment{}
		if err := ev.GetData().UnmarshalTo(sh); err != nil {
			t.Fatal(err)
		}
		if sh.GetOrderId() != placed || len(sh.GetLines()) != 1 || sh.GetLines()[0].GetSku() != "SKU-LC-1" || sh.GetLines()[0].GetQuantity() != 1 {
			t.Errorf("fulfilment event = %v", sh)
		}
	}
}
