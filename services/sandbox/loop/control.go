package loop

import (
	"errors"
	"net/http"
	"strconv"
)

// controlPrefix starts every control path.
const controlPrefix = "/_sandbox/loop/"

// ErrNotFound is returned by control methods for an unknown return or webhook.
var ErrNotFound = errors.New("loop sandbox: not found")

// Settings are the knobs the control API reads and replaces.
type Settings struct {
	// WebhookURL receives the webhooks.
	WebhookURL string `json:"webhook_url"`
	// Manual turns auto-progress off.
	Manual bool `json:"manual"`
	// Delays are the auto-progress durations (zero fields take their defaults).
	Delays Delays `json:"delays"`
	// Delivery are the webhook delivery knobs.
	Delivery DeliverySettings `json:"delivery"`
}

// ReturnState is a return's state and its latest label's status ("" without a label).
type ReturnState struct {
	State       string `json:"state"`
	LabelStatus string `json:"label_status"`
	LabelID     string `json:"label_id,omitempty"`
}

// Settings returns the current knobs.
func (s *Sandbox) Settings() Settings {
	url, delivery := s.hooks.Target()
	s.mu.Lock()
	defer s.mu.Unlock()
	return Settings{WebhookURL: url, Manual: s.manual, Delays: s.delays, Delivery: delivery}
}

// Apply replaces the knobs. Turning auto-progress on arms every moving parcel from its current
// status; turning it off stops them where they are.
func (s *Sandbox) Apply(st Settings) {
	s.hooks.SetURL(st.WebhookURL)
	s.hooks.SetSettings(st.Delivery)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = st.Delays.withDefaults()
	s.manual = st.Manual
	for _, id := range s.returnOrder {
		ret := s.returns[id]
		if l := ret.label; l != nil && ret.label.status != LabelCancelled {
			if s.manual {
				s.stopTimerLocked(labelTimer(l.id))
			} else {
				l.gen++
				s.scheduleLabelLocked(l)
			}
		}
		if s.manual {
			s.stopTimerLocked(expiryTimer(ret.id))
		} else {
			s.scheduleExpiryLocked(ret)
		}
	}
}

// SetWebhookURL points the webhooks at url.
func (s *Sandbox) SetWebhookURL(url string) { s.hooks.SetURL(url) }

// SetDelivery replaces the webhook delivery knobs.
func (s *Sandbox) SetDelivery(d DeliverySettings) { s.hooks.SetSettings(d) }

// SetWebhookSecret changes the signing secret, as rotating it in Loop's admin does.
func (s *Sandbox) SetWebhookSecret(secret string) {
	s.mu.Lock()
	s.secret = secret
	s.mu.Unlock()
}

// Advance moves the return's parcel one status on now and sends its return.updated webhook. It
// returns the new label status.
func (s *Sandbox) Advance(returnID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ret, ok := s.returnLocked(returnID)
	if !ok {
		return "", ErrNotFound
	}
	next, err := s.stepLocked(ret)
	if err != nil {
		return "", err
	}
	return next, s.persistLocked()
}

// Cancel cancels the return, as a merchant does in Loop's admin.
func (s *Sandbox) Cancel(returnID string) error { return s.change(returnID, s.cancelLocked) }

// Expire expires the return, as Loop does when its label was never used.
func (s *Sandbox) Expire(returnID string) error { return s.change(returnID, s.expireLocked) }

// Review flags the return for review.
func (s *Sandbox) Review(returnID string) error { return s.change(returnID, s.reviewLocked) }

func (s *Sandbox) change(returnID string, f func(*returnRec) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ret, ok := s.returnLocked(returnID)
	if !ok {
		return ErrNotFound
	}
	if err := f(ret); err != nil {
		return err
	}
	return s.persistLocked()
}

