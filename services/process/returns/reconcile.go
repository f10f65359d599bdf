package returns

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/governor"
)

// reconcile repairs what webhooks missed. Vendors deliver late, twice or never (Shopify says as
// much); a return waiting for its parcel longer than the grace period is checked against the
// ERP, the returns platform and the warehouse, and a receipt or inspection found there is applied as if its webhook had arrived
// (signals are idempotent: a late webhook afterwards is ignored by the state machine).
//
// A receipt is the return's only if it says so: the warehouse's receipt ids are the warehouse's,
// and a warehouse that lost its records (or another instance of it) hands the same id to another
// return. So the receipt's reference — the return id Retailbridge announced it under — must be
// this return's, and its lines this return's lines; anything else is logged and never applied.
// The ERP's RMA and the platform's return are checked the same way, by the reference they were
// opened under. A record that is gone, or now belongs to another return, is reported to the return
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

// reconcileOne checks the vendor records one return waits on — the ERP's RMA, the returns
// platform's return and the warehouse's receipt — and applies what it finds; it reports whether the return moved.
// A record that is gone, or that the vendor now holds for another return, is reported to the
// return (SignalRecordMissing) and nothing is applied; once every record is the return's again,
// the report is withdrawn (SignalRecordFound).
func (s *Service) reconcileOne(ctx context.Context, id string) bool {
	inst, _, err := s.engine.Get(ctx, id)
	if err != nil {
		return false
	}
	var d returnData
	if err := inst.Decode(&d); err != nil || (d.ReceiptID == "" && d.PlatformReturnID == "") {
		return false
	}
	ctx = d.withRoute(ctx)
	// The records the return waits on: the first missing one is reported; any not known holds
	// the pass.
	var missing *missingRecord
	known := true
	for _, check := range []func(context.Context, *returnData) (*missingRecord, bool){s.checkRMA, s.checkPlatformReturn} {
		m, ok := check(ctx, &d)
		if missing == nil {
			missing = m
		}
		known = known && ok
	}
	rc, conditions, receiptMissing, receiptKnown := s.checkReceipt(ctx, &d)
	if missing == nil {
		missing = receiptMissing
	}
	switch {
	case missing != nil:
		s.reportMissing(ctx, &d, *missing)
		return false
	case !known || !receiptKnown || rc == nil:
		return false // a vendor call failed: nothing is known either way until the next pass
	case d.MissingRecord != "":
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

// checkReceipt reads d's warehouse receipt: rc and its inspected conditions when it is d's,
// missing when it is gone or another return's; known is false when the warehouse could not be
// asked.
func (s *Service) checkReceipt(ctx context.Context, d *returnData) (rc *wmsv1.GetReturnReceiptResponse, conditions map[string]string, missing *missingRecord, known bool) {
	if d.ReceiptID == "" {
		return nil, nil, nil, true
	}
	rc, err := s.wmsClient.GetReturnReceipt(ctx, &wmsv1.GetReturnReceiptRequest{ReceiptId: d.ReceiptID})
	if m, ok := s.vendorAnswer(ctx, d, "WMS", "receipt "+d.ReceiptID, err); m != nil || !ok {
		return nil, nil, m, ok
	}
	conditions, mismatch := receiptConditions(d, rc)
	if mismatch != "" {
		s.log.WarnContext(ctx, "reconciliation: receipt is not this return's; not applied", "return_id", d.ReturnID,
			"receipt_id", d.ReceiptID, "receipt_reference", rc.GetReference(), "mismatch", mismatch)
		return nil, nil, &missingRecord{System: "WMS", Record: "receipt " + d.ReceiptID,
			Reason: "the warehouse holds it for " + mismatch}, true
	}
	return rc, conditions, nil, true
}

// checkPlatformReturn reads d's return at the returns platform: missing when it is gone or
// registered under another reference than d's return id; known is false when the platform could
// not be asked.
func (s *Service) checkPlatformReturn(ctx context.Context, d *returnData) (missing *missingRecord, known bool) {
	if d.PlatformReturnID == "" || s.platformClient == nil {
		return nil, true
	}
	record := "return " + d.PlatformReturnID
	pr, err := s.platformClient.GetReturn(ctx, &returnsplatformv1.GetReturnRequest{PlatformReturnId: d.PlatformReturnID})
	if m, ok := s.vendorAnswer(ctx, d, "returns platform", record, err); m != nil || !ok {
		return m, ok
	}
	if pr.GetReference() != d.ReturnID {
		s.log.WarnContext(ctx, "reconciliation: the platform's return is not this return's", "return_id", d.ReturnID,
			"platform_return_id", d.PlatformReturnID, "platform_reference", pr.GetReference())
		return &missingRecord{System: "returns platform", Record: record,
			Reason: "the returns platform holds it for reference " + quoteOrNone(pr.GetReference())}, true
	}
	return nil, true
}

// checkRMA reads d's RMA at the ERP: missing when it is gone or opened under another reference
// than d's return id; known is false when the ERP could not be asked.
func (s *Service) checkRMA(ctx context.Context, d *returnData) (missing *missingRecord, known bool) {
	if d.RMAID == "" || s.erpClient == nil {
		return nil, true
	}
	record := "RMA " + cmp.Or(d.RMANumber, d.RMAID)
	rma, err := s.erpClient.GetReturnAuthorization(ctx, &erpv1.GetReturnAuthorizationRequest{ReturnAuthorizationId: d.RMAID})
	if m, ok := s.vendorAnswer(ctx, d, "ERP", record, err); m != nil || !ok {
		return m, ok
	}
	if rma.GetReference() != d.ReturnID {
		s.log.WarnContext(ctx, "reconciliation: the ERP's RMA is not this return's", "return_id", d.ReturnID,
			"rma_id", d.RMAID, "rma_reference", rma.GetReference())
		return &missingRecord{System: "ERP", Record: record,
			Reason: "the ERP holds it for reference " + quoteOrNone(rma.GetReference())}, true
	}
	return nil, true
}

// vendorAnswer sorts a vendor's error on reading one of d's records: not found is the record
// gone (missing); another failure says nothing about the record (known false).
func (s *Service) vendorAnswer(ctx context.Context, d *returnData, system, record string, err error) (missing *missingRecord, known bool) {
	if err == nil {
		return nil, true
	}
	// A status straight off the wire (no client interceptor) carries its kind in its code.
	kind := errs.FromError(err).Kind
	if kind == errs.NotFound {
		s.log.WarnContext(ctx, "reconciliation: the vendor no longer knows the return's record", "return_id", d.ReturnID,
			"system", system, "record", record)
		return &missingRecord{System: system, Record: record, Reason: "the " + system + " answers not found"}, true
	}
	s.log.WarnContext(ctx, "reconciliation: vendor call failed", "return_id", d.ReturnID, "system", system, "record", record,
		"kind", kind.String(), "error", err.Error())
	return nil, false
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

// reportMissing tells the return one of its vendor records is gone, once: the return counts down
// to its SLA from the first report.
func (s *Service) reportMissing(ctx context.Context, d *returnData, m missingRecord) {
	if d.MissingRecord != "" {
		return
	}
	payload, _ := json.Marshal(m)
	if _, err := s.Signal(ctx, d.ReturnID, SignalRecordMissing, payload); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "reconciliation: could not report the missing record", "return_id", d.ReturnID,
			"system", m.System, "record", m.Record, "error", err.Error())
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
