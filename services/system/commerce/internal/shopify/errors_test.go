package shopify

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

func TestToError(t *testing.T) {
	t.Parallel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	throttled := failure{status: 200, retryAfter: 3 * time.Second}
	throttled.gql = []gqlError{{Message: "Throttled"}}
	throttled.gql[0].Extensions.Code = "THROTTLED"
	tooCostly := failure{status: 200, gql: []gqlError{{Message: "Query cost is 1200"}}}
	tooCostly.gql[0].Extensions.Code = "MAX_COST_EXCEEDED"
	tests := []struct {
		name       string
		ctx        context.Context
		f          failure
		kind       errs.Kind
		reason     string
		retryable  bool
		retryAfter time.Duration
	}{
		{"order missing", nil, failure{notFound: true}, errs.NotFound, "order_not_found", false, 0},
		{"401", nil, failure{status: 401}, errs.Unavailable, "vendor_auth_failed", false, 0},
		{"403", nil, failure{status: 403}, errs.Unavailable, "vendor_auth_failed", false, 0},
		{"404 endpoint", nil, failure{status: 404}, errs.Unavailable, "vendor_endpoint_not_found", false, 0},
		{"429", nil, failure{status: 429, header: http.Header{"Retry-After": {"2"}}}, errs.Unavailable, "vendor_throttled", true, 2 * time.Second},
		{"503", nil, failure{status: 503}, errs.Unavailable, "vendor_unavailable", true, 0},
		{"transport", nil, failure{cause: errors.New("connection reset")}, errs.Unavailable, "vendor_unavailable", true, 0},
		{"deadline", expired, failure{cause: context.DeadlineExceeded}, errs.DeadlineExceeded, "vendor_timeout", true, 0},
		{"canceled", nil, failure{cause: context.Canceled}, errs.Canceled, "canceled", false, 0},
		{"budget", nil, failure{cause: &errBudget{wait: 4 * time.Second}}, errs.Unavailable, "vendor_throttled", true, 4 * time.Second},
		{"THROTTLED answer", nil, throttled, errs.Unavailable, "vendor_throttled", true, 3 * time.Second},
		{"too costly", nil, tooCostly, errs.Internal, "vendor_query_too_costly", false, 0},
		{"400", nil, failure{status: 400}, errs.Internal, "vendor_bad_request", false, 0},
		{"bad body", nil, failure{status: 200, cause: errors.New("unexpected EOF")}, errs.Internal, "vendor_bad_response", false, 0},
		{"too large", nil, failure{status: 200, cause: errTooLarge{"line items"}}, errs.Internal, "vendor_order_too_large", false, 0},
	}
	for _, tt := range tests {
		ctx := tt.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		e := toError(ctx, tt.f)
		if e.Kind != tt.kind || e.Reason != tt.reason || e.Retryable != tt.retryable || e.RetryAfter != tt.retryAfter {
			t.Errorf("%s: got %s/%s retryable=%v after=%v, want %s/%s retryable=%v after=%v", tt.name,
				e.Kind, e.Reason, e.Retryable, e.RetryAfter, tt.kind, tt.reason, tt.retryable, tt.retryAfter)
		}
	}
}
