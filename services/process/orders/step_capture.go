package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// captureStep captures the authorised payment of an order that was not captured at checkout,
// once it is invoiced, under the step's key: a lost answer is retried with the same key and
// the gateway captures once. A gateway that cannot capture now (Unimplemented) holds the order
// in awaiting_capture; it is invoiced, so nothing is undone.
func captureStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		_, err = sys.payments.CapturePayment(ctx, &paymentsv1.CapturePaymentRequest{PaymentReference: o.GetPaymentReference(),
			Amount: o.GetTotal(), IdempotencyKey: r.Key})
		if held, err := holdOn(err, d, "the payment gateway cannot capture"); held || err != nil {
			return StateAwaitingCapture, err
		}
		d.CaptureID, d.Reasons = r.Key, nil
		d.Financial = "paid"
		return StatePostingPayment, nil
	}
}
