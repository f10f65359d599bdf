package warehouse

import (
	"fmt"
	"net/http"
	"slices"
)

// Stock movement webhook topics: what a warehouse tells its clients about stock it received,
// adjusted or counted (a 3PL sends the same facts as EDI 944/947/846).
const (
	TopicInventoryReceived = "inventory.received"
	TopicInventoryAdjusted = "inventory.adjusted"
	TopicInventoryCounted  = "inventory.counted"
)

// stockStates are the states a movement or count may name.
var stockStates = []string{StateAvailable, StateReserved, StateDamaged, StateQualityControl, StateIncoming, StateSafetyStock}

// movementDoc is a receipt or adjustment as the movement webhooks carry it: units leave
// from_state ("" when they arrive) and enter to_state ("" when they leave the books).
type movementDoc struct {
	ID         string `json:"id"`
	SKU        string `json:"sku"`
	LocationID string `json:"location_id"`
	FromState  string `json:"from_state,omitempty"`
	ToState    string `json:"to_state,omitempty"`
	Quantity   int64  `json:"quantity"`
	Reason     string `json:"reason,omitempty"`
	OccurredAt string `json:"occurred_at"`
}

// countDoc is a cycle count: the position as counted, with the count's id.
type countDoc struct {
	ID string `json:"id"`
	positionDoc
}

// StockMovement is a receipt or an adjustment asked for through the control API.
type StockMovement struct {
	SKU        string `json:"sku"`
	LocationID string `json:"location_id"`
	FromState  string `json:"from_state"`
	ToState    string `json:"to_state"`
	Quantity   int64  `json:"quantity"`
	Reason     string `json:"reason"`
}

// ReceiveStock books units arriving at a location (a purchase or transfer receipt) into
// available, and announces it; it returns the receipt's id.
func (s *Sandbox) ReceiveStock(loc, sku string, qty int64) (string, error) {
	return s.moveStock(TopicInventoryReceived, StockMovement{SKU: sku, LocationID: loc, ToState: StateAvailable, Quantity: qty, Reason: "receipt"})
}

// AdjustStock moves units between states (or into or out of the books), and announces it; it
// returns the adjustment's id.
func (s *Sandbox) AdjustStock(m StockMovement) (string, error) {
	return s.moveStock(TopicInventoryAdjusted, m)
}

func (s *Sandbox) moveStock(topic string, m StockMovement) (string, error) {
	if err := s.checkMovement(m); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	moved := s.stock.move(m.LocationID, m.SKU, m.FromState, m.ToState, m.Quantity, now)
	if moved == 0 {
		return "", &stateError{fmt.Sprintf("no %s units of %s at %s to move", m.FromState, m.SKU, m.LocationID)}
	}
	s.created.movements++
	id := fmt.Sprintf("MV-%06d", s.created.movements)
	s.emitLocked(topic, id, movementDoc{ID: id, SKU: m.SKU, LocationID: m.LocationID, FromState: m.FromState,
		ToState: m.ToState, Quantity: moved, Reason: m.Reason, OccurredAt: formatTime(now)})
	return id, nil
}

func (s *Sandbox) checkMovement(m StockMovement) error {
	if m.SKU == "" || m.Quantity <= 0 || (m.FromState == "" && m.ToState == "") {
		return &stateError{"a movement needs a SKU, a positive quantity and a state"}
	}
	if msg := s.validateLocation(m.LocationID); msg != "" {
		return &stateError{msg}
	}
	for _, st := range []string{m.FromState, m.ToState} {
		if st != "" && !slices.Contains(stockStates, st) {
			return &stateError{fmt.Sprintf("unknown state %q", st)}
		}
	}
	return nil
}

// CountStock records a cycle count: the position becomes exactly counted (states left out are
// zero), and the count is announced with the position as counted; it returns the count's id.
func (s *Sandbox) CountStock(loc, sku string, counted map[string]int64) (string, error) {
	if msg := s.validateLocation(loc); msg != "" || sku == "" {
		return "", &stateError{"a count needs a known location and a SKU"}
	}
	for st, n := range counted {
		if !slices.Contains(stockStates, st) || n < 0 {
			return "", &stateError{fmt.Sprintf("bad count %q=%d", st, n)}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	p := s.stock.get(loc, sku, now)
	p.qty = map[string]int64{}
	for st, n := range counted {
		p.qty[st] = n
	}
	p.version++
	p.updatedAt = now
	s.created.movements++
	id := fmt.Sprintf("CC-%06d", s.created.movements)
	s.emitLocked(TopicInventoryCounted, id, countDoc{ID: id, positionDoc: p.doc()})
	return id, nil
}

// doc is the position as the API shows it.
func (p *position) doc() positionDoc {
	qty := make(map[string]int64, len(p.qty))
	for st, n := range p.qty {
		if n != 0 {
			qty[st] = n
		}
	}
	return positionDoc{SKU: p.sku, LocationID: p.location, Quantities: qty, Version: p.version, UpdatedAt: formatTime(p.updatedAt)}
}

// stockRoutes adds the stock control endpoints:
//
//	POST /_sandbox/warehouse/stock/receive  {"sku","location_id","quantity"}
//	POST /_sandbox/warehouse/stock/adjust   {"sku","location_id","from_state","to_state","quantity","reason"}
//	POST /_sandbox/warehouse/stock/count    {"sku","location_id","quantities":{"available":3}}
func (s *Sandbox) stockRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+controlPrefix+"stock/{action}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			StockMovement
			Quantities map[string]int64 `json:"quantities"`
		}
		if !decode(w, r, &body) {
			return
		}
		var id string
		var err error
		switch r.PathValue("action") {
		case "receive":
			id, err = s.ReceiveStock(body.LocationID, body.SKU, body.Quantity)
		case "adjust":
			id, err = s.AdjustStock(body.StockMovement)
		case "count":
			id, err = s.CountStock(body.LocationID, body.SKU, body.Quantities)
		default:
			writeError(w, http.StatusNotFound, "route_not_found", "No such endpoint.", nil)
			return
		}
		s.answerControl(w, err, func() any { return map[string]string{"id": id} })
	})
}
