package stripe

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// payoutControlPath is where a payout is run by hand: Stripe pays the available balance out on
// its own schedule, which a test or a person trying settlement cannot wait for.
const payoutControlPath = "/_sandbox/stripe/payouts"

// Stripe's standard card pricing, the sandbox's fee schedule until SetFee changes it.
const (
	defaultFeeBasisPoints = 290
	defaultFeeFixed       = 30
)

// ledger is the account's balance history: one balance transaction per captured charge (with
// its processing fee) and per counting refund, and the payouts that grouped them. It is derived
// from the payments and refunds the first time a listing or payout looks, so every way money
// moves (seeded, captured, refunded) is recorded without each path knowing about the ledger.
type ledger struct {
	txns     []*balanceTxn
	bySource map[string]*balanceTxn
	payouts  []*payout
	feeSet   bool
	feeBP    int64
	feeFixed int64
}

type balanceTxn struct {
	id, typ, source, currency, payout string
	amount, fee                       int64
	created                           int64
}

type payout struct {
	id, currency string
	amount       int64
	created      int64
	txns         []string
}

// SetFee changes the fee schedule for charges the ledger records from now on: basisPoints of
// the amount plus fixed minor units. Tests use it to make the platform charge a fee that
// differs from the one the merchant's contract says.
func (s *Sandbox) SetFee(basisPoints, fixed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ledger.feeSet, s.ledger.feeBP, s.ledger.feeFixed = true, basisPoints, fixed
}

// Charge adds a payment intent captured at once for orderID: a charge the platform took that
// Retailbridge's workflow never asked for (a payment taken on another channel), as settlement
// must notice.
func (s *Sandbox) Charge(orderID string, amount int64, currency string) string {
	id := s.Authorize(orderID, amount, currency)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	p.captured, p.authorized = amount, 0
	return id
}

// record brings the ledger up to date with the payments and refunds; the caller holds mu.
func (s *Sandbox) record() {
	l := &s.ledger
	if l.bySource == nil {
		l.bySource = map[string]*balanceTxn{}
	}
	if !l.feeSet {
		l.feeSet, l.feeBP, l.feeFixed = true, defaultFeeBasisPoints, defaultFeeFixed
	}
	now := s.opts.Now().Unix()
	for _, id := range slices.Sorted(maps.Keys(s.payments)) {
		p := s.payments[id]
		if p.captured > 0 && l.bySource[p.chargeID] == nil {
			fee := (p.captured*l.feeBP+5000)/10000 + l.feeFixed
			l.add(&balanceTxn{typ: "charge", source: p.chargeID, currency: p.currency, amount: p.captured, fee: fee, created: now})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.refunds)) {
		r := s.refunds[id]
		if r.status == StatusSucceeded && l.bySource[r.id] == nil {
			l.add(&balanceTxn{typ: "refund", source: r.id, currency: r.currency, amount: -r.amount, created: now})
		}
	}
}

func (l *ledger) add(t *balanceTxn) {
	t.id = fmt.Sprintf("txn_sbx%010d", len(l.txns)+1)
	l.txns = append(l.txns, t)
	l.bySource[t.source] = t
}

// Payout pays out every recorded balance transaction not yet in a payout, one payout per
// currency, and returns the new payouts' ids (none when nothing was owed).
func (s *Sandbox) Payout() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record()
	l := &s.ledger
	byCurrency := map[string]*payout{}
	var ids []string
	for _, t := range l.txns {
		if t.payout != "" {
			continue
		}
		po := byCurrency[t.currency]
		if po == nil {
			po = &payout{id: fmt.Sprintf("po_sbx%010d", len(l.payouts)+1), currency: t.currency, created: s.opts.Now().Unix()}
			byCurrency[t.currency] = po
			l.payouts = append(l.payouts, po)
			ids = append(ids, po.id)
		}
		po.amount += t.amount - t.fee
		po.txns = append(po.txns, t.id)
		t.payout = po.id
	}
	return ids
}

// servePayoutControl answers POST /_sandbox/stripe/payouts with {"payouts":[ids]} by Payout.
func (s *Sandbox) servePayoutControl(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string][]string{"payouts": s.Payout()})
}

type listObject struct {
	Object  string `json:"object"`
	Data    []any  `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

type payoutObject struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Amount      int64  `json:"amount"`
	ArrivalDate int64  `json:"arrival_date"`
	Created     int64  `json:"created"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
	Type        string `json:"type"`
	Method      string `json:"method"`
	Automatic   bool   `json:"automatic"`
}

