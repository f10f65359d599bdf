package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// routeStep hands the order to the OMS, which allocates its lines to locations from the
// inventory process's availability and may split it. An OMS that cannot route now (not
// deployed: Unimplemented) holds the order in awaiting_routing; it is never routed by guess.
func routeStep(sys systems, cfg WorkflowConfig) stepFunc {
	return func(ctx context.Context, r workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		if d.OMSOrderID == "" {
			// The OMS sources from the inventory process's figures (step_route_availability.go).
			if err := pushAvailability(ctx, sys, o, r.Key); err != nil {
				return "", err
			}
			resp, err := sys.oms.SubmitOrder(ctx, &omsv1.SubmitOrderRequest{Order: o, IdempotencyKey: r.Key})
			if held, err := holdOn(err, d, "the OMS cannot take orders"); held || err != nil {
				return StateAwaitingRouting, err
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
		if !d.allocatedInFull() {
			d.Reasons = []string{"the OMS has not allocated every unit yet"}
			return StateAwaitingRouting, nil
		}
		return StateBooking, nil
	}
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
