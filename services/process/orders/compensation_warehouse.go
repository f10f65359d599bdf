package orders

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// Cancelling an order the warehouse holds. The warehouse is asked first, in its own active
// state (cancelling_at_warehouse), because only it knows whether the parcel left: a warehouse
// that already shipped refuses, and the cancellation is then refused with its reason (the
// order goes back to where it was; a return is the way). Once every shipping order is
// cancelled, newest first, the remaining compensations run (reservation released, ERP order
// closed, OMS order cancelled). Each shipping order is cancelled under a key derived from the
// order and its index, the same in the step and in the send step's compensation, so a retry,
// a crash or both paths together cancel it once.

// StateCancellingWarehouse is the active state that cancels the shipping orders.
const StateCancellingWarehouse = "cancelling_at_warehouse"

// cancelKey is the idempotency key of cancelling the i-th shipping order of an order.
func cancelKey(orderID string, i int) string {
	return workflow.Key(orderID, StateSending) + ":cancel:" + strconv.Itoa(i)
}

// cancelOrder is a cancellation decided in state: straight to the compensations when no
// shipping order was sent, through the warehouse otherwise.
func (b builder) cancelOrder(state string, d *orderData, note string) workflow.Result {
	if len(d.WarehouseOrders) == 0 || len(d.WarehouseCancelled) == len(d.WarehouseOrders) {
		return b.cancel(d, note)
	}
	d.CancelFrom, d.CancelNote = state, note
	if state == StateCancellingWarehouse {
		return workflow.Result{Note: "cancellation already in progress"}
	}
	return workflow.Result{Next: StateCancellingWarehouse, Data: d, Note: "cancelling at the warehouse: " + note,
		CancelTimers: []string{TimerHoldRetry}}
}

// cancellingStep cancels every shipping order not yet cancelled, newest first.
func (b builder) cancellingStep(sys systems) workflow.Step {
	return workflow.Step{System: "wms", Do: func(ctx context.Context, r workflow.Run) (workflow.Result, error) {
		var d orderData
		if err := r.Decode(&d); err != nil {
			return workflow.Result{}, errs.Wrap(err, errs.Internal, "order_data_corrupt", "")
		}
		for i := len(d.WarehouseOrders) - 1; i >= 0; i-- {
			if slices.Contains(d.WarehouseCancelled, i) {
				continue
			}
			err := cancelShippingOrder(b.routed(ctx, &d), sys, &d, i)
			if errs.FromError(err).Reason == "already_shipped" {
				return b.refuseCancellation(&d, i, err), nil
			}
			if err != nil {
				return workflow.Result{}, err
			}
			d.WarehouseCancelled = append(d.WarehouseCancelled, i)
		}
		res := b.cancel(&d, d.CancelNote)
		res.Data = &d
		return res, nil
	}}
}

// cancelShippingOrder asks the warehouse to cancel the i-th shipping order.
func cancelShippingOrder(ctx context.Context, sys systems, d *orderData, i int) error {
	wo := d.WarehouseOrders[i]
	_, err := sys.wms.CancelShippingOrder(ctx, &wmsv1.CancelShippingOrderRequest{WarehouseOrderId: wo.ID,
		ShipmentId: shipmentID(d.OrderID, i), Reason: "order cancelled", IdempotencyKey: cancelKey(d.OrderID, i)})
	if errs.KindOf(asError(err)) == errs.NotFound {
		return nil // the warehouse never had it, or forgot it: nothing to ship
	}
	return asError(err)
}

// refuseCancellation ends a cancellation the warehouse refused for shipping order i: before
// anything was cancelled the order carries on where it was (with any shipment reported
// meanwhile fulfilled); after a part of a split order was cancelled, people decide.
func (b builder) refuseCancellation(d *orderData, i int, cause error) workflow.Result {
	reason := fmt.Sprintf("cancellation refused: the warehouse already shipped shipping order %s (%s); a return is the way",
		d.WarehouseOrders[i].ID, errs.FromError(cause).Message)
	if len(d.WarehouseCancelled) > 0 {
		return workflow.Result{Next: StateFailed, Data: d, Events: []*canonicalv1.Event{stateEvent(d, StateFailed, b.now())},
			Note: reason + "; other shipping orders of this split order were cancelled: people finish it"}
	}
	next := resumeState(d, d.CancelFrom)
	d.CancelFrom, d.CancelNote = "", ""
	res := b.enter(d, next)
	res.Note = reason
	return res
}

// resumeState is where an order interrupted in state carries on: a shipment reported while it
// was interrupted is fulfilled.
func resumeState(d *orderData, state string) string {
	if (state == StateAwaitingAck || state == StateAwaitingShipment) && len(d.Shipments) > 0 && d.Shipments[len(d.Shipments)-1].FulfillmentID == "" {
		return StateFulfilling
	}
	if state == "" {
		return StateAwaitingShipment
	}
	return state
}

// sendCompensation cancels, newest first, the shipping orders the cancelling step did not
// (a compensation after a permanent failure); a shipped one fails the compensation, and the
// order goes to people.
func sendCompensation(sys systems) compFunc {
	return func(ctx context.Context, _ workflow.Run, d *orderData) error {
		if len(d.Shipments) > 0 {
			return nil
		}
		for i := len(d.WarehouseOrders) - 1; i >= 0; i-- {
			if slices.Contains(d.WarehouseCancelled, i) {
				continue
			}
			if err := cancelShippingOrder(ctx, sys, d, i); err != nil {
				return err
			}
		}
		return nil
	}
}
