package errs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStatusRoundTrip(t *testing.T) {
	t.Parallel()
	in := E(Invalid, "bad_lines", "lines are invalid").WithFields(FieldViolation{"lines[0].quantity", "must be ≥ 0"})
	st := ToStatus(fmt.Errorf("wrapped: %w", in))
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v, want InvalidArgument", st.Code())
	}
	got := FromStatus(st)
	if got.Reason != "bad_lines" || got.Kind != Invalid || len(got.Fields) != 1 {
		t.Errorf("FromStatus = %+v, want reason bad_lines with one field", got)
	}
	un := FromStatus(ToStatus(E(Unavailable, "erp_maintenance", "ERP down").WithRetryAfter(90 * time.Second)))
	if !un.Retryable || un.RetryAfter != 90*time.Second {
		t.Errorf("retry info lost: %+v", un)
	}
}

func TestInternalErrorsHideTheirCause(t *testing.T) {
	t.Parallel()
	st := ToStatus(errors.New("pq: password authentication failed for user admin"))
	if strings.Contains(st.Message(), "password") {
		t.Errorf("status message leaks the cause: %q", st.Message())
	}
	p := ProblemFor(Wrap(errors.New("secret detail"), Internal, "db", "secret detail"))
	if p.Detail != "" || p.Reason != "internal" || p.Status != 500 {
		t.Errorf("problem = %+v, want no detail, reason internal, 500", p)
	}
}

func TestProblemFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantReason string
		wantRetry  string
	}{
		{"not found", E(NotFound, "order_not_found", "no such order"), 404, "order_not_found", ""},
		{"downstream status", status.Error(codes.DeadlineExceeded, "slow"), 504, "deadline_exceeded", ""},
		{"unavailable with hint", E(Unavailable, "vendor_throttled", "busy").WithRetryAfter(2500 * time.Millisecond), 503, "vendor_throttled", "3"},
		{"context deadline", context.DeadlineExceeded, 504, "deadline_exceeded", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ProblemFor(tt.err)
			rec := httptest.NewRecorder()
			p.Write(rec)
			if rec.Code != tt.wantStatus || p.Reason != tt.wantReason {
				t.Errorf("got %d %s, want %d %s", rec.Code, p.Reason, tt.wantStatus, tt.wantReason)
			}
			if got := rec.Header().Get("Retry-After"); tt.wantRetry != "" && got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			if diff := cmp.Diff(ProblemContentType, rec.Header().Get("Content-Type")); diff != "" {
				t.Errorf("content type (-want +got):\n%s", diff)
			}
			if p.Type != ProblemTypePrefix+tt.wantReason {
				t.Errorf("type = %q", p.Type)
			}
		})
	}
	_ = http.StatusOK
}
