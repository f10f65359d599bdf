package returns

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
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

// signalFor maps a canonical vendor event to the signal it means for a return, by the event
// type's tail: the system APIs name events <domain>.<object>.<what>.v1.
var signalFor = map[string]string{
	"parcel.in_transit":          SignalInTransit,
	"parcel.out_for_delivery":    SignalInTransit,
	"return.received":            SignalReceived,
	"receipt.created":            SignalReceived,
	"return.inspected":           SignalInspected,
	"inspection.completed":       SignalInspected,
	"return.in_transit":          SignalInTransit,
	"parcel.picked_up":           SignalInTransit,
	"return.parcel_in_transit":   SignalInTransit,
	"return.parcel_received":     SignalReceived,
	"return.inspection_complete": SignalInspected,
	"refund.updated":             SignalRefundUpdate,
}

// handleVendorEvent applies a vendor event to its return inside the consumer's transaction
// (with the inbox row): a duplicate or late event is either absorbed by the inbox or ignored by
// the workflow's state.
func (s *Service) handleVendorEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	name := eventTail(ev.GetType())
	if name == "return.created" && strings.HasPrefix(ev.GetType(), "retailbridge.returnsplatform.") {
		return s.keepPlatformReturn(ctx, tx, ev)
	}
	signal, ok := signalFor[name]
	if !ok {
		return nil // an event the workflow does not wait for
	}
	id, payload, err := s.signalPayload(ev, signal)
	if err != nil {
		return err
	}
	if id == "" {
		return nil // not one of ours (a return created outside Retailbridge)
	}
	_, err = s.engine.Signal(ctx, tx, id, signal, payload)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return err
}

// eventTail is "parcel.in_transit" for "retailbridge.returnsplatform.parcel.in_transit.v1".
func eventTail(typ string) string {
	parts := strings.Split(typ, ".")
	if len(parts) < 5 {
		return ""
	}
	return strings.Join(parts[2:len(parts)-1], ".")
}

// signalPayload finds the return an event is about (the reference Retailbridge gave the vendor
// is the return id) and, for inspections, the condition of each line.
func (s *Service) signalPayload(ev *canonicalv1.Event, signal string) (string, []byte, error) {
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return "", nil, errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	var id string
	conditions := map[string]string{}
	switch m := msg.(type) {
	case *canonicalv1.Refund:
		// The return id travels in the refund's metadata, which Retailbridge set.
		if !strings.HasPrefix(m.GetReturnId(), "ret_") {
			return "", nil, nil
		}
		b, err := json.Marshal(refundUpdate{RefundID: m.GetGatewayRefundId(), Status: refundStatus(m.GetStatus())})
		return m.GetReturnId(), b, err
	case *canonicalv1.Return:
		id = referenceOf(m.GetId(), m.GetExternalIds())
		for _, l := range m.GetLines() {
			key := l.GetOrderLineId()
			if key == "" {
				key = l.GetSku()
			}
			conditions[key] = conditionName(l.GetCondition())
		}
	case *canonicalv1.Shipment:
		id = referenceOf(m.GetId(), nil)
		if !strings.HasPrefix(id, "ret_") {
			id = referenceOf(m.GetOrderId(), nil)
		}
	}
	if !strings.HasPrefix(id, "ret_") {
		if r := strings.TrimPrefix(ev.GetSubject(), "return/"); strings.HasPrefix(r, "ret_") {
			id = r
		} else {
			return "", nil, nil
		}
	}
	if signal != SignalInspected {
		return id, nil, nil
	}
	b, err := json.Marshal(conditions)
	return id, b, err
}

func referenceOf(id string, external map[string]string) string {
	if strings.HasPrefix(id, "ret_") {
		return id
	}
	for _, k := range []string{"retailbridge", "reference"} {
		if v := external[k]; strings.HasPrefix(v, "ret_") {
			return v
		}
	}
	return id
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
