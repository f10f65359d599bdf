package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Batched pushes: the due positions of one tick are set with one inventorySetQuantities of up to
// pushBatch quantities, each with its own compare value. Under volume across many SKUs this is
// what keeps the push inside Shopify's cost bucket: the mutation costs 10 points however many
// quantities it carries, where one call per position would cost 10 each. The set is all or
// none: when anything in it fails (a merchant's hand change on one position, an unknown SKU, a
// lost answer), every position of the batch is pushed on its own, which resolves each case as a
// single push does (re-read and set, report, retry with the same key).

// batchEntry is one position of a batch.
type batchEntry struct {
	k               pushKey
	d               *dirty
	compare, target int64
	storeLoc        string
}

// pushBatch pushes keys (owned, due) in one call, or each on its own when that fails.
func (p *pusher) pushBatch(ctx context.Context, keys []pushKey) {
	if len(keys) == 1 {
		p.pushOne(ctx, keys[0])
		return
	}
	entries, err := p.prepare(ctx, keys)
	if err != nil {
		for _, k := range keys {
			p.pushOne(ctx, k)
		}
		return
	}
	var set []batchEntry
	for _, e := range entries {
		if e.compare == e.target { // the storefront already shows it
			if err := p.record(ctx, e.k, e.target, e.d.seq); err == nil {
				p.done(e.k, e.d)
			}
			continue
		}
		set = append(set, e)
	}
	if len(set) == 0 {
		return
	}
	if err := p.setBatch(ctx, set); err != nil {
		for _, e := range set {
			p.pushOne(ctx, e.k)
		}
		return
	}
	for _, e := range set {
		if err := p.record(ctx, e.k, e.target, e.d.seq); err == nil {
			p.done(e.k, e.d)
		}
	}
}

// prepare reads each position's last confirmed push and its target; positions another push
// already covered are forgotten. An unknown compare value (never pushed) is read from the
// storefront for all of them in one call.
func (p *pusher) prepare(ctx context.Context, keys []pushKey) ([]batchEntry, error) {
	var entries []batchEntry
	var unknown []int
	for _, k := range keys {
		d := p.dirty[k]
		var pushed, pushedSeq int64 = -1, 0
		err := p.s.db.QueryRow(ctx, `SELECT pushed_quantity, pushed_seq FROM inventory_push_state WHERE sku = $1 AND location_id = $2`,
			k.sku, k.location).Scan(&pushed, &pushedSeq)
		if err != nil && !isNoRows(err) {
			return nil, err
		}
		if pushedSeq >= d.seq {
			delete(p.dirty, k) // another replica (or an earlier run) pushed a figure covering these lines
			continue
		}
		target, err := p.target(ctx, k)
		if err != nil {
			return nil, err
		}
		if pushed < 0 {
			unknown = append(unknown, len(entries))
		}
		entries = append(entries, batchEntry{k: k, d: d, compare: pushed, target: target, storeLoc: p.cfg.Locations[k.location]})
	}
	if len(unknown) == 0 {
		return entries, nil
	}
	req := &commercev1.GetInventoryLevelsRequest{}
	for _, i := range unknown {
		req.Levels = append(req.Levels, &commercev1.InventoryLevelKey{Sku: entries[i].k.sku, LocationId: entries[i].storeLoc})
	}
	p.s.metrics.pushCalls.WithLabelValues("read").Inc()
	resp, err := p.cs.GetInventoryLevels(ctx, req)
	if err != nil {
		return nil, errs.FromError(err)
	}
	for j, i := range unknown {
		entries[i].compare = resp.GetLevels()[j].GetAvailable()
	}
	return entries, nil
}

// setBatch sets every entry in one call, keyed by all of them: a retry of the same batch after a
// lost answer replays the first result.
func (p *pusher) setBatch(ctx context.Context, set []batchEntry) error {
	p.s.metrics.pushCalls.WithLabelValues("set").Inc()
	h := sha256.New()
	req := &commercev1.SetInventoryRequest{Reason: pushReason}
	var newest int64
	for _, e := range set {
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%d\x00", e.k.sku, e.k.location, e.d.seq, e.compare, e.target)
		req.Quantities = append(req.Quantities, &commercev1.InventoryQuantitySet{Sku: e.k.sku, LocationId: e.storeLoc,
			Quantity: e.target, CompareQuantity: e.compare})
		newest = max(newest, e.d.seq)
	}
	req.IdempotencyKey = "inv-push-" + hex.EncodeToString(h.Sum(nil)[:16])
	req.ReferenceDocumentUri = fmt.Sprintf("retailbridge://inventory/batch?positions=%d&seq=%d", len(set), newest)
	if _, err := p.cs.SetInventory(ctx, req); err != nil {
		return errs.FromError(err)
	}
	return nil
}
