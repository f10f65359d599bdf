package warehouse

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Receipt statuses.
const (
	ReceiptExpected  = "expected"
	ReceiptReceived  = "received"
	ReceiptInspected = "inspected"
)

// Inspection conditions.
const (
	ConditionResellable     = "resellable"
	ConditionDamaged        = "damaged"
	ConditionWrongOrMissing = "wrong_or_missing"
)

// maxReference bounds a client reference.
const maxReference = 128

// expectReturnRequest is the body of POST /v1/inbound/returns.
type expectReturnRequest struct {
	// Reference is the client's return id; one advance notice per reference.
	Reference  string       `json:"reference"`
	OrderID    string       `json:"order_id,omitempty"`
	RMANumber  string       `json:"rma_number,omitempty"`
	LocationID string       `json:"location_id"`
	Lines      []expectLine `json:"lines"`
}

type expectLine struct {
	OrderLineID string `json:"order_line_id,omitempty"`
	SKU         string `json:"sku"`
	Quantity    int64  `json:"quantity"`
}

type receiptRec struct {
	id                                 string
	req                                expectReturnRequest
	status                             string
	createdAt, receivedAt, inspectedAt time.Time
	received                           []int64
	conditions                         []string
}

// receiptDoc is a receipt as the API and the webhooks show it.
type receiptDoc struct {
	ID          string           `json:"id"`
	Reference   string           `json:"reference"`
	OrderID     string           `json:"order_id,omitempty"`
	RMANumber   string           `json:"rma_number,omitempty"`
	LocationID  string           `json:"location_id"`
	Status      string           `json:"status"`
	CreatedAt   string           `json:"created_at"`
	ReceivedAt  string           `json:"received_at,omitempty"`
	InspectedAt string           `json:"inspected_at,omitempty"`
	Lines       []receiptLineDoc `json:"lines"`
}

type receiptLineDoc struct {
	LineNumber       int    `json:"line_number"`
	OrderLineID      string `json:"order_line_id,omitempty"`
	SKU              string `json:"sku"`
	ExpectedQuantity int64  `json:"expected_quantity"`
	ReceivedQuantity int64  `json:"received_quantity"`
	Condition        string `json:"condition,omitempty"`
}

func (r *receiptRec) doc() receiptDoc {
	d := receiptDoc{ID: r.id, Reference: r.req.Reference, OrderID: r.req.OrderID, RMANumber: r.req.RMANumber,
		LocationID: r.req.LocationID, Status: r.status, CreatedAt: formatTime(r.createdAt),
		ReceivedAt: formatTime(r.receivedAt), InspectedAt: formatTime(r.inspectedAt)}
	for i, l := range r.req.Lines {
		ld := receiptLineDoc{LineNumber: i + 1, OrderLineID: l.OrderLineID, SKU: l.SKU, ExpectedQuantity: l.Quantity}
		if r.received != nil {
			ld.ReceivedQuantity = r.received[i]
		}
		if r.conditions != nil {
			ld.Condition = r.conditions[i]
		}
		d.Lines = append(d.Lines, ld)
	}
	return d
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/inbound/returns", s.handleExpectReturn)
	mux.HandleFunc("GET /v1/inbound/returns/{id}", s.handleGetReceipt)
	mux.HandleFunc("POST /v1/outbound/orders", s.handleCreateOrder)
	mux.HandleFunc("GET /v1/outbound/orders/{id}", s.handleGetOrder)
	mux.HandleFunc("POST /v1/outbound/orders/{id}/cancel", s.handleCancelOrder)
	mux.HandleFunc("GET /v1/inventory", s.handleInventory)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "route_not_found", "No such endpoint.", nil)
	})
	return mux
}

func (s *Sandbox) validateLocation(loc string) string {
	switch {
	case loc == "":
		return "required"
	case !slices.Contains(s.opts.Locations, loc):
		return "unknown location; the warehouse has " + strings.Join(s.opts.Locations, ", ")
	}
	return ""
}

func checkReference(ref string) string {
	switch {
	case strings.TrimSpace(ref) == "":
		return "required"
	case len(ref) > maxReference:
		return fmt.Sprintf("at most %d characters", maxReference)
	}
	return ""
}

func (s *Sandbox) validateExpect(req expectReturnRequest) []fieldDetail {
	var bad []fieldDetail
	if d := checkReference(req.Reference); d != "" {
		bad = append(bad, fieldDetail{"reference", d})
	}
	if d := s.validateLocation(req.LocationID); d != "" {
		bad = append(bad, fieldDetail{"location_id", d})
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

// refRec is the create that claimed a reference.
type refRec struct {
	id          string
	fingerprint [32]byte
}

// dedupLocked finds the earlier result of a create: by idempotency key, then by reference. A
// different request under the same key or for the same reference is answered 409. It returns
// the earlier object's id ("" to create) and whether it already answered.
func (s *Sandbox) dedupLocked(w http.ResponseWriter, kind, key, ref string, fp [32]byte) (string, bool) {
	if key != "" {
		if rec, ok := s.idem.Get(kind + " " + key); ok {
			if rec.fingerprint != fp {
				writeError(w, http.StatusConflict, "idempotency_key_reused",
					"This idempotency key was used with a different request.", nil)
				return "", true
			}
			return rec.id, false
		}
	}
	if rec, ok := s.byRef[kind+" "+ref]; ok {
		if rec.fingerprint != fp {
			writeError(w, http.StatusConflict, "reference_conflict",
				fmt.Sprintf("Reference %q was already used with different content.", ref), nil)
			return "", true
		}
		return rec.id, false
	}
	return "", false
}

func (s *Sandbox) rememberLocked(kind, key, ref, id string, fp [32]byte) {
	if key != "" {
		s.idem.Put(kind+" "+key, idemRec{fingerprint: fp, id: id})
	}
	s.byRef[kind+" "+ref] = refRec{id: id, fingerprint: fp}
}

func (s *Sandbox) handleExpectReturn(w http.ResponseWriter, r *http.Request) {
	var req expectReturnRequest
	if !decode(w, r, &req) {
		return
	}
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	if bad := s.validateExpect(req); len(bad) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "The request is invalid.", bad)
		return
	}
	fp := fingerprint(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, answered := s.dedupLocked(w, "receipt", key, req.Reference, fp)
	if answered {
		return
	}
	if id != "" {
		s.replayed.Add(1)
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusOK, s.receipts[id].doc())
		return
	}
	s.seq++
	rec := &receiptRec{id: fmt.Sprintf("RCV-%06d", s.seq), req: req, status: ReceiptExpected, createdAt: s.now()}
	s.receipts[rec.id] = rec
	s.receiptSeq = append(s.receiptSeq, rec.id)
	s.rememberLocked("receipt", key, req.Reference, rec.id, fp)
	s.created.receipts++
	for _, l := range req.Lines {
		s.stock.move(req.LocationID, l.SKU, "", StateIncoming, l.Quantity, rec.createdAt)
	}
	s.scheduleReceiptLocked(rec)
	if !s.persistedLocked(w) {
		return
	}
	writeJSON(w, http.StatusCreated, rec.doc())
}

