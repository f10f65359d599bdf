package edi3pl

import (
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// quantityStates maps 846 QTY01 qualifiers to inventory states, as the partner agreement
// lists them: 33 available for sale, 17 on hand, QH on hold (held for quality control).
// Other qualifiers are noted in the 997 and left out.
var quantityStates = map[string]canonicalv1.InventoryState{
	"33": canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE,
	"17": canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND,
	"QH": canonicalv1.InventoryState_INVENTORY_STATE_QUALITY_CONTROL,
}

// from846 reads an inventory advice: one position per LIN (the SKU after qualifier SK, else
// LIN03) at the warehouse N1*WH names (N104; defaultLocation when there is none), with a
// quantity per QTY, as of BIA04/BIA05 (DTM*007 when given).
func from846(s *x12.Set, d x12.Delimiters, defaultLocation string) ([]*canonicalv1.InventoryPosition, x12.Verdict, error) {
	r := newSetReader(s, d)
	location := defaultLocation
	var asOf *timestamppb.Timestamp
	var out []*canonicalv1.InventoryPosition
	var cur *canonicalv1.InventoryPosition
	seenBIA := false
	r.each(func(pos int, seg x12.Segment) {
		switch seg.Tag {
		case "BIA":
			seenBIA = true
			asOf = when(seg.E(4), seg.E(5))
		case "DTM":
			if seg.E(1) == "007" {
				if t := when(seg.E(2), seg.E(3)); t != nil {
					asOf = t
				}
			}
		case "N1":
			if seg.E(1) == "WH" && seg.E(4) != "" {
				location = seg.E(4)
			}
		case "LIN":
			cur = &canonicalv1.InventoryPosition{Sku: productID(seg)}
			if cur.Sku == "" {
				r.reject(pos, seg, 3, elemMandatory)
			}
			out = append(out, cur)
		case "QTY":
			if cur == nil {
				r.reject(pos, seg, 0, elemMandatory)
				return
			}
			state, ok := quantityStates[seg.E(1)]
			if !ok {
				r.note(pos, seg, 1, elemInvalidCode)
				return
			}
			if q, ok := r.quantity(pos, seg, 2); ok {
				cur.Quantities = append(cur.Quantities, &canonicalv1.InventoryQuantity{State: state, Quantity: q})
			}
		}
	})
	if !seenBIA {
		r.missing("BIA")
	}
	if location == "" {
		r.missing("N1")
	}
	for _, p := range out {
		p.LocationId, p.AsOf = location, asOf
	}
	return out, r.verdict, r.err()
}

// movement is what a 947 W19 reason code does to stock, per the partner agreement.
type movement struct {
	from, to canonicalv1.InventoryState
	received bool // a receipt: WMS_INVENTORY_RECEIVED rather than ADJUSTED
	delta    bool // the quantity is signed: positive found (into "to"), negative lost (out of "from")
}

var (
	sellable   = canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE
	damaged    = canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED
	qc         = canonicalv1.InventoryState_INVENTORY_STATE_QUALITY_CONTROL
	noState    = canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED
	adjReasons = map[string]movement{
		"01": {from: sellable, to: damaged},               // damaged in the warehouse
		"07": {from: sellable, to: qc},                    // put on hold
		"55": {from: qc, to: sellable},                    // released from hold
		"AA": {from: sellable, to: sellable, delta: true}, // physical count correction
		"05": {to: sellable, received: true},              // received into stock
	}
)

// adjustment is one 947 line, with the event type it becomes.
type adjustment struct {
	adj      *canonicalv1.InventoryAdjustment
	received bool
}

// from947 reads a warehouse inventory adjustment advice: W15 (W1501 date, W1502 the
// adjustment number, mandatory), the location from N1*WH (N104; defaultLocation otherwise), and
// per LX loop a W19 (W1901 reason, W1902 quantity, W1906 the SKU). Each line's
// source_record_id is "<adjustment number>/<LX number>", so a re-sent advice moves nothing
// twice.
func from947(s *x12.Set, d x12.Delimiters, defaultLocation string) ([]adjustment, x12.Verdict, error) {
	r := newSetReader(s, d)
	location, number, lx := defaultLocation, "", ""
	var at *timestamppb.Timestamp
	var out []adjustment
	seenW15 := false
	r.each(func(pos int, seg x12.Segment) {
		switch seg.Tag {
		case "W15":
			seenW15 = true
			at, number = when(seg.E(1), ""), r.required(pos, seg, 2)
		case "N1":
			if seg.E(1) == "WH" && seg.E(4) != "" {
				location = seg.E(4)
			}
		case "LX":
			lx = seg.E(1)
		case "W19":
			m, ok := adjReasons[seg.E(1)]
			if !ok {
				r.note(pos, seg, 1, elemInvalidCode)
				return
			}
			q, ok := r.quantity(pos, seg, 2)
			sku := r.required(pos, seg, 6)
			if !ok {
				return
			}
			a := &canonicalv1.InventoryAdjustment{Sku: sku, FromState: m.from, ToState: m.to, Quantity: q,
				Reason: "edi_947_" + seg.E(1), SourceRecordId: number + "/" + orPosition(lx, pos)}
			if m.delta {
				a.FromState, a.ToState = noState, m.to
				if q < 0 {
					a.FromState, a.ToState, a.Quantity = m.from, noState, -q
				}
			} else if q < 0 {
				a.Quantity = -q
			}
			out = append(out, adjustment{adj: a, received: m.received})
		}
	})
	if !seenW15 {
		r.missing("W15")
	}
	for _, a := range out {
		a.adj.LocationId, a.adj.OccurredAt = location, at
	}
	return out, r.verdict, r.err()
}

// orPosition is the LX number, or the W19's position in the set when there is no LX.
func orPosition(lx string, pos int) string {
	if lx != "" {
		return lx
	}
	return "pos" + strconv.Itoa(pos)
}
