package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// invoiceStep bills the fully shipped sales order (salesOrder/!transform/invoice) under the
// step's key; the state machine lets an order into invoicing only without an invoice, and the
// ERP refuses to bill a billed order.
func invoiceStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		resp, err := sys.erp.CreateInvoice(ctx, &erpv1.CreateInvoiceRequest{SalesOrderId: d.SalesOrderID, IdempotencyKey: r.Key})
		if err != nil {
			return "", asError(err)
		}
		d.InvoiceID = resp.GetInvoiceId()
		if d.Financial == "authorized" {
			return StateCapturing, nil
		}
		return StatePostingPayment, nil
	}
}
