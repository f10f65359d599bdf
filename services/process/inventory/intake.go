package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// Keys of a canonical Return's external_ids the warehouse fills (the wms system API's contract):
// where the return was received.
const returnLocationKey = "warehouse_location"

// Source record outcomes, kept in inventory_sources.
const (
	outcomeApplied    = "applied"
	outcomeSuperseded = "superseded_by_count"
)

// handleEvent applies one canonical warehouse event to the ledger inside the consumer's
// transaction (with the inbox row). Types the ledger does not follow change nothing.
func (s *Service) handleEvent(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	switch events.TypeOf(ev.GetType()) {
	case canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED:
		return s.onAdjustment(ctx, tx, ev, "receipt")
	case canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_ADJUSTED:
		return s.onAdjustment(ctx, tx, ev, "adjustment")
	case canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED:
		pos := &canonicalv1.InventoryPosition{}
		if err := ev.GetData().UnmarshalTo(pos); err != nil {
			return badEvent(ev, err)
		}
		return s.applyCount(ctx, tx, pos, sourceKey(ev, pos.GetSku()+"@"+pos.GetLocationId()), ev.GetCorrelationId())
	case canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_SHIPPED:
		sh := &canonicalv1.Shipment{}
		if err := ev.GetData().UnmarshalTo(sh); err != nil {
			return badEvent(ev, err)
		}
		return s.onShipped(ctx, tx, ev, sh)
	case canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_RECEIVED, canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED:
		ret := &canonicalv1.Return{}
		if err := ev.GetData().UnmarshalTo(ret); err != nil {
			return badEvent(ev, err)
		}
		return s.onReturn(ctx, tx, ev, ret)
	case canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED:
		o := &canonicalv1.Order{}
		if err := ev.GetData().UnmarshalTo(o); err != nil {
			return badEvent(ev, err)
		}
		return s.releaseOrder(ctx, tx, o.GetId())
	}
	return nil
}

// badEvent is a payload that can never be applied: it goes to the dead-letter stream.
func badEvent(ev *canonicalv1.Event, err error) error {
	return errs.Wrap(err, errs.Invalid, "event_payload_invalid", fmt.Sprintf("event %s carries no readable %s payload", ev.GetId(), ev.GetType()))
}

// sourceKey is the key that makes a re-delivered record change nothing twice: the source's own
// record id when it gives one (the same adjustment re-sent under another event id is still one
// adjustment), the event id otherwise; part tells the records of one event apart.
func sourceKey(ev *canonicalv1.Event, part string) string {
	id := ev.GetReferences().GetSystemRecordId()
	if id == "" {
		id = ev.GetId()
	}
	return ev.GetType() + "|" + id + "|" + part
}

// onAdjustment applies a receipt or adjustment: units leave from_state (none for a receipt or
// found stock) and enter to_state (none for a write-off). A receipt into an unspecified or
// on-hand state is sellable stock.
func (s *Service) onAdjustment(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event, cause string) error {
	adj := &canonicalv1.InventoryAdjustment{}
	if err := ev.GetData().UnmarshalTo(adj); err != nil {
		return badEvent(ev, err)
	}
	if adj.GetSku() == "" || adj.GetLocationId() == "" || adj.GetQuantity() <= 0 {
		return badEvent(ev, fmt.Errorf("adjustment needs a SKU, a location and a positive quantity"))
	}
	from, to := adj.GetFromState(), adj.GetToState()
	if cause == "receipt" && (to == canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED || to == onHand) {
		to = sellable
	}
	if from == onHand {
		from = sellable
	}
	if to == onHand {
		to = sellable
	}
	var lines []line
	if from != canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED {
		lines = append(lines, line{from, -adj.GetQuantity()})
	}
	if to != canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED {
		lines = append(lines, line{to, adj.GetQuantity()})
	}
	key := adj.GetSourceRecordId()
	if key == "" {
		key = sourceKey(ev, "")
	} else {
		key = ev.GetSource() + "|" + cause + "|" + key
	}
	m := movement{sku: adj.GetSku(), location: adj.GetLocationId(), lines: lines, cause: cause,
		causeID: adj.GetSourceRecordId(), correlationID: ev.GetCorrelationId(), sourceRecordID: key,
		reason: adj.GetReason(), occurredAt: occurredAt(adj.GetOccurredAt().AsTime(), ev)}
	return s.applyPhysical(ctx, tx, key, m)
}

