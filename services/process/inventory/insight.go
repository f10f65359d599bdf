package inventory

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// insight serves InventoryInsightService: the inventory KPIs from the ledger's stored movements.
type insight struct {
	inventoryv1.UnimplementedInventoryInsightServiceServer
	s *Service
}

// Insight is the service's InventoryInsightService.
func (s *Service) Insight() inventoryv1.InventoryInsightServiceServer { return &insight{s: s} }

// maxMovements bounds one KPI query; a window holding more is refused.
const maxMovements = 200_000

// GetInventoryKpis computes the inventory update lag (a movement's time at its source to the
// ledger) per movement recorded in the window, by cause. Support only.
func (in *insight) GetInventoryKpis(ctx context.Context, req *inventoryv1.GetInventoryKpisRequest) (*inventoryv1.GetInventoryKpisResponse, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Audience != auth.Support || !p.HasScope("support:read") {
		return nil, errs.E(errs.PermissionDenied, "support_only", "inventory KPIs are for support with support:read")
	}
	w, err := workflow.NewKPIWindow(req.GetSince(), req.GetUntil(), req.GetInterval(), in.s.now())
	if err != nil {
		return nil, err
	}
	// One movement writes a line per state it touches; the lag is the movement's, once.
	rows, err := in.s.db.Query(ctx, `SELECT movement_id, cause, occurred_at, recorded_at FROM inventory_movements
		WHERE recorded_at >= $1 AND recorded_at < $2`, w.Since.UTC(), w.Until.UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	series := workflow.NewKPISeries(w)
	seen := map[string]bool{}
	for rows.Next() {
		var id, cause string
		var occurred, recorded time.Time
		if err := rows.Scan(&id, &cause, &occurred, &recorded); err != nil {
			return nil, err
		}
		if seen[id] {
			continue
		}
		if seen[id] = true; len(seen) > maxMovements {
			return nil, errs.E(errs.Invalid, "kpi_window_too_large", "the window holds too many movements; ask for a shorter one")
		}
		series.Duration("inventory_update_lag", recorded, cause, recorded.Sub(occurred), true)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return &inventoryv1.GetInventoryKpisResponse{Points: series.Points()}, nil
}
