package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// The drift report (inventory_drift): per source, location, SKU and state, the latest
// disagreement reconciliation found and what it did. A corrected disagreement is resolved at
// once; a reported one stays open until a later run finds the ledger and the source agreeing.

// Drift actions.
const (
	driftCorrected = "corrected"
	driftReported  = "reported"
)

// driftRow is one disagreement to record.
type driftRow struct {
	source, loc, sku, state string
	ledger, figure          int64
	authority, movementID   string
	corrected               bool
}

// recordDrift upserts a finding: a finding already open keeps its first_found_at; one resolved
// before is reopened.
func recordDrift(ctx context.Context, tx *store.Tx, r driftRow, now time.Time) error {
	action, movement := driftReported, ""
	var resolved any
	if r.corrected {
		action, movement, resolved = driftCorrected, r.movementID, now.UTC()
	}
	_, err := tx.Exec(ctx, `INSERT INTO inventory_drift (source, location_id, sku, state, ledger_quantity, source_quantity,
			authority, action, movement_id, first_found_at, checked_at, resolved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
		ON CONFLICT (source, location_id, sku, state) DO UPDATE SET ledger_quantity = excluded.ledger_quantity,
			source_quantity = excluded.source_quantity, authority = excluded.authority, action = excluded.action,
			movement_id = excluded.movement_id, checked_at = excluded.checked_at, resolved_at = excluded.resolved_at,
			first_found_at = CASE WHEN inventory_drift.resolved_at IS NULL THEN inventory_drift.first_found_at
				ELSE excluded.first_found_at END`,
		r.source, r.loc, r.sku, r.state, r.ledger, r.figure, r.authority, action, movement, now.UTC(), resolved)
	return err
}

// resolveDrift closes the open findings of source at a position that now agrees (states not in
// still; every state when still is empty).
func resolveDrift(ctx context.Context, tx *store.Tx, source, loc, sku string, still []string, now time.Time) error {
	query := `UPDATE inventory_drift SET resolved_at = $1, checked_at = $1
		WHERE source = $2 AND location_id = $3 AND sku = $4 AND resolved_at IS NULL`
	args := []any{now.UTC(), source, loc, sku}
	for _, st := range still {
		args = append(args, st)
		query += fmt.Sprintf(" AND state <> $%d", len(args))
	}
	_, err := tx.Exec(ctx, query, args...)
	return err
}

// Paging of the support reports.
const (
	defaultReportPage = 100
	maxReportPage     = 500
)

// ListDrift pages through the drift report.
func (s *Service) ListDrift(ctx context.Context, req *inventoryv1.ListDriftRequest) (*inventoryv1.ListDriftResponse, error) {
	size, offset, err := s.reportPage(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	query := `SELECT source, location_id, sku, state, ledger_quantity, source_quantity, authority, action, movement_id,
		first_found_at, checked_at, resolved_at FROM inventory_drift WHERE 1=1`
	var args []any
	for col, v := range map[string]string{"sku": req.GetSku(), "location_id": req.GetLocationId(), "source": req.GetSource()} {
		if v != "" {
			args = append(args, v)
			query += fmt.Sprintf(" AND %s = $%d", col, len(args))
		}
	}
	if !req.GetIncludeResolved() {
		query += " AND resolved_at IS NULL"
	}
	rows, err := s.db.Query(ctx, query+fmt.Sprintf(" ORDER BY location_id, sku, source, state LIMIT %d OFFSET %d", size+1, offset), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &inventoryv1.ListDriftResponse{}
	for rows.Next() {
		d := &inventoryv1.Drift{}
		var state string
		var first, checked time.Time
		var resolved sql.NullTime
		if err := rows.Scan(&d.Source, &d.LocationId, &d.Sku, &state, &d.LedgerQuantity, &d.SourceQuantity, &d.Authority,
			&d.Action, &d.MovementId, &first, &checked, &resolved); err != nil {
			return nil, err
		}
		d.State, d.FirstFoundAt, d.CheckedAt = stateOf(state), timestamppb.New(first.UTC()), timestamppb.New(checked.UTC())
		if state == "on_hand" {
			d.State = onHand
		}
		if resolved.Valid {
			d.ResolvedAt = timestamppb.New(resolved.Time.UTC())
		}
		resp.Drift = append(resp.Drift, d)
	}
	if len(resp.Drift) > size {
		resp.Drift, resp.NextPageToken = resp.Drift[:size], strconv.Itoa(offset+size)
	}
	return resp, rows.Err()
}

// reportPage checks a support report's caller and page and returns its size and offset.
func (s *Service) reportPage(ctx context.Context, pageSize int32, token string) (int, int, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return 0, 0, errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing")
	}
	if p.Audience != auth.Support {
		return 0, 0, errs.E(errs.PermissionDenied, "support_only", "the report is for customer service")
	}
	var v violations
	size := int(pageSize)
	if size == 0 {
		size = defaultReportPage
	} else if size < 0 || size > maxReportPage {
		v.add("page_size", fmt.Sprintf("must be between 1 and %d", maxReportPage))
	}
	offset := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 {
			v.add("page_token", "is not a token this report issued")
		}
		offset = n
	}
	return size, offset, v.err()
}
