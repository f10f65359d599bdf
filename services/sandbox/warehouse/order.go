package warehouse

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Shipping order statuses.
const (
	OrderOpen         = "open"
	OrderAcknowledged = "acknowledged"
	OrderShipped      = "shipped"
	OrderCancelled    = "cancelled"
)

// DefaultCarrier ships orders that name none.
const DefaultCarrier = "UPS"

// shippingOrderRequest is the body of POST /v1/outbound/orders.
type shippingOrderRequest struct {
	// Reference is the client's shipment id; one order per reference.
	Reference  string      `json:"reference"`
	OrderID    string      `json:"order_id,omitempty"`
	LocationID string      `json:"location_id"`
	Carrier    string      `json:"carrier,omitempty"`
	ShipTo     address     `json:"ship_to"`
	Lines      []orderLine `json:"lines"`
}

type address struct {
	Name         string   `json:"name"`
	AddressLines []string `json:"address_lines"`
	City         string   `json:"city"`
	Region       string   `json:"region,omitempty"`
	PostalCode   string   `json:"postal_code,omitempty"`
	CountryCode  string   `json:"country_code"`
	Phone        string   `json:"phone,omitempty"`
}

type orderLine struct {
	OrderLineID string `json:"order_line_id,omitempty"`
	SKU         string `json:"sku"`
	Quantity    int64  `json:"quantity"`
}

type orderRec struct {
	id                                   string
	req                                  shippingOrderRequest
	status                               string
	createdAt, acknowledgedAt, shippedAt time.Time
	carrier, tracking                    string
	reserved                             []int64 // units set aside per line at acknowledgement
}

// orderDoc is a shipping order as the API and the webhooks show it.
type orderDoc struct {
	ID             string         `json:"id"`
	Reference      string         `json:"reference"`
	OrderID        string         `json:"order_id,omitempty"`
	LocationID     string         `json:"location_id"`
	Status         string         `json:"status"`
	CreatedAt      string         `json:"created_at"`
	AcknowledgedAt string         `json:"acknowledged_at,omitempty"`
	ShippedAt      string         `json:"shipped_at,omitempty"`
	Carrier        string         `json:"carrier"`
	TrackingNumber string         `json:"tracking_number,omitempty"`
	ShipTo         address        `json:"ship_to"`
	Lines          []orderLineDoc `json:"lines"`
}

type orderLineDoc struct {
	LineNumber      int    `json:"line_number"`
	OrderLineID     string `json:"order_line_id,omitempty"`
	SKU             string `json:"sku"`
	Quantity        int64  `json:"quantity"`
	ShippedQuantity int64  `json:"shipped_quantity"`
}

func (o *orderRec) doc() orderDoc {
	d := orderDoc{ID: o.id, Reference: o.req.Reference, OrderID: o.req.OrderID, LocationID: o.req.LocationID,
		Status: o.status, CreatedAt: formatTime(o.createdAt), AcknowledgedAt: formatTime(o.acknowledgedAt),
		ShippedAt: formatTime(o.shippedAt), Carrier: o.carrier, TrackingNumber: o.tracking, ShipTo: o.req.ShipTo}
	for i, l := range o.req.Lines {
		ld := orderLineDoc{LineNumber: i + 1, OrderLineID: l.OrderLineID, SKU: l.SKU, Quantity: l.Quantity}
		if o.status == OrderShipped {
			ld.ShippedQuantity = o.reserved[i]
		}
		d.Lines = append(d.Lines, ld)
	}
	return d
}

func (s *Sandbox) validateOrder(req shippingOrderRequest) []fieldDetail {
	var bad []fieldDetail
	if d := checkReference(req.Reference); d != "" {
		bad = append(bad, fieldDetail{"reference", d})
	}
	if d := s.validateLocation(req.LocationID); d != "" {
		bad = append(bad, fieldDetail{"location_id", d})
	}
	a := req.ShipTo
	if strings.TrimSpace(a.Name) == "" {
		bad = append(bad, fieldDetail{"ship_to.name", "required"})
	}
	if len(a.AddressLines) == 0 || strings.TrimSpace(a.AddressLines[0]) == "" {
		bad = append(bad, fieldDetail{"ship_to.address_lines", "at least one line"})
	}
	if strings.TrimSpace(a.City) == "" {
		bad = append(bad, fieldDetail{"ship_to.city", "required"})
	}
	if len(a.CountryCode) != 2 || strings.ToUpper(a.CountryCode) != a.CountryCode {
		bad = append(bad, fieldDetail{"ship_to.country_code", "an ISO 3166-1 alpha-2 code"})
	}
	if len(req.Lines) == 0 {
		bad = append(bad, fieldDetail{"lines", "at least one line"})
	}
	for i, l := range req.Lines {
		if strings.TrimSpace(l.SKU) == "" {
			bad = append(bad, fieldDetail{fmt.Sprintf("lines[%d].sku", i), "required"})
		}
		if l.Quantity < 1 {
			bad = append(bad, fieldDetail{fmt.Sprintf("lines[%d].quantity", i), "at least 1"})
		}
	}
	return bad
}

