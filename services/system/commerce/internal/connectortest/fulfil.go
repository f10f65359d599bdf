package connectortest

import (
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// testFulfilments ships an unfulfilled order in two parcels: each is one fulfilment, found again
// by its tracking number when repeated (an answer lost), the order counts the units fulfilled,
// and a parcel with nothing left to ship is refused.
func testFulfilments(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 15*time.Second)
	o := env.Dataset.Scenario(demo.ScenarioUnfulfilled)
	parcel := func(tracking string) *canonicalv1.Shipment {
		return &canonicalv1.Shipment{OrderId: o.ID, Carrier: "UPS", TrackingNumber: tracking,
			Lines: []*canonicalv1.ShipmentLine{{OrderLineId: o.Lines[0].ID, Sku: o.Lines[0].SKU, Quantity: 1}}}
	}
	first, err := env.Connector.CreateFulfillment(ctx, o.ID, parcel("1Z-A"), "f-1")
	if err != nil || first == "" {
		t.Fatalf("CreateFulfillment = %q, %v; want a fulfilment id", first, err)
	}
	if again, err := env.Connector.CreateFulfillment(ctx, o.ID, parcel("1Z-A"), "f-1"); err != nil || again != first {
		t.Errorf("repeated = %q, %v; want the first fulfilment %s", again, err, first)
	}
	second, err := env.Connector.CreateFulfillment(ctx, o.ID, parcel("1Z-B"), "f-2")
	if err != nil || second == "" || second == first {
		t.Fatalf("second parcel = %q, %v; want another fulfilment", second, err)
	}
	got, err := env.Connector.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q := got.GetLines()[0].GetFulfilledQuantity(); q != 2 {
		t.Errorf("fulfilled %d; want 2", q)
	}
	_, err = env.Connector.CreateFulfillment(ctx, o.ID, parcel("1Z-C"), "f-3")
	checkErr(t, err, errs.FailedPrecondition, "nothing_left_to_fulfill")
}

// testUntrackedDelivery marks lines that need no shipping (a gift card, a digital good) fulfilled:
// a delivery from no location without a tracking number is a fulfilment of its units; repeated
// (an answer lost) it finds nothing left to fulfil, which the caller takes as done.
func testUntrackedDelivery(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 15*time.Second)
	o := env.Dataset.Scenario(demo.ScenarioUnfulfilled)
	l := o.Lines[0]
	delivery := &canonicalv1.Shipment{OrderId: o.ID, Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED,
		Lines: []*canonicalv1.ShipmentLine{{OrderLineId: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity)}}}
	id, err := env.Connector.CreateFulfillment(ctx, o.ID, delivery, "d-1")
	if err != nil || id == "" {
		t.Fatalf("CreateFulfillment without tracking = %q, %v; want a fulfilment id", id, err)
	}
	got, err := env.Connector.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q := got.GetLines()[0].GetFulfilledQuantity(); q != int32(l.Quantity) {
		t.Errorf("fulfilled %d; want %d", q, l.Quantity)
	}
	_, err = env.Connector.CreateFulfillment(ctx, o.ID, delivery, "d-1")
	checkErr(t, err, errs.FailedPrecondition, "nothing_left_to_fulfill")
}
