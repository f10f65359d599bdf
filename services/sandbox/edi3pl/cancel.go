package edi3pl

// cancelLocked takes a cancelling 940 (W05-01 "F"): an order not yet shipped is stopped and
// never shipped; a shipped one stays shipped (its 945 went out; the depositor learns it from
// that), as a 3PL cannot unship a parcel. Either way the 940 itself is acknowledged by the 997.
func (s *Sandbox) cancelLocked(shipmentID string) {
	if o, ok := s.orders[shipmentID]; ok && !o.Shipped {
		o.Cancelled = true
	}
}
