package inventory

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// ListMovements lists the ledger lines behind one position, oldest first, with the quantity they
// sum to: any figure can be explained line by line. Partners may explain their tenant's
// locations only.
func (s *Service) ListMovements(ctx context.Context, req *inventoryv1.ListMovementsRequest) (*inventoryv1.ListMovementsResponse, error) {
	c, err := s.callerOf(ctx)
	if err != nil {
		return nil, err
	}
	var v violations
	v.checkID("sku", req.GetSku(), maxSKULength)
	v.checkID("location_id", req.GetLocationId(), maxLocationLen)
	size := req.GetPageSize()
	if size == 0 {
		size = defaultMovePage
	} else if size < 0 || size > maxMovementsPage {
		v.add("page_size", fmt.Sprintf("must be between 1 and %d", maxMovementsPage))
	}
	var after int64
	if tok := req.GetPageToken(); tok != "" {
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil || n < 0 {
			v.addReason("invalid_page_token", "page_token", "is not a token this service issued")
		}
		after = n
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, err := c.scope([]string{req.GetLocationId()}); err != nil {
		return nil, err
	}
	return s.movements(ctx, req, int(size), after)
}

func (s *Service) movements(ctx context.Context, req *inventoryv1.ListMovementsRequest, size int, after int64) (*inventoryv1.ListMovementsResponse, error) {
	query := `SELECT seq, movement_id, state, delta, cause, cause_id, correlation_id, source_record_id, reason, occurred_at, recorded_at, actor
		FROM inventory_movements WHERE sku = $1 AND location_id = $2 AND seq > $3`
	args := []any{req.GetSku(), req.GetLocationId(), after}
	if st := req.GetState(); st != canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED && st != onHand {
		query += ` AND state = $4`
		args = append(args, stateName(st))
	} else {
		// On hand is the physical states: its lines sum to the figure.
		query += ` AND state <> $4`
		args = append(args, stateName(inTransit))
	}
	rows, err := s.db.Query(ctx, query+fmt.Sprintf(` ORDER BY seq LIMIT %d`, size+1), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &inventoryv1.ListMovementsResponse{}
	for rows.Next() {
		m := &inventoryv1.Movement{Sku: req.GetSku(), LocationId: req.GetLocationId()}
		var state string
		var occurred, recorded time.Time
		if err := rows.Scan(&m.Sequence, &m.MovementId, &state, &m.Delta, &m.Cause, &m.CauseId, &m.CorrelationId,
			&m.SourceRecordId, &m.Reason, &occurred, &recorded, &m.Actor); err != nil {
			return nil, err
		}
		m.State, m.OccurredAt, m.RecordedAt = stateOf(state), timestamppb.New(occurred.UTC()), timestamppb.New(recorded.UTC())
		resp.Movements = append(resp.Movements, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(resp.Movements) > size {
		resp.Movements = resp.Movements[:size]
		resp.NextPageToken = strconv.FormatInt(resp.Movements[size-1].GetSequence(), 10)
	}
	qty, err := s.positionQuantity(ctx, req.GetSku(), req.GetLocationId(), req.GetState())
	resp.Quantity = qty
	return resp, err
}

// positionQuantity is the position's figure in state (on hand for unspecified).
func (s *Service) positionQuantity(ctx context.Context, sku, loc string, state canonicalv1.InventoryState) (int64, error) {
	qs, err := stateQuantities(ctx, s.db, sku, loc)
	if err != nil {
		return 0, err
	}
	if state != canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED && state != onHand {
		return qs[state], nil
	}
	var n int64
	for _, st := range physicalStates {
		n += qs[st]
	}
	return n, nil
}
