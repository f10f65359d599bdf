package stripe

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/retailbridge/retailbridge/pkg/errs"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// CapturePayment captures an authorised payment intent (POST
// /v1/payment_intents/{id}/capture, amount_to_capture) with req.IdempotencyKey on every attempt.
// An intent captured before — by this key's lost answer, or at checkout — answers
// payment_intent_unexpected_state; the intent is then read, and what it received is the answer.
func (c *Client) CapturePayment(ctx context.Context, req *paymentsv1.CapturePaymentRequest) (*paymentsv1.CapturePaymentResponse, error) {
	ref, key := req.GetPaymentReference(), req.GetIdempotencyKey()
	if checkID(ref) != nil || !isPaymentIntent(ref) {
		return nil, errs.E(errs.Invalid, "invalid_request", "captures are of payment intents").
			WithFields(errs.FieldViolation{Field: "payment_reference", Description: "must be a payment intent (pi_…)"})
	}
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return nil, errs.E(errs.Invalid, "invalid_request", "an idempotency key of 1 to 255 characters is required").
			WithFields(errs.FieldViolation{Field: "idempotency_key", Description: "must be 1 to 255 characters"})
	}
	form := url.Values{}
	if a := req.GetAmount(); a != nil {
		amount, _, err := toStripeAmount(a)
		if err != nil {
			return nil, err
		}
		form.Set("amount_to_capture", fmt.Sprint(amount))
	}
	var pi intentObject
	err := c.send(ctx, request{method: http.MethodPost, path: "v1/payment_intents/" + ref + "/capture", form: form, key: key, resource: "payment"}, &pi)
	if errs.FromError(err).Reason == "payment_not_capturable" {
		err = c.send(ctx, request{method: http.MethodGet, path: "v1/payment_intents/" + ref, resource: "payment"}, &pi)
		if err == nil && pi.AmountReceived == 0 {
			return nil, errs.E(errs.FailedPrecondition, "payment_not_capturable", "the payment is neither authorised nor captured")
		}
	}
	if err != nil {
		return nil, err
	}
	captured, err := fromStripeAmount(pi.AmountReceived, pi.Currency)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return &paymentsv1.CapturePaymentResponse{Captured: captured}, nil
}
