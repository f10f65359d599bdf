package inventory

import (
	"context"
	"slices"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// applyCount applies a warehouse count (a cycle count, a snapshot, an EDI 846) of one SKU at one
// location, taken at pos.as_of. The rules (docs/inventory.md):
//
//   - A count covers every state: a state it does not name was counted as zero.
//   - A count no newer than the newest count already applied there is superseded and changes
//     nothing.
//   - The ledger's figure the count is compared with is the figure at the count's time: the
//     current quantity less every movement that happened after it (a late count does not undo
//     the receipts and shipments that followed it).
//   - Sellable, reserved and committed are one total to the warehouse (its pickable stock):
//     the count corrects that total in sellable and leaves the ledger's holds and allocations
//     alone. On first sight of a position (no movement yet) the warehouse's reserved units are
//     taken as committed.
//   - Every other state is corrected to the counted figure.
func (s *Service) applyCount(ctx context.Context, tx *store.Tx, pos *canonicalv1.InventoryPosition, key, correlationID string) error {
	_, err := s.count(ctx, tx, pos, key, correlationID, nil)
	return err
}

// finding is one state where the ledger at a count's time and the count disagreed; for the
// pickable states (sellable, reserved, committed) it is their total, reported as sellable.
type finding struct {
	state          canonicalv1.InventoryState
	ledger, source int64
	// corrected says a correction line was recorded; otherwise the count was not the authority
	// for the state and the disagreement is only reported.
	corrected bool
}

// countResult is what one count did: the disagreements it found (none on first sight, which
// bootstraps, or when superseded) and the movement holding its corrections.
type countResult struct {
	findings   []finding
	movementID string
	compared   bool
}

// count applies a count (see applyCount). keep, when given, says which states the count may
// correct (the states the warehouse is the authority for); a disagreement in another state is
// returned as a finding but leaves the ledger alone.
func (s *Service) count(ctx context.Context, tx *store.Tx, pos *canonicalv1.InventoryPosition, key, correlationID string,
	keep func(canonicalv1.InventoryState) bool) (countResult, error) {
	var res countResult
	sku, loc := pos.GetSku(), pos.GetLocationId()
	if sku == "" || loc == "" || pos.GetAsOf() == nil {
		return res, errs.E(errs.Invalid, "count_invalid", "a count needs a SKU, a location and as_of")
	}
	asOf := pos.GetAsOf().AsTime().UTC()
	if err := lockPosition(ctx, tx, sku, loc); err != nil {
		return res, err
	}
	last, ok, err := lastCount(ctx, tx, sku, loc)
	if err != nil {
		return res, err
	}
	outcome := outcomeApplied
	if ok && !asOf.After(last) {
		outcome = outcomeSuperseded
	}
	id := movementID(key)
	if fresh, err := claimSource(ctx, tx, key, outcome, id, s.now()); err != nil || !fresh || outcome != outcomeApplied {
		return res, err
	}
	atCount, seen, err := quantitiesAt(ctx, tx, sku, loc, asOf)
	if err != nil {
		return res, err
	}
	if keep == nil {
		keep = func(canonicalv1.InventoryState) bool { return true }
	}
	// First sight bootstraps the position whoever the authority is: the ledger knows nothing yet.
	lines := bootstrapLines(countedOf(pos))
	if seen {
		lines = nil
		res.compared = true
		res.findings = countFindings(countedOf(pos), atCount)
		for i, f := range res.findings {
			if keep(f.state) {
				res.findings[i].corrected = true
				lines = append(lines, line{f.state, f.source - f.ledger})
			}
		}
	}
	res.movementID = id
	if err := s.ledger.record(ctx, tx, movement{id: id, sku: sku, location: loc, lines: lines, cause: "count",
		causeID: key, correlationID: correlationID, sourceRecordID: key, reason: "count correction", occurredAt: asOf}); err != nil {
		return res, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO inventory_counts (sku, location_id, as_of) VALUES ($1, $2, $3)
		ON CONFLICT (sku, location_id) DO UPDATE SET as_of = excluded.as_of`, sku, loc, asOf)
	return res, err
}

// countFindings are the states where a count and the ledger at its time disagree: the pickable
// total (as sellable) and every other state on its own.
func countFindings(counted, atCount map[canonicalv1.InventoryState]int64) []finding {
	var out []finding
	var countedGood, ledgerGood int64
	for _, st := range goodStock {
		countedGood += counted[st]
		ledgerGood += atCount[st]
	}
	if countedGood != ledgerGood {
		out = append(out, finding{state: sellable, ledger: ledgerGood, source: countedGood})
	}
	for _, st := range ledgerStates {
		if !slices.Contains(goodStock, st) && counted[st] != atCount[st] {
			out = append(out, finding{state: st, ledger: atCount[st], source: counted[st]})
		}
	}
	return out
}

// countedOf reads a count's figures per ledger state; on hand, when the count gives only that,
// is the pickable total.
func countedOf(pos *canonicalv1.InventoryPosition) map[canonicalv1.InventoryState]int64 {
	out := map[canonicalv1.InventoryState]int64{}
	var total int64
	named := false
	for _, q := range pos.GetQuantities() {
		if q.GetState() == onHand {
			total += q.GetQuantity()
			continue
		}
		named = true
		out[q.GetState()] += q.GetQuantity()
	}
	if !named {
		out[sellable] = total
	}
	return out
}

// bootstrapLines are the lines that bootstrap a position the ledger has never seen from a count: the
// warehouse's reservations are allocations the ledger has not made.
func bootstrapLines(counted map[canonicalv1.InventoryState]int64) []line {
	return []line{{sellable, counted[sellable]}, {committed, counted[reserved] + counted[committed]},
		{damaged, counted[damaged]}, {awaiting, counted[awaiting]}, {qualityCtl, counted[qualityCtl]},
		{safetyStock, counted[safetyStock]}, {inTransit, counted[inTransit]}}
}

// quantitiesAt is the ledger's figure per state of sku at loc as it stood at t: the current
// quantities less every movement that happened after t. seen reports whether the position has
// any movement at all.
func quantitiesAt(ctx context.Context, tx *store.Tx, sku, loc string, t time.Time) (map[canonicalv1.InventoryState]int64, bool, error) {
	cur, err := stateQuantities(ctx, tx, sku, loc)
	if err != nil {
		return nil, false, err
	}
	rows, err := tx.Query(ctx, `SELECT state, SUM(delta) FROM inventory_movements
		WHERE sku = $1 AND location_id = $2 AND occurred_at > $3 GROUP BY state`, sku, loc, t)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, false, err
		}
		cur[stateOf(st)] -= n
	}
	return cur, len(cur) > 0, rows.Err()
}

// lastCount is the time of the newest count applied to sku at loc.
func lastCount(ctx context.Context, tx *store.Tx, sku, loc string) (time.Time, bool, error) {
	var t time.Time
	err := tx.QueryRow(ctx, `SELECT as_of FROM inventory_counts WHERE sku = $1 AND location_id = $2`, sku, loc).Scan(&t)
	if isNoRows(err) {
		return t, false, nil
	}
	return t.UTC(), err == nil, err
}

// lockPosition makes warehouse facts about sku at loc apply one at a time: a count compares the
// ledger with what it read, and a movement checks the newest count, so neither may miss the
// other committing in between. On SQLite the single writer already serialises them.
func lockPosition(ctx context.Context, tx *store.Tx, sku, loc string) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO inventory_position_locks (sku, location_id) VALUES ($1, $2)
		ON CONFLICT (sku, location_id) DO NOTHING`, sku, loc); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT 1 FROM inventory_position_locks WHERE sku = $1 AND location_id = $2 FOR UPDATE`, sku, loc)
	return err
}
