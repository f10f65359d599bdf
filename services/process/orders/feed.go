package orders

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// feedConsumer is the durable consumer that feeds the order store from the commerce events.
const feedConsumer = "orders-store-from-commerce"

// feedKinds maps the commerce events the store keeps to the history kind each is.
var feedKinds = map[canonicalv1.EventType]string{
	canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED:       kindCreated,
	canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_UPDATED:       kindUpdated,
	canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED:     kindCancelled,
	canonicalv1.EventType_EVENT_TYPE_COMMERCE_FULFILLMENT_UPDATED: kindFulfillment,
	canonicalv1.EventType_EVENT_TYPE_COMMERCE_REFUND_CREATED:      kindRefund,
}

// newFeed is the consumer of the commerce stream that applies each order event to the store in
// the consumer's transaction, with its inbox row: a redelivered event is absorbed by the inbox,
// a duplicate delivery under another event id by the history's version key, and a late, older
// version by the upsert's updated_at check.
func (s *Service) newFeed() (*events.Consumer, error) {
	return events.NewConsumer(s.db, s.js, events.ConsumerConfig{
		Name: feedConsumer, Stream: events.StreamName("commerce"), Subjects: []string{events.DomainSubjects("commerce")},
		Logger: s.log, Now: s.now, Concurrency: 8,
	}, events.HandlerFunc(s.handleCommerceEvent))
}

// handleCommerceEvent applies one commerce event. A fulfilment or refund is kept in the order's
// history; the order's own version follows from the orders/updated the platform sends with it,
// or from the repair poll that sees its new updated_at.
func (s *Service) handleCommerceEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	kind, ok := feedKinds[events.TypeOf(ev.GetType())]
	if !ok {
		return nil
	}
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	v := version{kind: kind, via: viaWebhook, eventID: ev.GetId(), updatedAt: ev.GetTime().AsTime()}
	switch m := msg.(type) {
	case *canonicalv1.Order:
		v.orderID, v.order = m.GetId(), m
		if t := m.GetUpdatedAt(); t != nil {
			v.updatedAt = t.AsTime() // the vendor's updated_at orders the versions
		}
		if err := s.store.carryReturned(ctx, tx, m); err != nil {
			return err
		}
	case *canonicalv1.Shipment:
		v.orderID, v.fact, v.factID = m.GetOrderId(), m, m.GetId()
	case *canonicalv1.Refund:
		v.orderID, v.fact, v.factID = m.GetOrderId(), m, m.GetId()
	default:
		return errs.E(errs.Invalid, "event_payload_unexpected", "the event carries "+string(msg.ProtoReflect().Descriptor().FullName()))
	}
	if v.orderID == "" {
		return errs.E(errs.Invalid, "event_order_missing", "the event names no order")
	}
	r, err := s.store.applyVersion(ctx, tx, v)
	if err != nil {
		return err
	}
	s.metrics.versions.WithLabelValues(viaWebhook, appliedLabel(r.changed)).Inc()
	id := v.orderID
	switch {
	case r.changed:
		tx.AfterCommit(func() { s.orders.Invalidate(id) })
	case r.tied:
		tx.AfterCommit(func() { s.rereadTied(id) })
	}
	return nil
}

func appliedLabel(changed bool) string {
	if changed {
		return "applied"
	}
	return "kept"
}

// lag is how old a confirmation is.
func (s *Service) lag(confirmed time.Time) float64 { return max(0, s.now().Sub(confirmed).Seconds()) }
