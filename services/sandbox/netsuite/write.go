package netsuite

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// The write paths: record creates, transforms and updates, executed the same way whether they
// arrived synchronously or through the async service.

// refIn references another record by internal or external id.
type refIn struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
}

// lineIn is one sublist line of a request body; which fields matter depends on the record.
type lineIn struct {
	Line         *int        `json:"line"`
	OrderLine    *int        `json:"orderLine"`
	Item         *refIn      `json:"item"`
	Quantity     json.Number `json:"quantity"`
	Rate         json.Number `json:"rate"`
	Amount       json.Number `json:"amount"`
	ItemReceive  *bool       `json:"itemReceive"`
	Restock      *bool       `json:"restock"`
	Location     *refIn      `json:"location"`
	IsClosed     *bool       `json:"isClosed"`
	AdjustQtyBy  json.Number `json:"adjustQtyBy"`
	Condition    string      `json:"custcol_rb_condition"`
	ReturnReason string      `json:"custcol_rb_return_reason"`
	OrderLineID  string      `json:"custcol_rb_order_line_id"`
	TaxCode      *refIn      `json:"taxCode"`
	Doc          *refIn      `json:"doc"`
	Apply        *bool       `json:"apply"`
	Deposit      *bool       `json:"deposit"`
}

type sublistIn struct {
	Items []lineIn `json:"items"`
}

// recordIn is a request body: the fields of every record the sandbox writes.
type recordIn struct {
	ExternalID  string      `json:"externalId"`
	Entity      *refIn      `json:"entity"`
	OrderStatus *refIn      `json:"orderStatus"`
	Memo        string      `json:"memo"`
	Location    *refIn      `json:"location"`
	AdjLocation *refIn      `json:"adjLocation"`
	Item        *sublistIn  `json:"item"`
	Inventory   *sublistIn  `json:"inventory"`
	Disposition string      `json:"custbody_rb_disposition"`
	Value       json.Number `json:"custbody_rb_value"`
	// Cash records (cash.go): a customerPayment's payment is an amount, a deposit's a sublist.
	Customer   *refIn          `json:"customer"`
	Payment    json.RawMessage `json:"payment"`
	UndepFunds *bool           `json:"undepFunds"`
	OrderID    string          `json:"custbody_rb_order_id"`
	Reference  string          `json:"custbody_rb_payment_reference"`
	Apply      *sublistIn      `json:"apply"`
	CashBack   *sublistIn      `json:"cashBack"`
}

// write is one create, transform or update.
type write struct {
	method     string
	recordType string // the type in the path
	id         string // the addressed record of a transform or update (an internal id or eid:…)
	transform  string // the target type of a transform
	body       recordIn
	now        time.Time
}

// outcome is what a write did: the record it created or changed, or NetSuite's error.
type outcome struct {
	status     int // 204 on success
	recordType string
	id         string
	err        *errorBody
}

func failed(status int, code, detail string) outcome {
	return outcome{status: status, err: &errorBody{Type: errorTypes[status], Title: http.StatusText(status), Status: status,
		Details: []errorDetail{{Detail: detail, Code: code}}}}
}

func userError(format string, args ...any) outcome {
	return failed(http.StatusBadRequest, "USER_ERROR", fmt.Sprintf(format, args...))
}

