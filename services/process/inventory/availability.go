package inventory

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// GetAvailability answers, per requested SKU and in request order, how many units the caller
// can promise: at each location it counts, the sellable units less the caller's buffer (never
// below zero), summed. Units in transit are reported as incoming, not counted. A SKU no counted
// location stocks answers zero.
func (s *Service) GetAvailability(ctx context.Context, req *inventoryv1.GetAvailabilityRequest) (*inventoryv1.GetAvailabilityResponse, error) {
	c, err := s.callerOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateAvailability(req); err != nil {
		return nil, err
	}
	sc, err := c.scope(req.GetLocationIds())
	if err != nil {
		return nil, err
	}
	bySKU, err := s.positionsOf(ctx, req.GetSkus())
	if err != nil {
		return nil, err
	}
	resp := &inventoryv1.GetAvailabilityResponse{Availability: make([]*inventoryv1.Availability, 0, len(req.GetSkus()))}
	for _, sku := range req.GetSkus() {
		resp.Availability = append(resp.Availability, availabilityOf(sku, bySKU[sku], sc))
	}
	return resp, nil
}

func validateAvailability(req *inventoryv1.GetAvailabilityRequest) error {
	var v violations
	if len(req.GetSkus()) == 0 {
		v.add("skus", "must name at least one SKU")
	}
	v.checkSKUs(req.GetSkus())
	v.checkLocations(req.GetLocationIds())
	return v.err()
}

// availabilityOf sums one SKU's positions at the locations sc counts.
func availabilityOf(sku string, positions []*canonicalv1.InventoryPosition, sc scope) *inventoryv1.Availability {
	a := &inventoryv1.Availability{Sku: sku}
	var oldest time.Time
	for _, pos := range positions {
		if !sc.counts(pos.GetLocationId()) {
			continue
		}
		sellable := max(0, quantity(pos, canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE))
		held := min(sellable, sc.buffer)
		a.AvailableToSell += sellable - held
		a.HeldBack += held
		a.Incoming += max(0, quantity(pos, canonicalv1.InventoryState_INVENTORY_STATE_IN_TRANSIT))
		if pos.GetAsOf() != nil {
			if at := pos.GetAsOf().AsTime(); oldest.IsZero() || at.Before(oldest) {
				oldest = at
			}
		}
		a.LocationIds = append(a.LocationIds, pos.GetLocationId())
	}
	if !oldest.IsZero() {
		a.AsOf = timestamppb.New(oldest)
	}
	slices.Sort(a.LocationIds)
	return a
}

// quantity is pos's units in state. The warehouse reports each state once; the states are
// disjoint, so nothing is counted twice.
func quantity(pos *canonicalv1.InventoryPosition, state canonicalv1.InventoryState) int64 {
	var n int64
	for _, q := range pos.GetQuantities() {
		if q.GetState() == state {
			n += q.GetQuantity()
		}
	}
	return n
}

// positionsOf returns each SKU's positions at every location, through the cache. The SKUs not
// cached are read together in one warehouse call, shared with concurrent requests missing the
// same set.
func (s *Service) positionsOf(ctx context.Context, skus []string) (map[string][]*canonicalv1.InventoryPosition, error) {
	out := make(map[string][]*canonicalv1.InventoryPosition, len(skus))
	var missing []string
	for _, sku := range skus {
		if ps, _, ok := s.positions.Peek(sku); ok {
			out[sku] = ps
		} else {
			missing = append(missing, sku)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	slices.Sort(missing)
	res, err, _ := s.flight.Do(strings.Join(missing, "\x00"), func() (any, error) {
		// The shared call must not fail every waiter because the first one went away: it keeps
		// the first caller's values and deadline, not its cancellation.
		lctx := context.WithoutCancel(ctx)
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			lctx, cancel = context.WithDeadline(lctx, dl)
			defer cancel()
		}
		return s.loadPositions(lctx, missing)
	})
	if err != nil {
		return nil, err
	}
	for sku, ps := range res.(map[string][]*canonicalv1.InventoryPosition) {
		out[sku] = ps
	}
	return out, nil
}

// loadPositions reads skus at every location from the warehouse and caches each SKU's
// positions, empty for a SKU the warehouse did not return. It looks in the cache again first: a
// request that missed just before another request's call for the same SKUs finished finds them
// there.
func (s *Service) loadPositions(ctx context.Context, skus []string) (map[string][]*canonicalv1.InventoryPosition, error) {
	out := make(map[string][]*canonicalv1.InventoryPosition, len(skus))
	var ask []string
	for _, sku := range skus {
		if ps, _, ok := s.positions.Peek(sku); ok {
			out[sku] = ps
		} else {
			ask = append(ask, sku)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	resp, err := s.wms.ListPositions(ctx, &wmsv1.ListPositionsRequest{Skus: ask})
	if err != nil {
		return nil, err
	}
	// One position per SKU and location: should the warehouse repeat one, the newest version
	// counts, once.
	latest := make(map[string]map[string]*canonicalv1.InventoryPosition, len(ask))
	for _, sku := range ask {
		latest[sku] = map[string]*canonicalv1.InventoryPosition{}
	}
	for _, pos := range resp.GetPositions() {
		byLoc, asked := latest[pos.GetSku()]
		if !asked {
			s.log.WarnContext(ctx, "warehouse listed a SKU it was not asked for; dropped",
				"sku", pos.GetSku(), "location_id", pos.GetLocationId())
			continue
		}
		if prev, ok := byLoc[pos.GetLocationId()]; !ok || pos.GetVersion() >= prev.GetVersion() {
			byLoc[pos.GetLocationId()] = pos
		}
	}
	for sku, byLoc := range latest {
		ps := make([]*canonicalv1.InventoryPosition, 0, len(byLoc))
		for _, pos := range byLoc {
			ps = append(ps, pos)
		}
		slices.SortFunc(ps, func(a, b *canonicalv1.InventoryPosition) int {
			return strings.Compare(a.GetLocationId(), b.GetLocationId())
		})
		out[sku] = ps
		s.positions.Put(sku, ps)
	}
	return out, nil
}
