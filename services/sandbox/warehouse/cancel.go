package warehouse

import "net/http"

// handleCancelOrder cancels an order the warehouse has not shipped: what was set aside goes
// back to available stock and the order's timers stop (they act only on open or acknowledged
// orders). Cancelling a cancelled order answers it again; a shipped order is refused with 409
// order_already_shipped.
func (s *Sandbox) handleCancelOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "order_not_found", "No such shipping order.", nil)
		return
	}
	switch o.status {
	case OrderShipped:
		writeError(w, http.StatusConflict, "order_already_shipped", "The order has shipped; it can no longer be cancelled.", nil)
		return
	case OrderAcknowledged:
		for i, l := range o.req.Lines {
			s.stock.move(o.req.LocationID, l.SKU, StateReserved, StateAvailable, o.reserved[i], s.now())
		}
	}
	o.status = OrderCancelled
	if !s.persistedLocked(w) {
		return
	}
	writeJSON(w, http.StatusOK, o.doc())
}

// OrderByReference is the id of the order placed under the client's shipment reference.
func (s *Sandbox) OrderByReference(reference string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.orderSeq {
		if o := s.orders[id]; o.req.Reference == reference {
			return id, true
		}
	}
	return "", false
}
