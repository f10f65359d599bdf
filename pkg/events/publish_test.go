package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

func event(id, typ string) *canonicalv1.Event {
	return &canonicalv1.Event{Id: id, Source: "test", Type: typ, SpecVersion: 1}
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// The first publish of a fresh deployment creates the domain's stream, quickly; repeats are
// acknowledged as duplicates; every message carries the envelope's id, type, correlation id and
// trace context in its headers.
func TestPublishCreatesStreamAndDeduplicates(t *testing.T) {
	t.Parallel()
	_, js := eventstest.Start(t).Connect(t)
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2},
		TraceFlags: trace.FlagsSampled})
	ctx := trace.ContextWithSpanContext(telemetry.WithCorrelationID(withTimeout(t, 300*time.Millisecond), "corr-1"), sc)
	evs := []*canonicalv1.Event{event("e1", "retailbridge.pubtest.thing.created.v1"),
		event("e2", "retailbridge.pubtest.thing.updated.v1")}
	evs[1].CorrelationId = "own"
	res, err := events.Publish(ctx, js, evs...)
	if err != nil || res != (events.PublishResult{Stored: 2}) {
		t.Fatalf("first publish: %+v, %v; want 2 stored within 300ms", res, err)
	}
	res, err = events.Publish(withTimeout(t, 5*time.Second), js, event("e1", "retailbridge.pubtest.thing.created.v1"))
	if err != nil || res != (events.PublishResult{Duplicates: 1}) {
		t.Errorf("repeat: %+v, %v; want 1 duplicate", res, err)
	}

	st, err := js.Stream(withTimeout(t, 5*time.Second), events.StreamName("pubtest"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg := st.CachedInfo().Config; cfg.Duplicates != events.DefaultDuplicateWindow ||
		len(cfg.Subjects) != 1 || cfg.Subjects[0] != events.DomainSubjects("pubtest") {
		t.Errorf("stream config %+v; want the defaults on retailbridge.pubtest.>", cfg)
	}
	wantCorr := []string{"corr-1", "own"}
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := st.GetMsg(withTimeout(t, 5*time.Second), seq)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := events.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		h := m.Header
		if h.Get(events.HeaderMsgID) != ev.GetId() || h.Get(events.HeaderEventType) != ev.GetType() ||
			m.Subject != ev.GetType() || h.Get(events.HeaderContentType) != events.ContentType {
			t.Errorf("message %d: subject %s, headers %v; want the id and type of %v", seq, m.Subject, h, ev)
		}
		if ev.GetCorrelationId() != wantCorr[seq-1] || h.Get(events.HeaderCorrelationID) != wantCorr[seq-1] {
			t.Errorf("message %d: correlation id %q (header %q); want %q", seq, ev.GetCorrelationId(),
				h.Get(events.HeaderCorrelationID), wantCorr[seq-1])
		}
		if tp := h.Get(events.HeaderTraceparent); tp == "" || tp != ev.GetTraceparent() {
			t.Errorf("message %d: traceparent %q, envelope %q; want the span of ctx in both", seq, tp, ev.GetTraceparent())
		}
	}
}

// A stream someone configured is used as it is.
func TestPublishLeavesConfiguredStreamAlone(t *testing.T) {
	t.Parallel()
	_, js := eventstest.Start(t).Connect(t)
	ctx := withTimeout(t, 5*time.Second)
	if _, err := events.EnsureStream(ctx, js, "pubtest", events.StreamOptions{Duplicates: time.Second}); err != nil {
		t.Fatal(err)
	}
	if res, err := events.Publish(ctx, js, event("e1", "retailbridge.pubtest.thing.created.v1")); err != nil || res.Stored != 1 {
		t.Fatalf("publish: %+v, %v", res, err)
	}
	st, err := js.Stream(ctx, events.StreamName("pubtest"))
	if err != nil {
		t.Fatal(err)
	}
	if d := st.CachedInfo().Config.Duplicates; d != time.Second {
		t.Errorf("duplicate window %v after publishing; want the configured 1s", d)
	}
}

// An invalid event publishes nothing, not even the valid events before it.
func TestPublishInvalid(t *testing.T) {
	t.Parallel()
	_, js := eventstest.Start(t).Connect(t)
	ctx := withTimeout(t, 5*time.Second)
	for _, typ := range []string{"", "orders.created", "retailbridge.pubtest", "retailbridge.pubtest.*",
		"retailbridge.dlq.consumer", "retailbridge..x"} {
		_, err := events.Publish(ctx, js, event("ok", "retailbridge.pubtest.ok.v1"), event("bad", typ))
		if e := errs.As(err); e == nil || e.Kind != errs.Invalid || e.Reason != "event_invalid" {
			t.Errorf("type %q: %v; want Invalid event_invalid", typ, err)
		}
	}
	if _, err := events.Publish(ctx, js, nil); errs.KindOf(err) != errs.Invalid {
		t.Errorf("nil event: %v; want Invalid", err)
	}
	if _, err := js.Stream(ctx, events.StreamName("pubtest")); err != jetstream.ErrStreamNotFound {
		t.Errorf("stream after invalid publishes: %v; want none created", err)
	}
}

// With the broker gone, publishing fails retryably: unavailable, or timed out when ctx ends first.
func TestPublishBrokerDown(t *testing.T) {
	t.Parallel()
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	if _, err := events.Publish(withTimeout(t, 5*time.Second), js, event("e1", "retailbridge.pubtest.a.v1")); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	res, err := events.Publish(withTimeout(t, 300*time.Millisecond), js, event("e2", "retailbridge.pubtest.a.v1"))
	e := errs.As(err)
	if e == nil || !e.Retryable || (e.Reason != "events_timeout" && e.Reason != "events_unavailable") || res != (events.PublishResult{}) {
		t.Errorf("broker down: %+v, %v; want a retryable events_timeout or events_unavailable", res, err)
	}
}
