package orders

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// Losing the race for the last unit. Routing and reserving are two steps: between them another
// order can take the last unit at the location the order was allocated to, and the inventory
// process refuses the reservation (insufficient_stock). That is not a failure of the order: what
// this attempt reserved is released, its OMS order is cancelled, the exhausted location is
// excluded for that SKU (its figure is loaded into the OMS as 0 with the order's availability),
// and the order is routed again through the OMS, which may allocate it elsewhere or split it.
// Each attempt is its own OMS order (Fluent refs are unique: "<order>-R<n>") under its own keys,
// so no attempt's reservation or OMS order is ever taken for another's, and every attempt is on
// the order's timeline. After MaxReroutes attempts, or when the OMS finds no location with the
// units, the order waits in the awaiting_stock queue, visible to support, until stock of one of
// its SKUs arrives (the inventory process's position events, workflow_stock.go), support
// releases it, or the hold-retry timer tries again.

// DefaultMaxReroutes is how often an order that lost its units is routed again before it waits
// for stock.
const DefaultMaxReroutes = 3

// exhausted is a location that ran out of a SKU under the order.
type exhausted struct {
	SKU      string `json:"sku"`
	Location string `json:"location"`
}

// attemptKey is a step's key for the current routing attempt: the first attempt keeps the
// step's own key (orders routed before re-routing existed), later ones are distinct.
func (d *orderData) attemptKey(key string) string {
	if d.RouteAttempt == 0 {
		return key
	}
	return key + ":r" + strconv.Itoa(d.RouteAttempt)
}

// omsOrder is what the OMS is asked to route in this attempt: the lines that hold stock, under
// an id of its own after the first attempt.
func (d *orderData) omsOrder(o *canonicalv1.Order) *canonicalv1.Order {
	sub := d.stockedOrder(o)
	if d.RouteAttempt > 0 {
		sub.Id = o.GetId() + "-R" + strconv.Itoa(d.RouteAttempt)
	}
	return sub
}

// cannotServe names why the inventory process refused a reservation at the allocated location
// in a way another location may not ("" for any other refusal): the units are gone, or the
// location does not sell to the order's channel (the OMS does not know the channel's locations).
func cannotServe(err error) string {
	if err == nil {
		return ""
	}
	switch errs.FromError(asError(err)).Reason {
	case "insufficient_stock":
		return "another order took the last units of %s at %s before this order's reservation"
	case "location_not_in_channel":
		return "the OMS allocated %s at %s, which does not sell to the order's channel"
	}
	return ""
}

// exhaustedSKU reports whether sku ran out at location under this order.
func (d *orderData) exhaustedSKU(sku, location string) bool {
	return slices.Contains(d.Exhausted, exhausted{SKU: sku, Location: location})
}

// lostRace undoes this attempt (its reservations, its OMS order) after a's reservation was
// refused, excludes a's location for a's SKU and routes again, or waits for stock once the
// attempts are used up.
func (d *orderData) lostRace(ctx context.Context, sys systems, r workflow.Run, cfg WorkflowConfig, a allocation, why string) (string, error) {
	for _, res := range d.Reservations {
		_, err := sys.inventory.Release(ctx, &inventoryv1.ReleaseRequest{ReservationId: res.ID})
		if err := asError(err); err != nil && errs.KindOf(err) != errs.NotFound {
			return "", err
		}
	}
	if err := d.cancelOMSOrder(ctx, sys, r); err != nil {
		return "", err
	}
	if !d.exhaustedSKU(a.SKU, a.Location) {
		d.Exhausted = append(d.Exhausted, exhausted{SKU: a.SKU, Location: a.Location})
	}
	d.nextAttempt()
	lost := fmt.Sprintf(why, a.SKU, a.Location)
	if d.Reroutes > cfg.MaxReroutes {
		return d.awaitStock(lost + fmt.Sprintf("; re-routed %d times", cfg.MaxReroutes)), nil
	}
	d.Reasons = []string{lost}
	d.note = fmt.Sprintf("%s: routed again without %s (re-route %d of %d)", lost, d.exhaustedList(), d.Reroutes, cfg.MaxReroutes)
	return StateRouting, nil
}

// cancelOMSOrder cancels the current attempt's OMS order, releasing what it allocated.
func (d *orderData) cancelOMSOrder(ctx context.Context, sys systems, r workflow.Run) error {
	if d.OMSOrderID == "" {
		return nil
	}
	_, err := sys.oms.CancelOrder(ctx, &omsv1.CancelOrderRequest{OmsOrderId: d.OMSOrderID, Reason: "re-routed: a location ran out",
		IdempotencyKey: d.attemptKey(r.Key) + ":cancel"})
	switch errs.KindOf(asError(err)) {
	case errs.NotFound, errs.Unimplemented:
		return nil
	}
	return asError(err)
}

// nextAttempt forgets the attempt's allocation: the next one is a new OMS order under new keys.
func (d *orderData) nextAttempt() {
	d.Reservations, d.Allocations, d.OMSOrderID = nil, nil, ""
	d.RouteAttempt++
	d.Reroutes++
}

// awaitStock holds the order until stock arrives, with why.
func (d *orderData) awaitStock(why string) string {
	d.Reasons = []string{why + "; waiting for stock (excluded: " + d.exhaustedList() + ")"}
	d.note = "awaiting stock: " + d.Reasons[0]
	return StateAwaitingStock
}

// restock forgets the exclusions of an order released from awaiting_stock: the stock that
// arrived may be at an excluded location.
func (d *orderData) restock() {
	d.Exhausted, d.Reroutes = nil, 0
}

func (d *orderData) exhaustedList() string {
	if len(d.Exhausted) == 0 {
		return "none"
	}
	parts := make([]string, len(d.Exhausted))
	for i, e := range d.Exhausted {
		parts[i] = e.SKU + " at " + e.Location
	}
	return strings.Join(parts, ", ")
}

// withoutExhausted loads the order's exhausted locations into the OMS as holding none of the
// SKU, so the OMS allocates elsewhere.
func (d *orderData) withoutExhausted(figures []*omsv1.LocationAvailability) []*omsv1.LocationAvailability {
	for _, e := range d.Exhausted {
		found := false
		for _, f := range figures {
			if f.GetSku() == e.SKU && f.GetLocationId() == e.Location {
				f.Available, found = 0, true
			}
		}
		if !found {
			figures = append(figures, &omsv1.LocationAvailability{LocationId: e.Location, Sku: e.SKU})
		}
	}
	return figures
}