type balanceTxnObject struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Amount            int64  `json:"amount"`
	AvailableOn       int64  `json:"available_on"`
	Created           int64  `json:"created"`
	Currency          string `json:"currency"`
	Fee               int64  `json:"fee"`
	Net               int64  `json:"net"`
	ReportingCategory string `json:"reporting_category"`
	Source            any    `json:"source"`
	Status            string `json:"status"`
	Type              string `json:"type"`
}

// listParams reads a list request's query: limit (1–100, default 10), starting_after, expand[]
// and the filters in allowed. An unknown parameter is Stripe's parameter_unknown.
func listParams(q url.Values, allowed ...string) (limit int, after string, expand []string, bad *result) {
	limit = 10
	for k, vs := range q {
		switch {
		case k == "limit":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > 100 {
				r := apiError(http.StatusBadRequest, typeInvalidRequest, "parameter_invalid_integer", "Invalid integer: "+vs[0], "limit")
				return 0, "", nil, &r
			}
			limit = n
		case k == "starting_after":
			after = vs[0]
		case isIndexed(k, "expand"):
			expand = append(expand, vs...)
		case slices.Contains(allowed, k):
		default:
			r := apiError(http.StatusBadRequest, typeInvalidRequest, "parameter_unknown", "Received unknown parameter: "+k, k)
			return 0, "", nil, &r
		}
	}
	return limit, after, expand, nil
}

// page lists items newest first from after on, as Stripe's list endpoints do.
func page[T any](items []T, id func(T) string, after string, limit int) ([]T, bool) {
	var out []T
	started := after == ""
	for i := len(items) - 1; i >= 0; i-- {
		if !started {
			started = id(items[i]) == after
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, items[i])
	}
	return out, false
}

// listPayouts is GET /v1/payouts (limit, starting_after, created[gte]).
func (s *Sandbox) listPayouts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, after, _, bad := listParams(q, "created[gte]")
	if bad != nil {
		writeResult(w, s.requestID(), *bad)
		return
	}
	gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
	s.mu.Lock()
	var all []*payout
	for _, po := range s.ledger.payouts {
		if po.created >= gte {
			all = append(all, po)
		}
	}
	got, more := page(all, func(p *payout) string { return p.id }, after, limit)
	list := listObject{Object: "list", HasMore: more, URL: "/v1/payouts", Data: []any{}}
	for _, po := range got {
		list.Data = append(list.Data, payoutObject{ID: po.id, Object: "payout", Amount: po.amount, ArrivalDate: po.created,
			Created: po.created, Currency: po.currency, Status: "paid", Type: "bank_account", Method: "standard", Automatic: true})
	}
	s.mu.Unlock()
	writeResult(w, s.requestID(), jsonResult(http.StatusOK, list))
}

// listBalanceTransactions is GET /v1/balance_transactions (payout, limit, starting_after,
// expand[]=data.source).
func (s *Sandbox) listBalanceTransactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, after, expand, bad := listParams(q, "payout")
	if bad != nil {
		writeResult(w, s.requestID(), *bad)
		return
	}
	s.mu.Lock()
	s.record()
	var all []*balanceTxn
	for _, t := range s.ledger.txns {
		if q.Get("payout") == "" || t.payout == q.Get("payout") {
			all = append(all, t)
		}
	}
	got, more := page(all, func(t *balanceTxn) string { return t.id }, after, limit)
	list := listObject{Object: "list", HasMore: more, URL: "/v1/balance_transactions", Data: []any{}}
	for _, t := range got {
		list.Data = append(list.Data, s.toBalanceTxn(t, slices.Contains(expand, "data.source")))
	}
	s.mu.Unlock()
	writeResult(w, s.requestID(), jsonResult(http.StatusOK, list))
}

// toBalanceTxn renders t, its source expanded into the charge or refund when asked; the
// caller holds mu.
func (s *Sandbox) toBalanceTxn(t *balanceTxn, expandSource bool) balanceTxnObject {
	o := balanceTxnObject{ID: t.id, Object: "balance_transaction", Amount: t.amount, AvailableOn: t.created, Created: t.created,
		Currency: t.currency, Fee: t.fee, Net: t.amount - t.fee, ReportingCategory: t.typ, Source: t.source, Status: "available", Type: t.typ}
	if !expandSource {
		return o
	}
	if p := s.charges[t.source]; p != nil {
		o.Source = toCharge(p, nil)
	} else if rf := s.refunds[t.source]; rf != nil {
		o.Source = toRefund(rf)
	}
	return o
}
