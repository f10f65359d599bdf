package inventory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Reconciliation with the ERP: every ReconcileEvery one replica (the holder of the lease
// "reconcile-erp") reads the ERP's on-hand per item and location and compares it with the
// ledger's on-hand (the physical states) as it stood when the ERP was read, so movements
// recorded since do not count as drift. Where the ERP is the authority for on-hand at the
// location the difference is appended to the ledger as a correction in sellable (cause
// "reconciliation", the ERP as its source); elsewhere it is reported. Both go to the drift
// report. The positions compared are every balance the ERP listed and, at the locations the ERP
// listed or is the authority for, every ledger position it did not list (the ERP holds none).

// reconcileLease names the lease that makes one replica reconcile at a time.
const reconcileLease = "reconcile-erp"

// ReconcileResult says what one reconciliation with the ERP did.
type ReconcileResult struct {
	// Compared is how many SKU × location positions were compared.
	Compared int
	// Corrected and Reported count the positions out of step, corrected (the ERP is the
	// authority there) or only reported.
	Corrected, Reported int
	// Units is the sum of the differences' absolute sizes.
	Units int64
	// Unmapped counts the ERP locations holding stock that the ERP's location map lacks:
	// reported (unmapped_location), not compared.
	Unmapped int
}

func (s *Service) reconcileLoop(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	// The ERP's reads are bulk work: customer-facing calls go first at the governor.
	ctx = governor.WithPriority(ctx, governor.Bulk)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C: // the first run is one interval after start, not in the start-up rush
		}
		_, err := withLease(ctx, s.db, reconcileLease, s.replica, s.now(), every-every/10, func() error {
			_, err := s.ReconcileERP(ctx)
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "reconciliation with the ERP failed; the ledger keeps its figures", "error", err)
		}
	}
}

type posKey struct{ sku, loc string }

// ReconcileERP compares the ledger with the ERP's on-hand once (see above).
func (s *Service) ReconcileERP(ctx context.Context) (ReconcileResult, error) {
	var res ReconcileResult
	resp, err := s.erp.ListInventoryBalances(ctx, &erpv1.ListInventoryBalancesRequest{})
	if err != nil {
		s.metrics.reconcileRuns.WithLabelValues(AuthorityERP, "failed").Inc()
		return res, err
	}
	asOf := resp.GetAsOf().AsTime().UTC()
	// A balance at an ERP location the location map lacks is reported, never compared: under
	// the ERP's own id it would be a ledger location of its own (location.go).
	var mapped []*erpv1.InventoryBalance
	var unmapped []locationMismatch
	for _, b := range resp.GetBalances() {
		if b.GetLocationId() != "" {
			mapped = append(mapped, b)
		} else if n := len(unmapped); n == 0 || unmapped[n-1].loc != b.GetErpLocationId() {
			unmapped = append(unmapped, unmappedLocation(b.GetErpLocationId()))
		}
	}
	if err := s.storeLocationMismatches(ctx, unmapped, mismatchUnmappedLocation); err != nil {
		return res, err
	}
	res.Unmapped = len(unmapped)
	figures, err := s.erpScope(ctx, mapped)
	if err != nil {
		return res, err
	}
	acc := newAccuracy()
	keys := make([]posKey, 0, len(figures))
	for k := range figures {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b posKey) int { return compareKeys(a, b) })
	for _, k := range keys {
		f, err := s.reconcileOne(ctx, k, figures[k], asOf)
		if err != nil {
			s.metrics.reconcileRuns.WithLabelValues(AuthorityERP, "failed").Inc()
			return res, err
		}
		res.Compared++
		acc.add(s.cfg, k.loc, f == nil)
		if f != nil {
			s.countERPDrift(&res, f)
		}
	}
	s.metrics.observeAccuracy(AuthorityERP, acc)
	s.metrics.reconcileRuns.WithLabelValues(AuthorityERP, "ok").Inc()
	return res, nil
}

