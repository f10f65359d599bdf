package stripe

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/state"
	"github.com/retailbridge/retailbridge/services/sandbox/webhooks"
)

// world is the account as it is kept in the state file: what Stripe would still know after the
// sandbox restarts. Idempotency records are part of it — a retry after a restart must replay the
// stored answer, not refund a second time — and so are the id counters, so that no id a previous
// run issued is issued again.
type world struct {
	Payments    []paymentState              `json:"payments"`
	Refunds     []refundState               `json:"refunds"`
	Idempotency map[string]idempotencyState `json:"idempotency"`
	RefundSeq   int64                       `json:"refund_seq"`
	RequestSeq  int64                       `json:"request_seq"`
	// Webhooks are the events still owed to the endpoint; a restarted account goes on
	// delivering them, as Stripe retries for days.
	Webhooks []webhooks.Delivery `json:"webhooks,omitempty"`
}

type paymentState struct {
	IntentID   string            `json:"intent_id"`
	ChargeID   string            `json:"charge_id"`
	Currency   string            `json:"currency"`
	Captured   int64             `json:"captured"`
	Refunded   int64             `json:"refunded"`
	Created    int64             `json:"created"`
	Metadata   map[string]string `json:"metadata"`
	APIRefunds int               `json:"api_refunds"`
}

type refundState struct {
	ID            string            `json:"id"`
	IntentID      string            `json:"intent_id"`
	Amount        int64             `json:"amount"`
	Status        string            `json:"status"`
	Reason        string            `json:"reason,omitempty"`
	FailureReason string            `json:"failure_reason,omitempty"`
	Created       int64             `json:"created"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// idempotencyState is a finished request's stored answer; keys still in flight are not kept (a
// request that never answered never happened, so its retry runs).
type idempotencyState struct {
	Fingerprint string    `json:"fingerprint"`
	RequestID   string    `json:"request_id"`
	Status      int       `json:"status"`
	Body        []byte    `json:"body"`
	At          time.Time `json:"at"`
}

// snapshot captures the world. It takes mu and the idempotency store's lock, in that order.
func (s *Sandbox) snapshot() world {
	w := world{Idempotency: map[string]idempotencyState{}, RequestSeq: s.requestIDs.Load()}
	s.mu.Lock()
	w.RefundSeq = s.seq
	for _, p := range s.payments {
		w.Payments = append(w.Payments, paymentState{IntentID: p.intentID, ChargeID: p.chargeID, Currency: p.currency,
			Captured: p.captured, Refunded: p.refunded, Created: p.created, Metadata: p.metadata, APIRefunds: p.apiRefunds})
	}
	for _, r := range s.refunds {
		w.Refunds = append(w.Refunds, refundState{ID: r.id, IntentID: r.intentID, Amount: r.amount, Status: r.status,
			Reason: r.reason, FailureReason: r.failureReason, Created: r.created, Metadata: r.metadata})
	}
	s.mu.Unlock()
	s.idem.mu.Lock()
	for k, e := range s.idem.entries {
		if e.done {
			w.Idempotency[k] = idempotencyState{Fingerprint: e.fingerprint, RequestID: e.requestID,
				Status: e.res.status, Body: e.res.body, At: e.at}
		}
	}
	s.idem.mu.Unlock()
	w.Webhooks = s.hooks.Pending()
	sortWorld(&w)
	return w
}

// restore replaces the account with w; it runs in New, before the sandbox serves.
func (s *Sandbox) restore(w world) error {
	for _, p := range w.Payments {
		s.add(&payment{intentID: p.IntentID, chargeID: p.ChargeID, currency: p.Currency, captured: p.Captured,
			refunded: p.Refunded, created: p.Created, metadata: p.Metadata, apiRefunds: p.APIRefunds})
	}
	for _, r := range w.Refunds {
		p := s.payments[r.IntentID]
		if p == nil {
			return fmt.Errorf("stripe sandbox state: refund %s names unknown payment intent %s", r.ID, r.IntentID)
		}
		ref := &refund{id: r.ID, intentID: p.intentID, chargeID: p.chargeID, currency: p.currency, amount: r.Amount,
			status: r.Status, reason: r.Reason, failureReason: r.FailureReason, created: r.Created, metadata: r.Metadata}
		s.refunds[ref.id] = ref
		s.seen[fingerprint(ref)]++
	}
	for k, e := range w.Idempotency {
		s.idem.entries[k] = &idempotencyEntry{fingerprint: e.Fingerprint, requestID: e.RequestID, done: true,
			res: result{status: e.Status, body: e.Body, executed: true}, at: e.At}
	}
	s.seq = w.RefundSeq
	s.requestIDs.Store(w.RequestSeq)
	s.hooks.Resume(w.Webhooks)
	return nil
}

// persist makes the world durable in the state file (a no-op without one), sharing the disk's
// sync with concurrent requests (state.File.Commit).
func (s *Sandbox) persist() error {
	return s.state.Commit(func() any { return s.snapshot() })
}

// load restores the world from the state file; false when there was none.
func (s *Sandbox) load(f *state.File) (bool, error) {
	var w world
	found, err := f.Load(&w)
	if err != nil || !found {
		return false, err
	}
	return true, s.restore(w)
}

// sortWorld orders the lists by id, so an unchanged world encodes to the same bytes and is not
// rewritten.
func sortWorld(w *world) {
	slices.SortFunc(w.Payments, func(a, b paymentState) int { return strings.Compare(a.IntentID, b.IntentID) })
	slices.SortFunc(w.Refunds, func(a, b refundState) int { return strings.Compare(a.ID, b.ID) })
}
