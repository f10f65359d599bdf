package warehouse

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
		name      string
		err       error
		kind      errs.Kind
		reason    string
		retryable bool
	}{
		{"receipt not found", &vendorError{status: 404, code: "receipt_not_found"}, errs.NotFound, "receipt_not_found", false},
		{"order not found", &vendorError{status: 404, code: "order_not_found"}, errs.NotFound, "order_not_found", false},
		{"no such route", &vendorError{status: 404, code: "route_not_found"}, errs.Unavailable, "vendor_unavailable", true},
		{"unauthorized", &vendorError{status: 401}, errs.Unavailable, "vendor_auth_failed", false},
		{"reference conflict", &vendorError{status: 409, code: "reference_conflict"}, errs.AlreadyExists, "reference_conflict", false},
		{"key reused", &vendorError{status: 409, code: "idempotency_key_reused"}, errs.Invalid, "idempotency_key_reused", false},
		{"validation", &vendorError{status: 422, code: "validation_failed"}, errs.Internal, "vendor_rejected_request", false},
		{"rate limited", &vendorError{status: 429, retryAfter: time.Second}, errs.ResourceExhausted, "vendor_rate_limited", true},
		{"bad gateway", &vendorError{status: 502}, errs.Unavailable, "vendor_unavailable", true},
		{"bad body", badPayload(errors.New("eof")), errs.Internal, "vendor_bad_response", false},
		{"signature", &webhookError{cause: errors.New("x")}, errs.Unauthenticated, "webhook_signature_invalid", false},
		{"stale", &webhookError{stale: true, cause: errors.New("x")}, errs.Unauthenticated, "webhook_timestamp_stale", false},
		{"payload", &webhookError{payload: true, cause: errors.New("x")}, errs.Invalid, "webhook_payload_invalid", false},
		{"deadline", fmt.Errorf("do: %w", context.DeadlineExceeded), errs.DeadlineExceeded, "vendor_timeout", true},
		{"canceled", context.Canceled, errs.Canceled, "canceled", false},
		{"reset", errors.New("connection reset by peer"), errs.Unavailable, "vendor_unavailable", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := errs.As(toErr(tt.err))
			if e == nil || e.Kind != tt.kind || e.Reason != tt.reason || e.Retryable != tt.retryable {
				t.Fatalf("toErr(%v) = %v; want %s/%s retryable=%v", tt.err, e, tt.kind, tt.reason, tt.retryable)
			}
			if !errors.Is(e, tt.err) {
				t.Errorf("the vendor error is not kept as the cause")
			}
		})
	}
}
