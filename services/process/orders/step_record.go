package orders

import (
	"context"
	"sort"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// recordShipmentStep records the next fulfilled shipment in the ERP (an item fulfilment from
// the sales order, salesOrder/!transform/itemFulfillment) under a key per shipment, then goes
// on: another shipment to fulfil, the invoice once everything shipped, or back to waiting.
func recordShipmentStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		for i := range d.Shipments {
			s := &d.Shipments[i]
			if s.FulfillmentID == "" || s.ItemFulfillmentID != "" {
				continue
			}
			req := &erpv1.CreateItemFulfillmentRequest{SalesOrderId: d.SalesOrderID, LocationId: s.Location,
				TrackingNumber: s.Tracking, IdempotencyKey: r.Key + ":" + s.ID}
			skus := make([]string, 0, len(s.SKUs))
			for sku := range s.SKUs {
				skus = append(skus, sku)
			}
			sort.Strings(skus)
			for _, sku := range skus {
				req.Lines = append(req.Lines, &erpv1.FulfillmentLine{Sku: sku, Quantity: int32(s.SKUs[sku])})
			}
			resp, err := sys.erp.CreateItemFulfillment(ctx, req)
			if err != nil {
				return "", asError(err)
			}
			s.ItemFulfillmentID = resp.GetItemFulfillmentId()
			break
		}
		return d.afterShipmentRecorded(), nil
	}
}

// afterShipmentRecorded is where an order goes once a shipment is recorded everywhere.
func (d *orderData) afterShipmentRecorded() string {
	for _, s := range d.Shipments {
		if s.FulfillmentID == "" {
			return StateFulfilling
		}
	}
	if d.fullyShipped() {
		return StateInvoicing
	}
	return StateAwaitingShipment
}