// occurredAt is when a record happened at its source: its own time, else the event's.
func occurredAt(t time.Time, ev *canonicalv1.Event) time.Time {
	if t.IsZero() || t.Unix() == 0 {
		return ev.GetTime().AsTime()
	}
	return t
}

// applyPhysical applies a warehouse-sourced physical movement once. The rule for late records: a
// movement that happened at or before the newest count of its SKU and location is already in
// that count, so it is recorded as superseded and changes no position.
func (s *Service) applyPhysical(ctx context.Context, tx *store.Tx, key string, m movement) error {
	if err := lockPosition(ctx, tx, m.sku, m.location); err != nil {
		return err
	}
	last, ok, err := lastCount(ctx, tx, m.sku, m.location)
	if err != nil {
		return err
	}
	outcome := outcomeApplied
	if ok && !m.occurredAt.After(last) {
		outcome = outcomeSuperseded
	}
	m.id = movementID(key)
	fresh, err := claimSource(ctx, tx, key, outcome, m.id, s.now())
	if err != nil || !fresh || outcome != outcomeApplied {
		return err
	}
	return s.ledger.record(ctx, tx, m)
}

// movementID derives a movement's id from its source key, so the same record always makes the
// same movement (and the same position-changed event id).
func movementID(key string) string { return "mv-" + hashID(key) }

// onReturn applies a returned parcel's receipt (units enter awaiting inspection) or its
// inspection (units leave awaiting inspection for sellable on restock, damaged on write-off or a
// vendor claim, quality control for an exception). The two commute: an inspection delivered
// before its receipt leaves awaiting inspection below zero until the receipt arrives, and the
// sums agree either way.
func (s *Service) onReturn(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event, ret *canonicalv1.Return) error {
	loc := ret.GetExternalIds()[returnLocationKey]
	if loc == "" {
		return badEvent(ev, fmt.Errorf("return %s names no receiving location", ret.GetId()))
	}
	inspected := events.TypeOf(ev.GetType()) == canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED
	cause := "return_received"
	if inspected {
		cause = "return_inspected"
	}
	for i, l := range ret.GetLines() {
		qty := int64(l.GetQuantity())
		if l.GetSku() == "" || qty <= 0 {
			continue
		}
		lines := []line{{awaiting, qty}}
		if inspected {
			lines = []line{{awaiting, -qty}}
			if to, ok := inspectionTarget(l); ok {
				lines = append(lines, line{to, qty})
			}
		}
		key := sourceKey(ev, fmt.Sprintf("%d:%s", i, l.GetSku()))
		m := movement{sku: l.GetSku(), location: loc, lines: lines, cause: cause, causeID: ret.GetId(),
			correlationID: ev.GetCorrelationId(), sourceRecordID: key, reason: l.GetDisposition().String(),
			occurredAt: ev.GetTime().AsTime()}
		if err := s.applyPhysical(ctx, tx, key, m); err != nil {
			return err
		}
	}
	return nil
}

// inspectionTarget is the state an inspected return line's units go to: from its disposition
// when the event carries one, from the item's condition otherwise. Units found wrong or missing
// leave the books (ok false), as the warehouse takes them off its own.
func inspectionTarget(l *canonicalv1.ReturnLine) (canonicalv1.InventoryState, bool) {
	switch l.GetDisposition() {
	case canonicalv1.Disposition_DISPOSITION_RESTOCK:
		return sellable, true
	case canonicalv1.Disposition_DISPOSITION_WRITE_OFF, canonicalv1.Disposition_DISPOSITION_VENDOR_CLAIM:
		return damaged, true
	case canonicalv1.Disposition_DISPOSITION_EXCEPTION:
		return qualityCtl, true
	}
	switch l.GetCondition() {
	case canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE:
		return sellable, true
	case canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED:
		return damaged, true
	case canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING:
		return 0, false
	}
	return qualityCtl, true
}

// ApplyEvent applies one canonical warehouse event in its own transaction, as the consumer does
// but without the inbox: for replays by an operator and for measuring ingestion. A record already
// applied changes nothing.
func (s *Service) ApplyEvent(ctx context.Context, ev *canonicalv1.Event) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error { return s.handleEvent(ctx, tx, ev) })
}