func notFound() outcome {
	return failed(http.StatusNotFound, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID.")
}

func (l *ledger) done(recordType, id string) outcome {
	l.created[recordType]++
	return outcome{status: http.StatusNoContent, recordType: recordType, id: id}
}

// execute applies w; the caller holds mu.
func (l *ledger) execute(w write) outcome {
	switch {
	case w.method == http.MethodPost && w.id == "" && w.recordType == TypeSalesOrder:
		return l.createSalesOrder(w)
	case w.method == http.MethodPost && w.id == "" && w.recordType == TypeInventoryAdjustment:
		return l.createAdjustment(w)
	case w.method == http.MethodPost && w.recordType == TypeSalesOrder && w.transform == TypeReturnAuthorization:
		return l.transformToRMA(w)
	case w.method == http.MethodPost && w.recordType == TypeSalesOrder && w.transform == TypeItemFulfillment:
		return l.fulfil(w)
	case w.method == http.MethodPost && w.recordType == TypeSalesOrder && w.transform == TypeInvoice:
		return l.bill(w)
	case w.method == http.MethodPatch && w.recordType == TypeSalesOrder && w.transform == "" && w.id != "":
		return l.closeSalesOrder(w)
	case w.method == http.MethodPost && w.id == "" && w.recordType == TypeCustomerPayment:
		return l.createPayment(w)
	case w.method == http.MethodPost && w.id == "" && w.recordType == TypeDeposit:
		return l.createDeposit(w)
	case w.method == http.MethodPost && w.recordType == TypeReturnAuthorization && w.transform == TypeItemReceipt:
		return l.receive(w)
	case w.method == http.MethodPost && w.recordType == TypeReturnAuthorization && w.transform == TypeCreditMemo:
		return l.credit(w)
	case w.method == http.MethodPatch && w.recordType == TypeReturnAuthorization && w.transform == "" && w.id != "":
		return l.updateRMA(w)
	case w.transform != "":
		return failed(http.StatusBadRequest, "INVALID_RCRD_TRANSFORM",
			fmt.Sprintf("The transformation of %s into %s is invalid or not emulated by the sandbox.", w.recordType, w.transform))
	}
	return failed(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
		fmt.Sprintf("The sandbox does not emulate %s on %s records.", w.method, w.recordType))
}

// quantity reads a whole, positive quantity.
func quantity(n json.Number, line int) (int, *outcome) {
	q, err := strconv.Atoi(n.String())
	if err != nil || q <= 0 {
		o := userError("Line %d: the quantity %q must be a whole number greater than zero.", line, n)
		return 0, &o
	}
	return q, nil
}

// amount reads a decimal amount in the account currency, never through float64.
func amount(n json.Number, field string, line int) (int64, *outcome) {
	minor, err := money.ParseDecimal(n.String(), currency)
	if err != nil || minor < 0 {
		o := userError("Line %d: the %s %q is not a valid amount.", line, field, n)
		return 0, &o
	}
	return minor, nil
}

func (l *ledger) createSalesOrder(w write) outcome {
	b := w.body
	if b.ExternalID != "" {
		if _, dup := l.soByExternal[b.ExternalID]; dup {
			return userError("A sales order with the external ID %s already exists.", b.ExternalID)
		}
	}
	if b.Entity == nil || b.Entity.ID == "" && b.Entity.ExternalID == "" {
		return userError("Please enter value(s) for: Customer")
	}
	if b.Item == nil || len(b.Item.Items) == 0 {
		return userError("You must enter at least one line item for this transaction.")
	}
	so := &salesOrder{externalID: b.ExternalID, entity: b.Entity.ID, status: soPendingFulfillment, created: w.now, modified: w.now}
	if so.entity == "" {
		so.entity = b.Entity.ExternalID
	}
	for i, in := range b.Item.Items {
		it, ok := l.itemByRef(in.Item)
		if !ok {
			return failed(http.StatusBadRequest, "INVALID_KEY_OR_REF", fmt.Sprintf("Line %d: invalid item reference key.", i+1))
		}
		q, bad := quantity(in.Quantity, i+1)
		if bad != nil {
			return *bad
		}
		rate := it.PriceMinor
		if in.Rate != "" {
			r, bad := amount(in.Rate, "rate", i+1)
			if bad != nil {
				return *bad
			}
			rate = r
		}
		ln := soLine{line: line{number: i + 1, itemID: it.ERPID, sku: it.SKU, quantity: q, rate: rate}, orderLineID: in.OrderLineID}
		if in.TaxCode != nil {
			ln.taxCode = in.TaxCode.ID
		}
		so.lines = append(so.lines, ln)
	}
	so.id, so.tranID = l.newIDs(TypeSalesOrder)
	l.salesOrders[so.id] = so
	if so.externalID != "" {
		l.soByExternal[so.externalID] = so
	}
	return l.done(TypeSalesOrder, so.id)
}

// itemByRef finds the catalogue item a line references, by internal id or external id (SKU).
func (l *ledger) itemByRef(r *refIn) (demo.Item, bool) {
	if r == nil {
		return demo.Item{}, false
	}
	for _, it := range l.items {
		if r.ID != "" && it.ERPID == r.ID || r.ID == "" && r.ExternalID != "" && it.SKU == r.ExternalID {
			return it, true
		}
	}
	return demo.Item{}, false
}

// transformToRMA opens a return authorisation from a sales order. The body's lines name the
// order lines returned (orderLine) and how many; lines not named are not returned. orderStatus
// "A" leaves the RMA pending approval, anything else approves it.
func (l *ledger) transformToRMA(w write) outcome {
	soID, ok := l.lookup(TypeSalesOrder, w.id)
	if !ok {
		return notFound()
	}
	so := l.salesOrders[soID]
	b := w.body
	if b.Item == nil || len(b.Item.Items) == 0 {
		return userError("You must enter at least one line item for this transaction.")
	}
	ra := &returnAuthorization{externalID: b.ExternalID, createdFrom: so, memo: b.Memo, created: w.now,
		pendingApproval: b.OrderStatus != nil && b.OrderStatus.ID == raPendingApproval.code}
	if ra.externalID != "" {
		if _, dup := l.lookup(TypeReturnAuthorization, "eid:"+ra.externalID); dup {
			return userError("A return authorization with the external ID %s already exists.", ra.externalID)
		}
	}
	for i, in := range b.Item.Items {
		if in.OrderLine == nil || *in.OrderLine < 1 || *in.OrderLine > len(so.lines) {
			return userError("Line %d: the sales order %s has no such line.", i+1, so.tranID)
		}
		src := so.lines[*in.OrderLine-1]
		q, bad := quantity(in.Quantity, i+1)
		if bad != nil {
			return *bad
		}
		if q > src.quantity {
			return userError("Line %d: you cannot return more than the %d units sold.", i+1, src.quantity)
		}
		ra.lines = append(ra.lines, &raLine{line: line{number: i + 1, itemID: src.itemID, sku: src.sku, quantity: q, rate: src.rate},
			orderLine: src.number, returnReason: in.ReturnReason, storefrontLineID: src.orderLineID})
	}
	ra.id, ra.tranID = l.newIDs(TypeReturnAuthorization)
	l.rmas[ra.id] = ra
	return l.done(TypeReturnAuthorization, ra.id)
}

// rmaFor finds the RMA a transform starts from and checks that it can still be processed.
func (l *ledger) rmaFor(w write, what string) (*returnAuthorization, *outcome) {
	id, ok := l.lookup(TypeReturnAuthorization, w.id)
	if !ok {
		o := notFound()
		return nil, &o
	}
	ra := l.rmas[id]
	switch st := ra.status(); st {
	case raPendingApproval, raClosed, raCancelled, raRefunded:
		o := userError("You cannot %s a return authorization that is %s.", what, st.text)
		return nil, &o
	}
	return ra, nil
}

// lineOf resolves a body line to the RMA line it names.
func (ra *returnAuthorization) lineOf(in lineIn, i int) (*raLine, *outcome) {
	n := in.OrderLine
	if n == nil {
		n = in.Line
	}
	if n == nil {
		o := userError("Line %d: name the return authorization line (orderLine).", i+1)
		return nil, &o
	}
	for _, ln := range ra.lines {
		if ln.number == *n {
			if ln.closed {
				o := userError("Line %d: the return authorization line %d is closed.", i+1, *n)
				return nil, &o
			}
			return ln, nil
		}
	}
	o := userError("Line %d: the return authorization %s has no line %d.", i+1, ra.tranID, *n)
	return nil, &o
}

// receive records an item receipt against an RMA: a location for the receipt, and per line the
// units received and whether they go back to stock.
func (l *ledger) receive(w write) outcome {
	ra, bad := l.rmaFor(w, "receive")
	if bad != nil {
		return *bad
	}
	b := w.body
	if b.Location == nil || b.Location.ID == "" {
		return userError("Please enter value(s) for: Location")
	}
	if b.Item == nil || len(b.Item.Items) == 0 {
		return userError("You must enter at least one line item for this transaction.")
	}
	ir := &itemReceipt{createdFrom: ra, location: b.Location.ID, created: w.now}
	took := map[*raLine]int{}
	for i, in := range b.Item.Items {
		if in.ItemReceive != nil && !*in.ItemReceive {
			continue
		}
		ln, bad := ra.lineOf(in, i)
		if bad != nil {
			return *bad
		}
		q, bad := quantity(in.Quantity, i+1)
		if bad != nil {
			return *bad
		}
		if left := ln.quantity - ln.received - took[ln]; q > left {
			return userError("Line %d: you cannot receive more than the %d units still expected.", i+1, left)
		}
		took[ln] += q
		loc := b.Location.ID
		if in.Location != nil && in.Location.ID != "" {
			loc = in.Location.ID
		}
		rl := receiptLine{line: ln.line, orderLine: ln.number, restock: in.Restock != nil && *in.Restock,
			location: loc, condition: in.Condition}
		rl.quantity = q
		ir.lines = append(ir.lines, rl)
	}
	if len(ir.lines) == 0 {
		return userError("You must receive at least one line.")
	}
	for ln, q := range took {
		ln.received += q
	}
	ir.id, ir.tranID = l.newIDs(TypeItemReceipt)
	l.receipts[ir.id] = ir
	return l.done(TypeItemReceipt, ir.id)
}

// credit posts a credit memo against an RMA: per line the units credited and the amount.
func (l *ledger) credit(w write) outcome {
	ra, bad := l.rmaFor(w, "credit")
	if bad != nil {
		return *bad
	}
	b := w.body
	if b.Item == nil || len(b.Item.Items) == 0 {
		return userError("You must enter at least one line item for this transaction.")
	}
	cm := &creditMemo{createdFrom: ra, created: w.now}
	took := map[*raLine]int{}
	for i, in := range b.Item.Items {
		ln, bad := ra.lineOf(in, i)
		if bad != nil {
			return *bad
		}
		q, bad := quantity(in.Quantity, i+1)
		if bad != nil {
			return *bad
		}
		if left := ln.quantity - ln.credited - took[ln]; q > left {
			return userError("Line %d: you cannot credit more than the %d units not yet credited.", i+1, left)
		}
		amt := ln.rate * int64(q)
		if in.Amount != "" {
			a, bad := amount(in.Amount, "amount", i+1)
			if bad != nil {
				return *bad
			}
			amt = a
		}
		took[ln] += q
		ml := memoLine{line: ln.line, orderLine: ln.number, amount: amt, restock: in.Restock != nil && *in.Restock}
		ml.quantity = q
		cm.lines = append(cm.lines, ml)
		cm.total += amt
	}
	for ln, q := range took {
		ln.credited += q
	}
	cm.id, cm.tranID = l.newIDs(TypeCreditMemo)
	l.memos[cm.id] = cm
	return l.done(TypeCreditMemo, cm.id)
}

// updateRMA applies a PATCH: lines set isClosed close; an RMA whose lines are all closed is
// Closed. Closing a refunded or already closed RMA changes nothing, as closing is idempotent.
func (l *ledger) updateRMA(w write) outcome {
	id, ok := l.lookup(TypeReturnAuthorization, w.id)
	if !ok {
		return notFound()
	}
	ra := l.rmas[id]
	if w.body.Memo != "" {
		ra.memo = w.body.Memo
	}
	if w.body.OrderStatus != nil && w.body.OrderStatus.ID == raPendingReceipt.code {
		ra.pendingApproval = false
	}
	if w.body.Item != nil {
		for i, in := range w.body.Item.Items {
			if in.Line == nil {
				return userError("Line %d: name the line to change (line).", i+1)
			}
			var target *raLine
			for _, ln := range ra.lines {
				if ln.number == *in.Line {
					target = ln
				}
			}
			if target == nil {
				return userError("Line %d: the return authorization %s has no line %d.", i+1, ra.tranID, *in.Line)
			}
			if in.IsClosed != nil {
				target.closed = *in.IsClosed
			}
		}
	}
	return outcome{status: http.StatusNoContent, recordType: TypeReturnAuthorization, id: ra.id}
}

// createAdjustment posts an inventory adjustment: per line an item, a location and a signed
// quantity; write-offs and vendor claims take units out (negative adjustQtyBy).
func (l *ledger) createAdjustment(w write) outcome {
	b := w.body
	if b.ExternalID != "" {
		if _, dup := l.lookup(TypeInventoryAdjustment, "eid:"+b.ExternalID); dup {
			return userError("An inventory adjustment with the external ID %s already exists.", b.ExternalID)
		}
	}
	if b.AdjLocation == nil || b.AdjLocation.ID == "" {
		return userError("Please enter value(s) for: Adjustment Location")
	}
	if b.Inventory == nil || len(b.Inventory.Items) == 0 {
		return userError("You must enter at least one line item for this transaction.")
	}
	adj := &inventoryAdjustment{externalID: b.ExternalID, location: b.AdjLocation.ID, memo: b.Memo,
		disposition: b.Disposition, created: w.now}
	if b.Value != "" {
		v, bad := amount(b.Value, "value", 0)
		if bad != nil {
			return *bad
		}
		adj.value = &v
	}
	for i, in := range b.Inventory.Items {
		it, ok := l.itemByRef(in.Item)
		if !ok {
			return failed(http.StatusBadRequest, "INVALID_KEY_OR_REF", fmt.Sprintf("Line %d: invalid item reference key.", i+1))
		}
		q, err := strconv.Atoi(in.AdjustQtyBy.String())
		if err != nil || q == 0 {
			return userError("Line %d: adjustQtyBy %q must be a non-zero whole number.", i+1, in.AdjustQtyBy)
		}
		loc := adj.location
		if in.Location != nil && in.Location.ID != "" {
			loc = in.Location.ID
		}
		adj.lines = append(adj.lines, adjustmentLine{itemID: it.ERPID, sku: it.SKU, location: loc, adjustQtyBy: q})
	}
	adj.id, adj.tranID = l.newIDs(TypeInventoryAdjustment)
	l.adjustments[adj.id] = adj
	return l.done(TypeInventoryAdjustment, adj.id)
}
