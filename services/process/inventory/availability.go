package inventory

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// GetAvailability answers, per requested SKU and in request order, how many units the caller
// can promise, from the ledger alone: at each location it counts (the caller's, narrowed to the
// channel's), the sellable units less the buffers (the partner tenant's and the channel's,
// never below zero), plus units in transit when the channel counts them; summed. as_of is the
// oldest source confirmation among the counted positions. A SKU no counted location stocks
// answers zero.
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
	sc, ch, err := s.withChannel(sc, req.GetChannel())
	if err != nil {
		return nil, err
	}
	positions, err := s.cachedPositions(ctx, positionFilter{skus: req.GetSkus(), locations: sc.locations})
	if err != nil {
		return nil, err
	}
	bySKU := map[string][]*canonicalv1.InventoryPosition{}
	for _, p := range positions {
		bySKU[p.GetSku()] = append(bySKU[p.GetSku()], p)
	}
	resp := &inventoryv1.GetAvailabilityResponse{Availability: make([]*inventoryv1.Availability, 0, len(req.GetSkus()))}
	for _, sku := range req.GetSkus() {
		resp.Availability = append(resp.Availability, availabilityOf(sku, bySKU[sku], sc, ch))
	}
	return resp, nil
}

// cachedPositions is readPositions for the availability read, served from memory while no write
// in this process has touched inventory_positions since it was read (store.Cached). Every ledger
// write commits in a transaction naming inventory_positions, so the next read after a committed
// movement reads the ledger again. On PostgreSQL store.Cached always reads the database (other
// replicas write the ledger too), so availability is exact there as well. Reservations and
// movements never read through this cache: they read positions inside their own transaction.
// The answer is shared: callers must not modify it.
func (s *Service) cachedPositions(ctx context.Context, f positionFilter) ([]*canonicalv1.InventoryPosition, error) {
	return store.Cached(ctx, s.db, "inventory.availability", f.cacheKey(), []string{"inventory_positions"},
		func(ctx context.Context) ([]*canonicalv1.InventoryPosition, error) {
			return readPositions(ctx, s.db, f)
		})
}

// cacheKey names f unambiguously whatever its values hold: every value is prefixed by its length,
// and a nil location list (every location) differs from an empty one (none).
func (f positionFilter) cacheKey() string {
	var b strings.Builder
	list := func(vals []string) {
		b.WriteString(strconv.Itoa(len(vals)))
		for _, v := range vals {
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(len(v)))
			b.WriteByte(':')
			b.WriteString(v)
		}
		b.WriteByte(';')
	}
	list(f.skus)
	if f.locations == nil {
		b.WriteByte('*')
	}
	list(f.locations)
	return b.String()
}

// withChannel narrows sc to the locations that sell to channel and adds its buffer; an unknown
// channel is refused when channels are configured, so a typo never sells from everywhere.
func (s *Service) withChannel(sc scope, channel string) (scope, Channel, error) {
	if channel == "" {
		return sc, Channel{}, nil
	}
	ch, ok := s.cfg.Channels[channel]
	if !ok {
		if len(s.cfg.Channels) > 0 {
			return sc, ch, errs.E(errs.NotFound, "channel_not_found", "channel "+channel+" not found")
		}
		return sc, ch, nil
	}
	sc.buffer += ch.Buffer
	if len(ch.Locations) == 0 {
		return sc, ch, nil
	}
	var locs []string
	for _, loc := range ch.Locations {
		if sc.counts(loc) {
			locs = append(locs, loc)
		}
	}
	slices.Sort(locs)
	locs = slices.Compact(locs)
	if locs == nil {
		locs = []string{}
	}
	sc.locations = locs
	sc.set = make(map[string]bool, len(locs))
	for _, loc := range locs {
		sc.set[loc] = true
	}
	return sc, ch, nil
}

func validateAvailability(req *inventoryv1.GetAvailabilityRequest) error {
	var v violations
	if len(req.GetSkus()) == 0 {
		v.add("skus", "must name at least one SKU")
	}
	v.checkSKUs(req.GetSkus())
	v.checkLocations(req.GetLocationIds())
	v.checkChannel(req.GetChannel())
	return v.err()
}

// availabilityOf sums one SKU's positions at the locations sc counts.
func availabilityOf(sku string, positions []*canonicalv1.InventoryPosition, sc scope, ch Channel) *inventoryv1.Availability {
	a := &inventoryv1.Availability{Sku: sku}
	var oldest time.Time
	for _, pos := range positions {
		if !sc.counts(pos.GetLocationId()) {
			continue
		}
		free := max(0, quantity(pos, sellable))
		held := min(free, sc.buffer)
		a.AvailableToSell += free - held
		a.HeldBack += held
		incoming := max(0, quantity(pos, inTransit))
		a.Incoming += incoming
		if ch.CountInTransit {
			a.AvailableToSell += incoming
		}
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

// quantity is pos's units in state.
func quantity(pos *canonicalv1.InventoryPosition, state canonicalv1.InventoryState) int64 {
	var n int64
	for _, q := range pos.GetQuantities() {
		if q.GetState() == state {
			n += q.GetQuantity()
		}
	}
	return n
}
