package stripe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// vendorError is a Stripe answer other than success, or a success whose body made no sense.
type vendorError struct {
	status int
	// typ, code, declineCode, param and message come from Stripe's error document, when the body
	// was one (stripe is then true) rather than a proxy's page.
	typ, code, declineCode, param, message string
	stripe                                 bool
	// replayed says Stripe replayed this answer from its idempotency store.
	replayed bool
	// shouldRetry is Stripe's Stripe-Should-Retry advice, when it gave one.
	shouldRetry *bool
	retryAfter  time.Duration
	requestID   string
	// resource names what a 404 is about: "refund", "payment" or "account".
	resource   string
	badPayload bool
	cause      error
}

func (e *vendorError) Error() string {
	msg := fmt.Sprintf("stripe: HTTP %d", e.status)
	if e.typ != "" {
		msg += " " + e.typ
	}
	if e.code != "" {
		msg += "/" + e.code
	}
	if e.declineCode != "" {
		msg += "/" + e.declineCode
	}
	if e.param != "" {
		msg += " (param " + e.param + ")"
	}
	if e.message != "" {
		msg += ": " + e.message
	}
	if e.replayed {
		msg += " [replayed]"
	}
	if e.requestID != "" {
		msg += " [" + e.requestID + "]"
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *vendorError) Unwrap() error { return e.cause }

// errorBody is Stripe's error document.
type errorBody struct {
	Error *struct {
		Type        string `json:"type"`
		Code        string `json:"code"`
		DeclineCode string `json:"decline_code"`
		Param       string `json:"param"`
		Message     string `json:"message"`
	} `json:"error"`
}

// newVendorError reads a non-2xx answer.
func newVendorError(resp *http.Response, body []byte, resource string, replayed bool, now time.Time) *vendorError {
	e := &vendorError{
		status: resp.StatusCode, replayed: replayed, resource: resource,
		requestID:  resp.Header.Get("Request-Id"),
		retryAfter: vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	if v, err := strconv.ParseBool(resp.Header.Get("Stripe-Should-Retry")); err == nil {
		e.shouldRetry = &v
	}
	var b errorBody
	if json.Unmarshal(body, &b) == nil && b.Error != nil && b.Error.Type != "" {
		e.stripe = true
		e.typ, e.code, e.declineCode, e.param, e.message = b.Error.Type, b.Error.Code, b.Error.DeclineCode, b.Error.Param, b.Error.Message
	}
	return e
}

// webhookError is a webhook that failed verification — no or a malformed signature header, or
// no signature matching — or whose signed timestamp is outside the tolerance (stale), or whose
// verified body is not a Stripe event (payload).
type webhookError struct {
	payload, stale bool
	cause          error
}

func (e *webhookError) Error() string { return "stripe webhook: " + e.cause.Error() }

func (e *webhookError) Unwrap() error { return e.cause }

// badPayload reports a 2xx answer that could not be read.
func badPayload(cause error) *vendorError {
	return &vendorError{status: http.StatusOK, badPayload: true, cause: cause}
}

// fieldOf names the request field behind a Stripe parameter.
var fieldOf = map[string]string{
	"payment_intent": "payment_reference", "charge": "payment_reference", "amount": "amount.amount_minor",
	"currency": "amount.currency_code", "metadata": "metadata", "id": "gateway_refund_id",
	"intent": "payment_reference",
}

// toErr is the one place Stripe failures become Retailbridge error kinds. Vendor detail stays in
// the wrapped cause, for logs; the message is safe to show a caller.
func toErr(err error) error {
	if err == nil || errs.As(err) != nil {
		return err
	}
	var ve *vendorError
	var we *webhookError
	switch {
	case errors.As(err, &we):
		switch {
		case we.payload:
			return errs.Wrap(err, errs.Invalid, "webhook_payload_invalid", "the webhook body is not a Stripe event")
		case we.stale:
			return errs.Wrap(err, errs.Unauthenticated, "webhook_timestamp_stale",
				"the webhook signature's timestamp is outside the tolerance")
		}
		return errs.Wrap(err, errs.Unauthenticated, "webhook_signature_invalid",
			"the webhook signature is missing, malformed or does not match")
	case errors.As(err, &ve):
		switch {
		case ve.badPayload || ve.status < 300:
			return errs.Wrap(err, errs.Internal, "vendor_bad_response", "")
		case ve.status == http.StatusUnauthorized || ve.status == http.StatusForbidden:
			e := errs.Wrap(err, errs.Unavailable, "vendor_auth_failed", "the payment gateway refused Retailbridge's API key")
			e.Retryable = false // until someone fixes the key, repeating cannot help
			return e
		case ve.status == http.StatusTooManyRequests:
			return errs.Wrap(err, errs.ResourceExhausted, "vendor_rate_limited",
				"the payment gateway's rate limit stayed exhausted").WithRetryAfter(ve.retryAfter)
		case ve.status == http.StatusConflict:
			return errs.Wrap(err, errs.Conflict, "vendor_request_in_progress",
				"the payment gateway is still executing an earlier request with this idempotency key")
		case ve.typ == "idempotency_error":
			return errs.Wrap(err, errs.FailedPrecondition, "idempotency_key_reused",
				"this idempotency key was already used with different parameters")
		case ve.status >= 500 && ve.replayed:
			// Stripe stores a 500 under the key and replays it for as long as it keeps the key:
			// repeating cannot tell more. Whether money moved must be looked up.
			e := errs.Wrap(err, errs.Unavailable, "vendor_outcome_unknown",
				"the payment gateway failed this request earlier and replays that failure; look the refund up")
			e.Retryable = false
			return e
		case ve.status >= 500 || (!ve.stripe && ve.status == http.StatusNotFound):
			// A 404 that is not Stripe's error document comes from something in front of Stripe.
			return errs.Wrap(err, errs.Unavailable, "vendor_unavailable", "the payment gateway is unavailable")
		case !ve.stripe:
			return errs.Wrap(err, errs.Internal, "vendor_rejected_request", "")
		case ve.code == "resource_missing" || ve.status == http.StatusNotFound:
			return errs.Wrap(err, errs.NotFound, ve.resource+"_not_found", "the payment gateway has no such "+ve.resource)
		case ve.typ == "card_error" || ve.status == http.StatusPaymentRequired:
			return errs.Wrap(err, errs.FailedPrecondition, "refund_declined", "the card network declined the refund")
		case ve.code == "charge_already_refunded":
			return errs.Wrap(err, errs.FailedPrecondition, "payment_already_refunded", "the payment is already fully refunded")
		case ve.code == "amount_too_large":
			return errs.Wrap(err, errs.FailedPrecondition, "refund_exceeds_refundable",
				"the refund is larger than what is left to refund on the payment")
		case ve.code == "payment_intent_unexpected_state":
			return errs.Wrap(err, errs.FailedPrecondition, "payment_not_capturable", "the payment is not awaiting capture")
		case ve.code == "charge_disputed":
			return errs.Wrap(err, errs.FailedPrecondition, "payment_disputed", "the payment is disputed and cannot be refunded")
		default: // invalid_request_error: the gateway says the request is wrong
			e := errs.Wrap(err, errs.Invalid, "vendor_rejected_request", "the payment gateway rejected the request")
			if f, ok := fieldOf[ve.param]; ok {
				e = e.WithFields(errs.FieldViolation{Field: f, Description: "rejected by the payment gateway"})
			}
			return e
		}
	default: // no answer came
		return vendorhttp.NoAnswer(err, "the payment gateway")
	}
}
