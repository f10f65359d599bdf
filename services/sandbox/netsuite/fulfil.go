package netsuite

import "net/http"

// Sales order statuses after fulfilment and billing (NetSuite's orderStatus codes).
var (
	soPartiallyFulfilled = status{"D", "Partially Fulfilled"}
	soPendingBilling     = status{"F", "Pending Billing"}
	soClosed             = status{"H", "Closed"}
)

// salesOrderFor finds the sales order a transform starts from.
func (l *ledger) salesOrderFor(w write) (*salesOrder, *outcome) {
	id, ok := l.lookup(TypeSalesOrder, w.id)
	if !ok {
		o := notFound()
		return nil, &o
	}
	return l.salesOrders[id], nil
}

// fulfil records an item fulfilment (salesOrder/!transform/itemFulfillment): per line, the units
// shipped, never more than are still open. The order moves to Partially Fulfilled or Pending
// Billing, as NetSuite moves it.
func (l *ledger) fulfil(w write) outcome {
	so, bad := l.salesOrderFor(w)
	if bad != nil {
		return *bad
	}
	if so.status == soClosed || so.status == soBilled {
		return userError("You cannot fulfill a sales order that is %s.", so.status.text)
	}
	b := w.body
	if b.Item == nil || len(b.Item.Items) == 0 {
		return userError("You must enter at least one line item for this transaction.")
	}
	took := map[int]int{}
	for i, in := range b.Item.Items {
		n := in.OrderLine
		if n == nil || *n < 1 || *n > len(so.lines) {
			return userError("Line %d: the sales order %s has no such line.", i+1, so.tranID)
		}
		q, bad := quantity(in.Quantity, i+1)
		if bad != nil {
			return *bad
		}
		ln := so.lines[*n-1]
		if left := ln.quantity - ln.fulfilled - took[*n]; ln.closed || q > left {
			return userError("Line %d: you cannot fulfill more than the %d units still open.", i+1, max(left, 0))
		}
		took[*n] += q
	}
	open := 0
	for n, q := range took {
		so.lines[n-1].fulfilled += q
	}
	for _, ln := range so.lines {
		open += ln.quantity - ln.fulfilled
	}
	so.status, so.modified = soPartiallyFulfilled, w.now
	if open == 0 {
		so.status = soPendingBilling
	}
	id, _ := l.newIDs(TypeItemFulfillment)
	return l.done(TypeItemFulfillment, id)
}

// bill creates the invoice of a fully fulfilled sales order (salesOrder/!transform/invoice). An
// order is billed once: a second invoice is refused, as NetSuite refuses billing a Billed order.
func (l *ledger) bill(w write) outcome {
	so, bad := l.salesOrderFor(w)
	if bad != nil {
		return *bad
	}
	if so.status != soPendingBilling {
		return userError("You cannot bill a sales order that is %s.", so.status.text)
	}
	so.status, so.modified = soBilled, w.now
	id, _ := l.newIDs(TypeInvoice)
	l.cash.invoices[id] = so
	return l.done(TypeInvoice, id)
}

// closeSalesOrder closes every open line (PATCH salesOrder with item lines isClosed: true); a
// fulfilled or billed order cannot be closed.
func (l *ledger) closeSalesOrder(w write) outcome {
	so, bad := l.salesOrderFor(w)
	if bad != nil {
		return *bad
	}
	switch so.status {
	case soClosed:
		return outcome{status: http.StatusNoContent, recordType: TypeSalesOrder, id: so.id}
	case soPendingFulfillment:
	default:
		return userError("You cannot close a sales order that is %s.", so.status.text)
	}
	for i := range so.lines {
		so.lines[i].closed = true
	}
	so.status, so.modified = soClosed, w.now
	return outcome{status: http.StatusNoContent, recordType: TypeSalesOrder, id: so.id}
}
