// Package events turns at-least-once delivery into exactly-once effects for Retailbridge's
// services, over NATS JetStream and the service's own database (pkg/store):
//
//   - Outbox.Add records an event in the same transaction as the state change it describes; a
//     Relay publishes committed events and marks them only after JetStream acknowledged them.
//     A crash in between republishes, and the broker drops the copy: every message carries
//     Nats-Msg-Id = event id, deduplicated within the stream's duplicate window.
//   - A Consumer runs each event's handler in a transaction together with an inbox row keyed by
//     (consumer, event id): a redelivered or replayed event that is already in the inbox is
//     acknowledged without running the handler again.
//   - Retryable failures (store.IsRetryable: retryable errs kinds and database conflicts) are
//     retried with capped, jittered exponential backoff; anything else, or a spent retry budget, goes to the dead-letter stream with its error,
//     attempts and correlation id. DeadLetters lists, shows and replays them, auditing each replay.
//
// # Wire format
//
// A message's data is the canonicalv1.Event envelope in protobuf binary encoding (ContentType):
// the envelope's payload is a google.protobuf.Any of a canonical message, so binary keeps one
// schema-checked encoding end to end and never loses the payload's type. Operators read messages
// through DeadLetters.Show (which renders protojson), not raw stream dumps. The subject is the
// event type (for example "retailbridge.returns.refund.approved.v1"), so a domain stream captures
// it with "retailbridge.<domain>.>". Headers repeat what routing and tracing need without
// decoding: Nats-Msg-Id, X-Correlation-Id, traceparent, Rb-Event-Type, Content-Type.
//
// The tables (rb_outbox, rb_inbox, rb_dlq_replays) come from this package's migrations; run
// Migrate on every database that uses an Outbox, a Consumer or DeadLetters.
package events

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// Message headers.
const (
	// HeaderMsgID is JetStream's deduplication header; it carries the event id.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderCorrelationID carries the correlation id (the same name as the gRPC metadata key).
	HeaderCorrelationID = "X-Correlation-Id"
	// HeaderTraceparent carries the W3C trace context of the producing span.
	HeaderTraceparent = "traceparent"
	// HeaderEventType repeats the envelope's type.
	HeaderEventType = "Rb-Event-Type"
	// HeaderContentType names the encoding of the data.
	HeaderContentType = "Content-Type"
)

// ContentType is the media type of every event message's data.
const ContentType = "application/protobuf; proto=retailbridge.canonical.v1.Event"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates or updates this package's tables in db.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return db.Migrate(ctx, "events", sub)
}

// Encode returns the wire form of ev.
func Encode(ev *canonicalv1.Event) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(ev)
}

// Decode parses the wire form of an event and checks that it has an id and a type.
func Decode(data []byte) (*canonicalv1.Event, error) {
	ev := &canonicalv1.Event{}
	if err := proto.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	if ev.GetId() == "" || ev.GetType() == "" {
		return nil, errors.New("decode event: envelope without id or type")
	}
	return ev, nil
}

// validSubject reports whether s is a concrete NATS subject: dot-separated, non-empty tokens
// without wildcards or whitespace.
func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>") {
			return false
		}
	}
	return true
}

// validToken reports whether s can be one subject token and a JetStream name.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// newMsg builds the message for an encoded event with the standard headers.
func newMsg(subject string, data []byte, msgID, eventType, correlationID, traceparent string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(HeaderMsgID, msgID)
	m.Header.Set(HeaderContentType, ContentType)
	m.Header.Set(HeaderEventType, eventType)
	if correlationID != "" {
		m.Header.Set(HeaderCorrelationID, correlationID)
	}
	if traceparent != "" {
		m.Header.Set(HeaderTraceparent, traceparent)
	}
	return m
}

// traceparentFrom returns the W3C traceparent of the span in ctx, or "".
func traceparentFrom(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c[HeaderTraceparent]
}

// contextFor returns ctx carrying the correlation id and trace context a message arrived with.
func contextFor(ctx context.Context, correlationID, traceparent string) context.Context {
	if correlationID != "" {
		ctx = telemetry.WithCorrelationID(ctx, correlationID)
	}
	if traceparent != "" {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{HeaderTraceparent: traceparent})
	}
	return ctx
}
