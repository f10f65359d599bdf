package returns

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// platformIDKey is where a returns platform's connector puts the platform's own return id in a
// canonical Return's external_ids: keyed by system kind, whichever vendor is plugged in.
const platformIDKey = "returnsplatform"

// keepPlatformReturn records, inside the consumer's transaction, a return a customer started on
// the returns platform itself (its return.created event): returns Retailbridge created carry its
// return id as the event's typed reference and are not adopted twice.
func (s *Service) keepPlatformReturn(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		return errs.Wrap(err, errs.Invalid, "event_payload_unreadable", "the event payload is not a canonical message")
	}
	ret, ok := msg.(*canonicalv1.Return)
	if !ok {
		return nil
	}
	ours := ev.GetReferences().GetReturnId() != ""
	if ev.GetReferences() == nil {
		ours = ret.GetId() != "" // an older event: the canonical Return.id is Retailbridge's id
	}
	if ours {
		return nil
	}
	pid := platformReturnID(ev, ret)
	if pid == "" {
		return errs.E(errs.Invalid, "platform_return_without_id", "a platform return without the platform's id")
	}
	raw, err := protojson.Marshal(ret)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO platform_returns (platform_id, payload, received_at, status) VALUES ($1, $2, $3, 'pending')
		ON CONFLICT (platform_id) DO NOTHING`, pid, string(raw), s.now().UTC())
	return err
}

// platformReturnID is the returns platform's own id of the return an event reports: the event's
// typed reference, else the external id under the system kind. An event published before either
// existed carried the platform's id as the return's only external id, under the vendor's name;
// reading it that way needs no migration and names no vendor.
func platformReturnID(ev *canonicalv1.Event, ret *canonicalv1.Return) string {
	if id := ev.GetReferences().GetSystemRecordId(); id != "" {
		return id
	}
	ext := ret.GetExternalIds()
	if id := ext[platformIDKey]; id != "" {
		return id
	}
	if len(ext) == 1 {
		for _, id := range ext {
			return id
		}
	}
	return ""
}

// adoptPlatformReturns starts the workflow for pending platform returns: eligibility is checked
// against a fresh read of the order like any other return, under a key derived from the
// platform's id, so a repeat never creates a second return. Returns the policy refuses are marked
// rejected with the reason, for customer service.
func (s *Service) adoptPlatformReturns(ctx context.Context) (int, error) {
	rows, err := s.db.Query(ctx, `SELECT platform_id, payload FROM platform_returns WHERE status = 'pending' ORDER BY received_at LIMIT 50`)
	if err != nil {
		return 0, err
	}
	type pending struct{ id, payload string }
	var all []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.payload); err != nil {
			rows.Close()
			return 0, err
		}
		all = append(all, p)
	}
	rows.Close()
	adopted := 0
	for _, p := range all {
		var ret canonicalv1.Return
		if err := protojson.Unmarshal([]byte(p.payload), &ret); err != nil {
			s.markPlatformReturn(ctx, p.id, "rejected", "", "unreadable: "+err.Error())
			continue
		}
		req := &returnsv1.CreateReturnRequest{OrderId: ret.GetOrderId(), Method: ret.GetMethod()}
		if req.Method == canonicalv1.ReturnMethod_RETURN_METHOD_UNSPECIFIED {
			req.Method = canonicalv1.ReturnMethod_RETURN_METHOD_MAIL
		}
		for _, l := range ret.GetLines() {
			reason := l.GetReason()
			if reason == canonicalv1.ReturnReason_RETURN_REASON_UNSPECIFIED {
				reason = canonicalv1.ReturnReason_RETURN_REASON_OTHER
			}
			req.Lines = append(req.Lines, &canonicalv1.ReturnLine{OrderLineId: l.GetOrderLineId(), Quantity: l.GetQuantity(),
				Reason: reason, Note: l.GetNote()})
		}
		key := "platform:" + p.id
		created, err := s.createFor(ctx, req, key, "platform", func(order *canonicalv1.Order) error {
			if c := ret.GetCustomerId(); c != "" && c != order.GetCustomer().GetId() {
				return errs.E(errs.PermissionDenied, "platform_customer_mismatch", "the platform's customer does not own the order")
			}
			return nil
		}, p.id)
		switch {
		case err == nil:
			s.markPlatformReturn(ctx, p.id, "adopted", created.GetId(), "")
			adopted++
		case errs.IsRetryable(err):
			continue // the commerce platform or the ERP is busy: next pass
		default:
			e := errs.FromError(err)
			detail := e.Reason + ": " + e.Message
			for _, f := range e.Fields {
				detail += fmt.Sprintf("; %s %s", f.Field, f.Description)
			}
			s.log.WarnContext(ctx, "platform return rejected by policy", "platform_id", p.id, "detail", detail)
			s.markPlatformReturn(ctx, p.id, "rejected", "", detail)
		}
	}
	return adopted, nil
}

func (s *Service) markPlatformReturn(ctx context.Context, platformID, status, returnID, detail string) {
	if _, err := s.db.Exec(ctx, `UPDATE platform_returns SET status = $1, return_id = $2, detail = $3 WHERE platform_id = $4`,
		status, returnID, detail, platformID); err != nil {
		s.log.WarnContext(ctx, "platform return not marked", "platform_id", platformID, "error", err.Error())
	}
}

// adoptLoop adopts pending platform returns every interval until ctx ends.
func (s *Service) adoptLoop(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.adoptPlatformReturns(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "adopting platform returns failed", "error", err.Error())
			}
		}
	}
}
