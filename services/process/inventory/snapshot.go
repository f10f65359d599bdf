package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"

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
	// Drifted is how many positions the snapshot corrected: the ledger disagreed with the
	// warehouse at the snapshot's time (first sights, which bootstrap, are not drift).
	Drifted int
	// DriftUnits is the sum of the corrections' absolute sizes.
	DriftUnits int64
}

// ApplySnapshot reads every position from the warehouse and applies each as a count taken at the
// position's as_of, keyed by location, SKU and the warehouse's version: the same snapshot twice
// changes nothing, and a position the events already brought past it is superseded. An empty
// ledger is bootstrapped this way; afterwards a count's corrections are the drift found.
func (s *Service) ApplySnapshot(ctx context.Context) (SnapshotResult, error) {
	var res SnapshotResult
	resp, err := s.wms.ListPositions(ctx, &wmsv1.ListPositionsRequest{})
	if err != nil {
		return res, err
	}
	for _, pos := range resp.GetPositions() {
		res.Positions++
		key := fmt.Sprintf("wms-snapshot|%s|%s|%d", pos.GetLocationId(), pos.GetSku(), pos.GetVersion())
		var before int64
		var drift []line
		err := s.db.InTx(ctx, func(tx *store.Tx) (err error) {
			before = 0
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM inventory_sources WHERE source_key = $1`, key).Scan(&before); err != nil {
				return err
			}
			drift, err = s.count(ctx, tx, pos, key, "")
			return err
		})
		if err != nil {
			return res, err
		}
		if before == 0 {
			res.New++
		}
		if len(drift) > 0 {
			res.Drifted++
			var units int64
			for _, ln := range drift {
				units += max(ln.delta, -ln.delta)
			}
			res.DriftUnits += units
			s.metrics.drifted.Inc()
			s.metrics.driftUnits.Add(float64(units))
			s.log.InfoContext(ctx, "inventory drift corrected from the warehouse snapshot",
				"sku", pos.GetSku(), "location_id", pos.GetLocationId(), "units", units, "version", pos.GetVersion())
		}
	}
	return res, nil
}
