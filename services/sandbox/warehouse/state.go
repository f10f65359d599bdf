package warehouse

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/state"
	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// world is the warehouse as it is kept in the state file: receipts, shipping orders, stock, the
// references and idempotency keys already claimed, and the id counter, so that a restarted
// warehouse neither forgets a parcel nor issues an id a previous run issued.
type world struct {
	Seq      int64            `json:"seq"`
	Receipts []receiptState   `json:"receipts"`
	Orders   []orderState     `json:"orders"`
	Claims   map[string]claim `json:"claims"`      // "<kind> <reference>" → create
	Idem     map[string]claim `json:"idempotency"` // "<kind> <key>" → create
	Stock    []positionState  `json:"stock"`
	Created  map[string]int64 `json:"created"`
	// Webhooks are the webhooks still owed to the receiver; a restarted warehouse goes on
	// delivering them.
	Webhooks []webhooks.Delivery `json:"webhooks,omitempty"`
}

type receiptState struct {
	ID          string              `json:"id"`
	Request     expectReturnRequest `json:"request"`
	Status      string              `json:"status"`
	CreatedAt   time.Time           `json:"created_at"`
	ReceivedAt  time.Time           `json:"received_at"`
	InspectedAt time.Time           `json:"inspected_at"`
	Received    []int64             `json:"received,omitempty"`
	Conditions  []string            `json:"conditions,omitempty"`
}

type orderState struct {
	ID             string               `json:"id"`
	Request        shippingOrderRequest `json:"request"`
	Status         string               `json:"status"`
	CreatedAt      time.Time            `json:"created_at"`
	AcknowledgedAt time.Time            `json:"acknowledged_at"`
	ShippedAt      time.Time            `json:"shipped_at"`
	Carrier        string               `json:"carrier"`
	Tracking       string               `json:"tracking,omitempty"`
	Reserved       []int64              `json:"reserved,omitempty"`
}

type claim struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fingerprint"`
}

