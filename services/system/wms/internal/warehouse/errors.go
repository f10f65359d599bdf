package warehouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// vendorError is a warehouse answer other than success, or a success whose body made no sense.
type vendorError struct {
	status int
	// code and message come from the warehouse's error document, when it sent one.
	code, message string
	retryAfter    time.Duration
	cause         error
}

func (e *vendorError) Error() string {
	msg := fmt.Sprintf("warehouse: HTTP %d", e.status)
	if e.code != "" {
		msg += " " + e.code
	}
	if e.message != "" {
		msg += ": " + e.message
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *vendorError) Unwrap() error { return e.cause }

// webhookError is a webhook that failed verification — a bad signature, or a good one too old
// (stale) — or whose verified body could not be read (payload).
type webhookError struct {
	payload, stale bool
	cause          error
}

func (e *webhookError) Error() string { return "warehouse webhook: " + e.cause.Error() }

func (e *webhookError) Unwrap() error { return e.cause }

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func newVendorError(resp *http.Response, body []byte, now time.Time) *vendorError {
	e := &vendorError{status: resp.StatusCode, retryAfter: vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		e.code, e.message = b.Error.Code, b.Error.Message
	}
	return e
}

func badPayload(cause error) *vendorError { return &vendorError{status: http.StatusOK, cause: cause} }

// toErr is the one place warehouse failures become Retailbridge error kinds. Vendor detail stays
// in the wrapped cause, for logs; the message is safe to show a caller.
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
			return errs.Wrap(err, errs.Invalid, "webhook_payload_invalid", "the webhook body is not a warehouse payload")
		case we.stale:
			return errs.Wrap(err, errs.Unauthenticated, "webhook_timestamp_stale",
				"the webhook signature is too old to accept")
		}
		return errs.Wrap(err, errs.Unauthenticated, "webhook_signature_invalid",
			"the webhook signature is missing or does not match")
	case errors.As(err, &ve):
		switch {
		case ve.status == http.StatusNotFound && ve.code == "receipt_not_found":
			return errs.Wrap(err, errs.NotFound, "receipt_not_found", "the warehouse has no such receipt")
		case ve.status == http.StatusNotFound && ve.code == "order_not_found":
			return errs.Wrap(err, errs.NotFound, "order_not_found", "the warehouse has no such shipping order")
		case ve.status == http.StatusUnauthorized || ve.status == http.StatusForbidden:
			e := errs.Wrap(err, errs.Unavailable, "vendor_auth_failed", "the warehouse refused Retailbridge's credentials")
			e.Retryable = false // until someone fixes the key, repeating cannot help
			return e
		case ve.status == http.StatusConflict && ve.code == "reference_conflict":
			return errs.Wrap(err, errs.AlreadyExists, "reference_conflict",
				"the warehouse already holds different content under this reference")
		case ve.status == http.StatusConflict && ve.code == "order_already_shipped":
			return errs.Wrap(err, errs.FailedPrecondition, "already_shipped", "the warehouse already shipped the order")
		case ve.status == http.StatusConflict && ve.code == "idempotency_key_reused":
			return errs.Wrap(err, errs.Invalid, "idempotency_key_reused",
				"the idempotency key was already used for a different request")
		case ve.status == http.StatusTooManyRequests:
			return errs.Wrap(err, errs.ResourceExhausted, "vendor_rate_limited",
				"the warehouse's rate limit is exhausted").WithRetryAfter(ve.retryAfter)
		case ve.status >= 500 || ve.status == http.StatusNotFound:
			return errs.Wrap(err, errs.Unavailable, "vendor_unavailable", "the warehouse is unavailable").
				WithRetryAfter(ve.retryAfter)
		case ve.status < 300:
			return errs.Wrap(err, errs.Internal, "vendor_bad_response", "")
		default: // any other 4xx: the warehouse says the request was wrong, which is our bug
			return errs.Wrap(err, errs.Internal, "vendor_rejected_request", "")
		}
	default: // no answer came
		return vendorhttp.NoAnswer(err, "the warehouse")
	}
}
