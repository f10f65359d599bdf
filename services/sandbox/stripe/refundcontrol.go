package stripe

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// refundControlPath is where the card network's later decisions are played by hand: a refund
// that succeeded can still fail days later, and only such a late failure (not a refusal at
// creation) reopens a closed return. Tests call SetRefundStatus; people trying the API locally
// have only HTTP.
const refundControlPath = "/_sandbox/stripe/refunds/"

// serveRefundControl answers POST /_sandbox/stripe/refunds/{id} with {"status":"failed"} (or
// pending, requires_action, succeeded, canceled) by SetRefundStatus, and answers the refund as
// GET /v1/refunds/{id} shows it. An unknown refund is 404; a move Stripe never makes is 409.
func (s *Sandbox) serveRefundControl(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, refundControlPath)
	if id == "" || strings.Contains(id, "/") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	var c struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&c); err != nil {
		http.Error(w, "bad refund change: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !validStatus(c.Status) {
		http.Error(w, "bad refund change: unknown refund status "+c.Status, http.StatusBadRequest)
		return
	}
	switch err := s.SetRefundStatus(id, c.Status); {
	case errors.Is(err, ErrNoSuchRefund):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	s.mu.Lock()
	body := toRefund(s.refunds[id])
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
