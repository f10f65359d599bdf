package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// bookStep books the ERP sales order with the enriched item references and tax codes. Its key
// is the step's, the same on every attempt, crash and replica, and the ERP books an order
// once under its external id (the order id): duplicate orders/create and restarts make one
// sales order.
func bookStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		req := &erpv1.CreateSalesOrderRequest{Order: o, IdempotencyKey: r.Key}
		for _, l := range o.GetLines() {
			ref := d.LineRefs[l.GetId()]
			req.LineRefs = append(req.LineRefs, &erpv1.SalesOrderLineRef{OrderLineId: l.GetId(), ErpItemId: ref.ERPID, TaxCode: ref.TaxCode})
		}
		resp, err := sys.erp.CreateSalesOrder(ctx, req)
		if err != nil {
			return "", asError(err)
		}
		d.SalesOrderID, d.SalesOrderNumber = resp.GetSalesOrderId(), resp.GetNumber()
		if o.GetFulfillmentModel() == canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_IN_STORE_PURCHASE {
			// Carried out of the store at purchase: nothing to reserve or ship; the till billed it.
			return StateCompleted, nil
		}
		if len(d.stockLines(o)) == 0 {
			// Gift cards, digital goods, services: nothing to reserve or ship (lines.go).
			return StateFulfilling, nil
		}
		return StateReserving, nil
	}
}

// bookCompensation closes the sales order of a cancelled order.
func bookCompensation(sys systems) compFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) error {
		if d.SalesOrderID == "" || len(d.Shipments) > 0 {
			return nil
		}
		_, err := sys.erp.CloseSalesOrder(ctx, &erpv1.CloseSalesOrderRequest{SalesOrderId: d.SalesOrderID, IdempotencyKey: r.Key + ":close"})
		if errs.KindOf(asError(err)) == errs.NotFound {
			return nil
		}
		return asError(err)
	}
}
