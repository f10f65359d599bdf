package payments

import (
	"context"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// Connector is what the service needs from a payment gateway. Implementations return *errs.Error
// values, classified by one function per vendor.
type Connector interface {
	// CreateRefund refunds to the original payment method, sending req.IdempotencyKey unchanged
	// as the gateway's idempotency key on every attempt. An unknown outcome is retried with that
	// key while ctx allows; an error it still ends in is Retryable when the caller may repeat the
	// call with the same key later.
	CreateRefund(ctx context.Context, req *paymentsv1.CreateRefundRequest) (*canonicalv1.Refund, error)
	// GetRefund reads a refund by the gateway's id.
	GetRefund(ctx context.Context, gatewayRefundID string) (*canonicalv1.Refund, error)
	// GetPayment reads what a payment captured and what has been refunded of it.
	GetPayment(ctx context.Context, paymentReference string) (*paymentsv1.GetPaymentResponse, error)
	// Ready reports whether the gateway answers the connector's authenticated requests.
	Ready(ctx context.Context) error
}
