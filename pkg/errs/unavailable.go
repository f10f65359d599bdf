package errs

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/status"
)

// EngineRetryAfter is the retry hint of an answer refused because a database or the bus is
// unreachable: long enough for a restart or a failover to be noticed, short enough for clients.
const EngineRetryAfter = 2 * time.Second

// EngineUnavailable reports whether err says a shared engine — the database, the message bus —
// cannot be reached right now, as opposed to a bug: a refused or broken connection, a closed
// pool, a connection cut mid-message, a server shutting down or starting up (PostgreSQL SQLSTATE class 08, 57P01–57P03,
// 53300), a NATS connection that is closed or reconnecting, JetStream without responders.
// This is the one place those driver errors are recognised.
func EngineUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		code := st.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
	}
	var op *net.OpError
	switch {
	case errors.As(err, &op),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		// A connection cut mid-message: pgx returns it bare when the server goes away during a
		// query. (Request bodies are decoded before a service runs, so it is never bad input here.)
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrNoServers), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrNoStreamResponse):
		return true
	}
	// database/sql and pgx report these without an exported sentinel.
	msg := err.Error()
	for _, s := range []string{"sql: database is closed", "failed to connect to", "conn closed", "failed to receive message",
		"failed to write startup message", "connection refused", "connection reset by peer", "broken pipe"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// asUnavailable reclassifies an unclassified (or Internal) error whose cause is an unreachable
// engine as a retryable Unavailable; it returns nil for every other error.
func asUnavailable(err error) *Error {
	if e := As(err); e != nil && e.Kind != Internal {
		return nil
	}
	if _, isStatus := status.FromError(err); isStatus {
		return nil // a downstream service's answer keeps its own classification
	}
	if !EngineUnavailable(err) {
		return nil
	}
	return Wrap(err, Unavailable, "dependency_unavailable",
		"a database or the message bus is unavailable; try again shortly").WithRetryAfter(EngineRetryAfter)
}