type positionState struct {
	SKU       string           `json:"sku"`
	Location  string           `json:"location"`
	Qty       map[string]int64 `json:"qty"`
	Version   int64            `json:"version"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// snapshotLocked captures the world; the caller holds mu.
func (s *Sandbox) snapshotLocked() world {
	w := world{Seq: s.seq, Claims: map[string]claim{}, Idem: map[string]claim{},
		Created: map[string]int64{"receipts": s.created.receipts, "orders": s.created.orders, "webhooks": s.created.webhooks}}
	for _, id := range s.receiptSeq {
		r := s.receipts[id]
		w.Receipts = append(w.Receipts, receiptState{ID: r.id, Request: r.req, Status: r.status, CreatedAt: r.createdAt,
			ReceivedAt: r.receivedAt, InspectedAt: r.inspectedAt, Received: r.received, Conditions: r.conditions})
	}
	for _, id := range s.orderSeq {
		o := s.orders[id]
		w.Orders = append(w.Orders, orderState{ID: o.id, Request: o.req, Status: o.status, CreatedAt: o.createdAt,
			AcknowledgedAt: o.acknowledgedAt, ShippedAt: o.shippedAt, Carrier: o.carrier, Tracking: o.tracking, Reserved: o.reserved})
	}
	for k, r := range s.byRef {
		w.Claims[k] = claim{ID: r.id, Fingerprint: hex.EncodeToString(r.fingerprint[:])}
	}
	for k, r := range s.idem.All {
		w.Idem[k] = claim{ID: r.id, Fingerprint: hex.EncodeToString(r.fingerprint[:])}
	}
	w.Webhooks = s.hooks.Pending()
	for _, k := range s.stock.keys {
		p := s.stock.byKey[k]
		w.Stock = append(w.Stock, positionState{SKU: p.sku, Location: p.location, Qty: p.qty, Version: p.version, UpdatedAt: p.updatedAt})
	}
	return w
}

// restoreLocked replaces the warehouse with w and re-arms the auto-progress of every receipt and
// order still under way; it runs in New, before the sandbox serves.
func (s *Sandbox) restoreLocked(w world) error {
	s.seq = w.Seq
	s.created.receipts, s.created.orders, s.created.webhooks = w.Created["receipts"], w.Created["orders"], w.Created["webhooks"]
	for _, r := range w.Receipts {
		s.receipts[r.ID] = &receiptRec{id: r.ID, req: r.Request, status: r.Status, createdAt: r.CreatedAt,
			receivedAt: r.ReceivedAt, inspectedAt: r.InspectedAt, received: r.Received, conditions: r.Conditions}
		s.receiptSeq = append(s.receiptSeq, r.ID)
	}
	for _, o := range w.Orders {
		s.orders[o.ID] = &orderRec{id: o.ID, req: o.Request, status: o.Status, createdAt: o.CreatedAt,
			acknowledgedAt: o.AcknowledgedAt, shippedAt: o.ShippedAt, carrier: o.Carrier, tracking: o.Tracking, reserved: o.Reserved}
		s.orderSeq = append(s.orderSeq, o.ID)
		if o.Tracking != "" {
			s.tracking.next() // the numbers a previous run gave out are not given out again
		}
	}
	for k, c := range w.Claims {
		fp, err := fingerprintFromHex(c.Fingerprint)
		if err != nil {
			return fmt.Errorf("warehouse sandbox state: claim %q: %w", k, err)
		}
		s.byRef[k] = refRec{id: c.ID, fingerprint: fp}
	}
	// A snapshot keeps no age: keys are restored in key order, the same on every restart.
	for _, k := range slices.Sorted(maps.Keys(w.Idem)) {
		c := w.Idem[k]
		fp, err := fingerprintFromHex(c.Fingerprint)
		if err != nil {
			return fmt.Errorf("warehouse sandbox state: idempotency key %q: %w", k, err)
		}
		s.idem.Put(k, idemRec{id: c.ID, fingerprint: fp})
	}
	s.stock = &stock{byKey: map[string]*position{}}
	for _, p := range w.Stock {
		k := stockKey(p.Location, p.SKU)
		s.stock.byKey[k] = &position{sku: p.SKU, location: p.Location, qty: p.Qty, version: p.Version, updatedAt: p.UpdatedAt}
		s.stock.keys = append(s.stock.keys, k)
	}
	slices.Sort(s.stock.keys)
	for _, id := range s.receiptSeq {
		s.scheduleReceiptLocked(s.receipts[id])
	}
	for _, id := range s.orderSeq {
		s.scheduleOrderLocked(s.orders[id])
	}
	s.hooks.Resume(w.Webhooks)
	return nil
}

// persistSettled saves the world when a webhook copy settled, so the webhooks still owed stay
// current; nobody waits for it, and a failed write is retried with the next change.
func (s *Sandbox) persistSettled() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.persistLocked()
}

func fingerprintFromHex(h string) ([32]byte, error) {
	var fp [32]byte
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(fp) {
		return fp, fmt.Errorf("bad fingerprint %q", strings.TrimSpace(h))
	}
	copy(fp[:], b)
	return fp, nil
}

// persistLocked writes the world to the state file (a no-op without one); the caller holds mu.
func (s *Sandbox) persistLocked() error {
	if s.state == nil {
		return nil
	}
	return s.state.Save(s.snapshotLocked())
}

// loadLocked restores the world from f; false when there was none.
func (s *Sandbox) loadLocked(f *state.File) (bool, error) {
	var w world
	found, err := f.Load(&w)
	if err != nil || !found {
		return false, err
	}
	return true, s.restoreLocked(w)
}

// persistedLocked keeps the world before a create is answered, so an answer the client saw is
// never forgotten by a restart; when the state cannot be written it answers 500 and says so.
func (s *Sandbox) persistedLocked(w http.ResponseWriter) bool {
	if err := s.persistLocked(); err != nil {
		writeError(w, http.StatusInternalServerError, "internal_error", "The warehouse could not record the request.", nil)
		return false
	}
	return true
}
