package netsuite

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// vendorError is a NetSuite answer other than success, or a success whose body made no sense.
type vendorError struct {
	status int
	// code and detail come from the first o:errorDetails entry, when NetSuite sent one.
	code, detail string
	// netsuite says the body was a NetSuite error document, not a proxy's or load balancer's page.
	netsuite   bool
	retryAfter time.Duration
	// location is the answer's Location header: for IDEMPOTENCY_ERROR, the earlier job.
	location string
	// record is the record type the request addressed, so that "no such record" says which.
	record string
	cause  error
}

func (e *vendorError) Error() string {
	msg := fmt.Sprintf("netsuite: HTTP %d", e.status)
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

// errorBody is NetSuite's REST error document.
type errorBody struct {
	Title   string `json:"title"`
	Status  int    `json:"status"`
	Details []struct {
		Detail string `json:"detail"`
		Code   string `json:"o:errorCode"`
	} `json:"o:errorDetails"`
}

// newVendorError reads a non-2xx answer.
func newVendorError(resp *http.Response, body []byte) *vendorError {
	e := &vendorError{status: resp.StatusCode, retryAfter: vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		location: resp.Header.Get("Location")}
	var b errorBody
	if json.Unmarshal(body, &b) == nil && len(b.Details) > 0 {
		e.netsuite, e.code, e.detail = true, b.Details[0].Code, b.Details[0].Detail
	}
	return e
}

// badPayload reports a 2xx answer that could not be read.
func badPayload(cause error) *vendorError {
	return &vendorError{status: http.StatusOK, cause: cause}
}

// Record types the connector reads and writes, as the REST record service names them.
const (
	typeInventoryItem       = "inventoryItem"
	typeSalesOrder          = "salesOrder"
	typeReturnAuthorization = "returnAuthorization"
	typeItemReceipt         = "itemReceipt"
	typeCreditMemo          = "creditMemo"
	typeInventoryAdjustment = "inventoryAdjustment"
	// typeAsyncJob marks calls to the async service's jobs.
	typeAsyncJob = "asyncJob"
)

// notFoundReason names what was missing.
func notFoundReason(record string) string {
	switch record {
	case "", typeInventoryItem:
		return "item_not_found"
	case typeSalesOrder:
		return "sales_order_not_found"
	case typeReturnAuthorization:
		return "return_authorization_not_found"
	}
	return "record_not_found"
}

// toErr is the one place NetSuite failures become Retailbridge error kinds. Vendor detail stays in
// the wrapped cause, for logs; the message is safe to show a caller.
func toErr(err error) error {
	if err == nil || errs.As(err) != nil {
		return err
	}
	var ve *vendorError
	switch {
	case errors.As(err, &ve):
		switch {
		case ve.status == http.StatusNotFound && ve.netsuite && ve.record == typeAsyncJob:
			// NetSuite forgot a job it told us about: nothing the caller can do about it.
			return errs.Wrap(err, errs.Internal, "erp_job_lost", "")
		case ve.status == http.StatusNotFound && ve.netsuite:
			return errs.Wrap(err, errs.NotFound, notFoundReason(ve.record), "the ERP has no such record")
		case ve.code == "IDEMPOTENCY_ERROR":
			// The key names an earlier request that is not this one (a repeat of the same request
			// comes with the earlier job's Location and is resolved, never classified).
			return errs.Wrap(err, errs.FailedPrecondition, "idempotency_key_reused",
				"the idempotency key was already used for a different request")
		case ve.status == http.StatusBadRequest && ve.code == "USER_ERROR":
			// A business rule refused the change (receiving more than authorised, crediting a
			// closed RMA): repeating it cannot help.
			return errs.Wrap(err, errs.FailedPrecondition, "erp_rejected_change", "the ERP refused the change")
		case ve.status == http.StatusUnauthorized || ve.status == http.StatusForbidden:
			e := errs.Wrap(err, errs.Unavailable, "vendor_auth_failed", "the ERP refused Retailbridge's credentials")
			e.Retryable = false // until someone fixes the token, repeating cannot help
			return e
		case ve.status == http.StatusTooManyRequests:
			return errs.Wrap(err, errs.ResourceExhausted, "vendor_rate_limited",
				"the ERP account's concurrency limit stayed exhausted")
		case ve.status == http.StatusServiceUnavailable && ve.retryAfter > 0:
			return errs.Wrap(err, errs.Unavailable, "erp_maintenance",
				"the ERP is in a maintenance window").WithRetryAfter(ve.retryAfter)
		case ve.status >= 500 || ve.status == http.StatusNotFound:
			return errs.Wrap(err, errs.Unavailable, "vendor_unavailable", "the ERP is unavailable")
		case ve.status < 300:
			return errs.Wrap(err, errs.Internal, "vendor_bad_response", "")
		default: // any other 4xx: NetSuite says the request was wrong, which is our bug
			return errs.Wrap(err, errs.Internal, "vendor_rejected_request", "")
		}
	default: // no answer came
		return vendorhttp.NoAnswer(err, "the ERP")
	}
}
