package payments

import (
	"context"
	"net/http"

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
	// CapturePayment captures an authorised payment with req.IdempotencyKey; a payment captured
	// before answers with what it captured.
	CapturePayment(ctx context.Context, req *paymentsv1.CapturePaymentRequest) (*paymentsv1.CapturePaymentResponse, error)
	// ParseWebhook verifies a webhook on its raw body and normalises it into canonical events
	// with deterministic ids, so the same delivery always gives the same events. It returns the
	// vendor's delivery id (Stripe's event id) and no events for event types Retailbridge
	// ignores. A missing, malformed or wrong signature is errs.Unauthenticated
	// "webhook_signature_invalid", a signature whose timestamp is outside the tolerance (either
	// way) errs.Unauthenticated "webhook_timestamp_stale", and a signed body that is not a vendor
	// event errs.Invalid "webhook_payload_invalid".
	ParseWebhook(h http.Header, body []byte) (deliveryID string, evs []*canonicalv1.Event, err error)
	// Ready reports whether the gateway answers the connector's authenticated requests.
	Ready(ctx context.Context) error
}
