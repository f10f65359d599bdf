package orders

import (
	"context"
	"slices"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// Routing and inventory agree: the OMS sources an order from its own positions (Fluent calls
// nothing outside while it sources), so before the order is handed over, the inventory process's
// available-to-sell of the order's SKUs at every location that stocks them is loaded into the OMS
// as those positions. The OMS then allocates only what the inventory process can reserve, and the
// reservation step that follows finds the units. Two orders routed at the same moment can both
// be allocated the same last unit; the reservation step is the arbiter (the later one's is
// refused with insufficient_stock), and the next order's load corrects the OMS's figure.

// pushAvailability loads the inventory process's figures for o's SKUs into the OMS. An OMS (or
// inventory process) that cannot take or give them leaves the OMS to its own feed.
func pushAvailability(ctx context.Context, sys systems, o *canonicalv1.Order, key string, adjust func([]*omsv1.LocationAvailability) []*omsv1.LocationAvailability) error {
	var skus []string
	for _, l := range o.GetLines() {
		if !slices.Contains(skus, l.GetSku()) {
			skus = append(skus, l.GetSku())
		}
	}
	figures, err := availabilityByLocation(ctx, sys, skus)
	if err != nil {
		return unlessUnimplemented(err)
	}
	if figures, err = withoutOMSOnly(ctx, sys, skus, figures); err != nil {
		return err
	}
	if figures = adjust(figures); len(figures) == 0 {
		return nil
	}
	_, err = sys.oms.SetAvailability(ctx, &omsv1.SetAvailabilityRequest{Availability: figures, IdempotencyKey: key + ":availability"})
	return unlessUnimplemented(err)
}

// withoutOMSOnly adds a figure of 0 for every position the OMS holds of skus at a location where
// the inventory process holds none: the OMS's own count there (its seed, a feed the inventory
// process does not take) is nothing the inventory process could reserve, and an order allocated
// there would lose its reservation and be routed again.
func withoutOMSOnly(ctx context.Context, sys systems, skus []string, figures []*omsv1.LocationAvailability) ([]*omsv1.LocationAvailability, error) {
	resp, err := sys.oms.ListPositions(ctx, &omsv1.ListPositionsRequest{Skus: skus})
	if err != nil {
		return figures, unlessUnimplemented(err)
	}
	for _, p := range resp.GetPositions() {
		if !slices.ContainsFunc(figures, func(f *omsv1.LocationAvailability) bool {
			return f.GetLocationId() == p.GetLocationId() && f.GetSku() == p.GetSku()
		}) {
			figures = append(figures, &omsv1.LocationAvailability{LocationId: p.GetLocationId(), Sku: p.GetSku()})
		}
	}
	return figures, nil
}

// workflowPrincipal is who the order workflow is to the inventory process's reads, which answer
// only a known caller: Retailbridge's own staff-side audience (every location, no partner scope).
var workflowPrincipal = auth.Principal{Audience: auth.Support, Subject: "service:orders-workflow"}

// availabilityByLocation is the inventory process's available-to-sell of skus at each location
// that holds a position of them.
func availabilityByLocation(ctx context.Context, sys systems, skus []string) ([]*omsv1.LocationAvailability, error) {
	ctx = auth.WithPrincipal(ctx, workflowPrincipal)
	pos, err := sys.inventory.ListPositions(ctx, &inventoryv1.ListPositionsRequest{Skus: skus, PageSize: 500})
	if err != nil {
		return nil, err
	}
	var locations []string
	for _, p := range pos.GetPositions() {
		if !slices.Contains(locations, p.GetLocationId()) {
			locations = append(locations, p.GetLocationId())
		}
	}
	slices.Sort(locations)
	var figures []*omsv1.LocationAvailability
	for _, loc := range locations {
		resp, err := sys.inventory.GetAvailability(ctx, &inventoryv1.GetAvailabilityRequest{Skus: skus, LocationIds: []string{loc}})
		if err != nil {
			return nil, err
		}
		for _, a := range resp.GetAvailability() {
			figures = append(figures, &omsv1.LocationAvailability{LocationId: loc, Sku: a.GetSku(), Available: max(0, a.GetAvailableToSell())})
		}
	}
	return figures, nil
}

// unlessUnimplemented drops an Unimplemented error (a system without the RPC) and classifies
// the rest.
func unlessUnimplemented(err error) error {
	if e := asError(err); errs.KindOf(e) != errs.Unimplemented {
		return e
	}
	return nil
}
