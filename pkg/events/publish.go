package events

import (
	"context"
	"errors"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// PublishResult is what JetStream made of the events Publish sent.
type PublishResult struct {
	// Stored is how many events the domain's stream stored.
	Stored int
	// Duplicates is how many it acknowledged as repeats of an event id it already held (within
	// its duplicate window) without storing them again.
	Duplicates int
}

// Publish publishes evs to JetStream directly, without an outbox, in order, each on its type with
// Nats-Msg-Id = its id and the same headers as a Relay's. It is for producers whose source of
// truth retries on its own, such as a vendor redelivering a webhook until it is acknowledged:
// event ids derived from the delivery make the broker drop repeated publishes within its
// duplicate window, and consumers' inboxes after it.
//
// Publish fills in, on each event itself, the correlation id and traceparent of ctx when they are
// missing. Every type must be a subject "retailbridge.<domain>.…"; when no stream captures it
// yet, Publish creates the domain's stream with the default options (a stream someone configured
// is left alone) and publishes again.
//
// Nothing is published when an event is invalid (errs.Invalid "event_invalid") or cannot be
// encoded (errs.Internal "event_encode_failed"). Otherwise Publish stops at the first event
// JetStream did not acknowledge: errs.DeadlineExceeded "events_timeout" when ctx ended first,
// errs.Unavailable "events_unavailable" otherwise, both retryable. The result counts the events
// acknowledged before it.
func Publish(ctx context.Context, js jetstream.JetStream, evs ...*canonicalv1.Event) (PublishResult, error) {
	var res PublishResult
	msgs := make([]*nats.Msg, len(evs))
	for i, ev := range evs {
		if ev == nil {
			return res, errs.E(errs.Invalid, "event_invalid", "no event given")
		}
		if _, ok := domainOf(ev.GetType()); !ok {
			return res, errs.E(errs.Invalid, "event_invalid", "the event type is not a Retailbridge event subject").
				WithFields(errs.FieldViolation{Field: "type",
					Description: `must be a NATS subject "retailbridge.<domain>.…", for example retailbridge.returns.refund.approved.v1`})
		}
		if ev.CorrelationId == "" {
			ev.CorrelationId = telemetry.CorrelationID(ctx)
		}
		if ev.Traceparent == "" {
			ev.Traceparent = traceparentFrom(ctx)
		}
		data, err := Encode(ev)
		if err != nil {
			return res, errs.Wrap(err, errs.Internal, "event_encode_failed", "the event could not be encoded")
		}
		msgs[i] = newMsg(ev.GetType(), data, ev.GetId(), ev.GetType(), ev.GetCorrelationId(), ev.GetTraceparent())
	}
	for i, m := range msgs {
		ack, err := publishMsg(ctx, js, m, evs[i].GetType())
		if err != nil {
			if ctx.Err() != nil {
				return res, errs.Wrap(err, errs.DeadlineExceeded, "events_timeout", "the event bus did not answer in time")
			}
			return res, errs.Wrap(err, errs.Unavailable, "events_unavailable", "the event bus is unavailable")
		}
		if ack.Duplicate {
			res.Duplicates++
		} else {
			res.Stored++
		}
	}
	return res, nil
}

// publishMsg publishes m; when no stream captures its subject, it creates the stream of typ's
// domain if it is missing and publishes again. The first try does not wait out the client's
// retries on no responders, so that a fresh deployment's first event is not held up by them.
func publishMsg(ctx context.Context, js jetstream.JetStream, m *nats.Msg, typ string) (*jetstream.PubAck, error) {
	ack, err := js.PublishMsg(ctx, m, jetstream.WithRetryAttempts(0))
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		return ack, err
	}
	domain, _ := domainOf(typ)
	_, err = js.Stream(ctx, StreamName(domain))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = EnsureStream(ctx, js, domain, StreamOptions{})
	}
	if err != nil {
		return nil, err
	}
	return js.PublishMsg(ctx, m)
}

// domainOf returns the domain of an event type "retailbridge.<domain>.…", whose stream captures
// it; the dead-letter domain is not one.
func domainOf(typ string) (string, bool) {
	rest, ok := strings.CutPrefix(typ, SubjectPrefix)
	if !ok || !validSubject(typ) {
		return "", false
	}
	domain, tail, ok := strings.Cut(rest, ".")
	if !ok || tail == "" || !validToken(domain) || domain == deadLetterDomain {
		return "", false
	}
	return domain, true
}