func compareKeys(a, b posKey) int {
	return cmp.Or(strings.Compare(a.loc, b.loc), strings.Compare(a.sku, b.sku))
}

// erpScope is the ERP's figure for every position to compare: the balances listed, and zero for
// ledger positions at the locations in scope that the ERP did not list.
func (s *Service) erpScope(ctx context.Context, balances []*erpv1.InventoryBalance) (map[posKey]int64, error) {
	figures := map[posKey]int64{}
	locs := map[string]bool{}
	for _, b := range balances {
		figures[posKey{b.GetSku(), b.GetLocationId()}] += b.GetOnHand()
		locs[b.GetLocationId()] = true
	}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT sku, location_id FROM inventory_positions WHERE state <> $1`, stateName(inTransit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k posKey
		if err := rows.Scan(&k.sku, &k.loc); err != nil {
			return nil, err
		}
		if _, listed := figures[k]; !listed && (locs[k.loc] || s.cfg.authorityOf(k.loc, "on_hand") == AuthorityERP) {
			figures[k] = 0
		}
	}
	return figures, rows.Err()
}

// reconcileOne compares one position with the ERP's figure inside a transaction holding the
// position's lock, corrects it when the ERP is the authority, and records the finding; nil when
// the two agree.
func (s *Service) reconcileOne(ctx context.Context, k posKey, erpQty int64, asOf time.Time) (*driftRow, error) {
	var found *driftRow
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		found = nil
		if err := lockPosition(ctx, tx, k.sku, k.loc); err != nil {
			return err
		}
		at, _, err := quantitiesAt(ctx, tx, k.sku, k.loc, asOf)
		if err != nil {
			return err
		}
		var ledgerQty int64
		for _, st := range physicalStates {
			ledgerQty += at[st]
		}
		now := s.now()
		if ledgerQty == erpQty {
			return resolveDrift(ctx, tx, AuthorityERP, k.loc, k.sku, nil, now)
		}
		row := driftRow{source: AuthorityERP, loc: k.loc, sku: k.sku, state: "on_hand", ledger: ledgerQty, figure: erpQty,
			authority: s.cfg.authorityOf(k.loc, "on_hand")}
		if row.authority == AuthorityERP {
			if err := s.correctFromERP(ctx, tx, &row, asOf); err != nil {
				return err
			}
		}
		found = &row
		return recordDrift(ctx, tx, row, now)
	})
	return found, err
}

// correctFromERP appends the ledger correction that brings on-hand to the ERP's figure: the
// difference enters or leaves sellable, with the ERP as its source and the figures as its reason.
func (s *Service) correctFromERP(ctx context.Context, tx *store.Tx, row *driftRow, asOf time.Time) error {
	key := fmt.Sprintf("erp-reconcile|%s|%s|%d|%d", row.loc, row.sku, asOf.UnixNano(), row.figure)
	id := movementID(key)
	if fresh, err := claimSource(ctx, tx, key, outcomeApplied, id, s.now()); err != nil || !fresh {
		return err
	}
	row.movementID, row.corrected = id, true
	return s.ledger.record(ctx, tx, movement{id: id, sku: row.sku, location: row.loc,
		lines: []line{{sellable, row.figure - row.ledger}}, cause: "reconciliation", causeID: AuthorityERP,
		sourceRecordID: key, occurredAt: asOf,
		reason: fmt.Sprintf("erp on-hand %d, ledger %d: the erp is the authority for on-hand at %s", row.figure, row.ledger, row.loc)})
}

// countERPDrift adds a finding to the result and the metrics.
func (s *Service) countERPDrift(res *ReconcileResult, f *driftRow) {
	units := max(f.figure-f.ledger, f.ledger-f.figure)
	res.Units += units
	action := driftReported
	if f.corrected {
		action = driftCorrected
		res.Corrected++
	} else {
		res.Reported++
	}
	s.metrics.reconcileDrift.WithLabelValues(AuthorityERP, action).Inc()
	s.metrics.reconcileUnits.WithLabelValues(AuthorityERP, action).Add(float64(units))
}
