package orders

import (
	"context"
	"fmt"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// routeStep hands the order to the OMS, which allocates its lines to locations from the
// inventory process's availability and may split it. An OMS that cannot route now (not
// deployed: Unimplemented) holds the order in awaiting_routing; it is never routed by guess.
func routeStep(sys systems, cfg WorkflowConfig) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		full, err := d.order()
		if err != nil {
			return "", err
		}
		// The OMS routes what holds stock (lines.go), as this attempt's order (reroute.go).
		o := d.omsOrder(full)
		if d.OMSOrderID == "" {
			// The OMS sources from the inventory process's figures (step_route_availability.go).
			if err := pushAvailability(ctx, sys, o, d.attemptKey(r.Key), d.withoutExhausted); err != nil {
				return "", err
			}
			resp, err := sys.oms.SubmitOrder(ctx, &omsv1.SubmitOrderRequest{Order: o, IdempotencyKey: d.attemptKey(r.Key)})
			if held, err := holdOn(err, d, "the OMS cannot take orders"); held || err != nil {
				return d.unroutable(cfg, err)
			}
			d.OMSOrderID = resp.GetOmsOrderId()
		}
		resp, err := sys.oms.GetAllocation(ctx, &omsv1.GetAllocationRequest{OmsOrderId: d.OMSOrderID})
		if held, err := holdOn(err, d, "the OMS cannot report the allocation"); held || err != nil {
			return StateAwaitingRouting, err
		}
		d.Allocations = nil
		for _, a := range resp.GetAllocations() {
			d.Allocations = append(d.Allocations, allocation{LineID: a.GetOrderLineId(), Location: a.GetLocationId(), Quantity: a.GetQuantity(),
				SKU: skuOf(o.GetLines(), a.GetOrderLineId())})
		}
		switch {
		case !d.allocatedInFull() && d.RouteAttempt > 0:
			// A re-route the OMS cannot fill: no location has the units now.
			if err := d.cancelOMSOrder(ctx, sys, r); err != nil {
				return "", err
			}
			d.nextAttempt()
			return d.awaitStock("the OMS found no location with every unit"), nil
		case !d.allocatedInFull():
			d.Reasons = []string{"the OMS has not allocated every unit yet"}
			return StateAwaitingRouting, nil
		case d.SalesOrderID != "": // re-routed after booking
			d.Reasons, d.note = nil, fmt.Sprintf("re-routed (attempt %d): allocated %s", d.RouteAttempt+1, d.allocationList())
			return StateReserving, nil
		}
		return StateBooking, nil
	}
}

// unroutable is where an order goes when the OMS cannot take it: held in awaiting_routing, or,
// for a re-route of an order the OMS never routed (shipped from the warehouse), back to the
// warehouse once nothing there is exhausted, else waiting for stock there.
func (d *orderData) unroutable(cfg WorkflowConfig, err error) (string, error) {
	if err != nil || d.RouteAttempt == 0 || d.needsOMS() {
		return StateAwaitingRouting, err
	}
	if len(d.Exhausted) == 0 {
		if err := d.allocate(cfg.WarehouseLocation); err != nil {
			return "", err
		}
		d.Reasons = nil
		return StateReserving, nil
	}
	return d.awaitStock("no other location can be asked: " + strings.Join(d.Reasons, "; ")), nil
}

// allocationList says where the units were allocated.
func (d *orderData) allocationList() string {
	parts := make([]string, len(d.Allocations))
	for i, a := range d.Allocations {
		parts[i] = fmt.Sprintf("%d × %s at %s", a.Quantity, a.SKU, a.Location)
	}
	return strings.Join(parts, ", ")
}

// routeCompensation cancels the order in the OMS, releasing what it allocated.
func routeCompensation(sys systems) compFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) error {
		if d.OMSOrderID == "" || len(d.Shipments) > 0 {
			return nil
		}
		_, err := sys.oms.CancelOrder(ctx, &omsv1.CancelOrderRequest{OmsOrderId: d.OMSOrderID, Reason: "order cancelled", IdempotencyKey: r.Key + ":cancel"})
		if errs.KindOf(asError(err)) == errs.NotFound {
			return nil
		}
		return asError(err)
	}
}

// holdOn decides what a system's error means for a step that can wait: Unimplemented (the
// system or RPC is not deployed) holds the order with the reason; any other error is returned
// (retryable ones are retried by the engine).
func holdOn(err error, d *orderData, reason string) (bool, error) {
	if err == nil {
		return false, nil
	}
	e := asError(err)
	if errs.KindOf(e) == errs.Unimplemented {
		d.Reasons = []string{reason + ": " + errs.FromError(e).Message}
		return true, nil
	}
	return false, e
}
