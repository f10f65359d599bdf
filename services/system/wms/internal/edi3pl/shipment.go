package edi3pl

import (
	"strconv"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/x12"
)

// Functional group codes (GS01) of the sets this connector exchanges.
const (
	groupShippingOrder  = "OW" // 940
	groupShippingAdvice = "SW" // 945
	groupShipNotice     = "SH" // 856
	groupInventory      = "IB" // 846
	groupAdjustment     = "AW" // 947
	groupReturn         = "AN" // 180
)

// to940 is the warehouse shipping order for s: W05 carries the shipment id as the depositor
// order number (the 3PL echoes it in the 945's W0602 and the 856's REF*DO) and the order id as
// the purchase order number; N1*ST/N3/N4 the ship-to address; N1*WH the shipping location; W66
// the carrier; per line LX, W01 (quantity, "EA", SKU under qualifier SK) and N9*LI with the
// order line id; W76 the total.
func to940(s *canonicalv1.Shipment) x12.NewSet {
	a := s.GetToAddress()
	body := []x12.Segment{x12.Seg("W05", "N", s.GetId(), s.GetOrderId()), x12.Seg("N1", "ST", a.GetName())}
	if lines := a.GetLines(); len(lines) > 0 {
		body = append(body, x12.Seg("N3", lines[:min(2, len(lines))]...))
	}
	body = append(body, x12.Seg("N4", a.GetCity(), a.GetRegion(), a.GetPostalCode(), a.GetCountryCode()))
	if p := a.GetPhone(); p != "" {
		body = append(body, x12.Seg("PER", "IC", a.GetName(), "TE", p))
	}
	body = append(body, x12.Seg("N1", "WH", s.GetFromLocationId(), "91", s.GetFromLocationId()))
	if c := s.GetCarrier(); c != "" {
		body = append(body, x12.Seg("W66", "PP", "M", "", "", c))
	}
	var total int64
	for i, l := range s.GetLines() {
		body = append(body, x12.Seg("LX", strconv.Itoa(i+1)),
			x12.Seg("W01", strconv.Itoa(int(l.GetQuantity())), "EA", "", "SK", l.GetSku()))
		if id := l.GetOrderLineId(); id != "" {
			body = append(body, x12.Seg("N9", "LI", id))
		}
		total += int64(l.GetQuantity())
	}
	body = append(body, x12.Seg("W76", strconv.FormatInt(total, 10)))
	return x12.NewSet{Type: "940", Body: body}
}

// from945 reads a warehouse shipping advice: what shipped of one shipping order. W0602 (the
// depositor order number: our shipment id) is mandatory; W0606 is the order id; G62*11 when it
// shipped (W0603 otherwise); W27 the carrier (W2702); N9*CN, or else a line's N9*2I, the
// tracking number; N1*WH/SF the location and N1*ST/N3/N4 the address; per LX loop W12 (W1203
// shipped, W1208 the SKU) and N9*LI the order line id.
func from945(s *x12.Set, d x12.Delimiters) (*canonicalv1.Shipment, x12.Verdict, error) {
	r := newSetReader(s, d)
	sh := &canonicalv1.Shipment{Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT}
	var line *canonicalv1.ShipmentLine
	var lineTracking, party string
	seenW06 := false
	r.each(func(pos int, seg x12.Segment) {
		switch seg.Tag {
		case "W06":
			seenW06 = true
			sh.Id, sh.OrderId = r.required(pos, seg, 2), seg.E(6)
			if sh.ShippedAt == nil {
				sh.ShippedAt = when(seg.E(3), "")
			}
		case "N1":
			party = address(sh, seg, &sh.FromLocationId)
		case "N3", "N4":
			if party == "ST" {
				addressLine(sh.ToAddress, seg)
			}
		case "G62":
			if seg.E(1) == "11" {
				sh.ShippedAt = when(seg.E(2), seg.E(4))
			}
		case "W27":
			sh.Carrier = seg.E(2)
		case "N9":
			switch {
			case seg.E(1) == "CN" && line == nil:
				sh.TrackingNumber = seg.E(2)
			case seg.E(1) == "2I" && lineTracking == "":
				lineTracking = seg.E(2)
			case seg.E(1) == "LI" && line != nil:
				line.OrderLineId = seg.E(2)
			}
		case "LX":
			line = &canonicalv1.ShipmentLine{}
			sh.Lines = append(sh.Lines, line)
		case "W12":
			if line == nil {
				line = &canonicalv1.ShipmentLine{}
				sh.Lines = append(sh.Lines, line)
			}
			if q, ok := r.quantity(pos, seg, 3); ok {
				line.Quantity = int32(q)
			}
			line.Sku = r.required(pos, seg, 8)
		}
	})
	if !seenW06 {
		r.missing("W06")
	}
	if len(sh.Lines) == 0 {
		r.missing("W12")
	}
	if sh.TrackingNumber == "" {
		sh.TrackingNumber = lineTracking
	}
	return sh, r.verdict, r.err()
}

