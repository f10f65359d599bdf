package netsuite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

func response(tb testing.TB, status int, retryAfter, bodyFile string) (*http.Response, []byte) {
	tb.Helper()
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	if retryAfter != "" {
		resp.Header.Set("Retry-After", retryAfter)
	}
	if bodyFile == "" {
		return resp, []byte("<html>Bad Gateway</html>")
	}
	body, err := os.ReadFile("testdata/" + bodyFile)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, body
}

func TestToErr(t *testing.T) {
	t.Parallel()
	vendor := func(status int, retryAfter, bodyFile string) error {
		resp, body := response(t, status, retryAfter, bodyFile)
		return newVendorError(resp, body)
	}
	about := func(record string, status int, bodyFile string) error {
		resp, body := response(t, status, "", bodyFile)
		e := newVendorError(resp, body)
		e.record = record
		return e
	}
	tests := []struct {
		name       string
		err        error
		kind       errs.Kind
		reason     string
		retryable  bool
		retryAfter time.Duration
	}{
		{"404 from NetSuite", vendor(404, "", "error_nonexistent_id.json"), errs.NotFound, "item_not_found", false, 0},
		{"404 from something else", vendor(404, "", ""), errs.Unavailable, "vendor_unavailable", true, 0},
		{"404 for a sales order", about(typeSalesOrder, 404, "error_nonexistent_id.json"), errs.NotFound, "sales_order_not_found", false, 0},
		{"404 for an RMA", about(typeReturnAuthorization, 404, "error_nonexistent_id.json"), errs.NotFound, "return_authorization_not_found", false, 0},
		{"404 for a credit memo", about(typeCreditMemo, 404, "error_nonexistent_id.json"), errs.NotFound, "record_not_found", false, 0},
		{"404 for a job", about(typeAsyncJob, 404, "error_nonexistent_id.json"), errs.Internal, "erp_job_lost", false, 0},
		{"key used for another request", vendor(400, "", "error_idempotency.json"), errs.FailedPrecondition, "idempotency_key_reused", false, 0},
		{"business rule", vendor(400, "", "error_user.json"), errs.FailedPrecondition, "erp_rejected_change", false, 0},
		{"401", vendor(401, "", "error_invalid_login.json"), errs.Unavailable, "vendor_auth_failed", false, 0},
		{"403", vendor(403, "", ""), errs.Unavailable, "vendor_auth_failed", false, 0},
		{"429 after backoff gave up", vendor(429, "", ""), errs.ResourceExhausted, "vendor_rate_limited", true, 0},
		{"503 with Retry-After", vendor(503, "120", ""), errs.Unavailable, "erp_maintenance", true, 2 * time.Minute},
		{"503 without Retry-After", vendor(503, "", ""), errs.Unavailable, "vendor_unavailable", true, 0},
		{"500", vendor(500, "", ""), errs.Unavailable, "vendor_unavailable", true, 0},
		{"400", vendor(400, "", ""), errs.Internal, "vendor_rejected_request", false, 0},
		{"unreadable 200", badPayload(errors.New("unexpected EOF")), errs.Internal, "vendor_bad_response", false, 0},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), errs.DeadlineExceeded, "vendor_timeout", true, 0},
		{"client timeout", &url.Error{Op: "Get", URL: "x", Err: timeoutError{}}, errs.DeadlineExceeded, "vendor_timeout", true, 0},
		{"canceled", context.Canceled, errs.Canceled, "canceled", false, 0},
		{"connection refused", &url.Error{Op: "Get", URL: "x", Err: syscall.ECONNREFUSED}, errs.Unavailable, "vendor_unavailable", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := errs.As(toErr(tt.err))
			if e == nil {
				t.Fatalf("toErr(%v) is not an *errs.Error", tt.err)
			}
			if e.Kind != tt.kind || e.Reason != tt.reason || e.Retryable != tt.retryable || e.RetryAfter != tt.retryAfter {
				t.Errorf("got %s/%s retryable=%t retryAfter=%v; want %s/%s retryable=%t retryAfter=%v",
					e.Kind, e.Reason, e.Retryable, e.RetryAfter, tt.kind, tt.reason, tt.retryable, tt.retryAfter)
			}
			if !errors.Is(e, tt.err) {
				t.Errorf("the vendor error is not kept as the cause")
			}
		})
	}
	if toErr(nil) != nil {
		t.Errorf("toErr(nil) != nil")
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
