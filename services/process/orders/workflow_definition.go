package orders

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Signals an order reacts to.
const (
	SignalOrderUpdated = "order_updated" // orders/updated: new order data (fixes an incomplete order)
	SignalCancel       = "cancel"        // orders/cancelled, or support
	SignalRelease      = "release"       // support releases or resolves a held order
	SignalAcknowledged = "warehouse_acknowledged"
	SignalShipped      = "shipped"
	SignalRejected     = "warehouse_rejected"
	TimerAckSLA        = "ack_sla"    // the warehouse's acknowledgement is overdue: escalate once
	TimerHoldRetry     = "hold_retry" // a held order tries its step again
)

// stepFunc is a step's work on the decoded order; it returns the next state.
type stepFunc func(ctx context.Context, r workflow.Run, d *orderData) (string, error)

// compFunc undoes a step.
type compFunc func(ctx context.Context, r workflow.Run, d *orderData) error

// builder makes the engine's steps from the per-step functions: it decodes and re-encodes the
// order's data, checks each transition against the state machine, publishes the state change
// and schedules the timers a new state needs.
type builder struct {
	cfg WorkflowConfig
	now func() time.Time
	// tenants owns the partner sources: an order's system calls carry its channel and that
	// channel's tenant (routed), so a kind served by several vendors (RB_VENDOR_ROUTES) sends
	// them to the vendor configured for either. Nil routes by channel only.
	tenants *tenancy.Directory
}

// routed makes ctx's system calls carry the order's route: its sales channel (the commerce
// platform's source name) and the tenant that owns it.
func (b builder) routed(ctx context.Context, d *orderData) context.Context {
	o, err := d.order()
	if err != nil {
		return ctx
	}
	r := vendors.Route{Channel: o.GetSource()}
	if b.tenants != nil {
		r.Tenant = b.tenants.OwnerOf(r.Channel)
	}
	return vendors.WithRoute(ctx, r)
}

func (b builder) step(system string, do stepFunc, comp compFunc) workflow.Step {
	s := workflow.Step{System: system, Do: func(ctx context.Context, r workflow.Run) (workflow.Result, error) {
		var d orderData
		if err := r.Decode(&d); err != nil {
			return workflow.Result{}, errs.Wrap(err, errs.Internal, "order_data_corrupt", "")
		}
		next, err := do(b.routed(ctx, &d), r, &d)
		if err != nil {
			return workflow.Result{}, err
		}
		if err := checkTransition(r.State, next, &d); err != nil {
			return workflow.Result{}, err
		}
		res := b.enter(&d, next)
		res.Note = d.note
		return res, nil
	}}
	if comp != nil {
		s.Compensate = func(ctx context.Context, r workflow.Run) error {
			var d orderData
			if err := r.Decode(&d); err != nil {
				return err
			}
			return comp(b.routed(ctx, &d), r, &d)
		}
	}
	return s
}

// enter is the result of moving to next: the data, the state event and next's timers.
func (b builder) enter(d *orderData, next string) workflow.Result {
	res := workflow.Result{Next: next, Data: d, Events: []*canonicalv1.Event{stateEvent(d, next, b.now())}}
	switch {
	case queueOf(next) != "":
		res.Timers = []workflow.Timer{{Name: TimerHoldRetry, At: b.now().Add(b.cfg.HoldRetry)}}
	case next == StateAwaitingAck:
		res.Timers = []workflow.Timer{{Name: TimerAckSLA, At: b.now().Add(b.cfg.AckSLA)}}
	}
	if queueOf(next) == "" {
		res.CancelTimers = []string{TimerHoldRetry}
	}
	if next == StateAwaitingShipment || next == StateFulfilling {
		res.CancelTimers = append(res.CancelTimers, TimerAckSLA)
	}
	return res
}

// orderDefinition is the order workflow.
func orderDefinition(sys systems, taxes *taxTable, cfg WorkflowConfig, now func() time.Time, tenants *tenancy.Directory) *workflow.Definition {
	b := builder{cfg: cfg, now: now, tenants: tenants}
	return &workflow.Definition{
		Kind: WorkflowKind,
		Steps: map[string]workflow.Step{
			StateValidating:          b.step("erp", validateStep(sys), nil),
			StateEnriching:           b.step("erp", enrichStep(sys, taxes), nil),
			StateRouting:             b.step("oms", routeStep(sys, cfg), routeCompensation(sys)),
			StateBooking:             b.step("erp", bookStep(sys), bookCompensation(sys)),
			StateReserving:           b.step("inventory", reserveStep(sys, cfg), reserveCompensation(sys)),
			StateSending:             b.step("wms", sendStep(sys), sendCompensation(sys)),
			StateFulfilling:          b.step("commerce", fulfilStep(sys), nil),
			StateRecordingShipment:   b.step("erp", recordShipmentStep(sys), nil),
			StateInvoicing:           b.step("erp", invoiceStep(sys), nil),
			StateCapturing:           b.step("payments", captureStep(sys), nil),
			StatePostingPayment:      b.step("erp", paymentStep(sys), nil),
			StateCancellingWarehouse: b.cancellingStep(sys),
		},
		Signals:    b.signals(),
		Terminal:   map[string]bool{StateCompleted: true, StateCancelled: true, StateFailed: true},
		Deferrable: map[string]bool{SignalAcknowledged: true, SignalShipped: true, SignalRejected: true, SignalERPStatus: true},
		FailState:  StateFailed,
		// Once the storefront told the customer the order shipped, nothing before it is undone.
		Pivots: map[string]bool{StateFulfilling: true},
		// An ERP maintenance window or a warehouse outage lasts hours: retryable failures are
		// retried (backoff capped at 5 minutes, a vendor's Retry-After wins) for about three
		// hours before the order goes to people, instead of the engine's default eight attempts.
		MaxAttempts: 40, MaxBackoff: 5 * time.Minute,
		// What an outage parked drains as bulk work behind new customer-facing orders (lanes.go).
		RedriveInBulk: true,
	}
}

// stateEvent tells the world the order's workflow entered state.
func stateEvent(d *orderData, state string, at time.Time) *canonicalv1.Event {
	var data *anypb.Any
	if o, err := d.order(); err == nil {
		data, _ = anypb.New(o)
	}
	return &canonicalv1.Event{Source: "retailbridge/process/orders",
		Type:    events.TypeName(canonicalv1.EventType_EVENT_TYPE_ORDERS_ORDER_STATE_CHANGED),
		Subject: "order/" + d.OrderID + "/" + state, Time: timestamppb.New(at), Data: data,
		References: &canonicalv1.EventReferences{OrderId: d.OrderID}}
}

// decode reads a signal's order data.
func decode(raw json.RawMessage) (*orderData, error) {
	var d orderData
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, errs.Wrap(err, errs.Internal, "order_data_corrupt", "")
	}
	return &d, nil
}
