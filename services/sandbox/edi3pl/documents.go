package edi3pl

import (
	"errors"
	"strconv"
	"time"

	"github.com/retailbridge/retailbridge/pkg/x12"
)

// ErrNotFound is returned for an unknown order or return.
var ErrNotFound = errors.New("edi3pl sandbox: not found")

// Ship ships an order now: a 945 (and an 856 when Send856 is on).
func (s *Sandbox) Ship(shipmentID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[shipmentID]
	if !ok {
		return ErrNotFound
	}
	if s.faults.Silent || o.Shipped || o.Cancelled {
		return nil
	}
	o.Shipped = true
	now := time.Now().UTC()
	d, t := now.Format("20060102"), now.Format("1504")
	tracking := "1Z" + o.ShipmentID
	body := []x12.Segment{x12.Seg("W06", "F", o.ShipmentID, d, "WHS-"+o.ShipmentID, "", o.OrderID),
		x12.Seg("N1", "WH", "ACME 3PL", "91", o.Location), x12.Seg("G62", "11", d, "W", t),
		x12.Seg("W27", "M", "UPSN"), x12.Seg("N9", "CN", tracking)}
	var total int64
	for i, l := range o.Lines {
		q := strconv.FormatInt(l.Quantity, 10)
		body = append(body, x12.Seg("LX", strconv.Itoa(i+1)), x12.Seg("W12", "CL", q, q, "0", "EA", "", "SK", l.SKU))
		if l.OrderLineID != "" {
			body = append(body, x12.Seg("N9", "LI", l.OrderLineID))
		}
		total += l.Quantity
	}
	body = append(body, x12.Seg("W03", strconv.FormatInt(total, 10)))
	if err := s.sendLocked("945", "SW", x12.NewSet{Type: "945", Body: body}); err != nil {
		return err
	}
	if !s.faults.Send856 {
		return nil
	}
	asn := []x12.Segment{x12.Seg("BSN", "00", "ASN-"+o.ShipmentID, d, t), x12.Seg("HL", "1", "", "S"),
		x12.Seg("TD5", "", "2", "UPSN"), x12.Seg("REF", "CN", tracking), x12.Seg("DTM", "011", d, t),
		x12.Seg("N1", "SF", "ACME 3PL", "91", o.Location), x12.Seg("HL", "2", "1", "O"), x12.Seg("PRF", o.OrderID),
		x12.Seg("REF", "DO", o.ShipmentID)}
	for i, l := range o.Lines {
		asn = append(asn, x12.Seg("HL", strconv.Itoa(i+3), "2", "I"), x12.Seg("LIN", l.OrderLineID, "SK", l.SKU),
			x12.Seg("SN1", "", strconv.FormatInt(l.Quantity, 10), "EA"))
	}
	asn = append(asn, x12.Seg("CTT", strconv.Itoa(len(o.Lines)+2)))
	return s.sendLocked("856", "SH", x12.NewSet{Type: "856", Body: asn})
}

// Receive records a return's arrival now (a 180 with DTM*050) and arms its inspection.
func (s *Sandbox) Receive(returnID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.returns[returnID]
	if !ok {
		return ErrNotFound
	}
	if s.faults.Silent || r.Received {
		return nil
	}
	r.Received = true
	if err := s.sendLocked("180", "AN", s.notice180(r, false)); err != nil {
		return err
	}
	if s.opts.Delays.Inspect >= 0 {
		s.afterLocked(s.opts.Delays.Inspect, func() { s.Inspect(returnID, nil) })
	}
	return nil
}

// Inspect grades a received return now (a 180 whose lines carry RDR): Options.Condition unless
// conditions names another code ("RS", "DM", "WM") for a line index.
func (s *Sandbox) Inspect(returnID string, conditions map[int]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.returns[returnID]
	if !ok {
		return ErrNotFound
	}
	if s.faults.Silent || r.Inspected {
		return nil
	}
	r.Inspected = true
	for i := range r.Lines {
		r.Lines[i].Condition = s.opts.Condition
		if c, ok := conditions[i]; ok {
			r.Lines[i].Condition = c
		}
	}
	return s.sendLocked("180", "AN", s.notice180(r, true))
}

func (s *Sandbox) notice180(r *Return, inspected bool) x12.NewSet {
	now := time.Now().UTC()
	d, t := now.Format("20060102"), now.Format("1504")
	body := []x12.Segment{x12.Seg("BGN", "00", r.ReturnID, d, t)}
	if r.RMA != "" {
		body = append(body, x12.Seg("N9", "RA", r.RMA))
	}
	body = append(body, x12.Seg("PRF", r.OrderID), x12.Seg("N1", "WH", "ACME 3PL", "91", r.Location), x12.Seg("DTM", "050", d, t))
	for _, l := range r.Lines {
		body = append(body, x12.Seg("BLI", "SK", l.SKU, strconv.FormatInt(l.Quantity, 10), "EA"))
		if l.OrderLineID != "" {
			body = append(body, x12.Seg("N9", "LI", l.OrderLineID))
		}
		if inspected {
			body = append(body, x12.Seg("RDR", l.Condition))
		}
	}
	return x12.NewSet{Type: "180", Body: body}
}

// Stock is one SKU's quantities for an 846: available for sale, on hold.
type Stock struct {
	SKU             string
	Available, Hold int64
}

// SendInventory sends an 846 inventory advice for the warehouse's location.
func (s *Sandbox) SendInventory(stock ...Stock) error {
	return s.SendInventoryAt(s.opts.Location, stock...)
}

// SendInventoryAt sends an 846 inventory advice for one location.
func (s *Sandbox) SendInventoryAt(location string, stock ...Stock) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	body := []x12.Segment{x12.Seg("BIA", "00", "MM", "INV-"+now.Format("20060102150405"), now.Format("20060102"), now.Format("1504")),
		x12.Seg("N1", "WH", "ACME 3PL", "91", location)}
	for i, st := range stock {
		body = append(body, x12.Seg("LIN", strconv.Itoa(i+1), "SK", st.SKU),
			x12.Seg("QTY", "33", strconv.FormatInt(st.Available, 10)), x12.Seg("QTY", "QH", strconv.FormatInt(st.Hold, 10)))
	}
	return s.sendLocked("846", "IB", x12.NewSet{Type: "846", Body: body})
}

// Movement is one 947 line: a reason code ("01" damaged, "07" hold, "55" release, "AA" count
// correction, "05" receipt), a quantity and a SKU.
type Movement struct {
	Reason   string
	Quantity int64
	SKU      string
}

// SendAdjustment sends a 947 warehouse inventory adjustment advice numbered number.
func (s *Sandbox) SendAdjustment(number string, moves ...Movement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	body := []x12.Segment{x12.Seg("W15", time.Now().UTC().Format("20060102"), number),
		x12.Seg("N1", "WH", "ACME 3PL", "91", s.opts.Location)}
	for i, m := range moves {
		body = append(body, x12.Seg("LX", strconv.Itoa(i+1)),
			x12.Seg("W19", m.Reason, strconv.FormatInt(m.Quantity, 10), "EA", "", "SK", m.SKU))
	}
	return s.sendLocked("947", "AW", x12.NewSet{Type: "947", Body: body})
}
