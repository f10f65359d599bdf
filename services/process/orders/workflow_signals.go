package orders

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// release is SignalRelease's payload: support's decision on a held order.
type release struct {
	Resolution string `json:"resolution"` // retry, use_tax_code, cancel
	TaxCode    string `json:"tax_code,omitempty"`
	Note       string `json:"note,omitempty"`
}

// retryState is the step a held state runs again.
var retryState = map[string]string{
	StateIncomplete: StateValidating, StateFailedTax: StateEnriching,
	StateAwaitingRouting: StateRouting, StateAwaitingInventory: StateReserving,
	StateAwaitingStorefront: StateFulfilling, StateAwaitingCapture: StateCapturing,
	StateAwaitingStock: StateRouting,
}

// signals maps states and signals to handlers. Handlers never call vendors.
func (b builder) signals() map[string]map[string]workflow.SignalHandler {
	held := map[string]workflow.SignalHandler{SignalRelease: b.onRelease, TimerHoldRetry: b.onHoldRetry}
	m := map[string]map[string]workflow.SignalHandler{
		"*": {SignalCancel: b.onCancel, SignalShipped: b.onShipped, SignalAcknowledged: b.onAcknowledged,
			SignalRejected: b.onRejected, SignalOrderUpdated: b.onOrderUpdated},
		StateAwaitingAck: {TimerAckSLA: b.onAckOverdue},
		StateCancelled:   {SignalShipped: b.onShippedAfterCancel},
		StateCompleted:   {SignalCancel: b.onCancel}, // shipped: refused with the reason
	}
	for state := range retryState {
		m[state] = held
	}
	m[StateAwaitingStock] = map[string]workflow.SignalHandler{SignalRelease: b.onRelease, TimerHoldRetry: b.onHoldRetry,
		SignalStockArrived: b.onStockArrived}
	b.followUpSignals(m)
	return m
}

func (b builder) onRelease(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	var rel release
	if err := json.Unmarshal(payload, &rel); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "invalid_release", "the release is not readable")
	}
	switch rel.Resolution {
	case "cancel":
		return b.cancelOrder(i.State, d, "cancelled by support: "+rel.Note), nil
	case "use_tax_code":
		if i.State != StateFailedTax || rel.TaxCode == "" {
			return workflow.Result{}, errs.E(errs.FailedPrecondition, "tax_code_not_applicable",
				"a tax code resolves only an order in failed_tax_enrichment, and one must be given")
		}
		d.TaxOverride = rel.TaxCode
	}
	if i.State == StateAwaitingStock {
		d.restock()
	}
	res := b.enter(d, retryState[i.State])
	res.Note = fmt.Sprintf("released by support (%s): %s", rel.Resolution, rel.Note)
	return res, nil
}

func (b builder) onHoldRetry(_ context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	if i.State == StateAwaitingStock {
		d.restock()
	}
	res := b.enter(d, retryState[i.State])
	res.Note = "held order tried again"
	return res, nil
}

// cancel compensates the steps done so far, newest first, and ends cancelled.
func (b builder) cancel(d *orderData, note string) workflow.Result {
	return workflow.Result{Next: StateCancelled, Compensate: true, Note: note,
		Events: []*canonicalv1.Event{stateEvent(d, StateCancelled, b.now())}, CancelTimers: []string{TimerAckSLA, TimerHoldRetry}}
}

// onCancel cancels an order that has not shipped; a shipped order's cancellation is refused
// with the reason (a return is the way), and the refusal is on the timeline.
func (b builder) onCancel(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	if len(d.Shipments) > 0 {
		return workflow.Result{Note: fmt.Sprintf("cancellation refused: shipment %s already left the warehouse; a return is the way", d.Shipments[0].ID)}, nil
	}
	var rel release
	_ = json.Unmarshal(payload, &rel) // a note is optional
	return b.cancelOrder(i.State, d, "cancelled before shipment "+rel.Note), nil
}

