package netsuite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The cash records of order-to-cash: invoices (billed from sales orders), customer payments
// applied to them (customerPayment, into undeposited funds), and bank deposits (deposit: the
// payments they carry on their payment sublist, fees on cashBack lines, the payout in memo).
// Listings take the record service's query parameter, q=<field> ON_OR_AFTER "<M/D/YYYY>",
// for sales orders (lastModifiedDate), customer payments and deposits (createdDate).

// Record types of the cash records.
const (
	TypeCustomerPayment = "customerPayment"
	TypeDeposit         = "deposit"
)

type customerPayment struct {
	id, tranID, externalID string
	customer               string
	invoice                *salesOrder // the sales order whose invoice it pays
	invoiceID              string
	amount                 int64
	orderID, reference     string
	created                time.Time
	deposit                string // the deposit that carried it, once one did
}

type deposit struct {
	id, tranID, memo string
	payments         []*customerPayment
	fees             int64
	created          time.Time
}

// cashBook holds the cash records; the ledger's mutex guards it.
type cashBook struct {
	invoices   map[string]*salesOrder // invoice id → the sales order it billed
	payments   map[string]*customerPayment
	paymentExt map[string]*customerPayment
	deposits   map[string]*deposit
}

func newCashBook() cashBook {
	return cashBook{invoices: map[string]*salesOrder{}, payments: map[string]*customerPayment{},
		paymentExt: map[string]*customerPayment{}, deposits: map[string]*deposit{}}
}

// createPayment records a customer payment applied to one invoice of the account; a second
// payment under an external id is refused, as NetSuite refuses a duplicate external id.
func (l *ledger) createPayment(w write) outcome {
	b := w.body
	var n json.Number
	if err := json.Unmarshal(b.Payment, &n); err != nil {
		return userError("Invalid payment amount.")
	}
	paid, bad := amount(n, "payment", 0)
	if bad != nil || paid <= 0 {
		return userError("The payment amount must be greater than zero.")
	}
	if b.ExternalID != "" && l.cash.paymentExt[b.ExternalID] != nil {
		return failed(http.StatusBadRequest, "DUP_RCRD", "A record with this external ID already exists.")
	}
	if b.Apply == nil || len(b.Apply.Items) != 1 || b.Apply.Items[0].Doc == nil {
		return userError("The sandbox applies a payment to exactly one invoice.")
	}
	so, ok := l.cash.invoices[b.Apply.Items[0].Doc.ID]
	if !ok {
		return userError("The invoice %s to apply the payment to does not exist.", b.Apply.Items[0].Doc.ID)
	}
	p := &customerPayment{externalID: b.ExternalID, customer: so.entity, invoice: so, invoiceID: b.Apply.Items[0].Doc.ID,
		amount: paid, orderID: b.OrderID, reference: b.Reference, created: w.now}
	p.id, p.tranID = l.newIDs(TypeCustomerPayment)
	l.cash.payments[p.id] = p
	if p.externalID != "" {
		l.cash.paymentExt[p.externalID] = p
	}
	return l.done(TypeCustomerPayment, p.id)
}

// createDeposit records a bank deposit of undeposited payments less cash back (fees).
func (l *ledger) createDeposit(w write) outcome {
	b := w.body
	var lines sublistIn
	if err := json.Unmarshal(b.Payment, &lines); err != nil || len(lines.Items) == 0 {
		return userError("You must select at least one payment to deposit.")
	}
	d := &deposit{memo: b.Memo, created: w.now}
	for i, ln := range lines.Items {
		if ln.Doc == nil || ln.Deposit == nil || !*ln.Deposit {
			continue
		}
		p, ok := l.cash.payments[ln.Doc.ID]
		switch {
		case !ok:
			return userError("Line %d: the payment %s does not exist.", i+1, ln.Doc.ID)
		case p.deposit != "":
			return userError("Line %d: the payment %s is already deposited.", i+1, ln.Doc.ID)
		}
		d.payments = append(d.payments, p)
	}
	if b.CashBack != nil {
		for i, cb := range b.CashBack.Items {
			fee, bad := amount(cb.Amount, "amount", i+1)
			if bad != nil {
				return *bad
			}
			d.fees += fee
		}
	}
	d.id, d.tranID = l.newIDs(TypeDeposit)
	for _, p := range d.payments {
		p.deposit = d.id
	}
	l.cash.deposits[d.id] = d
	return l.done(TypeDeposit, d.id)
}

func (d *deposit) total() int64 {
	var t int64
	for _, p := range d.payments {
		t += p.amount
	}
	return t - d.fees
}

