package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// cashAndFollowUp is the part of an order's data this file's steps and the ERP status follower
// (step_erp_status.go) and the warehouse cancellation (compensation_warehouse.go) keep.
type cashAndFollowUp struct {
	// ERPPaymentID is the ERP customer payment recorded for the paid, invoiced order.
	ERPPaymentID string `json:"erp_payment_id,omitempty"`

	// ERPStatus is the ERP sales order's last reported status, and when the ERP changed it.
	ERPStatus   string `json:"erp_status,omitempty"`
	ERPStatusAt int64  `json:"erp_status_at_us,omitempty"`
	// ConflictFrom is the state an order was in when the ERP contradicted it.
	ConflictFrom string `json:"conflict_from,omitempty"`

	// CancelFrom is the state a cancellation left for cancelling_at_warehouse; CancelNote why.
	CancelFrom string `json:"cancel_from,omitempty"`
	CancelNote string `json:"cancel_note,omitempty"`
	// WarehouseCancelled lists the shipping orders (by index of WarehouseOrders) the warehouse
	// cancelled, so each is cancelled once.
	WarehouseCancelled []int `json:"warehouse_cancelled,omitempty"`
}

// paymentStep records the customer payment of the paid (or just captured), invoiced order in
// the ERP, applied to its invoice, under the step's key: a lost answer is retried with the same
// key, and the ERP knows one payment per order besides, so a crash or a retry never pays twice.
// Settlement matches these payments with the payouts and the ERP's bank deposits.
func paymentStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		if o.GetTotal().GetAmountMinor() <= 0 {
			return StateCompleted, nil // nothing was paid: no payment to record
		}
		resp, err := sys.erp.RecordCustomerPayment(ctx, &erpv1.RecordCustomerPaymentRequest{OrderId: d.OrderID, InvoiceId: d.InvoiceID,
			Amount: o.GetTotal(), PaymentReference: o.GetPaymentReference(), CustomerId: o.GetCustomer().GetId(), IdempotencyKey: r.Key})
		if err != nil {
			return "", asError(err)
		}
		if resp.GetCustomerPaymentId() == "" {
			return "", errs.E(errs.Internal, "erp_payment_missing", "the ERP recorded the payment without an id")
		}
		d.ERPPaymentID = resp.GetCustomerPaymentId()
		return StateCompleted, nil
	}
}
