package orders

import (
	"context"
	"strconv"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// sendStep sends one shipping order per allocated location (a split order ships in parts),
// each under a shipment id derived from the order, so the warehouse deduplicates a repeat.
// It is sent once: an overdue acknowledgement escalates, never re-sends.
func sendStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		for i, loc := range d.locations() {
			if i < len(d.WarehouseOrders) {
				continue
			}
			sh := &canonicalv1.Shipment{Id: shipmentID(d.OrderID, i), OrderId: d.OrderID, FromLocationId: loc, ToAddress: shipTo(o)}
			for _, a := range d.Allocations {
				if a.Location == loc {
					sh.Lines = append(sh.Lines, &canonicalv1.ShipmentLine{Sku: a.SKU, OrderLineId: a.LineID, Quantity: a.Quantity})
				}
			}
			resp, err := sys.wms.CreateShippingOrder(ctx, &wmsv1.CreateShippingOrderRequest{Shipment: sh, IdempotencyKey: r.Key + ":" + strconv.Itoa(i)})
			if err != nil {
				return "", asError(err)
			}
			d.WarehouseOrders = append(d.WarehouseOrders, warehouseOrder{Location: loc, ID: resp.GetWarehouseOrderId()})
		}
		return StateAwaitingAck, nil
	}
}

// shipmentID names the i-th shipping order of an order.
func shipmentID(orderID string, i int) string { return orderID + "-S" + strconv.Itoa(i+1) }

// shipTo is where the parcel goes: the customer's address.
func shipTo(o *canonicalv1.Order) *canonicalv1.Address { return o.GetShippingAddress() }

// locations lists the allocated locations in allocation order.
func (d *orderData) locations() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range d.Allocations {
		if !seen[a.Location] {
			seen[a.Location] = true
			out = append(out, a.Location)
		}
	}
	return out
}
