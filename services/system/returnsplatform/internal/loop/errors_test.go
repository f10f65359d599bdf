package loop

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

func TestToErr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		kind       errs.Kind
		reason     string
		retryable  bool
		retryAfter time.Duration
	}{
		{"return not found", &vendorError{status: 404, code: "return_not_found"}, errs.NotFound, "return_not_found", false, 0},
		{"label not found", &vendorError{status: 404, code: "label_not_found"}, errs.NotFound, "label_not_found", false, 0},
		{"unknown route", &vendorError{status: 404, code: "not_found"}, errs.Unavailable, "vendor_unavailable", true, 0},
		{"unauthenticated", &vendorError{status: 401}, errs.Unavailable, "vendor_auth_failed", false, 0},
		{"forbidden scope", &vendorError{status: 403}, errs.Unavailable, "vendor_auth_failed", false, 0},
		{"key reused", &vendorError{status: 409, code: "idempotency_key_reused"}, errs.Invalid, "idempotency_key_reused", false, 0},
		{"label exists", &vendorError{status: 409, code: "label_exists"}, errs.AlreadyExists, "label_exists", false, 0},
		{"label in use", &vendorError{status: 409, code: "label_in_use"}, errs.FailedPrecondition, "label_in_use", false, 0},
		{"invalid state", &vendorError{status: 409, code: "invalid_state"}, errs.FailedPrecondition, "return_state_conflict", false, 0},
		{"validation", &vendorError{status: 422}, errs.Internal, "vendor_rejected_request", false, 0},
		{"rate limited", &vendorError{status: 429, retryAfter: 2 * time.Second}, errs.ResourceExhausted, "vendor_rate_limited", true, 2 * time.Second},
		{"unavailable", &vendorError{status: 503, retryAfter: time.Minute}, errs.Unavailable, "vendor_unavailable", true, time.Minute},
		{"server error", &vendorError{status: 500}, errs.Unavailable, "vendor_unavailable", true, 0},
		{"bad body", badPayload(errors.New("eof")), errs.Internal, "vendor_bad_response", false, 0},
		{"signature", &webhookError{cause: errors.New("x")}, errs.Unauthenticated, "webhook_signature_invalid", false, 0},
		{"payload", &webhookError{payload: true, cause: errors.New("x")}, errs.Invalid, "webhook_payload_invalid", false, 0},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), errs.DeadlineExceeded, "vendor_timeout", true, 0},
		{"canceled", context.Canceled, errs.Canceled, "canceled", false, 0},
		{"connection refused", errors.New("dial tcp: connection refused"), errs.Unavailable, "vendor_unavailable", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := errs.As(toErr(tt.err))
			if e == nil {
				t.Fatalf("toErr(%v) is not an *errs.Error", tt.err)
			}
			if e.Kind != tt.kind || e.Reason != tt.reason || e.Retryable != tt.retryable || e.RetryAfter != tt.retryAfter {
				t.Errorf("toErr(%v) = %s/%s retryable=%v after=%v; want %s/%s retryable=%v after=%v",
					tt.err, e.Kind, e.Reason, e.Retryable, e.RetryAfter, tt.kind, tt.reason, tt.retryable, tt.retryAfter)
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
