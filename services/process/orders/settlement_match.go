package orders

import (
	"context"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// mismatch is one problem found, before it is recorded.
type mismatch struct {
	kind, subject, payoutID, detail string
}

// settlePayout matches p's lines, checks its deposit and records all of it in one transaction;
// it returns the lines read and how many mismatches were new.
func (s *Settler) settlePayout(ctx context.Context, p SettlementPayout, byRef map[string]orderRef, runID string) (int, int, error) {
	lines, err := s.payouts.PayoutLines(ctx, p.ID)
	if err != nil {
		return 0, 0, fmt.Errorf("settlement: listing payout %s: %w", p.ID, err)
	}
	var found []mismatch
	statuses := make([]string, len(lines))
	for i, l := range lines {
		statuses[i], found = s.matchLine(p.ID, l, byRef, found)
	}
	fresh := 0
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		fresh = 0
		now := s.now().UnixMicro()
		for i, l := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO settlement_lines (txn_id, payout_id, type, amount, fee, payment_reference,
				order_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (txn_id) DO NOTHING`,
				l.ID, p.ID, l.Type, l.Amount, l.Fee, l.PaymentReference, byRef[l.PaymentReference].id, statuses[i]); err != nil {
				return err
			}
		}
		n, err := insertMismatches(ctx, tx, found, now, runID)
		if err != nil {
			return err
		}
		fresh = n
		_, err = tx.Exec(ctx, `INSERT INTO settlement_payouts (payout_id, currency, amount, created_us, lines, mismatches, checked_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payout_id) DO UPDATE SET lines = excluded.lines,
			mismatches = excluded.mismatches, checked_us = excluded.checked_us`,
			p.ID, p.Currency, p.Amount, p.Created.UnixMicro(), len(lines), len(found), now)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("settlement: recording payout %s: %w", p.ID, err)
	}
	s.count(found[len(found)-fresh:])
	return len(lines), fresh, nil
}

// matchLine decides one line's status, appending its mismatch to found.
func (s *Settler) matchLine(payoutID string, l SettlementLine, byRef map[string]orderRef, found []mismatch) (string, []mismatch) {
	if l.Type != "charge" && l.Type != "payment" && l.Type != "refund" && l.Type != "payment_refund" {
		return lineMatched, found // payouts, adjustments: not order money
	}
	if _, ok := byRef[l.PaymentReference]; !ok {
		return MismatchNoOrder, append(found, mismatch{MismatchNoOrder, l.ID, payoutID,
			fmt.Sprintf("%s of %d for payment %q matches no order", l.Type, l.Amount, l.PaymentReference)})
	}
	if l.Type == "charge" || l.Type == "payment" {
		if want := s.cfg.Fees.Expected(l.Amount); want != l.Fee {
			return MismatchFee, append(found, mismatch{MismatchFee, l.ID, payoutID,
				fmt.Sprintf("fee %d on %d; the fee schedule says %d", l.Fee, l.Amount, want)})
		}
	}
	return lineMatched, found
}

// insertMismatches records found, each once; it returns how many were new, having moved the
// new ones to the end of found so the caller counts exactly those.
func insertMismatches(ctx context.Context, tx *store.Tx, found []mismatch, now int64, runID string) (int, error) {
	var old, fresh []mismatch
	for _, m := range found {
		res, err := tx.Exec(ctx, `INSERT INTO settlement_mismatches (kind, subject, payout_id, detail, found_us, run_id)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, subject) DO NOTHING`, m.kind, m.subject, m.payoutID, m.detail, now, runID)
		if err != nil {
			return 0, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			fresh = append(fresh, m)
		} else {
			old = append(old, m)
		}
	}
	copy(found, append(old, fresh...))
	return len(fresh), nil
}

func (s *Settler) count(ms []mismatch) {
	for _, m := range ms {
		s.found.WithLabelValues(m.kind).Inc()
	}
}

// checkNotPaidOut reports orders placed longer ago than the payout grace (within the lookback)
// whose payment no recorded payout line carries.
func (s *Settler) checkNotPaidOut(ctx context.Context, byRef map[string]orderRef, runID string) (int, error) {
	paid := map[string]bool{}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT payment_reference FROM settlement_lines`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			rows.Close()
			return 0, err
		}
		paid[ref] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	cutoff := s.now().Add(-s.cfg.PayoutGrace)
	var found []mismatch
	for ref, o := range byRef {
		if !paid[ref] && o.placed.Before(cutoff) {
			found = append(found, mismatch{MismatchNotPaidOut, o.id, "",
				fmt.Sprintf("payment %s placed %s is in no payout", ref, o.placed.Format(time.RFC3339))})
		}
	}
	fresh := 0
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		fresh, err = insertMismatches(ctx, tx, found, s.now().UnixMicro(), runID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("settlement: recording unpaid orders: %w", err)
	}
	s.count(found[len(found)-fresh:])
	return fresh, nil
}
