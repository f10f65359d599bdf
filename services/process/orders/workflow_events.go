package orders

import (
	"context"
	"database/sql"
	"errors"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Run drives the order workflow until ctx ends: the runner (steps and timers), the outbox
// relay, and the consumers that accept commerce order events and turn warehouse events into
// signals. Accepting an order is one insert in the consumer's transaction: the storefront's
// webhook was answered by the commerce system API long before, whatever the ERP or warehouse do.
func (w *Workflow) Run(ctx context.Context) error {
	for _, domain := range []string{"orders", "commerce", "wms", "inventory"} {
		if _, err := events.EnsureStream(ctx, w.js, domain, events.StreamOptions{}); err != nil {
			return err
		}
	}
	if _, err := events.EnsureDeadLetterStream(ctx, w.js, events.StreamOptions{}); err != nil {
		return err
	}
	relay := events.NewRelay(w.db, w.js, w.outbox, events.RelayConfig{Logger: w.log, Now: w.now})
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return relay.Run(ctx) })
	g.Go(func() error { return w.engine.Run(ctx) })
	if err := w.runERPStatus(ctx, g); err != nil {
		return err
	}
	for _, c := range []struct {
		name, domain string
		h            events.HandlerFunc
	}{
		{"orders-workflow-from-commerce", "commerce", w.handleCommerceEvent},
		{"orders-workflow-from-wms", "wms", w.handleWarehouseEvent},
		{"orders-workflow-from-inventory", "inventory", w.handleInventoryEvent}, // releases awaiting_stock
	} {
		cons, err := events.NewConsumer(w.db, w.js, events.ConsumerConfig{
			Name: c.name, Stream: events.StreamName(c.domain), Subjects: []string{events.DomainSubjects(c.domain)},
			Logger: w.log, Now: w.now,
		}, c.h)
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

// handleCommerceEvent accepts orders/create (and orders/updated that overtook it) as a new
// workflow, once per order however often it is delivered, and turns later updates and
// cancellations into signals.
func (w *Workflow) handleCommerceEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	typ := events.TypeOf(ev.GetType())
	switch typ {
	case canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_UPDATED,
		canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED:
	default:
		return nil
	}
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	o, ok := msg.(*canonicalv1.Order)
	if !ok || o.GetId() == "" {
		return nil
	}
	exists, err := workflowExists(ctx, tx, o.GetId())
	if err != nil {
		return err
	}
	switch {
	case typ == canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED:
		if !exists {
			return nil // never accepted: nothing to undo
		}
		_, err := w.engine.Signal(workflow.WithLane(ctx, laneCustomerCancel), tx, o.GetId(), SignalCancel, []byte(`{"note":"(cancelled on the storefront)"}`))
		return err
	case exists && typ == canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_UPDATED:
		b, err := protojson.Marshal(o)
		if err != nil {
			return err
		}
		_, err = w.engine.Signal(ctx, tx, o.GetId(), SignalOrderUpdated, b)
		return err
	case exists:
		return nil // a duplicate orders/create: one workflow, one sales order
	}
	err = w.accept(ctx, tx, o, ev.GetType())
	if errs.KindOf(err) == errs.AlreadyExists {
		// Another replica accepted a copy in between (PostgreSQL has rolled this transaction
		// back): delivered again, this copy finds the workflow and is absorbed.
		return errs.Wrap(err, errs.Conflict, "order_accepted_concurrently", "another copy of the order was accepted at the same time")
	}
	return err
}

// accept starts an order's workflow in tx.
func (w *Workflow) accept(ctx context.Context, tx *store.Tx, o *canonicalv1.Order, cause string) error {
	var d orderData
	if err := d.setOrder(o); err != nil {
		return err
	}
	return w.engine.Start(ctx, tx, WorkflowKind, o.GetId(), StateValidating, d, "accepted from "+cause)
}

// workflowExists checks in tx (a unique violation would abort a PostgreSQL transaction).
func workflowExists(ctx context.Context, tx *store.Tx, id string) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM rb_workflows WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// warehouseSignals maps warehouse events to the signals they mean for an order.
var warehouseSignals = map[canonicalv1.EventType]string{
	canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_ACKNOWLEDGED: SignalAcknowledged,
	canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_SHIPPED:      SignalShipped,
	canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_REJECTED:     SignalRejected,
}

// handleWarehouseEvent signals the order a shipping order's acknowledgement, shipment or
// rejection is about. Shipments of orders this workflow does not know are not its business.
func (w *Workflow) handleWarehouseEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	signal, ok := warehouseSignals[events.TypeOf(ev.GetType())]
	if !ok {
		return nil
	}
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	s, ok := msg.(*canonicalv1.Shipment)
	if !ok {
		return nil
	}
	id := s.GetOrderId()
	if id == "" {
		id = ev.GetReferences().GetOrderId()
	}
	payload, err := protojson.Marshal(s)
	if err != nil || id == "" {
		return err
	}
	_, err = w.engine.Signal(ctx, tx, id, signal, payload)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return err
}
