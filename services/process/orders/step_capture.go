package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// captureStep captures the authorised payment of an order that was not captured at checkout,
// once it is invoiced, under the step's key: a lost answer is retried with the same key and
// the gateway captures once.
func captureStep(sys systems) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		_, err = sys.payments.CapturePayment(ctx, &paymentsv1.CapturePaymentRequest{PaymentReference: o.GetPaymentReference(),
			Amount: o.GetTotal(), IdempotencyKey: r.Key})
		if err != nil {
			return "", asError(err)
		}
		d.CaptureID = r.Key
		d.Financial = "paid"
		return StateCompleted, nil
	}
}
