package orders

import (
	"context"
	"time"
)

// PayoutStatus is a recorded payout with its reconciliation status: reconciled when none of its
// lines nor the payout itself had a mismatch.
type PayoutStatus struct {
	PayoutID   string
	Currency   string
	Amount     int64
	Created    time.Time
	Lines      int
	Mismatches int
	Reconciled bool
}

// Mismatch is a recorded settlement problem.
type Mismatch struct {
	Kind, Subject, PayoutID, Detail string
	Found                           time.Time
}

// ListPayouts lists the recorded payouts, newest first, at most limit.
func (s *Settler) ListPayouts(ctx context.Context, limit int) ([]PayoutStatus, error) {
	rows, err := s.db.Query(ctx, `SELECT payout_id, currency, amount, created_us, lines, mismatches FROM settlement_payouts
		ORDER BY created_us DESC, payout_id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PayoutStatus
	for rows.Next() {
		var p PayoutStatus
		var us int64
		if err := rows.Scan(&p.PayoutID, &p.Currency, &p.Amount, &us, &p.Lines, &p.Mismatches); err != nil {
			return nil, err
		}
		p.Created, p.Reconciled = time.UnixMicro(us).UTC(), p.Mismatches == 0
		out = append(out, p)
	}
	return out, rows.Err()
}

// ListMismatches lists the recorded mismatches of kind (all kinds when empty), oldest first.
func (s *Settler) ListMismatches(ctx context.Context, kind string, limit int) ([]Mismatch, error) {
	rows, err := s.db.Query(ctx, `SELECT kind, subject, payout_id, detail, found_us FROM settlement_mismatches
		WHERE ($1 = '' OR kind = $1) ORDER BY found_us, kind, subject LIMIT $2`, kind, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mismatch
	for rows.Next() {
		var m Mismatch
		var us int64
		if err := rows.Scan(&m.Kind, &m.Subject, &m.PayoutID, &m.Detail, &us); err != nil {
			return nil, err
		}
		m.Found = time.UnixMicro(us).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}
