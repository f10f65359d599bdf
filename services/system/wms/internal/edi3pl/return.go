package edi3pl

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// Return conditions in a 180's RDR01, per the partner agreement.
var returnConditions = map[string]canonicalv1.ItemCondition{
	"RS": canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE,
	"DM": canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED,
	"WM": canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING,
}

// to180 is the return authorisation announcing ret at location: BGN02 carries the return id
// (the 3PL echoes it in its notifications), N9*RA the RMA number, PRF01 the order id, N1*WH the
// receiving location, and per line BLI (SKU under qualifier SK, quantity, "EA") and N9*LI the
// order line id.
func to180(ret *canonicalv1.Return, location string, at time.Time) x12.NewSet {
	d, t := dateElems(at)
	body := []x12.Segment{x12.Seg("BGN", "00", ret.GetId(), d, t)}
	if rma := ret.GetRmaNumber(); rma != "" {
		body = append(body, x12.Seg("N9", "RA", rma))
	}
	body = append(body, x12.Seg("PRF", ret.GetOrderId()), x12.Seg("N1", "WH", location, "91", location))
	for _, l := range ret.GetLines() {
		body = append(body, x12.Seg("BLI", "SK", l.GetSku(), strconv.Itoa(int(l.GetQuantity())), "EA"))
		if id := l.GetOrderLineId(); id != "" {
			body = append(body, x12.Seg("N9", "LI", id))
		}
	}
	return x12.NewSet{Type: "180", Body: body}
}

// returnNotice is a 180 the 3PL sent: a return received, or inspected when its lines carry RDR.
type returnNotice struct {
	ret       *canonicalv1.Return
	location  string
	inspected bool
	at        *timestamppb.Timestamp
}

// from180 reads a return notification: BGN02 is our return id (mandatory), N9*RA the RMA
// number, the first PRF01 the order id, N1*WH the location, DTM*050 when it was received (BGN03
// and BGN04 otherwise), and per BLI (the product after its qualifier, the quantity) the
// order line id (N9*LI) and the condition found (RDR01).
func from180(s *x12.Set, d x12.Delimiters) (*returnNotice, x12.Verdict, error) {
	r := newSetReader(s, d)
	n := &returnNotice{ret: &canonicalv1.Return{}}
	var line *canonicalv1.ReturnLine
	seenBGN := false
	r.each(func(pos int, seg x12.Segment) {
		switch seg.Tag {
		case "BGN":
			seenBGN = true
			n.ret.Id = r.required(pos, seg, 2)
			n.at = when(seg.E(3), seg.E(4))
		case "N9":
			switch {
			case seg.E(1) == "RA":
				n.ret.RmaNumber = seg.E(2)
			case seg.E(1) == "LI" && line != nil:
				line.OrderLineId = seg.E(2)
			}
		case "PRF":
			if n.ret.OrderId == "" {
				n.ret.OrderId = seg.E(1)
			}
		case "N1":
			if seg.E(1) == "WH" {
				n.location = seg.E(4)
			}
		case "DTM":
			if seg.E(1) == "050" {
				n.at = when(seg.E(2), seg.E(3))
			}
		case "BLI":
			line = &canonicalv1.ReturnLine{Sku: r.required(pos, seg, 2)}
			if q, ok := r.quantity(pos, seg, 3); ok {
				line.Quantity = int32(q)
			}
			n.ret.Lines = append(n.ret.Lines, line)
		case "RDR":
			if line == nil {
				r.reject(pos, seg, 1, elemMandatory)
				return
			}
			n.inspected = true
			c, ok := returnConditions[seg.E(1)]
			if !ok {
				r.note(pos, seg, 1, elemInvalidCode)
			}
			line.Condition = c
		}
	})
	if !seenBGN {
		r.missing("BGN")
	}
	if len(n.ret.Lines) == 0 {
		r.missing("BLI")
	}
	n.ret.State, n.ret.UpdatedAt = "received", n.at
	if n.inspected {
		n.ret.State = "inspected"
	}
	return n, r.verdict, r.err()
}
