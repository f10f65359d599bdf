package loop

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/money"
)

// Return states, as Loop names them.
const (
	StateOpen      = "open"
	StateReview    = "review"
	StateClosed    = "closed"
	StateCancelled = "cancelled"
	StateExpired   = "expired"
)

// Return methods.
const (
	MethodMail    = "mail"
	MethodInStore = "in_store"
)

// timeLayout is how Loop writes timestamps: ISO 8601 with a numeric offset.
const timeLayout = "2006-01-02T15:04:05-07:00"

// maxBody bounds a request body.
const maxBody = 1 << 20

// maxKeyLen bounds an Idempotency-Key.
const maxKeyLen = 255

type returnRec struct {
	id         int64
	state      string
	req        createReturnRequest
	lineIDs    []int64
	createdAt  time.Time
	updatedAt  time.Time
	label      *labelRec // the latest label, voided or not
	expireGen  int
	hasExpired bool
}

// createReturnRequest is the body of POST /api/v1/returns.
type createReturnRequest struct {
	// ExternalID is the merchant's id of the return.
	ExternalID string `json:"external_id"`
	// ProviderOrderID is the storefront (Shopify) order id.
	ProviderOrderID string `json:"provider_order_id"`
	OrderName       string `json:"order_name,omitempty"`
	CustomerID      string `json:"customer_id,omitempty"`
	Currency        string `json:"currency,omitempty"`
	// Total is a decimal amount in Currency.
	Total        string            `json:"total,omitempty"`
	ReturnMethod string            `json:"return_method,omitempty"`
	LineItems    []lineItemRequest `json:"line_items"`
}

type lineItemRequest struct {
	ProviderLineItemID string `json:"provider_line_item_id"`
	SKU                string `json:"sku"`
	Quantity           int    `json:"quantity"`
	Reason             string `json:"reason,omitempty"`
	Note               string `json:"note,omitempty"`
}

// returnDoc is a return as the API and the webhooks show it. Webhooks add topic, trigger and
// webhook_id.
type returnDoc struct {
	Topic           string        `json:"topic,omitempty"`
	Trigger         string        `json:"trigger,omitempty"`
	WebhookID       string        `json:"webhook_id,omitempty"`
	ID              int64         `json:"id"`
	State           string        `json:"state"`
	ExternalID      string        `json:"external_id,omitempty"`
	ProviderOrderID string        `json:"provider_order_id"`
	OrderName       string        `json:"order_name,omitempty"`
	CustomerID      string        `json:"customer_id,omitempty"`
	Currency        string        `json:"currency,omitempty"`
	Total           string        `json:"total,omitempty"`
	ReturnMethod    string        `json:"return_method"`
	CreatedAt       string        `json:"created_at"`
	UpdatedAt       string        `json:"updated_at"`
	LineItems       []lineItemDoc `json:"line_items"`
	Label           *labelDoc     `json:"label"`
}

type lineItemDoc struct {
	LineItemID         int64  `json:"line_item_id"`
	ProviderLineItemID string `json:"provider_line_item_id,omitempty"`
	SKU                string `json:"sku"`
	Quantity           int    `json:"quantity"`
	Reason             string `json:"reason,omitempty"`
	Note               string `json:"note,omitempty"`
}

func (s *Sandbox) docLocked(r *returnRec) returnDoc {
	d := returnDoc{
		ID: r.id, State: r.state, ExternalID: r.req.ExternalID, ProviderOrderID: r.req.ProviderOrderID,
		OrderName: r.req.OrderName, CustomerID: r.req.CustomerID, Currency: r.req.Currency,
		Total: r.req.Total, ReturnMethod: r.req.ReturnMethod,
		CreatedAt: r.createdAt.Format(timeLayout), UpdatedAt: r.updatedAt.Format(timeLayout),
		LineItems: make([]lineItemDoc, len(r.req.LineItems)),
	}
	if d.ReturnMethod == "" {
		d.ReturnMethod = MethodMail
	}
	for i, l := range r.req.LineItems {
		d.LineItems[i] = lineItemDoc{LineItemID: r.lineIDs[i], ProviderLineItemID: l.ProviderLineItemID,
			SKU: l.SKU, Quantity: l.Quantity, Reason: l.Reason, Note: l.Note}
	}
	if r.label != nil {
		ld := r.label.doc()
		d.Label = &ld
	}
	return d
}