// lookupCash resolves a cash record's id (or eid:) to its internal id; the caller holds mu.
func (l *ledger) lookupCash(recordType, id string) (string, bool) {
	ext, isExt := strings.CutPrefix(id, "eid:")
	switch recordType {
	case TypeCustomerPayment:
		if isExt {
			p, ok := l.cash.paymentExt[ext]
			if !ok {
				return "", false
			}
			return p.id, true
		}
		_, ok := l.cash.payments[id]
		return id, ok
	case TypeDeposit:
		_, ok := l.cash.deposits[id]
		return id, ok && !isExt
	}
	return "", false
}

type paymentDoc struct {
	Links        []link       `json:"links"`
	ID           string       `json:"id"`
	TranID       string       `json:"tranId"`
	ExternalID   string       `json:"externalId,omitempty"`
	TranDate     string       `json:"tranDate"`
	CreatedDate  string       `json:"createdDate"`
	LastModified string       `json:"lastModifiedDate"`
	Customer     ref          `json:"customer"`
	Payment      *json.Number `json:"payment"`
	UndepFunds   bool         `json:"undepFunds"`
	Status       *ref         `json:"status"`
	OrderID      string       `json:"custbody_rb_order_id,omitempty"`
	Reference    string       `json:"custbody_rb_payment_reference,omitempty"`
	Apply        *sublist     `json:"apply"`
}

type depositDoc struct {
	Links        []link       `json:"links"`
	ID           string       `json:"id"`
	TranID       string       `json:"tranId"`
	TranDate     string       `json:"tranDate"`
	CreatedDate  string       `json:"createdDate"`
	LastModified string       `json:"lastModifiedDate"`
	Memo         string       `json:"memo,omitempty"`
	Total        *json.Number `json:"total"`
	Payment      *sublist     `json:"payment"`
	CashBack     *sublist     `json:"cashBack"`
}

// renderCash renders a cash record as the record service serves it; the caller holds mu.
func (l *ledger) renderCash(s *Sandbox, r *http.Request, recordType, id string, expand bool) (any, bool) {
	self := s.selfURL(r, recordPath+recordType+"/"+id, nil)
	switch recordType {
	case TypeCustomerPayment:
		p, ok := l.cash.payments[id]
		if !ok {
			return nil, false
		}
		st := status{"B", "Not Deposited"}
		if p.deposit != "" {
			st = status{"C", "Deposited"}
		}
		apply := newSublist(self+"/apply", expand, []any{map[string]any{"doc": ref{ID: p.invoiceID}, "apply": true, "amount": decimal(p.amount)}})
		return paymentDoc{Links: []link{{Rel: "self", Href: self}}, ID: p.id, TranID: p.tranID, ExternalID: p.externalID,
			TranDate: date(p.created), CreatedDate: stamp(p.created), LastModified: stamp(p.created),
			Customer: ref{ID: p.customer, RefName: "Customer " + p.customer}, Payment: decimal(p.amount), UndepFunds: true,
			Status: statusRef(st), OrderID: p.orderID, Reference: p.reference, Apply: &apply}, true
	case TypeDeposit:
		d, ok := l.cash.deposits[id]
		if !ok {
			return nil, false
		}
		var pays, fees []any
		for _, p := range d.payments {
			pays = append(pays, map[string]any{"doc": ref{ID: p.id, RefName: "Payment #" + p.tranID}, "deposit": true, "paymentAmount": decimal(p.amount)})
		}
		if d.fees != 0 {
			fees = append(fees, map[string]any{"amount": decimal(d.fees), "memo": "payment processing fees"})
		}
		ps, cb := newSublist(self+"/payment", expand, pays), newSublist(self+"/cashBack", expand, fees)
		return depositDoc{Links: []link{{Rel: "self", Href: self}}, ID: d.id, TranID: d.tranID, TranDate: date(d.created),
			CreatedDate: stamp(d.created), LastModified: stamp(d.created), Memo: d.memo, Total: decimal(d.total()),
			Payment: &ps, CashBack: &cb}, true
	}
	return nil, false
}

