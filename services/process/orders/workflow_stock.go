package orders

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// SignalStockArrived releases an order waiting in awaiting_stock: sellable units of one of its
// SKUs appeared at a location (a receipt, a transfer, a count, a return to stock).
const SignalStockArrived = "stock_arrived"

// stockArrival is SignalStockArrived's payload.
type stockArrival struct {
	SKU      string `json:"sku"`
	Location string `json:"location"`
}

// handleInventoryEvent turns the inventory process's position changes into releases of the
// orders waiting for that SKU: a position with sellable units signals every order in
// awaiting_stock that needs the SKU, in the consumer's transaction (its inbox makes a
// redelivery a no-op). Routing, not this handler, decides whether the units suffice: a release
// that finds too few puts the order back to wait.
func (w *Workflow) handleInventoryEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	if events.TypeOf(ev.GetType()) != canonicalv1.EventType_EVENT_TYPE_INVENTORY_POSITION_CHANGED {
		return nil
	}
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	p, ok := msg.(*canonicalv1.InventoryPosition)
	if !ok || !sellable(p) {
		return nil
	}
	ids, err := waitingFor(ctx, tx, p.GetSku())
	if err != nil {
		return err
	}
	payload, err := json.Marshal(stockArrival{SKU: p.GetSku(), Location: p.GetLocationId()})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := w.engine.Signal(ctx, tx, id, SignalStockArrived, payload); err != nil && errs.KindOf(err) != errs.NotFound {
			return err
		}
	}
	return nil
}

// sellable: the position holds units to sell.
func sellable(p *canonicalv1.InventoryPosition) bool {
	for _, q := range p.GetQuantities() {
		if q.GetState() == canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE && q.GetQuantity() > 0 {
			return true
		}
	}
	return false
}

// waitingFor lists the orders in awaiting_stock with a stocked line of sku. The queue is short
// (orders no location could serve), so it is read whole and filtered here.
func waitingFor(ctx context.Context, tx *store.Tx, sku string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id, data FROM rb_workflows WHERE kind = $1 AND state = $2 ORDER BY state_since, id`,
		WorkflowKind, StateAwaitingStock)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		d, err := decode(data)
		if err != nil {
			continue // a corrupt order is support's; it must not stop the others' release
		}
		o, err := d.order()
		if err != nil {
			continue
		}
		if slices.ContainsFunc(d.stockLines(o), func(l *canonicalv1.OrderLine) bool { return l.GetSku() == sku }) {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// onStockArrived routes an order waiting for stock again, with no location excluded (the units
// may have arrived at one that ran out).
func (b builder) onStockArrived(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	var a stockArrival
	_ = json.Unmarshal(payload, &a) // the note names it when it can
	d.restock()
	res := b.enter(d, StateRouting)
	res.Note = "stock of " + a.SKU + " arrived at " + a.Location + ": routed again"
	return res, nil
}