func (s *Sandbox) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// maxIdempotencyKeys bounds the idempotency keys the platform remembers (each with its answer, a
// return document of about a kilobyte): under a sustained load the oldest are forgotten, and a
// repeat of one creates again, as after the vendor's retention.
const maxIdempotencyKeys = 10_000

// idemRec is the first answer given for an idempotency key.
type idemRec struct {
	fingerprint [32]byte
	status      int
	body        []byte
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/returns", s.handleCreateReturn)
	mux.HandleFunc("GET /api/v1/warehouse/return/details", s.handleGetReturn)
	mux.HandleFunc("GET /api/v1/warehouse/return/list", s.handleListReturns)
	mux.HandleFunc("POST /api/v1/returns/{id}/label", s.handleCreateLabel)
	mux.HandleFunc("POST /api/v1/labels/{id}/void", s.handleVoidLabel)
	mux.HandleFunc("POST /api/v1/warehouse/return/{id}/close", s.handleClose)
	mux.HandleFunc("POST /api/v1/warehouse/return/{id}/cancel", s.handleCancel)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Not Found.", nil)
	})
	return mux
}

func (r createReturnRequest) validate() map[string][]string {
	bad := map[string][]string{}
	add := func(f, msg string) { bad[f] = append(bad[f], msg) }
	if strings.TrimSpace(r.ProviderOrderID) == "" {
		add("provider_order_id", "The provider order id field is required.")
	}
	switch r.ReturnMethod {
	case "", MethodMail, MethodInStore:
	default:
		add("return_method", "The selected return method is invalid.")
	}
	if r.Currency != "" && (len(r.Currency) != 3 || strings.ToUpper(r.Currency) != r.Currency) {
		add("currency", "The currency must be an upper-case ISO 4217 code.")
	}
	if r.Total != "" {
		if _, err := money.ParseDecimal(r.Total, r.Currency); err != nil || r.Currency == "" {
			add("total", "The total must be a decimal amount with a currency.")
		}
	}
	if len(r.LineItems) == 0 {
		add("line_items", "The line items field is required.")
	}
	for i, l := range r.LineItems {
		if strings.TrimSpace(l.SKU) == "" {
			add(fmt.Sprintf("line_items.%d.sku", i), "The sku field is required.")
		}
		if l.Quantity < 1 {
			add(fmt.Sprintf("line_items.%d.quantity", i), "The quantity must be at least 1.")
		}
	}
	return bad
}

func (s *Sandbox) handleCreateReturn(w http.ResponseWriter, r *http.Request) {
	var req createReturnRequest
	if !decode(w, r, &req) {
		return
	}
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	if bad := req.validate(); len(bad) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "The given data was invalid.", bad)
		return
	}
	canon, _ := json.Marshal(req)
	fp := sha256.Sum256(canon)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replayLocked(w, "returns", key, fp) {
		return
	}
	now := s.now()
	s.seq++
	ret := &returnRec{id: 100000 + s.seq, state: StateOpen, req: req, createdAt: now, updatedAt: now}
	for range req.LineItems {
		s.seq++
		ret.lineIDs = append(ret.lineIDs, 700000+s.seq)
	}
	s.returns[ret.id] = ret
	s.returnOrder = append(s.returnOrder, ret.id)
	s.created.returns++
	s.emitLocked(TriggerReturnCreated, ret)
	s.scheduleExpiryLocked(ret)
	s.answerLocked(w, "returns", key, fp, http.StatusCreated, s.docLocked(ret))
}