// address reads an N1: the ship-to party starts the address, a warehouse or ship-from party
// names the location (N104). It returns the party code, which the following N3/N4 belong to.
func address(sh *canonicalv1.Shipment, seg x12.Segment, location *string) string {
	switch seg.E(1) {
	case "ST":
		sh.ToAddress = &canonicalv1.Address{Name: seg.E(2)}
	case "WH", "SF":
		if *location == "" {
			*location = seg.E(4)
		}
	}
	return seg.E(1)
}

func addressLine(a *canonicalv1.Address, seg x12.Segment) {
	if seg.Tag == "N3" {
		a.Lines = append(a.Lines, nonEmpty(seg.Elems)...)
		return
	}
	a.City, a.Region, a.PostalCode, a.CountryCode = seg.E(1), seg.E(2), seg.E(3), seg.E(4)
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// from856 reads a ship notice: one shipment per order level (HL*O). The shipment level gives the
// carrier (TD503), the tracking number (REF*CN), when it shipped (DTM*011) and the addresses;
// each order level its order id (PRF01) and our shipment id (REF*DO, mandatory); each item
// level the SKU (LIN, the id after qualifier SK, else LIN03), the order line id (LIN01) and the
// quantity shipped (SN102). Items belong to the order level before them.
func from856(s *x12.Set, d x12.Delimiters) ([]*canonicalv1.Shipment, x12.Verdict, error) {
	r := newSetReader(s, d)
	head := &canonicalv1.Shipment{Status: canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT}
	var out []*canonicalv1.Shipment
	var cur *canonicalv1.Shipment
	var curPos int
	var curSeg x12.Segment
	var line *canonicalv1.ShipmentLine
	level, party := "", ""
	closeOrder := func() {
		if cur != nil && cur.Id == "" {
			r.reject(curPos, curSeg, 3, elemMandatory) // the order level has no REF*DO
		}
	}
	r.each(func(pos int, seg x12.Segment) {
		switch seg.Tag {
		case "HL":
			level = seg.E(3)
			if level == "O" {
				closeOrder()
				cur, curPos, curSeg, line = &canonicalv1.Shipment{}, pos, seg, nil
				out = append(out, cur)
			}
		case "TD5":
			if level == "S" && seg.E(3) != "" {
				head.Carrier = seg.E(3)
			}
		case "REF":
			switch {
			case seg.E(1) == "CN" && level == "S":
				head.TrackingNumber = seg.E(2)
			case seg.E(1) == "DO" && cur != nil:
				cur.Id = seg.E(2)
			}
		case "DTM":
			if seg.E(1) == "011" {
				head.ShippedAt = when(seg.E(2), seg.E(3))
			}
		case "N1":
			if level == "S" {
				party = address(head, seg, &head.FromLocationId)
			}
		case "N3", "N4":
			if level == "S" && party == "ST" {
				addressLine(head.ToAddress, seg)
			}
		case "PRF":
			if cur != nil {
				cur.OrderId = seg.E(1)
			}
		case "LIN":
			if cur == nil {
				r.reject(pos, seg, 0, elemMandatory)
				return
			}
			line = &canonicalv1.ShipmentLine{OrderLineId: seg.E(1), Sku: productID(seg)}
			cur.Lines = append(cur.Lines, line)
		case "SN1":
			if line != nil {
				if q, ok := r.quantity(pos, seg, 2); ok {
					line.Quantity = int32(q)
				}
			}
		}
	})
	closeOrder()
	if len(out) == 0 {
		r.missing("HL")
	}
	for _, o := range out {
		o.Carrier, o.TrackingNumber, o.ShippedAt, o.Status = head.Carrier, head.TrackingNumber, head.ShippedAt, head.Status
		o.FromLocationId, o.ToAddress = head.FromLocationId, head.ToAddress
	}
	return out, r.verdict, r.err()
}

// productID is a LIN's product: the id after qualifier SK (SKU), else the first one (LIN03).
func productID(seg x12.Segment) string {
	for i := 2; i+1 <= len(seg.Elems); i += 2 {
		if seg.E(i) == "SK" {
			return seg.E(i + 1)
		}
	}
	return seg.E(3)
}
