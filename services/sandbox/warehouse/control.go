package warehouse

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
)

// controlPrefix starts every control path.
const controlPrefix = "/_sandbox/warehouse/"

// ErrNotFound is returned by control methods for an unknown receipt, order or webhook.
var ErrNotFound = errors.New("warehouse sandbox: not found")

// Settings are the knobs the control API reads and replaces.
type Settings struct {
	// WebhookURL receives the webhooks.
	WebhookURL string `json:"webhook_url"`
	// Manual turns auto-progress off.
	Manual bool `json:"manual"`
	// Delays are the auto-progress durations (zero fields take their defaults; negative ones
	// never happen by themselves).
	Delays Delays `json:"delays"`
	// Outcomes are the inspection shares (all zero: DefaultOutcomes).
	Outcomes Outcomes `json:"outcomes"`
	// Delivery are the webhook delivery knobs.
	Delivery DeliverySettings `json:"delivery"`
}

// Settings returns the current knobs.
func (s *Sandbox) Settings() Settings {
	url, delivery := s.hooks.Target()
	s.mu.Lock()
	defer s.mu.Unlock()
	return Settings{WebhookURL: url, Manual: s.manual, Delays: s.delays, Outcomes: s.outcomes, Delivery: delivery}
}

// Apply replaces the knobs. Turning auto-progress on arms every unfinished receipt and order from
// its current status; turning it off stops them where they are.
func (s *Sandbox) Apply(st Settings) {
	s.hooks.SetURL(st.WebhookURL)
	s.hooks.SetSettings(st.Delivery)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays, s.outcomes, s.manual = st.Delays.withDefaults(), st.Outcomes.withDefaults(), st.Manual
	for _, id := range s.receiptSeq {
		if s.manual {
			s.stopTimerLocked("receipt " + id)
		} else {
			s.scheduleReceiptLocked(s.receipts[id])
		}
	}
	for _, id := range s.orderSeq {
		if s.manual {
			s.stopTimerLocked("order " + id)
		} else {
			s.scheduleOrderLocked(s.orders[id])
		}
	}
}

// SetWebhookURL points the webhooks at url.
func (s *Sandbox) SetWebhookURL(url string) { s.hooks.SetURL(url) }

// SetDelivery replaces the webhook delivery knobs.
func (s *Sandbox) SetDelivery(d DeliverySettings) { s.hooks.SetSettings(d) }

// SetWebhookSecret changes the signing secret.
func (s *Sandbox) SetWebhookSecret(secret string) {
	s.mu.Lock()
	s.secret = secret
	s.mu.Unlock()
}

// Receive records an expected return's arrival now and sends receipt.created.
func (s *Sandbox) Receive(receiptID string) error {
	return s.withReceipt(receiptID, func(r *receiptRec) error { return s.receiveLocked(r) })
}

// Inspect grades a received return now and sends inspection.completed. conditions forces the
// condition of lines by line number (1-based); the rules decide the others.
func (s *Sandbox) Inspect(receiptID string, conditions map[int]string) error {
	return s.withReceipt(receiptID, func(r *receiptRec) error { return s.inspectLocked(r, conditions) })
}

func (s *Sandbox) withReceipt(id string, f func(*receiptRec) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.receipts[id]
	if !ok {
		return ErrNotFound
	}
	if err := f(r); err != nil {
		return err
	}
	return s.persistLocked()
}

// Acknowledge accepts a shipping order now and sends shipment.acknowledged.
func (s *Sandbox) Acknowledge(orderID string) error {
	return s.withOrder(orderID, func(o *orderRec) error { return s.acknowledgeLocked(o) })
}

// Ship ships an acknowledged order now and sends shipment.shipped.
func (s *Sandbox) Ship(orderID string) error {
	return s.withOrder(orderID, func(o *orderRec) error { return s.shipLocked(o) })
}

func (s *Sandbox) withOrder(id string, f func(*orderRec) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return ErrNotFound
	}
	if err := f(o); err != nil {
		return err
	}
	return s.persistLocked()
}

// ReceiptStatus is a receipt's status and, once inspected, its lines' conditions.
type ReceiptStatus struct {
	Status     string   `json:"status"`
	Conditions []string `json:"conditions,omitempty"`
}

// Receipt reports a receipt's status.
func (s *Sandbox) Receipt(id string) (ReceiptStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.receipts[id]
	if !ok {
		return ReceiptStatus{}, false
	}
	return ReceiptStatus{Status: r.status, Conditions: append([]string(nil), r.conditions...)}, true
}

// OrderStatus reports a shipping order's status.
func (s *Sandbox) OrderStatus(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return "", false
	}
	return o.status, true
}

// OutcomeFor is the condition the rules give line (1-based) of the return with reference.
func (s *Sandbox) OutcomeFor(reference string, line int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outcomeLocked(reference, line)
}