// replayLocked answers a repeated idempotency key: the stored answer for the same request, 409
// for a different one. It reports whether it answered.
func (s *Sandbox) replayLocked(w http.ResponseWriter, scope, key string, fp [32]byte) bool {
	if key == "" {
		return false
	}
	rec, ok := s.idem.Get(scope + " " + key)
	if !ok {
		return false
	}
	if rec.fingerprint != fp {
		writeError(w, http.StatusConflict, "idempotency_key_reused",
			"This idempotency key was used with a different request.", nil)
		return true
	}
	s.replayed.Add(1)
	w.Header().Set(HeaderReplayed, "true")
	writeRaw(w, rec.status, rec.body)
	return true
}

// answerLocked writes v and stores it under the idempotency key, if there is one.
func (s *Sandbox) answerLocked(w http.ResponseWriter, scope, key string, fp [32]byte, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "Server Error.", nil)
		return
	}
	if key != "" {
		s.idem.Put(scope+" "+key, idemRec{fingerprint: fp, status: status, body: body})
	}
	writeRaw(w, status, body)
}

func (s *Sandbox) handleGetReturn(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ret, ok := s.returnLocked(r.URL.Query().Get("return_id"))
	if !ok {
		writeError(w, http.StatusNotFound, "return_not_found", "Return not found.", nil)
		return
	}
	writeJSON(w, http.StatusOK, s.docLocked(ret))
}

// maxList bounds one list answer.
const maxList = 250

func (s *Sandbox) handleListReturns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var from, to time.Time
	bad := map[string][]string{}
	for _, f := range []struct {
		name string
		into *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad[f.name] = []string{"The " + f.name + " must be an ISO 8601 date and time."}
			continue
		}
		*f.into = t
	}
	if len(bad) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "The given data was invalid.", bad)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Returns []returnDoc `json:"returns"`
	}{Returns: []returnDoc{}}
	for _, id := range s.returnOrder {
		ret := s.returns[id]
		if len(out.Returns) == maxList {
			break
		}
		if (!from.IsZero() && ret.createdAt.Before(from)) || (!to.IsZero() && !ret.createdAt.Before(to)) {
			continue
		}
		out.Returns = append(out.Returns, s.docLocked(ret))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) handleClose(w http.ResponseWriter, r *http.Request) {
	s.transition(w, r.PathValue("id"), s.closeLocked)
}

func (s *Sandbox) handleCancel(w http.ResponseWriter, r *http.Request) {
	s.transition(w, r.PathValue("id"), s.cancelLocked)
}

// transition applies change to a return and answers with the return.
func (s *Sandbox) transition(w http.ResponseWriter, id string, change func(*returnRec) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ret, ok := s.returnLocked(id)
	if !ok {
		writeError(w, http.StatusNotFound, "return_not_found", "Return not found.", nil)
		return
	}
	if err := change(ret); err != nil {
		writeStateError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.docLocked(ret))
}

// stateError is a transition the return's state does not allow.
type stateError struct{ code, msg string }

func (e *stateError) Error() string { return e.msg }

func writeStateError(w http.ResponseWriter, err error) {
	if se, ok := err.(*stateError); ok {
		writeError(w, http.StatusConflict, se.code, se.msg, nil)
		return
	}
	writeError(w, http.StatusInternalServerError, "server_error", "Server Error.", nil)
}

func invalidState(ret *returnRec, action string) error {
	return &stateError{code: "invalid_state", msg: fmt.Sprintf("A %s return cannot be %s.", ret.state, action)}
}

// closeLocked closes an open or flagged return; closing a closed return changes nothing.
func (s *Sandbox) closeLocked(ret *returnRec) error {
	switch ret.state {
	case StateClosed:
		return nil
	case StateOpen, StateReview:
		s.setStateLocked(ret, StateClosed)
		s.emitLocked(TriggerReturnClosed, ret)
		return nil
	}
	return invalidState(ret, "closed")
}

// cancelLocked cancels an open or flagged return and voids its unused label.
func (s *Sandbox) cancelLocked(ret *returnRec) error {
	switch ret.state {
	case StateCancelled:
		return nil
	case StateOpen, StateReview:
		if l := ret.label; l != nil && l.unused() {
			s.setLabelStatusLocked(l, LabelCancelled)
		}
		s.setStateLocked(ret, StateCancelled)
		s.emitLocked(TriggerReturnUpdated, ret)
		return nil
	}
	return invalidState(ret, "cancelled")
}

