package returns

import (
	"context"
	"encoding/json"
	"time"

	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/governor"
)

// reconcile repairs what webhooks missed. Vendors deliver late, twice or never (Shopify says as
// much); a return waiting for its parcel longer than the grace period is checked against the
// warehouse, and a receipt or inspection found there is applied as if its webhook had arrived
// (signals are idempotent: a late webhook afterwards is ignored by the state machine).
func (s *Service) reconcile(ctx context.Context, grace time.Duration) (repaired int, err error) {
	// Reconciliation is bulk work: vendor governors serve customer-facing calls first.
	ctx = governor.WithPriority(ctx, governor.Bulk)
	rows, err := s.db.Query(ctx, `SELECT w.id FROM rb_workflows w WHERE w.kind = $1 AND w.state IN ($2, $3, $4)
		AND w.state_since <= $5 ORDER BY w.state_since LIMIT 200`,
		Kind, StateAwaitingParcel, StateInTransit, StateAwaitingInspection, s.now().UTC().Add(-grace))
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		inst, _, err := s.engine.Get(ctx, id)
		if err != nil {
			continue
		}
		var d returnData
		if err := inst.Decode(&d); err != nil || d.ReceiptID == "" {
			continue
		}
		rc, err := s.wmsClient.GetReturnReceipt(ctx, &wmsv1.GetReturnReceiptRequest{ReceiptId: d.ReceiptID})
		if err != nil {
			s.log.WarnContext(ctx, "reconciliation: warehouse unreachable", "return_id", id, "error", err.Error())
			continue
		}
		conditions := map[string]string{}
		for _, l := range rc.GetLines() {
			if c := conditionName(l.GetCondition()); c != "" {
				key := l.GetOrderLineId()
				if key == "" {
					key = l.GetSku()
				}
				conditions[key] = c
			}
		}
		switch {
		case len(conditions) > 0:
			payload, _ := json.Marshal(conditions)
			if ok, _ := s.Signal(ctx, id, SignalInspected, payload); ok {
				repaired++
			}
		case rc.GetReceivedAt() != nil && inst.State != StateAwaitingInspection:
			if ok, _ := s.Signal(ctx, id, SignalReceived, nil); ok {
				repaired++
			}
		}
	}
	if repaired > 0 {
		s.log.InfoContext(ctx, "reconciliation repaired returns whose webhooks were missed", "returns", repaired)
	}
	return repaired, nil
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