func (s *Sandbox) handleCreateOrder(w http.ResponseWriter, r *http.Request) {
	var req shippingOrderRequest
	if !decode(w, r, &req) {
		return
	}
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	if bad := s.validateOrder(req); len(bad) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "The request is invalid.", bad)
		return
	}
	fp := fingerprint(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, answered := s.dedupLocked(w, "order", key, req.Reference, fp)
	if answered {
		return
	}
	if id != "" {
		s.replayed.Add(1)
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, s.orders[id].doc())
		return
	}
	s.seq++
	o := &orderRec{id: fmt.Sprintf("SO-%06d", s.seq), req: req, status: OrderOpen, createdAt: s.now(), carrier: req.Carrier}
	if o.carrier == "" {
		o.carrier = DefaultCarrier
	}
	s.orders[o.id] = o
	s.orderSeq = append(s.orderSeq, o.id)
	s.rememberLocked("order", key, req.Reference, o.id, fp)
	s.created.orders++
	s.scheduleOrderLocked(o)
	if !s.persistedLocked(w) {
		return
	}
	writeJSON(w, http.StatusCreated, o.doc())
}

func (s *Sandbox) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "order_not_found", "No such shipping order.", nil)
		return
	}
	writeJSON(w, http.StatusOK, o.doc())
}

// scheduleOrderLocked arms the order's next auto-progress step.
func (s *Sandbox) scheduleOrderLocked(o *orderRec) {
	if s.manual || s.closed {
		return
	}
	var d time.Duration
	var step func()
	switch o.status {
	case OrderOpen:
		d, step = s.delays.Acknowledge, func() { _ = s.acknowledgeLocked(o) }
	case OrderAcknowledged:
		d, step = s.delays.Ship, func() { _ = s.shipLocked(o) }
	default:
		return
	}
	if d < 0 {
		return
	}
	s.startTimerLocked("order "+o.id, d, step)
}

// acknowledgeLocked accepts the order and sets aside what is available of each line.
func (s *Sandbox) acknowledgeLocked(o *orderRec) error {
	if o.status != OrderOpen {
		return &stateError{fmt.Sprintf("order %s is %s, not open", o.id, o.status)}
	}
	o.status, o.acknowledgedAt = OrderAcknowledged, s.now()
	o.reserved = make([]int64, len(o.req.Lines))
	for i, l := range o.req.Lines {
		o.reserved[i] = s.stock.move(o.req.LocationID, l.SKU, StateAvailable, StateReserved, l.Quantity, o.acknowledgedAt)
	}
	s.emitLocked(TopicShipmentAcknowledged, o.id, o.doc())
	s.scheduleOrderLocked(o)
	return nil
}

// shipLocked ships what was set aside; a short line ships short.
func (s *Sandbox) shipLocked(o *orderRec) error {
	if o.status != OrderAcknowledged {
		return &stateError{fmt.Sprintf("order %s is %s, not acknowledged", o.id, o.status)}
	}
	o.status, o.shippedAt = OrderShipped, s.now()
	o.tracking = s.tracking.next()
	for i, l := range o.req.Lines {
		s.stock.move(o.req.LocationID, l.SKU, StateReserved, "", o.reserved[i], o.shippedAt)
	}
	s.emitLocked(TopicShipmentShipped, o.id, o.doc())
	return nil
}

// trackingNumbers makes UPS-style tracking numbers from the seed.
type trackingNumbers struct{ rng *rand.Rand }

func newTrackingNumbers(seed uint64) *trackingNumbers {
	return &trackingNumbers{rng: rand.New(rand.NewPCG(seed, 5))}
}

func (t *trackingNumbers) next() string {
	const chars = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	var b strings.Builder
	b.WriteString("1Z")
	for range 16 {
		b.WriteByte(chars[t.rng.IntN(len(chars))])
	}
	return b.String()
}
