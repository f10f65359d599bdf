package returns

import (
	"context"
	"encoding/json"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/governor"
)

// reconcile repairs what webhooks missed. Vendors deliver late, twice or never (Shopify says as
// much); a return waiting for its parcel longer than the grace period is checked against the
// warehouse, and a receipt or inspection found there is applied as if its webhook had arrived
// (signals are idempotent: a late webhook afterwards is ignored by the state machine).
//
// A receipt is the return's only if it says so: the warehouse's receipt ids are the warehouse's,
// and a warehouse that lost its records (or another instance of it) hands the same id to another
// return. So the receipt's reference — the return id Retailbridge announced it under — must be
// this return's, and its lines this return's lines; anything else is logged and never applied.
// A receipt that is gone, or now belongs to another return, is reported to the return
// (SignalRecordMissing), which escalates once past its SLA instead of waiting forever.
func (s *Service) reconcile(ctx context.Context, grace time.Duration) (repaired int, err error) {
	// Reconciliation is bulk work: vendor governors serve customer-facing calls first.
	ctx = governor.WithPriority(ctx, governor.Bulk)
	ids, err := s.strandedReturns(ctx, grace)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if s.reconcileOne(ctx, id) {
			repaired++
		}
	}
	if repaired > 0 {
		s.log.InfoContext(ctx, "reconciliation repaired returns whose webhooks were missed", "returns", repaired)
	}
	return repaired, nil
}

// strandedReturns lists returns waiting on the warehouse for longer than grace, oldest first.
func (s *Service) strandedReturns(ctx context.Context, grace time.Duration) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT w.id FROM rb_workflows w WHERE w.kind = $1 AND w.state IN ($2, $3, $4)
		AND w.state_since <= $5 ORDER BY w.state_since LIMIT 200`,
		Kind, StateAwaitingParcel, StateInTransit, StateAwaitingInspection, s.now().UTC().Add(-grace))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// reconcileOne checks one return's receipt and applies what it finds; it reports whether the
// return moved.
func (s *Service) reconcileOne(ctx context.Context, id string) bool {
	inst, _, err := s.engine.Get(ctx, id)
	if err != nil {
		return false
	}
	var d returnData
	if err := inst.Decode(&d); err != nil || d.ReceiptID == "" {
		return false
	}
	rc, err := s.wmsClient.GetReturnReceipt(ctx, &wmsv1.GetReturnReceiptRequest{ReceiptId: d.ReceiptID})
	switch {
	case errs.KindOf(err) == errs.NotFound:
		s.log.WarnContext(ctx, "reconciliation: the warehouse no longer knows the return's receipt",
			"return_id", id, "receipt_id", d.ReceiptID)
		s.reportMissing(ctx, &d, "the warehouse answers not found")
		return false
	case err != nil:
		s.log.WarnContext(ctx, "reconciliation: warehouse call failed", "return_id", id, "receipt_id", d.ReceiptID,
			"kind", errs.KindOf(err).String(), "error", err.Error())
		return false
	}
	conditions, mismatch := receiptConditions(&d, rc)
	if mismatch != "" {
		s.log.WarnContext(ctx, "reconciliation: receipt is not this return's; not applied", "return_id", id,
			"receipt_id", d.ReceiptID, "receipt_reference", rc.GetReference(), "mismatch", mismatch)
		s.reportMissing(ctx, &d, "the warehouse holds it for "+mismatch)
		return false
	}
	if d.MissingRecord != "" {
		_, _ = s.Signal(ctx, id, SignalRecordFound, nil)
	}
	switch {
	case len(conditions) > 0:
		payload, _ := json.Marshal(conditions)
		ok, _ := s.Signal(ctx, id, SignalInspected, payload)
		return ok
	case rc.GetReceivedAt() != nil && inst.State != StateAwaitingInspection:
		ok, _ := s.Signal(ctx, id, SignalReceived, nil)
		return ok
	}
	return false
}

// receiptConditions checks rc is d's receipt — announced under d's return id, with d's lines
// only — and returns the inspected lines' conditions by order line id (or SKU). mismatch says
// what differs; it is empty when the receipt is d's.
func receiptConditions(d *returnData, rc *wmsv1.GetReturnReceiptResponse) (conditions map[string]string, mismatch string) {
	if rc.GetReference() != d.ReturnID {
		return nil, "reference " + quoteOrNone(rc.GetReference())
	}
	ours := map[string]bool{}
	for _, l := range d.Lines {
		ours[l.OrderLineID], ours[l.SKU] = true, true
	}
	conditions = map[string]string{}
	for _, l := range rc.GetLines() {
		key := l.GetOrderLineId()
		if key == "" {
			key = l.GetSku()
		}
		if !ours[key] {
			return nil, "a line this return does not have (" + key + ")"
		}
		if c := conditionName(l.GetCondition()); c != "" {
			conditions[key] = c
		}
	}
	return conditions, ""
}

func quoteOrNone(s string) string {
	if s == "" {
		return "no reference"
	}
	return `"` + s + `"`
}

// reportMissing tells the return its receipt is gone, once: the return counts down to its SLA
// from the first report.
func (s *Service) reportMissing(ctx context.Context, d *returnData, reason string) {
	if d.MissingRecord != "" {
		return
	}
	payload, _ := json.Marshal(missingRecord{System: "warehouse", Record: "receipt " + d.ReceiptID, Reason: reason})
	if _, err := s.Signal(ctx, d.ReturnID, SignalRecordMissing, payload); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "reconciliation: could not report the missing receipt", "return_id", d.ReturnID, "error", err.Error())
	}
}

// reconcileLoop runs reconcile every interval until ctx ends.
func (s *Service) reconcileLoop(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.reconcile(ctx, interval); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "reconciliation pass failed", "error", err.Error())
			}
		}
	}
}