func (s *Sandbox) handleGetReceipt(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.receipts[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "receipt_not_found", "No such receipt.", nil)
		return
	}
	writeJSON(w, http.StatusOK, rec.doc())
}

// scheduleReceiptLocked arms the receipt's next auto-progress step.
func (s *Sandbox) scheduleReceiptLocked(rec *receiptRec) {
	if s.manual || s.closed {
		return
	}
	var d time.Duration
	var step func()
	switch rec.status {
	case ReceiptExpected:
		d, step = s.delays.Receive, func() { _ = s.receiveLocked(rec) }
	case ReceiptReceived:
		d, step = s.delays.Inspect, func() { _ = s.inspectLocked(rec, nil) }
	default:
		return
	}
	if d < 0 {
		return
	}
	s.startTimerLocked("receipt "+rec.id, d, step)
}

// stateError is a step the object's status does not allow.
type stateError struct{ msg string }

func (e *stateError) Error() string { return e.msg }

// receiveLocked records the parcel's arrival: every expected unit, into quality control.
func (s *Sandbox) receiveLocked(rec *receiptRec) error {
	if rec.status != ReceiptExpected {
		return &stateError{fmt.Sprintf("receipt %s is %s, not expected", rec.id, rec.status)}
	}
	rec.status, rec.receivedAt = ReceiptReceived, s.now()
	rec.received = make([]int64, len(rec.req.Lines))
	for i, l := range rec.req.Lines {
		rec.received[i] = l.Quantity
		s.stock.move(rec.req.LocationID, l.SKU, StateIncoming, "", l.Quantity, rec.receivedAt)
		s.stock.move(rec.req.LocationID, l.SKU, "", StateQualityControl, l.Quantity, rec.receivedAt)
	}
	s.emitLocked(TopicReceiptCreated, rec.id, rec.doc())
	s.scheduleReceiptLocked(rec)
	return nil
}

// inspectLocked grades every line: the condition in force for its line number, else the rules'.
// Resellable units become available, damaged ones damaged; wrong or missing ones leave the books.
func (s *Sandbox) inspectLocked(rec *receiptRec, force map[int]string) error {
	if rec.status != ReceiptReceived {
		return &stateError{fmt.Sprintf("receipt %s is %s, not received", rec.id, rec.status)}
	}
	for n, c := range force {
		if n < 1 || n > len(rec.req.Lines) {
			return &stateError{fmt.Sprintf("receipt %s has no line %d", rec.id, n)}
		}
		if c != ConditionResellable && c != ConditionDamaged && c != ConditionWrongOrMissing {
			return &stateError{fmt.Sprintf("unknown condition %q", c)}
		}
	}
	rec.status, rec.inspectedAt = ReceiptInspected, s.now()
	rec.conditions = make([]string, len(rec.req.Lines))
	for i, l := range rec.req.Lines {
		c, ok := force[i+1]
		if !ok {
			c = s.outcomeLocked(rec.req.Reference, i+1)
		}
		rec.conditions[i] = c
		s.stock.move(rec.req.LocationID, l.SKU, StateQualityControl, "", rec.received[i], rec.inspectedAt)
		switch c {
		case ConditionResellable:
			s.stock.move(rec.req.LocationID, l.SKU, "", StateAvailable, rec.received[i], rec.inspectedAt)
		case ConditionDamaged:
			s.stock.move(rec.req.LocationID, l.SKU, "", StateDamaged, rec.received[i], rec.inspectedAt)
		}
	}
	s.emitLocked(TopicInspectionCompleted, rec.id, rec.doc())
	return nil
}

// outcomeLocked is the rules' condition for a line: a hash of the seed, the reference and the
// line number placed on the shares, so the same return always inspects the same way, whatever
// order things happen in.
func (s *Sandbox) outcomeLocked(ref string, line int) string {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], s.opts.Seed)
	h := sha256.Sum256([]byte(string(seed[:]) + "\x00" + ref + "\x00" + strconv.Itoa(line)))
	u := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
	o := s.outcomes
	total := o.Resellable + o.Damaged + o.WrongOrMissing
	switch {
	case u*total < o.Resellable:
		return ConditionResellable
	case u*total < o.Resellable+o.Damaged:
		return ConditionDamaged
	}
	return ConditionWrongOrMissing
}
