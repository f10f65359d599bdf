package loop

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// vendorError is a Loop answer other than success, or a success whose body made no sense.
type vendorError struct {
	status int
	// code and message come from Loop's error document, when it sent one.
	code, message string
	retryAfter    time.Duration
	cause         error
}

func (e *vendorError) Error() string {
	msg := fmt.Sprintf("loop: HTTP %d", e.status)
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

// webhookError is a webhook that failed verification (payload false) or whose verified body
// could not be read (payload true).
type webhookError struct {
	payload bool
	cause   error
}

func (e *webhookError) Error() string { return "loop webhook: " + e.cause.Error() }

func (e *webhookError) Unwrap() error { return e.cause }

// errorBody is Loop's error document.
type errorBody struct {
	Message string              `json:"message"`
	Code    string              `json:"code"`
	Errors  map[string][]string `json:"errors"`
}

func newVendorError(resp *http.Response, body []byte, now time.Time) *vendorError {
	e := &vendorError{status: resp.StatusCode, retryAfter: vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		e.code, e.message = b.Code, b.Message
	}
	return e
}

func badPayload(cause error) *vendorError { return &vendorError{status: http.StatusOK, cause: cause} }

// toErr is the one place Loop failures become Retailbridge error kinds. Vendor detail stays in
// the wrapped cause, for logs; the message is safe to show a caller.
func toErr(err error) error {
	if err == nil || errs.As(err) != nil {
		return err
	}
	var ve *vendorError
	var we *webhookError
	switch {
	case errors.As(err, &we):
		if we.payload {
			return errs.Wrap(err, errs.Invalid, "webhook_payload_invalid", "the webhook body is not a Loop payload")
		}
		return errs.Wrap(err, errs.Unauthenticated, "webhook_signature_invalid",
			"the webhook signature is missing or does not match")
	case errors.As(err, &ve):
		switch {
		case ve.status == http.StatusNotFound && ve.code == "return_not_found":
			return errs.Wrap(err, errs.NotFound, "return_not_found", "the returns platform has no such return")
		case ve.status == http.StatusNotFound && ve.code == "label_not_found":
			return errs.Wrap(err, errs.NotFound, "label_not_found", "the returns platform has no such label")
		case ve.status == http.StatusUnauthorized || ve.status == http.StatusForbidden:
			e := errs.Wrap(err, errs.Unavailable, "vendor_auth_failed", "the returns platform refused Retailbridge's credentials")
			e.Retryable = false // until someone fixes the key, repeating cannot help
			return e
		case ve.status == http.StatusConflict:
			switch ve.code {
			case "idempotency_key_reused":
				return errs.Wrap(err, errs.Invalid, "idempotency_key_reused",
					"the idempotency key was already used for a different request")
			case "label_exists":
				return errs.Wrap(err, errs.AlreadyExists, "label_exists", "the return already has an active label")
			case "label_in_use":
				return errs.Wrap(err, errs.FailedPrecondition, "label_in_use",
					"the label is already with the carrier and cannot be voided")
			default:
				return errs.Wrap(err, errs.FailedPrecondition, "return_state_conflict",
					"the return's state on the platform does not allow this")
			}
		case ve.status == http.StatusTooManyRequests:
			return errs.Wrap(err, errs.ResourceExhausted, "vendor_rate_limited",
				"the returns platform's rate limit stayed exhausted").WithRetryAfter(ve.retryAfter)
		case ve.status >= 500 || ve.status == http.StatusNotFound:
			return errs.Wrap(err, errs.Unavailable, "vendor_unavailable", "the returns platform is unavailable").
				WithRetryAfter(ve.retryAfter)
		case ve.status < 300:
			return errs.Wrap(err, errs.Internal, "vendor_bad_response", "")
		default: // any other 4xx: Loop says the request was wrong, which is our bug
			return errs.Wrap(err, errs.Internal, "vendor_rejected_request", "")
		}
	default: // no answer came
		return vendorhttp.NoAnswer(err, "the returns platform")
	}
}
