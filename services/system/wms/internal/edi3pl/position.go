package edi3pl

import (
	"context"
	"slices"
	"strings"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// maxApplied bounds the movement ids a position remembers: far more than a 3PL re-sends.
const maxApplied = 500

// positionRecord is one SKU's stock at one location: the last 846 count per state, moved by the
// 947 movements since, each applied once (by source_record_id).
type positionRecord struct {
	Sku        string          `json:"sku"`
	Location   string          `json:"location"`
	Quantities map[int32]int64 `json:"quantities"`
	AsOf       *time.Time      `json:"as_of,omitempty"`
	Version    int64           `json:"version"`
	Applied    []string        `json:"applied,omitempty"`
}

// counted publishes WMS_INVENTORY_COUNTED per position of an 846 and records the counts.
func (c *Client) counted(r *received, ps []*canonicalv1.InventoryPosition, ids []string) error {
	for _, p := range ps {
		if err := r.event(TypeInventoryCounted, "inventory/"+p.GetLocationId()+"/"+p.GetSku(), p.GetAsOf(), p, &canonicalv1.EventReferences{},
			append(ids, p.GetLocationId(), p.GetSku())...); err != nil {
			return err
		}
		r.applies = append(r.applies, func(ctx context.Context) error {
			return update(ctx, c.state, key("pos", p.GetLocationId(), p.GetSku()), func(rec *positionRecord, _ bool) (bool, error) {
				at := p.GetAsOf().AsTime()
				if rec.AsOf != nil && at.Before(*rec.AsOf) {
					return false, nil // an older count re-sent after a newer one
				}
				rec.Sku, rec.Location, rec.AsOf = p.GetSku(), p.GetLocationId(), &at
				if rec.Quantities == nil {
					rec.Quantities = map[int32]int64{}
				}
				for _, q := range p.GetQuantities() {
					rec.Quantities[int32(q.GetState())] = q.GetQuantity()
				}
				rec.Version++
				return true, nil
			})
		})
	}
	return nil
}

// adjusted publishes WMS_INVENTORY_ADJUSTED (or _RECEIVED for receipts) per 947 line and moves
// the recorded stock once per source_record_id.
func (c *Client) adjusted(r *received, as []adjustment, ids []string) error {
	for _, a := range as {
		typ := TypeInventoryAdjusted
		if a.received {
			typ = TypeInventoryReceived
		}
		adj := a.adj
		if err := r.event(typ, "inventory/"+adj.GetLocationId()+"/"+adj.GetSku(), adj.GetOccurredAt(), adj,
			&canonicalv1.EventReferences{SystemRecordId: adj.GetSourceRecordId()}, append(ids, adj.GetSourceRecordId())...); err != nil {
			return err
		}
		r.applies = append(r.applies, func(ctx context.Context) error {
			return update(ctx, c.state, key("pos", adj.GetLocationId(), adj.GetSku()), func(rec *positionRecord, _ bool) (bool, error) {
				if slices.Contains(rec.Applied, adj.GetSourceRecordId()) {
					return false, nil
				}
				rec.Sku, rec.Location = adj.GetSku(), adj.GetLocationId()
				if rec.Quantities == nil {
					rec.Quantities = map[int32]int64{}
				}
				if s := adj.GetFromState(); s != noState {
					rec.Quantities[int32(s)] -= adj.GetQuantity()
				}
				if s := adj.GetToState(); s != noState {
					rec.Quantities[int32(s)] += adj.GetQuantity()
				}
				rec.Applied = append(rec.Applied, adj.GetSourceRecordId())
				if len(rec.Applied) > maxApplied {
					rec.Applied = rec.Applied[len(rec.Applied)-maxApplied:]
				}
				rec.Version++
				return true, nil
			})
		})
	}
	return nil
}

// ListPositions reads the recorded stock; empty filters mean all.
func (c *Client) ListPositions(ctx context.Context, skus, locations []string) ([]*canonicalv1.InventoryPosition, error) {
	kv, err := c.state.bucket(ctx)
	if err != nil {
		return nil, toStateErr(err)
	}
	lister, err := kv.ListKeysFiltered(ctx, "pos.>")
	if err != nil {
		return nil, toStateErr(err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*canonicalv1.InventoryPosition
	for _, k := range keys {
		var rec positionRecord
		if _, found, err := c.state.get(ctx, k, &rec); err != nil {
			return nil, toStateErr(err)
		} else if !found || !wanted(skus, rec.Sku) || !wanted(locations, rec.Location) {
			continue
		}
		out = append(out, rec.position())
	}
	return out, nil
}

func wanted(filter []string, v string) bool {
	return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
}

// position is the canonical position: on hand first, as the sum of the physical states the 3PL
// reported (846s count available and on-hold stock; 947s move it between states), so it reads
// as the REST warehouse's does. A bare on-hand count (QTY*17 with no breakdown) stands as sent.
func (rec positionRecord) position() *canonicalv1.InventoryPosition {
	p := &canonicalv1.InventoryPosition{Sku: rec.Sku, LocationId: rec.Location, AsOf: stamp(rec.AsOf), Version: rec.Version}
	onHand, physical := rec.Quantities[int32(onHandState)], false
	var sum int64
	states := make([]int32, 0, len(rec.Quantities))
	for s, q := range rec.Quantities {
		switch canonicalv1.InventoryState(s) {
		case onHandState:
			continue
		case inTransitState:
		default:
			sum, physical = sum+q, true
		}
		states = append(states, s)
	}
	if physical {
		onHand = sum
	}
	slices.Sort(states)
	p.Quantities = append(p.Quantities, &canonicalv1.InventoryQuantity{State: onHandState, Quantity: onHand})
	for _, s := range states {
		p.Quantities = append(p.Quantities, &canonicalv1.InventoryQuantity{State: canonicalv1.InventoryState(s), Quantity: rec.Quantities[s]})
	}
	return p
}

const (
	onHandState    = canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND
	inTransitState = canonicalv1.InventoryState_INVENTORY_STATE_IN_TRANSIT
)
