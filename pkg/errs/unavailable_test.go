package errs

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sqlStateError stands for a driver error carrying a SQLSTATE, the way pgconn.PgError does.
type sqlStateError struct{ code string }

func (e sqlStateError) Error() string    { return "ERROR: something (SQLSTATE " + e.code + ")" }
func (e sqlStateError) SQLState() string { return e.code }

func TestEngineUnavailable(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"dial refused", fmt.Errorf("load return: %w", refused), true},
		{"pgx connect", fmt.Errorf("failed to connect to `user=postgres database=x`: %w", errors.New("dial error")), true},
		{"admin shutdown", fmt.Errorf("query: %w", sqlStateError{"57P01"}), true},
		{"starting up", sqlStateError{"57P03"}, true},
		{"connection exception", sqlStateError{"08006"}, true},
		{"too many connections", sqlStateError{"53300"}, true},
		{"closed pool", errors.New("sql: database is closed"), true},
		{"bad conn", fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{"conn done", sql.ErrConnDone, true},
		{"cut mid-message", fmt.Errorf("insert: %w", io.ErrUnexpectedEOF), true},
		{"nats closed", fmt.Errorf("publish: %w", nats.ErrConnectionClosed), true},
		{"jetstream gone", nats.ErrNoResponders, true},
		{"unique violation", sqlStateError{"23505"}, false},
		{"syntax error", sqlStateError{"42601"}, false},
		{"no rows", sql.ErrNoRows, false},
		{"a bug", errors.New("nil map"), false},
	} {
		if got := EngineUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: EngineUnavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// An unreachable database or bus leaves a service as gRPC Unavailable, retryable, with a hint,
// and leaves the gateway as 503 with Retry-After and retryable true — not 500 internal.
func TestUnreachableEngineIsUnavailable(t *testing.T) {
	t.Parallel()
	cause := fmt.Errorf("list returns: %w", sqlStateError{"57P01"})
	for name, err := range map[string]error{
		"unclassified":        cause,
		"wrapped as internal": Wrap(cause, Internal, "store", ""),
	} {
		st := ToStatus(err)
		if st.Code() != codes.Unavailable {
			t.Errorf("%s: code %v, want Unavailable", name, st.Code())
		}
		p := ProblemFor(st.Err())
		if p.Status != http.StatusServiceUnavailable || !p.Retryable || p.RetryAfter() < 1 || p.Reason != "dependency_unavailable" {
			t.Errorf("%s: problem %+v (Retry-After %d), want 503 retryable with Retry-After", name, p, p.RetryAfter())
		}
		if KindOf(err) != Unavailable || !IsRetryable(err) {
			t.Errorf("%s: KindOf %v retryable %v, want unavailable and retryable", name, KindOf(err), IsRetryable(err))
		}
	}
	// Explicit classifications and downstream answers keep theirs.
	if k := KindOf(Wrap(cause, NotFound, "gone", "")); k != NotFound {
		t.Errorf("explicit NotFound became %v", k)
	}
	if st := ToStatus(status.Error(codes.InvalidArgument, "connection refused by policy")); st.Code() != codes.InvalidArgument {
		t.Errorf("downstream status became %v", st.Code())
	}
}
