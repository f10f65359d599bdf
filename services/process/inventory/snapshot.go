package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// snapshotLoop applies the warehouse's snapshot every interval until ctx ends.
func (s *Service) snapshotLoop(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.ApplySnapshot(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "warehouse snapshot failed; the ledger keeps its figures", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SnapshotResult says what one snapshot did.
type SnapshotResult struct {
	// Positions is how many positions the warehouse listed.
	Positions int
	// New is how many were not seen before (a warehouse version the ledger had not applied).
	New int
	// Drifted is how many positions the snapshot found out of step with the ledger at the
	// snapshot's time (first sights, which bootstrap, are not drift).
	Drifted int
	// DriftUnits is the sum of the disagreements' absolute sizes.
	DriftUnits int64
	// Corrected is how many of the drifted positions were corrected (the warehouse is the
	// authority for at least one of their drifted states); the rest were only reported.
	Corrected int
}

// ApplySnapshot reads every position from the warehouse and applies each as a count taken at the
// position's as_of, keyed by location, SKU and the warehouse's version: the same snapshot twice
// changes nothing, and a position the events already brought past it is superseded. An empty
// ledger is bootstrapped this way; afterwards a count's disagreements are the drift found,
// corrected in the states the warehouse is the authority for (Config.Authority) and reported in
// the others (the drift report, ListDrift).
func (s *Service) ApplySnapshot(ctx context.Context) (SnapshotResult, error) {
	var res SnapshotResult
	resp, err := s.wms.ListPositions(ctx, &wmsv1.ListPositionsRequest{})
	if err != nil {
		return res, err
	}
	acc := newAccuracy()
	for _, pos := range resp.GetPositions() {
		res.Positions++
		key := fmt.Sprintf("wms-snapshot|%s|%s|%d", pos.GetLocationId(), pos.GetSku(), pos.GetVersion())
		var before int64
		var cr countResult
		err := s.db.InTx(ctx, func(tx *store.Tx) (err error) {
			before = 0
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM inventory_sources WHERE source_key = $1`, key).Scan(&before); err != nil {
				return err
			}
			if cr, err = s.count(ctx, tx, pos, key, "", s.keepFor(pos.GetLocationId())); err != nil || !cr.compared {
				return err
			}
			return s.recordFindings(ctx, tx, AuthorityWarehouse, pos, cr)
		})
		if err != nil {
			return res, err
		}
		if before == 0 {
			res.New++
		}
		if cr.compared {
			acc.add(s.cfg, pos.GetLocationId(), len(cr.findings) == 0)
		}
		s.countSnapshotDrift(ctx, &res, pos, cr)
	}
	s.metrics.observeAccuracy(AuthorityWarehouse, acc)
	return res, nil
}

// keepFor says which states the warehouse may correct at loc.
func (s *Service) keepFor(loc string) func(canonicalv1.InventoryState) bool {
	return func(st canonicalv1.InventoryState) bool {
		return s.cfg.authorityOf(loc, stateName(st)) == AuthorityWarehouse
	}
}

// recordFindings writes a compared count's disagreements to the drift report and resolves the
// position's findings it no longer has.
func (s *Service) recordFindings(ctx context.Context, tx *store.Tx, source string, pos *canonicalv1.InventoryPosition, cr countResult) error {
	now := s.now()
	var still []string
	for _, f := range cr.findings {
		st := stateName(f.state)
		still = append(still, st)
		if err := recordDrift(ctx, tx, driftRow{source: source, loc: pos.GetLocationId(), sku: pos.GetSku(), state: st,
			ledger: f.ledger, figure: f.source, authority: s.cfg.authorityOf(pos.GetLocationId(), st),
			movementID: cr.movementID, corrected: f.corrected}, now); err != nil {
			return err
		}
	}
	return resolveDrift(ctx, tx, source, pos.GetLocationId(), pos.GetSku(), still, now)
}

// countSnapshotDrift adds a position's findings to the result, the metrics and the log.
func (s *Service) countSnapshotDrift(ctx context.Context, res *SnapshotResult, pos *canonicalv1.InventoryPosition, cr countResult) {
	if len(cr.findings) == 0 {
		return
	}
	res.Drifted++
	var units int64
	corrected := false
	for _, f := range cr.findings {
		units += max(f.source-f.ledger, f.ledger-f.source)
		corrected = corrected || f.corrected
	}
	res.DriftUnits += units
	if corrected {
		res.Corrected++
	}
	s.metrics.drifted.Inc()
	s.metrics.driftUnits.Add(float64(units))
	s.log.InfoContext(ctx, "inventory drift found in the warehouse snapshot", "sku", pos.GetSku(),
		"location_id", pos.GetLocationId(), "units", units, "corrected", corrected, "version", pos.GetVersion())
}
