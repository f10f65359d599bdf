package shopify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// failure is one failed exchange with Shopify, before it is classified.
type failure struct {
	status     int           // HTTP status; 0 when no answer came (200 for answers that would not convert)
	header     http.Header   // answer headers, for Retry-After
	body       string        // start of a non-200 body, for the log
	cause      error         // transport, decoding, budget or conversion error
	gql        []gqlError    // errors in a 200 answer
	notFound   bool          // the object asked for does not exist
	object     string        // what was not found: "order" (when empty) or "return"
	user       []userError   // a mutation's user errors
	retryAfter time.Duration // when Shopify's bucket will hold the query, for THROTTLED answers
}

// gqlError is one entry of a GraphQL errors array.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// toError is the one place Shopify failures become error kinds. Nothing vendor-specific leaves
// in the message; the cause stays attached for the log.
func toError(ctx context.Context, f failure) *errs.Error {
	var budget *errBudget
	var netErr net.Error
	code := ""
	if len(f.gql) > 0 {
		code = f.gql[0].Extensions.Code
	}
	switch {
	case errors.As(f.cause, &budget):
		return errs.Wrap(f.cause, errs.Unavailable, "vendor_throttled",
			"the commerce platform's rate limit leaves no room before the deadline").WithRetryAfter(budget.wait)
	case errors.Is(f.cause, errTooCostly), code == "MAX_COST_EXCEEDED":
		return errs.Wrap(cause(f), errs.Internal, "vendor_query_too_costly", "")
	case errors.Is(f.cause, context.DeadlineExceeded),
		errors.As(f.cause, &netErr) && netErr.Timeout(),
		f.status == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errs.Wrap(cause(f), errs.DeadlineExceeded, "vendor_timeout",
			"the commerce platform did not answer in time")
	case errors.Is(f.cause, context.Canceled):
		return errs.Wrap(f.cause, errs.Canceled, "canceled", "the request was canceled")
	case f.notFound:
		return notFound(f.object)
	case len(f.user) > 0:
		return toUserError(f.user[0].Code, f)
	case strings.HasPrefix(code, "IDEMPOTENCY_"):
		// Mutations whose user errors carry no code (refundCreate) report idempotency
		// conflicts as top-level errors.
		return toUserError(code, f)
	case errors.As(f.cause, new(errTooLarge)):
		return errs.Wrap(f.cause, errs.Internal, "vendor_order_too_large", "")
	case f.status == http.StatusUnauthorized, f.status == http.StatusForbidden, code == "ACCESS_DENIED":
		// Our credential was refused, not the caller's: retrying will not help until it is fixed.
		e := errs.Wrap(cause(f), errs.Unavailable, "vendor_auth_failed", "the commerce platform refused our credentials")
		e.Retryable = false
		return e
	case f.status == http.StatusNotFound:
		// The GraphQL endpoint itself is missing: a wrong shop URL or API version, not a missing order.
		e := errs.Wrap(cause(f), errs.Unavailable, "vendor_endpoint_not_found", "the commerce platform endpoint was not found")
		e.Retryable = false
		return e
	case f.status == http.StatusTooManyRequests, code == "THROTTLED":
		after := f.retryAfter
		if after == 0 {
			after = retryAfter(f.header)
		}
		return errs.Wrap(cause(f), errs.Unavailable, "vendor_throttled", "the commerce platform is rate limiting us").WithRetryAfter(after)
	case f.status >= 500, f.status == 0 && f.cause != nil, code == "INTERNAL_SERVER_ERROR":
		return errs.Wrap(cause(f), errs.Unavailable, "vendor_unavailable", "the commerce platform is unavailable").
			WithRetryAfter(retryAfter(f.header))
	case f.status >= 400:
		return errs.Wrap(cause(f), errs.Internal, "vendor_bad_request", "")
	case len(f.gql) > 0:
		return errs.Wrap(cause(f), errs.Internal, "vendor_error", "")
	}
	// A 200 whose body would not decode or convert.
	return errs.Wrap(cause(f), errs.Internal, "vendor_bad_response", "")
}

func notFound(object string) *errs.Error {
	if object == "" {
		object = "order"
	}
	return errs.E(errs.NotFound, object+"_not_found", object+" not found")
}

// toUserError classifies a mutation's first user error. Shopify refused the change for a reason
// of the shop's state or of the request: repeating it unchanged will not help, except for a
// request with the same idempotency key still in progress.
func toUserError(code string, f failure) *errs.Error {
	if code == "" && len(f.user) > 0 && idField(f.user[0].Field, f.object) {
		// A generic UserError (refundCreate's) has no code: one on the object's own id
		// argument means the id did not resolve.
		code = "NOT_FOUND"
	}
	if staleCompare(code) {
		return errs.Wrap(cause(f), errs.Conflict, "inventory_compare_stale",
			"the storefront's quantity is no longer the one compared: read it again")
	}
	switch code {
	case "INVALID_INVENTORY_ITEM", "INVALID_LOCATION":
		return errs.Wrap(cause(f), errs.NotFound, "inventory_level_not_found", "the inventory item or location does not exist")
	case "NOT_FOUND":
		e := notFound(f.object)
		e.Err = cause(f)
		return e
	case "IDEMPOTENCY_KEY_PARAMETER_MISMATCH":
		return errs.Wrap(cause(f), errs.FailedPrecondition, "idempotency_key_reused",
			"the idempotency key was already used for a different request")
	case "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED":
		return errs.Wrap(cause(f), errs.FailedPrecondition, "idempotency_key_failed",
			"an earlier request with the same idempotency key failed; a new key is needed")
	case "IDEMPOTENCY_CONCURRENT_REQUEST":
		return errs.Wrap(cause(f), errs.Conflict, "idempotency_request_in_progress",
			"a request with the same idempotency key is still in progress")
	case "INVALID_STATE":
		return errs.Wrap(cause(f), errs.FailedPrecondition, "commerce_invalid_state",
			"the object is not in a state that allows the change")
	}
	return errs.Wrap(cause(f), errs.FailedPrecondition, "commerce_rejected_change", "the commerce platform refused the change")
}

// cause is an error describing f, for the log.
func cause(f failure) error {
	if f.cause != nil {
		return f.cause
	}
	var parts []string
	if f.status != 0 {
		parts = append(parts, "HTTP "+strconv.Itoa(f.status))
	}
	for _, e := range f.gql {
		parts = append(parts, e.Extensions.Code+": "+e.Message)
	}
	for _, e := range f.user {
		parts = append(parts, e.Code+" "+strings.Join(e.Field, ".")+": "+e.Message)
	}
	if f.body != "" {
		parts = append(parts, f.body)
	}
	return errors.New("shopify: " + strings.Join(parts, "; "))
}

// retryAfter is the answer's Retry-After advice: Shopify sends fractional seconds.
func retryAfter(h http.Header) time.Duration {
	return vendorhttp.ParseRetryAfter(h.Get("Retry-After"), time.Now())
}

// idField reports whether a user error's field path names the id of object ("orderId", "id").
func idField(path []string, object string) bool {
	if len(path) == 0 {
		return false
	}
	last := path[len(path)-1]
	if object == "" {
		object = "order"
	}
	return last == "id" || last == object+"Id"
}
