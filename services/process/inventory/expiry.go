package inventory

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// expiryBatch is how many due reservations one sweep reads.
const expiryBatch = 100

// sweepLoop returns expired holds' units every interval until ctx ends. Every replica may run
// it: each expiry is a conditional status change (see moveReservation), so a hold expires once
// however many sweepers find it.
func (s *Service) sweepLoop(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.SweepExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "reservation expiry sweep failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SweepExpired expires every hold whose time has passed: its units move from reserved back to
// sellable. It returns how many holds it expired (others' sweeps that won a race are not
// counted).
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		due, err := s.dueReservations(ctx)
		if err != nil || len(due) == 0 {
			return total, err
		}
		for _, r := range due {
			expired := false
			err := s.db.InTx(ctx, func(tx *store.Tx) error {
				cur, ok, err := s.reservationByID(ctx, tx, r.id)
				if err != nil || !ok || cur.status != statusHeld {
					return err
				}
				expired, err = s.moveReservation(ctx, tx, cur, statusExpired, []line{{reserved, -cur.quantity}, {sellable, cur.quantity}}, "expiry")
				return err
			})
			if err != nil {
				return total, err
			}
			if expired {
				total++
				s.metrics.expired.Inc()
			}
		}
		if len(due) < expiryBatch {
			return total, nil
		}
	}
}

func (s *Service) dueReservations(ctx context.Context) ([]reservation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+reservationColumns+` FROM inventory_reservations
		WHERE status = $1 AND expires_at <= $2 ORDER BY expires_at LIMIT $3`, statusHeld, s.now().UTC(), expiryBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reservation
	for rows.Next() {
		r, err := scanReservation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
