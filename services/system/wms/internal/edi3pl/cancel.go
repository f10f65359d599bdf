package edi3pl

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// Cancelling a shipping order over EDI is a 940 whose W05-01 (order status code, element 473)
// is "F" (Cancel) instead of "N" (Original), naming the same depositor order number. The 3PL
// acknowledges it with a 997 like any 940; a 3PL that already shipped has sent (or will send)
// its 945, so the connector refuses a cancellation once it holds the order's shipping advice,
// and an advice that arrives after the cancellation went out is the workflow's "shipped after
// cancel" case. The cancellation is sent once per order (its own record, key "cancel"), and
// its 997 is recorded on that record (group type "940F").

// groupCancel is the group record type of a cancelling 940.
const groupCancel = "940F"

// cancelRecord is a cancelling 940 sent.
type cancelRecord struct {
	sent
	Reason string `json:"reason,omitempty"`
}

// CancelShippingOrder sends the cancelling 940 of order orderID (its shipment id) unless the
// 3PL reported it shipped (errs.FailedPrecondition "already_shipped"); an order never sent is
// errs.NotFound "order_not_found".
func (c *Client) CancelShippingOrder(ctx context.Context, orderID, _, reason, _ string) error {
	var rec orderRecord
	_, found, err := c.state.get(ctx, key("order", orderID), &rec)
	switch {
	case err != nil:
		return toStateErr(err)
	case !found:
		return errs.E(errs.NotFound, "order_not_found", "no such shipping order")
	case rec.Shipped != nil:
		return errs.E(errs.FailedPrecondition, "already_shipped", "the 3PL reported the order shipped")
	}
	sh := mustShipment(rec.Shipment)
	set := x12.NewSet{Type: "940", Body: []x12.Segment{x12.Seg("W05", "F", sh.GetId(), sh.GetOrderId()),
		x12.Seg("N1", "WH", sh.GetFromLocationId(), "91", sh.GetFromLocationId())}}
	var cr cancelRecord
	return c.sendOnce(ctx, key("cancel", orderID), groupCancel, orderID, set, groupShippingOrder,
		func(bool) (*sent, bool) { return &cr.sent, false }, &cr, func() { cr.Reason = reason })
}