// Notify raises a return.updated webhook, with a new webhook id, for the return as it is now,
// and returns the webhook's id.
func (s *Sandbox) Notify(returnID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ret, ok := s.returnLocked(returnID)
	if !ok {
		return "", ErrNotFound
	}
	return s.emitLocked(TriggerReturnUpdated, ret), nil
}

// Return reports a return's state.
func (s *Sandbox) Return(returnID string) (ReturnState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ret, ok := s.returnLocked(returnID)
	if !ok {
		return ReturnState{}, false
	}
	st := ReturnState{State: ret.state}
	if ret.label != nil {
		st.LabelStatus, st.LabelID = ret.label.status, formatID(ret.label.id)
	}
	return st, true
}

// Webhooks lists every webhook raised so far, oldest first, with what became of it.
func (s *Sandbox) Webhooks() []Delivery {
	list := s.hooks.List()
	out := make([]Delivery, len(list))
	for i, d := range list {
		out[i] = deliveryOf(d)
	}
	return out
}

// FlushWebhooks sends every copy still waiting for its delay — late, reordered or between
// retries — now.
func (s *Sandbox) FlushWebhooks() { s.hooks.Flush() }

// Redeliver sends one more copy of a webhook now, whatever the delivery knobs say: the same id,
// the same body, signed with the current secret.
func (s *Sandbox) Redeliver(webhookID string) error {
	if err := s.hooks.Redeliver(webhookID); err != nil {
		return ErrNotFound
	}
	return nil
}

// controlRoutes serves the control API:
//
//	GET  /_sandbox/loop/settings               the knobs (Settings)
//	PUT  /_sandbox/loop/settings               replace them
//	GET  /_sandbox/loop/stats                  the counters (Stats)
//	GET  /_sandbox/loop/returns/{id}           a return's state (ReturnState)
//	POST /_sandbox/loop/returns/{id}/advance   move the parcel one status on
//	POST /_sandbox/loop/returns/{id}/cancel    cancel, expire or flag the return
//	POST /_sandbox/loop/returns/{id}/expire
//	POST /_sandbox/loop/returns/{id}/review
//	POST /_sandbox/loop/returns/{id}/notify    raise a return.updated webhook for it now
//	GET  /_sandbox/loop/webhooks               every webhook with its delivery record
//	POST /_sandbox/loop/webhooks/flush         send every delayed copy now
//	POST /_sandbox/loop/webhooks/{id}/redeliver   send one more copy now
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
	mux.HandleFunc("GET "+controlPrefix+"returns/{id}", func(w http.ResponseWriter, r *http.Request) {
		st, ok := s.Return(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "return_not_found", "Return not found.", nil)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST "+controlPrefix+"returns/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var err error
		switch r.PathValue("action") {
		case "advance":
			_, err = s.Advance(id)
		case "cancel":
			err = s.Cancel(id)
		case "expire":
			err = s.Expire(id)
		case "review":
			err = s.Review(id)
		case "notify":
			_, err = s.Notify(id)
		default:
			writeError(w, http.StatusNotFound, "not_found", "Not Found.", nil)
			return
		}
		switch {
		case errors.Is(err, ErrNotFound):
			writeError(w, http.StatusNotFound, "return_not_found", "Return not found.", nil)
		case err != nil:
			writeStateError(w, err)
		default:
			st, _ := s.Return(id)
			writeJSON(w, http.StatusOK, st)
		}
	})
	mux.HandleFunc("GET "+controlPrefix+"webhooks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Webhooks())
	})
	mux.HandleFunc("POST "+controlPrefix+"webhooks/flush", func(w http.ResponseWriter, r *http.Request) {
		s.FlushWebhooks()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST "+controlPrefix+"webhooks/{id}/redeliver", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Redeliver(r.PathValue("id")); err != nil {
			writeError(w, http.StatusNotFound, "webhook_not_found", "Webhook not found.", nil)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	return mux
}

func formatID(id int64) string { return strconv.FormatInt(id, 10) }
