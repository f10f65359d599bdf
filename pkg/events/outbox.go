package events

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// Outbox records events inside the transaction that causes them. Share one Outbox between the
// code that adds events and the Relay that publishes them, so a commit wakes the relay at once.
type Outbox struct {
	now  func() time.Time
	wake chan struct{}
}

// NewOutbox returns an outbox; now is the clock (nil means time.Now).
func NewOutbox(now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{now: now, wake: make(chan struct{}, 1)}
}

// Add records ev in tx; the relay publishes it once tx commits, and never if it rolls back. ev's
// type is its subject and must be a concrete NATS subject under "retailbridge."; its source is
// required. Add fills in, on ev itself, what is missing: a random id (give a deterministic one for
// events derived from vendor deliveries), the time, spec version 1, and the correlation id and
// traceparent of ctx. An id that was already recorded fails with errs.AlreadyExists
// (reason "event_exists"), which rolls the caller's transaction back on PostgreSQL.
func (o *Outbox) Add(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	now := o.now().UTC()
	if err := prepare(ctx, ev, now); err != nil {
		return err
	}
	payload, err := Encode(ev)
	if err != nil {
		return errs.Wrap(err, errs.Internal, "event_encode_failed", "the event could not be encoded")
	}
	_, err = tx.Exec(ctx, `INSERT INTO rb_outbox
		(event_id, subject, event_type, correlation_id, traceparent, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ev.GetId(), ev.GetType(), ev.GetType(), ev.GetCorrelationId(), ev.GetTraceparent(), payload, now)
	if store.IsUniqueViolation(err) {
		return errs.Wrap(err, errs.AlreadyExists, "event_exists", "an event with this id was already recorded")
	}
	if err != nil {
		return err
	}
	tx.AfterCommit(o.notify)
	return nil
}

func (o *Outbox) notify() {
	select {
	case o.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func prepare(ctx context.Context, ev *canonicalv1.Event, now time.Time) error {
	if ev == nil {
		return errs.E(errs.Invalid, "event_missing", "no event given")
	}
	var bad []errs.FieldViolation
	typ := ev.GetType()
	if !validSubject(typ) || !strings.HasPrefix(typ, SubjectPrefix) || strings.HasPrefix(typ, SubjectPrefix+deadLetterDomain+".") {
		bad = append(bad, errs.FieldViolation{Field: "type",
			Description: `must be a NATS subject starting with "retailbridge.", for example retailbridge.returns.refund.approved.v1`})
	}
	if ev.GetSource() == "" {
		bad = append(bad, errs.FieldViolation{Field: "source", Description: "required"})
	}
	if len(bad) > 0 {
		return errs.E(errs.Invalid, "event_invalid", "the event envelope is incomplete").WithFields(bad...)
	}
	if ev.Id == "" {
		ev.Id = telemetry.NewID()
	}
	if ev.Time == nil {
		ev.Time = timestamppb.New(now)
	}
	if ev.SpecVersion == 0 {
		ev.SpecVersion = 1
	}
	if ev.CorrelationId == "" {
		ev.CorrelationId = telemetry.CorrelationID(ctx)
	}
	if ev.Traceparent == "" {
		ev.Traceparent = traceparentFrom(ctx)
	}
	return nil
}
