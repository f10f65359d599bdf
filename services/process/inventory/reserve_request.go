package inventory

import (
	"context"
	"fmt"
	"slices"

	"github.com/retailbridge/retailbridge/pkg/errs"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

func validateReserve(req *inventoryv1.ReserveRequest) error {
	var v violations
	v.checkID("order_id", req.GetOrderId(), maxIDLength)
	v.checkID("sku", req.GetSku(), maxSKULength)
	v.checkID("idempotency_key", req.GetIdempotencyKey(), maxIDLength)
	if q := req.GetQuantity(); q < 1 || q > maxReserveUnits {
		v.add("quantity", fmt.Sprintf("must be between 1 and %d", maxReserveUnits))
	}
	if loc := req.GetLocationId(); loc != "" {
		v.checkID("location_id", loc, maxLocationLen)
	}
	v.checkChannel(req.GetChannel())
	if ttl := req.GetTtl(); ttl != nil && (!ttl.IsValid() || ttl.AsDuration() < 0) {
		v.add("ttl", "must be a non-negative duration")
	}
	return v.err()
}

// reserveCandidates are the locations a hold may take units from, best first: the requested one
// (which must sell to the channel), or every location selling to the channel that has sellable
// units of the SKU, the most first.
func (s *Service) reserveCandidates(ctx context.Context, req *inventoryv1.ReserveRequest) ([]string, error) {
	sc, _, err := s.withChannel(scope{}, req.GetChannel())
	if err != nil {
		return nil, err
	}
	if loc := req.GetLocationId(); loc != "" {
		if !sc.counts(loc) {
			return nil, errs.E(errs.FailedPrecondition, "location_not_in_channel",
				"location "+loc+" does not sell to channel "+req.GetChannel())
		}
		return []string{loc}, nil
	}
	query := `SELECT location_id FROM inventory_positions WHERE sku = $1 AND state = $2 AND quantity > 0`
	args := []any{req.GetSku(), stateName(sellable)}
	query, args = inClause(query, args, "location_id", sc.locations)
	rows, err := s.db.Query(ctx, query+` ORDER BY quantity DESC, location_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var loc string
		if err := rows.Scan(&loc); err != nil {
			return nil, err
		}
		if !slices.Contains(out, loc) {
			out = append(out, loc)
		}
	}
	return out, rows.Err()
}
