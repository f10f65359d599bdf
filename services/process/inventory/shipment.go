package inventory

import (
	"context"
	"fmt"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// onShipped removes shipped units from stock: first from the order's committed reservations of
// the SKU at the shipping location, then from its holds, then (a shipment Retailbridge never
// reserved for) from sellable; the reservations it consumes end shipped. A shipment that
// happened at or before the newest count there is already out of the count: it only returns the
// consumed reservations' units to sellable, so the count's total stands.
func (s *Service) onShipped(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event, sh *canonicalv1.Shipment) error {
	loc := sh.GetFromLocationId()
	if loc == "" {
		return badEvent(ev, fmt.Errorf("shipment %s names no location", sh.GetId()))
	}
	at := occurredAt(sh.GetShippedAt().AsTime(), ev)
	for i, l := range sh.GetLines() {
		qty := int64(l.GetQuantity())
		if l.GetSku() == "" || qty <= 0 {
			continue
		}
		key := sourceKey(ev, fmt.Sprintf("%d:%s", i, l.GetSku()))
		if err := lockPosition(ctx, tx, l.GetSku(), loc); err != nil {
			return err
		}
		last, counted, err := lastCount(ctx, tx, l.GetSku(), loc)
		if err != nil {
			return err
		}
		late := counted && !at.After(last)
		if fresh, err := claimSource(ctx, tx, key, outcomeApplied, movementID(key), s.now()); err != nil || !fresh {
			return err
		}
		lines, err := s.consumeReservations(ctx, tx, sh.GetOrderId(), l.GetSku(), loc, qty, late)
		if err != nil {
			return err
		}
		reason := "shipped"
		if late {
			reason = "shipped before the newest count: reservations released into the counted stock"
		}
		if err := s.ledger.record(ctx, tx, movement{id: movementID(key), sku: l.GetSku(), location: loc, lines: lines,
			cause: "shipment", causeID: sh.GetOrderId(), correlationID: ev.GetCorrelationId(), sourceRecordID: key,
			reason: reason, occurredAt: at}); err != nil {
			return err
		}
	}
	return nil
}

// consumeReservations marks the order's reservations of sku at loc shipped, up to qty units,
// committed ones first, and returns the lines that take the units out (or, late, back to
// sellable). A reservation larger than what remains is shipped in part: its quantity shrinks.
func (s *Service) consumeReservations(ctx context.Context, tx *store.Tx, orderID, sku, loc string, qty int64, late bool) ([]line, error) {
	rows, err := tx.Query(ctx, `SELECT `+reservationColumns+` FROM inventory_reservations
		WHERE order_id = $1 AND sku = $2 AND location_id = $3 AND status IN ($4, $5)
		ORDER BY CASE status WHEN $4 THEN 0 ELSE 1 END, created_at, id`, orderID, sku, loc, statusCommitted, statusHeld)
	if err != nil {
		return nil, err
	}
	var rs []reservation
	for rows.Next() {
		r, err := scanReservation(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	from := map[canonicalv1.InventoryState]int64{}
	remaining := qty
	now := s.now().UTC()
	for _, r := range rs {
		if remaining == 0 {
			break
		}
		take := min(r.quantity, remaining)
		remaining -= take
		state := reserved
		if r.status == statusCommitted {
			state = committed
		}
		from[state] += take
		// A fully shipped reservation keeps its quantity (what it held); one shipped in part keeps
		// holding the rest.
		status, keep := statusShipped, r.quantity
		if left := r.quantity - take; left > 0 {
			status, keep = r.status, left
		}
		if _, err := tx.Exec(ctx, `UPDATE inventory_reservations SET status = $1, quantity = $2, updated_at = $3 WHERE id = $4`,
			status, keep, now, r.id); err != nil {
			return nil, err
		}
	}
	lines := []line{{committed, -from[committed]}, {reserved, -from[reserved]}}
	if late {
		return append(lines, line{sellable, from[committed] + from[reserved]}), nil
	}
	return append(lines, line{sellable, -remaining}), nil
}
