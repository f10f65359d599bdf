package businesscentral

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// vendorError is a Business Central answer other than success, a token endpoint's refusal, or a
// success whose body made no sense.
type vendorError struct {
	status int
	// code and detail come from the OData error document ({"error":{"code","message"}}), or
	// from the token endpoint's error and error_description.
	code, detail string
	// odata says the body was Business Central's error document, not a proxy's page.
	odata bool
	// auth says the token endpoint refused the credentials.
	auth       bool
	retryAfter time.Duration
	entity     string
	cause      error
}

func (e *vendorError) Error() string {
	msg := fmt.Sprintf("businesscentral: HTTP %d", e.status)
	if e.auth {
		msg = fmt.Sprintf("businesscentral token endpoint: HTTP %d", e.status)
	}
	if e.code != "" {
		msg += " " + e.code
	}
	if e.detail != "" {
		msg += ": " + e.detail
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

func (e *vendorError) Unwrap() error { return e.cause }

func newVendorError(status int, h http.Header, body []byte, now time.Time) *vendorError {
	e := &vendorError{status: status, retryAfter: vendorhttp.ParseRetryAfter(h.Get("Retry-After"), now)}
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil && b.Error.Code != "" {
		e.odata, e.code, e.detail = true, b.Error.Code, b.Error.Message
	}
	return e
}

func badPayload(cause error) *vendorError { return &vendorError{status: http.StatusOK, cause: cause} }

// notFoundReason names what was missing.
func notFoundReason(entity string) string {
	switch entity {
	case "item":
		return "item_not_found"
	case "salesOrder":
		return "sales_order_not_found"
	case "returnOrder":
		return "return_authorization_not_found"
	}
	return "record_not_found"
}

// toErr is the one place Business Central failures become Retailbridge error kinds. Vendor
// detail stays in the wrapped cause, for logs; the message is safe to show a caller.
func toErr(err error) error {
	if err == nil || errs.As(err) != nil {
		return err
	}
	var ve *vendorError
	if !errors.As(err, &ve) {
		return vendorhttp.NoAnswer(err, "the ERP")
	}
	switch {
	case ve.auth || ve.status == http.StatusUnauthorized || ve.status == http.StatusForbidden:
		e := errs.Wrap(err, errs.Unavailable, "vendor_auth_failed", "the ERP refused Retailbridge's credentials")
		e.Retryable = false // until someone fixes the app registration, repeating cannot help
		return e
	case ve.status == http.StatusNotFound && ve.odata:
		return errs.Wrap(err, errs.NotFound, notFoundReason(ve.entity), "the ERP has no such record")
	case ve.status == http.StatusBadRequest && ve.code == "Application_DialogException":
		// A business rule refused the change (receiving more than is left, changing a closed
		// return order): repeating it cannot help.
		return errs.Wrap(err, errs.FailedPrecondition, "erp_rejected_change", "the ERP refused the change")
	case ve.status == http.StatusPreconditionFailed:
		return errs.Wrap(err, errs.Conflict, "erp_record_changed", "the ERP record changed while Retailbridge updated it")
	case ve.status == http.StatusTooManyRequests:
		return errs.Wrap(err, errs.ResourceExhausted, "vendor_rate_limited",
			"the ERP's request limits stayed exhausted").WithRetryAfter(ve.retryAfter)
	case ve.status == http.StatusServiceUnavailable && ve.retryAfter > 0:
		return errs.Wrap(err, errs.Unavailable, "erp_maintenance", "the ERP is in a maintenance window").WithRetryAfter(ve.retryAfter)
	case ve.status >= 500 || ve.status == http.StatusNotFound:
		return errs.Wrap(err, errs.Unavailable, "vendor_unavailable", "the ERP is unavailable")
	case ve.status < 300:
		return errs.Wrap(err, errs.Internal, "vendor_bad_response", "")
	default: // any other 4xx: Business Central says the request was wrong, which is our bug
		return errs.Wrap(err, errs.Internal, "vendor_rejected_request", "")
	}
}

// maintenanceErr is the error callers get while an announced window lasts.
func maintenanceErr(left time.Duration) error {
	return toErr(&vendorError{status: http.StatusServiceUnavailable, retryAfter: left, detail: "maintenance window announced earlier"})
}
