package returns

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// Run drives the workflow until ctx ends: the runner (steps and timers), the outbox relay, and
// the consumers that turn vendor events (parcel moving, received, inspected) into signals.
func (s *Service) Run(ctx context.Context) error {
	if s.db == nil {
		<-ctx.Done()
		return nil
	}
	for _, domain := range []string{"returns", "returnsplatform", "wms", "commerce", "payments"} {
		if _, err := events.EnsureStream(ctx, s.js, domain, events.StreamOptions{}); err != nil {
			return err
		}
	}
	if _, err := events.EnsureDeadLetterStream(ctx, s.js, events.StreamOptions{}); err != nil {
		return err
	}
	relay := events.NewRelay(s.db, s.js, s.outbox, events.RelayConfig{Logger: s.log, Now: s.now})
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return relay.Run(ctx) })
	g.Go(func() error { return s.engine.Run(ctx) })
	g.Go(func() error { return s.keepOrdersFresh(ctx) })
	g.Go(func() error { return s.reconcileLoop(ctx, s.timings.Reconcile) })
	g.Go(func() error { return s.adoptLoop(ctx, 250*time.Millisecond) })
	for _, c := range []struct{ name, domain string }{
		{"returns-from-returnsplatform", "returnsplatform"},
		{"returns-from-wms", "wms"},
		{"returns-from-payments", "payments"},
	} {
		cons, err := events.NewConsumer(s.db, s.js, events.ConsumerConfig{
			Name: c.name, Stream: events.StreamName(c.domain), Subjects: []string{events.DomainSubjects(c.domain)},
			Logger: s.log, Now: s.now,
		}, events.HandlerFunc(s.handleVendorEvent))
		if err != nil {
			return err
		}
		g.Go(func() error { return cons.Run(ctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// RunOnce runs due workflow steps and timers once (tests drive time with it).
func (s *Service) RunOnce(ctx context.Context) (int, error) { return s.engine.RunOnce(ctx) }

// signalFor maps the canonical event types the workflow waits for (declared in the contracts,
// canonical EventType) to the signal each means for a return.
var signalFor = map[canonicalv1.EventType]string{
	canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_IN_TRANSIT:       SignalInTransit,
	canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_PARCEL_OUT_FOR_DELIVERY: SignalInTransit,
	canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_RECEIVED:                     SignalReceived,
	canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED:                    SignalInspected,
	canonicalv1.EventType_EVENT_TYPE_PAYMENTS_REFUND_UPDATED:                 SignalRefundUpdate,
}

// handleVendorEvent applies a vendor event to its return inside the consumer's transaction
// (with the inbox row): a duplicate or late event is either absorbed by the inbox or ignored by
// the workflow's state.
func (s *Service) handleVendorEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	typ := events.TypeOf(ev.GetType())
	if typ == canonicalv1.EventType_EVENT_TYPE_RETURNSPLATFORM_RETURN_CREATED {
		return s.keepPlatformReturn(ctx, tx, ev)
	}
	signal, ok := signalFor[typ]
	if !ok {
		return events.Ignore // an event the workflow does not wait for
	}
	id, payload, err := s.signalPayload(ev, signal)
	if err != nil {
		return err
	}
	if id == "" {
		return events.Ignore // not one of ours (a record started outside Retailbridge)
	}
	_, err = s.engine.Signal(ctx, tx, id, signal, payload)
	if errs.KindOf(err) == errs.NotFound {
		return events.Ignore // a reference that names no return of this service
	}
	return err
}

// signalPayload finds the return an event is about and, for inspections, the condition of each
// line. The return is the event's typed reference (the system API read it from the reference
// Retailbridge gave the vendor); an event published before events carried references falls
// back to the payload's own typed Retailbridge return id (Refund.return_id, Return.id).
func (s *Service) signalPayload(ev *canonicalv1.Event, signal string) (string, []byte, error) {
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return "", nil, errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	id := ev.GetReferences().GetReturnId()
	conditions := map[string]string{}
	switch m := msg.(type) {
	case *canonicalv1.Refund:
		if ev.GetReferences() == nil {
			id = m.GetReturnId()
		}
		if id == "" {
			return "", nil, nil
		}
		b, err := json.Marshal(refundUpdate{RefundID: m.GetGatewayRefundId(), Status: refundStatus(m.GetStatus())})
		return id, b, err
	case *canonicalv1.Return:
		if ev.GetReferences() == nil {
			id = m.GetId()
		}
		for _, l := range m.GetLines() {
			key := l.GetOrderLineId()
			if key == "" {
				key = l.GetSku()
			}
			conditions[key] = conditionName(l.GetCondition())
		}
	}
	if id == "" || signal != SignalInspected {
		return id, nil, nil
	}
	b, err := json.Marshal(conditions)
	return id, b, err
}

func conditionName(c canonicalv1.ItemCondition) string {
	switch c {
	case canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE:
		return "resellable"
	case canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED:
		return "damaged"
	case canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING:
		return "wrong_or_missing"
	}
	return ""
}

// Signal delivers a signal to a return directly (sandbox-driven tests and operator tooling).
func (s *Service) Signal(ctx context.Context, id, signal string, payload []byte) (bool, error) {
	var applied bool
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		applied, err = s.engine.Signal(ctx, tx, id, signal, payload)
		return err
	})
	return applied, err
}

// State reads a return's workflow state (tests and operators).
func (s *Service) State(ctx context.Context, id string) (workflow.Instance, []workflow.Entry, error) {
	return s.engine.Get(ctx, id)
}
