package shopify

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/state"
)

// world is what mutations changed in the shop, as the state file keeps it. The shop's base —
// orders, lines, fulfilments — is derived from the dataset and seed, which a restarted stack
// reopens unchanged (demo.Open); on top of it every order's refunds, returns and refunded
// quantities are kept, with the @idempotent keys that make a retried refundCreate return its
// first refund instead of refunding again, and the id counter, so that no id a previous run
// issued is issued again.
type world struct {
	NextID     int64                      `json:"next_id"`
	Orders     []orderState               `json:"orders"`
	Idempotent map[string]idempotentState `json:"idempotent"`
	// Webhooks are the deliveries still owed to the receiver; a restarted shop goes on
	// delivering them.
	Webhooks []owedWebhook `json:"webhooks,omitempty"`
	// Activity is what shop activity placed or changed (activity.go).
	Activity []activityState `json:"activity,omitempty"`
}

type orderState struct {
	ID              string        `json:"id"`
	FinancialStatus string        `json:"financial_status"`
	UpdatedAt       time.Time     `json:"updated_at"`
	Lines           []lineState   `json:"lines"`
	Refunds         []refundState `json:"refunds"`
	Returns         []returnState `json:"returns"`
}

type lineState struct {
	ID       string `json:"id"`
	Current  int    `json:"current"`
	Refunded int    `json:"refunded"`
}

type refundState struct {
	ID        string            `json:"id"`
	CreatedAt time.Time         `json:"created_at"`
	Currency  string            `json:"currency"`
	Note      string            `json:"note,omitempty"`
	Lines     []refundLineState `json:"lines"`
	// Transactions is absent for the refunds the dataset implies, which have none.
	Transactions *[]transactionState `json:"transactions,omitempty"`
}

type refundLineState struct {
	ID          string `json:"id"`
	LineID      string `json:"line_id"`
	Quantity    int    `json:"quantity"`
	RestockType string `json:"restock_type"`
}

type returnLineState struct {
	ID         string `json:"id"`
	FLIID      string `json:"fulfillment_line_item_id"`
	Quantity   int    `json:"quantity"`
	Reason     string `json:"reason"`
	ReasonNote string `json:"reason_note,omitempty"`
}

type transactionState struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Gateway string    `json:"gateway"`
	Amount  int64     `json:"amount"`
	Created time.Time `json:"created"`
}

type returnState struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Status    string            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	ClosedAt  *time.Time        `json:"closed_at,omitempty"`
	Lines     []returnLineState `json:"lines"`
}

type idempotentState struct {
	Mutation    string `json:"mutation"`
	Fingerprint string `json:"fingerprint"`
	OrderID     string `json:"order_id"`
	RefundID    string `json:"refund_id"`
}

// snapshotLocked captures the world; the caller holds the store's lock (read or write).
func (st *store) snapshotLocked() world {
	w := world{NextID: st.nextID, Idempotent: map[string]idempotentState{}, Activity: st.activitySnapshotLocked()}
	for _, o := range st.orders {
		os := orderState{ID: o.src.ID, FinancialStatus: o.financialStatus, UpdatedAt: o.updatedAt}
		for _, l := range o.lines {
			os.Lines = append(os.Lines, lineState{ID: l.id, Current: l.current, Refunded: l.refunded})
		}
		for _, r := range o.refunds {
			os.Refunds = append(os.Refunds, toRefundState(r))
		}
		for _, r := range o.returns {
			os.Returns = append(os.Returns, toReturnState(r))
		}
		w.Orders = append(w.Orders, os)
	}
	for k, run := range st.idempotent.All {
		if run.refund == nil {
			continue // inventory keys are not kept across restarts (the levels are not either)
		}
		w.Idempotent[k] = idempotentState{Mutation: run.mutation, Fingerprint: run.fingerprint, OrderID: run.order.src.ID, RefundID: run.refund.id}
	}
	return w
}

func toRefundState(r *refund) refundState {
	rs := refundState{ID: r.id, CreatedAt: r.createdAt, Currency: r.currency, Note: r.note}
	for _, l := range r.lines {
		rs.Lines = append(rs.Lines, refundLineState{l.id, l.line.id, l.quantity, l.restockType})
	}
	if r.transactions != nil {
		txs := []transactionState{}
		for _, tx := range r.transactions {
			txs = append(txs, transactionState{ID: tx.id, Kind: tx.kind, Gateway: tx.gateway, Amount: tx.amount, Created: tx.created})
		}
		rs.Transactions = &txs
	}
	return rs
}

func toReturnState(r *orderReturn) returnState {
	rs := returnState{ID: r.id, Name: r.name, Status: r.status, CreatedAt: r.createdAt, ClosedAt: r.closedAt}
	for _, l := range r.lines {
		rs.Lines = append(rs.Lines, returnLineState{l.id, l.fli.id, l.quantity, l.reason, l.reasonNote})
	}
	return rs
}