// Webhooks lists every webhook raised so far, oldest first, with what became of it.
func (s *Sandbox) Webhooks() []Delivery { return s.hooks.List() }

// FlushWebhooks sends every copy still waiting for its delay — late, reordered or between
// retries — now.
func (s *Sandbox) FlushWebhooks() { s.hooks.Flush() }

// Redeliver sends one more copy of a webhook now, whatever the delivery knobs say: the same id and
// body, signed now with the current secret.
func (s *Sandbox) Redeliver(deliveryID string) error {
	if err := s.hooks.Redeliver(deliveryID); err != nil {
		return ErrNotFound
	}
	return nil
}

// controlRoutes serves the control API:
//
//	GET  /_sandbox/warehouse/settings                the knobs (Settings)
//	PUT  /_sandbox/warehouse/settings                replace them
//	GET  /_sandbox/warehouse/stats                   the counters (Stats)
//	GET  /_sandbox/warehouse/receipts/{id}           a receipt's status (ReceiptStatus)
//	POST /_sandbox/warehouse/receipts/{id}/receive   receive it now
//	POST /_sandbox/warehouse/receipts/{id}/inspect   inspect it now; body {"conditions": {"1": "damaged"}}
//	POST /_sandbox/warehouse/orders/{id}/acknowledge acknowledge a shipping order now
//	POST /_sandbox/warehouse/orders/{id}/ship        ship it now
//	GET  /_sandbox/warehouse/webhooks                every webhook with its delivery record
//	POST /_sandbox/warehouse/webhooks/flush          send every delayed copy now
//	POST /_sandbox/warehouse/webhooks/{id}/redeliver send one more copy now
func (s *Sandbox) controlRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+controlPrefix+"settings", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Settings())
	})
	mux.HandleFunc("PUT "+controlPrefix+"settings", func(w http.ResponseWriter, r *http.Request) {
		var st Settings
		if !decode(w, r, &st) {
			return
		}
		s.Apply(st)
		writeJSON(w, http.StatusOK, s.Settings())
	})
	mux.HandleFunc("GET "+controlPrefix+"stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET "+controlPrefix+"receipts/{id}", func(w http.ResponseWriter, r *http.Request) {
		st, ok := s.Receipt(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "receipt_not_found", "No such receipt.", nil)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST "+controlPrefix+"receipts/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var err error
		switch r.PathValue("action") {
		case "receive":
			err = s.Receive(id)
		case "inspect":
			var body struct {
				Conditions map[string]string `json:"conditions"`
			}
			if r.ContentLength != 0 && !decode(w, r, &body) {
				return
			}
			force := map[int]string{}
			for k, v := range body.Conditions {
				n, convErr := strconv.Atoi(k)
				if convErr != nil {
					writeError(w, http.StatusBadRequest, "invalid_line", "Line numbers are integers.", nil)
					return
				}
				force[n] = v
			}
			err = s.Inspect(id, force)
		default:
			writeError(w, http.StatusNotFound, "route_not_found", "No such endpoint.", nil)
			return
		}
		s.answerControl(w, err, func() any { st, _ := s.Receipt(id); return st })
	})
	mux.HandleFunc("POST "+controlPrefix+"orders/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var err error
		switch r.PathValue("action") {
		case "acknowledge":
			err = s.Acknowledge(id)
		case "ship":
			err = s.Ship(id)
		default:
			writeError(w, http.StatusNotFound, "route_not_found", "No such endpoint.", nil)
			return
		}
		s.answerControl(w, err, func() any { st, _ := s.OrderStatus(id); return map[string]string{"status": st} })
	})
	s.stockRoutes(mux)
	mux.HandleFunc("GET "+controlPrefix+"webhooks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Webhooks())
	})
	mux.HandleFunc("POST "+controlPrefix+"webhooks/flush", func(w http.ResponseWriter, r *http.Request) {
		s.FlushWebhooks()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST "+controlPrefix+"webhooks/{id}/redeliver", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Redeliver(r.PathValue("id")); err != nil {
			writeError(w, http.StatusNotFound, "webhook_not_found", "No such webhook.", nil)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	return mux
}

func (s *Sandbox) answerControl(w http.ResponseWriter, err error, view func() any) {
	var se *stateError
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "No such object.", nil)
	case errors.As(err, &se):
		writeError(w, http.StatusConflict, "invalid_state", se.msg, nil)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
	default:
		writeJSON(w, http.StatusOK, view())
	}
}

// ExpectedReturns lists the references (return ids) of the returns announced here, sorted: what
// this warehouse was told about, for tests that check a return went to one warehouse only.
func (s *Sandbox) ExpectedReturns() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.receipts))
	for _, r := range s.receipts {
		out = append(out, r.req.Reference)
	}
	slices.Sort(out)
	return out
}