// listRecords answers GET <type>?q=<field> ON_OR_AFTER "<M/D/YYYY>"&limit&offset with ids and
// links, as the record service lists: sales orders by lastModifiedDate, customer payments and
// deposits by createdDate. Other types and filters are refused.
func (s *Sandbox) listRecords(w http.ResponseWriter, r *http.Request, recordType string) {
	field, day, ok := parseOnOrAfter(r.URL.Query().Get("q"))
	limit, offset := atoiOr(r.URL.Query().Get("limit"), 1000), atoiOr(r.URL.Query().Get("offset"), 0)
	if !ok || limit < 1 || limit > 1000 || offset < 0 {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", `The sandbox lists with q=<field> ON_OR_AFTER "M/D/YYYY", limit 1-1000.`)
		return
	}
	l := s.ledger
	l.mu.Lock()
	ids, ok := l.listedLocked(recordType, field, day)
	l.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "The sandbox does not list "+recordType+" by "+field+".")
		return
	}
	total := len(ids)
	ids = ids[min(offset, total):min(offset+limit, total)]
	items := make([]any, 0, len(ids))
	for _, id := range ids {
		items = append(items, map[string]any{"links": []link{{Rel: "self", Href: s.selfURL(r, recordPath+recordType+"/"+id, nil)}}, "id": id})
	}
	writeJSON(w, http.StatusOK, "collection", map[string]any{"links": []link{{Rel: "self", Href: s.selfURL(r, r.URL.Path, r.URL.Query())}},
		"count": len(items), "hasMore": offset+len(items) < total, "items": items, "offset": offset, "totalResults": total})
}

// listedLocked is the ids of recordType whose field falls on or after day, in id order.
func (l *ledger) listedLocked(recordType, field string, day time.Time) ([]string, bool) {
	var ids []string
	keep := func(id string, at time.Time) {
		if !at.UTC().Truncate(24 * time.Hour).Before(day) {
			ids = append(ids, id)
		}
	}
	switch {
	case recordType == TypeSalesOrder && field == "lastModifiedDate":
		for id, so := range l.salesOrders {
			keep(id, so.modified)
		}
	case recordType == TypeCustomerPayment && field == "createdDate":
		for id, p := range l.cash.payments {
			keep(id, p.created)
		}
	case recordType == TypeDeposit && field == "createdDate":
		for id, d := range l.cash.deposits {
			keep(id, d.created)
		}
	default:
		return nil, false
	}
	slices.SortFunc(ids, func(a, b string) int { return atoiOr(a, 0) - atoiOr(b, 0) })
	return ids, true
}

func parseOnOrAfter(q string) (string, time.Time, bool) {
	field, rest, ok := strings.Cut(strings.TrimSpace(q), " ON_OR_AFTER ")
	if !ok {
		return "", time.Time{}, false
	}
	day, err := time.Parse("1/2/2006", strings.Trim(strings.TrimSpace(rest), `"`))
	return strings.TrimSpace(field), day, err == nil
}

func atoiOr(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// RecordDeposit records a bank deposit of the given customer payments (by order id) with fees
// deducted and the payout in its memo, as the account's bookkeeper would on the bank's
// statement; it goes through the write journal, so it survives a restart. It returns the
// deposit's id.
func (s *Sandbox) RecordDeposit(payout string, orderIDs []string, fees int64) (string, error) {
	type line struct {
		Doc     refIn `json:"doc"`
		Deposit bool  `json:"deposit"`
	}
	l := s.ledger
	l.mu.Lock()
	var lines []line
	for _, id := range orderIDs {
		p, ok := l.cash.paymentExt["payment-"+id]
		if !ok {
			l.mu.Unlock()
			return "", fmt.Errorf("netsuite sandbox: order %s has no customer payment", id)
		}
		lines = append(lines, line{Doc: refIn{ID: p.id}, Deposit: true})
	}
	l.mu.Unlock()
	body := map[string]any{"memo": payout, "payment": map[string]any{"items": lines}}
	if fees != 0 {
		body["cashBack"] = map[string]any{"items": []any{map[string]any{"amount": decimal(fees)}}}
	}
	return s.writeAsUser(write{method: http.MethodPost, recordType: TypeDeposit}, body)
}

// CloseSalesOrderAsUser closes the sales order of a storefront order as a user in NetSuite
// would (all lines closed), through the write journal; its lastModifiedDate moves.
func (s *Sandbox) CloseSalesOrderAsUser(orderID string) error {
	_, err := s.writeAsUser(write{method: http.MethodPatch, recordType: TypeSalesOrder, id: "eid:" + orderID}, map[string]any{})
	return err
}

// writeAsUser executes one write as a NetSuite user would, journaled and persisted.
func (s *Sandbox) writeAsUser(w write, body any) (string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	canonical, err := decodeBody(raw, &w.body)
	if err != nil {
		return "", err
	}
	w.now = s.opts.Now()
	l := s.ledger
	l.mu.Lock()
	out, _ := l.executeLogged(w, canonical)
	l.mu.Unlock()
	if err := l.commit(); err != nil {
		return "", err
	}
	if out.err != nil {
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(out.err)
		return "", fmt.Errorf("netsuite sandbox: %s", strings.TrimSpace(b.String()))
	}
	return out.id, nil
}