// restoreLocked applies w to the shop derived from the dataset; it runs in New, before the
// sandbox serves. A world that names an order, line or fulfilment line the shop does not have
// was kept for another dataset: that is an error, not something to guess around.
func (st *store) restoreLocked(w world) error {
	st.nextID = w.NextID
	st.restoreActivityLocked(w.Activity)
	refunds := map[string]*refund{}
	st.returns = map[string]*orderReturn{}
	for _, os := range w.Orders {
		o := st.byID[os.ID]
		if o == nil {
			return fmt.Errorf("shopify sandbox state: order %s is not in the dataset", os.ID)
		}
		if err := o.restore(os, refunds); err != nil {
			return fmt.Errorf("shopify sandbox state: order %s: %w", os.ID, err)
		}
		for _, r := range o.returns {
			st.returns[r.id] = r
		}
	}
	// A snapshot keeps no age: keys are restored in key order, the same on every restart.
	for _, k := range slices.Sorted(maps.Keys(w.Idempotent)) {
		is := w.Idempotent[k]
		o, rf := st.byID[is.OrderID], refunds[is.RefundID]
		if o == nil || rf == nil {
			return fmt.Errorf("shopify sandbox state: @idempotent key %q names unknown order %s or refund %s", k, is.OrderID, is.RefundID)
		}
		st.idempotent.Put(k, idempotentRun{mutation: is.Mutation, fingerprint: is.Fingerprint, order: o, refund: rf})
	}
	return nil
}

func (o *order) restore(os orderState, refunds map[string]*refund) error {
	o.financialStatus, o.updatedAt = os.FinancialStatus, os.UpdatedAt
	lines := map[string]*lineItem{}
	for _, l := range o.lines {
		lines[l.id] = l
	}
	for _, ls := range os.Lines {
		l := lines[ls.ID]
		if l == nil {
			return fmt.Errorf("no line item %s", ls.ID)
		}
		l.current, l.refunded = ls.Current, ls.Refunded
	}
	o.refunds = nil
	for _, rs := range os.Refunds {
		r := &refund{id: rs.ID, createdAt: rs.CreatedAt, currency: rs.Currency, note: rs.Note}
		for _, l := range rs.Lines {
			if lines[l.LineID] == nil {
				return fmt.Errorf("refund %s: no line item %s", rs.ID, l.LineID)
			}
			r.lines = append(r.lines, &refundLineItem{id: l.ID, line: lines[l.LineID], quantity: l.Quantity, restockType: l.RestockType})
		}
		if rs.Transactions != nil {
			r.transactions = []*transaction{}
			for _, tx := range *rs.Transactions {
				r.transactions = append(r.transactions, &transaction{id: tx.ID, kind: tx.Kind, gateway: tx.Gateway, amount: tx.Amount, created: tx.Created})
			}
		}
		o.refunds = append(o.refunds, r)
		refunds[r.id] = r
	}
	o.returns = nil
	for _, rs := range os.Returns {
		r := &orderReturn{id: rs.ID, name: rs.Name, status: rs.Status, createdAt: rs.CreatedAt, closedAt: rs.ClosedAt, order: o}
		for _, l := range rs.Lines {
			fli := o.anyFulfillmentLineItem(l.FLIID)
			if fli == nil {
				return fmt.Errorf("return %s: no fulfillment line item %s", rs.ID, l.FLIID)
			}
			r.lines = append(r.lines, &returnLineItem{id: l.ID, fli: fli, quantity: l.Quantity, reason: l.Reason, reasonNote: l.ReasonNote})
		}
		o.returns = append(o.returns, r)
	}
	return nil
}

// anyFulfillmentLineItem finds a fulfilment line by id, whatever its fulfilment's status.
func (o *order) anyFulfillmentLineItem(id string) *fulfillmentLineItem {
	for _, f := range o.fulfills {
		for _, fli := range f.lines {
			if fli.id == id {
				return fli
			}
		}
	}
	return nil
}

// persistLocked writes the world to the state file (a no-op without one); the caller holds the
// store's lock.
func (s *Sandbox) persistLocked() error {
	if s.state == nil {
		return nil
	}
	return s.state.Save(s.snapshotLocked())
}

// snapshotLocked is the shop's world with the webhooks it owes; the caller holds the store's lock.
func (s *Sandbox) snapshotLocked() world {
	w := s.store.snapshotLocked()
	w.Webhooks = s.hooks.owedList()
	return w
}

// commit makes the mutations applied so far durable, sharing the disk's sync with concurrent
// mutations and without holding the store's lock while it syncs, so queries go on meanwhile (see
// state.File.Commit). The caller does not hold the lock.
func (s *Sandbox) commit() error {
	return s.state.Commit(func() any {
		s.store.mu.RLock()
		defer s.store.mu.RUnlock()
		return s.snapshotLocked()
	})
}

// load restores the world from f and returns the webhooks it still owed, for the caller to
// resume once the shop saves again. It runs before the sandbox serves.
func (s *Sandbox) load(f *state.File) ([]owedWebhook, error) {
	var w world
	found, err := f.Load(&w)
	if err != nil || !found {
		return nil, err
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if err := s.store.restoreLocked(w); err != nil {
		return nil, fmt.Errorf("%w (%s was kept for another dataset: delete the sandboxes' state directory to start a new world)", err, f.Path())
	}
	return w.Webhooks, nil
}
