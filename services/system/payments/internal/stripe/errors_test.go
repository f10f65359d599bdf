package stripe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

func vendor(tb testing.TB, status int, bodyFile string, header ...string) *vendorError {
	tb.Helper()
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	for i := 0; i+1 < len(header); i += 2 {
		resp.Header.Set(header[i], header[i+1])
	}
	body := []byte("<html>502 Bad Gateway</html>")
	if bodyFile != "" {
		var err error
		if body, err = os.ReadFile("testdata/" + bodyFile); err != nil {
			tb.Fatal(err)
		}
	}
	return newVendorError(resp, body, "payment", resp.Header.Get("Idempotent-Replayed") == "true", time.Now())
}

func TestToErr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		kind      errs.Kind
		reason    string
		retryable bool
		field     string
	}{
		{"amount too large", vendor(t, 400, "error_amount_too_large.json"), errs.FailedPrecondition, "refund_exceeds_refundable", false, ""},
		{"already refunded", vendor(t, 400, "error_charge_already_refunded.json"), errs.FailedPrecondition, "payment_already_refunded", false, ""},
		{"disputed", vendor(t, 400, "error_charge_disputed.json"), errs.FailedPrecondition, "payment_disputed", false, ""},
		{"card declined", vendor(t, 402, "error_card_declined.json"), errs.FailedPrecondition, "refund_declined", false, ""},
		{"no such payment", vendor(t, 400, "error_resource_missing.json"), errs.NotFound, "payment_not_found", false, ""},
		{"invalid currency", vendor(t, 400, "error_invalid_currency.json"), errs.Invalid, "vendor_rejected_request", false, "amount.currency_code"},
		{"key reused with other parameters", vendor(t, 400, "error_idempotency_mismatch.json"), errs.FailedPrecondition, "idempotency_key_reused", false, ""},
		{"key in flight", vendor(t, 409, "error_idempotency_in_flight.json"), errs.Conflict, "vendor_request_in_progress", true, ""},
		{"bad key", vendor(t, 401, "error_invalid_api_key.json"), errs.Unavailable, "vendor_auth_failed", false, ""},
		{"restricted key lacks permission", vendor(t, 403, ""), errs.Unavailable, "vendor_auth_failed", false, ""},
		{"rate limited", vendor(t, 429, "error_rate_limit.json"), errs.ResourceExhausted, "vendor_rate_limited", true, ""},
		{"500", vendor(t, 500, "error_api_error.json"), errs.Unavailable, "vendor_unavailable", true, ""},
		{"500 replayed", vendor(t, 500, "error_api_error.json", "Idempotent-Replayed", "true"), errs.Unavailable, "vendor_outcome_unknown", false, ""},
		{"502 from a proxy", vendor(t, 502, ""), errs.Unavailable, "vendor_unavailable", true, ""},
		{"404 from a proxy", vendor(t, 404, ""), errs.Unavailable, "vendor_unavailable", true, ""},
		{"400 from a proxy", vendor(t, 400, ""), errs.Internal, "vendor_rejected_request", false, ""},
		{"unreadable 200", badPayload(errors.New("unexpected EOF")), errs.Internal, "vendor_bad_response", false, ""},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), errs.DeadlineExceeded, "vendor_timeout", true, ""},
		{"client timeout", &url.Error{Op: "Post", URL: "x", Err: timeoutError{}}, errs.DeadlineExceeded, "vendor_timeout", true, ""},
		{"canceled", context.Canceled, errs.Canceled, "canceled", false, ""},
		{"answer lost", &url.Error{Op: "Post", URL: "x", Err: io.EOF}, errs.Unavailable, "vendor_unavailable", true, ""},
		{"connection refused", &url.Error{Op: "Post", URL: "x", Err: syscall.ECONNREFUSED}, errs.Unavailable, "vendor_unavailable", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := errs.As(toErr(tt.err))
			if e == nil {
				t.Fatalf("toErr(%v) is not an *errs.Error", tt.err)
			}
			if e.Kind != tt.kind || e.Reason != tt.reason || e.Retryable != tt.retryable {
				t.Errorf("got %s/%s retryable=%t; want %s/%s retryable=%t",
					e.Kind, e.Reason, e.Retryable, tt.kind, tt.reason, tt.retryable)
			}
			var field string
			if len(e.Fields) > 0 {
				field = e.Fields[0].Field
			}
			if field != tt.field {
				t.Errorf("field = %q; want %q", field, tt.field)
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

func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"answer lost", &url.Error{Op: "Post", URL: "x", Err: io.ErrUnexpectedEOF}, true},
		{"attempt timed out", &url.Error{Op: "Post", URL: "x", Err: context.DeadlineExceeded}, true},
		{"connection reset", &url.Error{Op: "Post", URL: "x", Err: syscall.ECONNRESET}, true},
		{"500", vendor(t, 500, "error_api_error.json"), true},
		{"503 from a proxy", vendor(t, 503, ""), true},
		{"500 replayed", vendor(t, 500, "error_api_error.json", "Idempotent-Replayed", "true"), false},
		{"500 Stripe says not to retry", vendor(t, 500, "error_api_error.json", "Stripe-Should-Retry", "false"), false},
		{"409 in flight", vendor(t, 409, "error_idempotency_in_flight.json"), true},
		{"429", vendor(t, 429, "error_rate_limit.json"), true},
		{"400 Stripe says to retry", vendor(t, 400, "error_rate_limit.json", "Stripe-Should-Retry", "true"), true},
		{"400", vendor(t, 400, "error_amount_too_large.json"), false},
		{"401", vendor(t, 401, "error_invalid_api_key.json"), false},
		{"unreadable 200", badPayload(io.ErrUnexpectedEOF), false},
		{"unknown certificate authority", &url.Error{Op: "Post", URL: "x", Err: x509.UnknownAuthorityError{}}, false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("%s: retryable = %t; want %t", tt.name, got, tt.want)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "Client.Timeout exceeded while awaiting headers" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