func (b builder) onShipped(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	s, err := shipmentFrom(payload)
	if err != nil {
		return workflow.Result{}, err
	}
	if d.hasShipment(s.ID) {
		return workflow.Result{Note: "shipment " + s.ID + " reported again; already recorded"}, nil
	}
	d.Shipments = append(d.Shipments, s)
	if i.State == StateAwaitingAck || i.State == StateAwaitingShipment {
		res := b.enter(d, StateFulfilling)
		res.Note = "shipment " + s.ID + " left " + s.Location + " (tracking " + s.Tracking + ")"
		return res, nil
	}
	return workflow.Result{Data: d, Note: "shipment " + s.ID + " recorded; fulfilled after the current step"}, nil
}

func (b builder) onShippedAfterCancel(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	s, err := shipmentFrom(payload)
	if err != nil {
		return workflow.Result{}, err
	}
	d.Shipments = append(d.Shipments, s)
	return workflow.Result{Next: StateFailed, Data: d, Events: []*canonicalv1.Event{stateEvent(d, StateFailed, b.now())},
		Note: "the warehouse shipped cancelled order (shipment " + s.ID + "): nothing fulfilled, invoiced or captured; recover the parcel or re-bill"}, nil
}

func (b builder) onAcknowledged(_ context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	d.Acknowledged = true
	if i.State == StateAwaitingAck {
		res := b.enter(d, StateAwaitingShipment)
		res.Note = "the warehouse acknowledged the shipping order"
		return res, nil
	}
	return workflow.Result{Data: d, Note: "the warehouse acknowledged the shipping order"}, nil
}

// onAckOverdue escalates an unacknowledged shipping order once; the order is never sent again
// (the warehouse may have it and a second copy would ship twice).
func (b builder) onAckOverdue(_ context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	if d.Escalated {
		return workflow.Result{}, nil
	}
	d.Escalated = true
	ev := stateEvent(d, "acknowledgement_overdue", b.now())
	return workflow.Result{Data: d, Events: []*canonicalv1.Event{ev},
		Note: "escalated: the warehouse has not acknowledged the shipping order within its SLA (not re-sent)"}, nil
}

func (b builder) onRejected(_ context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	return workflow.Result{Next: StateFailed, Data: d, Events: []*canonicalv1.Event{stateEvent(d, StateFailed, b.now())},
		Note: "the warehouse rejected the shipping order: support decides (re-route or cancel)"}, nil
}

// onOrderUpdated takes the storefront's newer order while nothing is booked: an incomplete
// order is validated again; later changes are on the timeline for people.
func (b builder) onOrderUpdated(_ context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	d, err := decode(i.Data)
	if err != nil {
		return workflow.Result{}, err
	}
	o := &canonicalv1.Order{}
	if err := protojson.Unmarshal(payload, o); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "order_unreadable", "the updated order is not readable")
	}
	if d.SalesOrderID != "" {
		return workflow.Result{Note: "order updated on the storefront after booking; not applied"}, nil
	}
	if err := d.setOrder(o); err != nil {
		return workflow.Result{}, err
	}
	if i.State == StateIncomplete {
		res := b.enter(d, StateValidating)
		res.Note = "order updated on the storefront; validated again"
		return res, nil
	}
	return workflow.Result{Data: d, Note: "order updated on the storefront"}, nil
}

// shipmentFrom reads a shipped event's shipment (protojson canonical Shipment).
func shipmentFrom(payload []byte) (shipment, error) {
	in := &canonicalv1.Shipment{}
	if err := protojson.Unmarshal(payload, in); err != nil {
		return shipment{}, errs.Wrap(err, errs.Invalid, "shipment_unreadable", "the shipment is not readable")
	}
	s := shipment{ID: in.GetId(), Carrier: in.GetCarrier(), Tracking: in.GetTrackingNumber(), Location: in.GetFromLocationId(),
		Lines: map[string]int{}, SKUs: map[string]int{}, LineSKUs: map[string]string{}}
	for _, l := range in.GetLines() {
		s.Lines[l.GetOrderLineId()] += int(l.GetQuantity())
		s.SKUs[l.GetSku()] += int(l.GetQuantity())
		s.LineSKUs[l.GetOrderLineId()] = l.GetSku()
	}
	return s, nil
}