// expireLocked expires an open return whose parcel never moved.
func (s *Sandbox) expireLocked(ret *returnRec) error {
	switch ret.state {
	case StateExpired:
		return nil
	case StateOpen:
		if l := ret.label; l != nil && !l.unused() && l.status != LabelCancelled {
			return &stateError{code: "invalid_state", msg: "A return whose parcel is moving cannot expire."}
		}
		if l := ret.label; l != nil && l.unused() {
			s.setLabelStatusLocked(l, LabelCancelled)
		}
		s.setStateLocked(ret, StateExpired)
		s.emitLocked(TriggerReturnUpdated, ret)
		return nil
	}
	return invalidState(ret, "expired")
}

// reviewLocked flags an open return for review.
func (s *Sandbox) reviewLocked(ret *returnRec) error {
	switch ret.state {
	case StateReview:
		return nil
	case StateOpen:
		s.setStateLocked(ret, StateReview)
		s.emitLocked(TriggerReturnUpdated, ret)
		return nil
	}
	return invalidState(ret, "flagged for review")
}

func (s *Sandbox) setStateLocked(ret *returnRec, state string) {
	ret.state = state
	ret.updatedAt = s.now()
	if state != StateOpen {
		s.stopTimerLocked(expiryTimer(ret.id))
	}
}

// scheduleExpiryLocked arms the expiry of an open return when Delays.Expire is positive.
func (s *Sandbox) scheduleExpiryLocked(ret *returnRec) {
	if s.manual || s.closed || s.delays.Expire <= 0 || ret.state != StateOpen {
		return
	}
	ret.expireGen++
	gen, id := ret.expireGen, ret.id
	s.startTimerLocked(expiryTimer(id), s.delays.Expire, func() {
		if r := s.returns[id]; r.expireGen == gen {
			_ = s.expireLocked(r)
		}
	})
}

func expiryTimer(id int64) string { return "expire " + strconv.FormatInt(id, 10) }

// startTimerLocked runs f under the lock after d, unless the timer is stopped or replaced
// first, the sandbox closes or auto-progress is turned off.
func (s *Sandbox) startTimerLocked(name string, d time.Duration, f func()) {
	s.stopTimerLocked(name)
	t := &timer{}
	s.timers[name] = t
	t.t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.timers[name] != t { // stopped or replaced while this one was firing
			return
		}
		delete(s.timers, name)
		if !s.closed && !s.manual {
			f()
			// Nobody waits for a timer's answer: a write that fails is retried with the next change.
			_ = s.persistLocked()
		}
	})
}

func (s *Sandbox) stopTimerLocked(name string) {
	if t, ok := s.timers[name]; ok {
		t.t.Stop()
		delete(s.timers, name)
	}
}

type timer struct{ t *time.Timer }

func (s *Sandbox) returnLocked(id string) (*returnRec, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, false
	}
	ret, ok := s.returns[n]
	return ret, ok
}

// decode reads a JSON body, answering 400 when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "The request body is not valid JSON.", nil)
		return false
	}
	return true
}

// idempotencyKey reads the optional Idempotency-Key header, answering 422 when it is too long.
func idempotencyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.Header.Get(HeaderIdempotencyKey)
	if len(key) > maxKeyLen {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "The given data was invalid.",
			map[string][]string{"Idempotency-Key": {fmt.Sprintf("The key may not be longer than %d characters.", maxKeyLen)}})
		return "", false
	}
	return key, true
}

// errorDoc is Loop's (Laravel's) error document.
type errorDoc struct {
	Message string              `json:"message"`
	Code    string              `json:"code,omitempty"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, fields map[string][]string) {
	writeJSON(w, status, errorDoc{Message: msg, Code: code, Errors: fields})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"Server Error."}`)
	}
	writeRaw(w, status, buf.Bytes())
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
