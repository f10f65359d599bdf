package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// fulfilStep tells the storefront about the next shipment not yet fulfilled there (Shopify
// fulfillmentCreate on the order's fulfilment orders, with tracking and a customer
// notification), under a key per shipment. A storefront that cannot take it now (the system
// API's write not deployed: Unimplemented) holds the order in awaiting_storefront; the parcel has
// left, so nothing is undone.
func fulfilStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		d.addDigitalDelivery(o) // lines without stock are marked fulfilled too (lines.go)
		for i := range d.Shipments {
			s := &d.Shipments[i]
			if s.FulfillmentID != "" {
				continue
			}
			resp, err := sys.commerce.CreateFulfillment(ctx, &commercev1.CreateFulfillmentRequest{OrderId: d.OrderID,
				Shipment: s.canonical(d.OrderID), IdempotencyKey: r.Key + ":" + s.ID})
			if s.Digital && err != nil && errs.FromError(asError(err)).Reason == "nothing_left_to_fulfill" {
				// A delivery without tracking is not found again by its tracking number: the
				// storefront fulfilled these lines already (our lost answer, or a gift card
				// the storefront issued and fulfilled on its own).
				s.FulfillmentID, d.Reasons = "fulfilled-on-storefront", nil
				return StateRecordingShipment, nil
			}
			if held, err := holdOn(err, d, "the storefront cannot record fulfilments"); held || err != nil {
				return StateAwaitingStorefront, err
			}
			s.FulfillmentID, d.Reasons = resp.GetFulfillmentId(), nil
			return StateRecordingShipment, nil
		}
		return StateRecordingShipment, nil
	}
}

// canonical is the shipment as the system APIs take it.
func (s *shipment) canonical(orderID string) *canonicalv1.Shipment {
	out := &canonicalv1.Shipment{Id: s.ID, OrderId: orderID, Carrier: s.Carrier, TrackingNumber: s.Tracking,
		FromLocationId: s.Location, Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT}
	if s.Digital {
		out.Status = canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED // nothing travels
	}
	for line, q := range s.Lines {
		out.Lines = append(out.Lines, &canonicalv1.ShipmentLine{OrderLineId: line, Quantity: int32(q), Sku: s.skuOf(line)})
	}
	return out
}
