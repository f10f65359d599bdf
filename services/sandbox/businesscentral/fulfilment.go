package businesscentral

import (
	"fmt"
	"net/http"
)

// The order-to-cash postings of a sales order. API v2.0 only offers Microsoft.NAV.shipAndInvoice
// (ship what is left and bill it, in one posting), so the Retailbridge extension publishes two
// insert-to-post pages: orderShipments (Ship only, for the lines' quantities) and orderInvoices
// (Invoice only, for everything shipped). The rules are Business Central's posting rules: no
// line ships more than is left on it, an order is billed once and only when fully shipped, and a
// sales order with shipped lines cannot be deleted.

// Entity sets of the order-to-cash postings (extension pages), and API v2.0's posted invoices.
const (
	SetOrderShipments = "orderShipments"
	SetOrderInvoices  = "orderInvoices"
	// SetSalesInvoices is v2.0's salesInvoices: here the posted invoices of orderInvoices, each
	// with the order it billed (orderId, orderNumber) and that order's external document number.
	SetSalesInvoices = "salesInvoices"
	// setPostedOrders holds the sales orders posting deleted: Business Central deletes an order
	// once it is fully shipped and invoiced, so salesOrders no longer lists or serves it; the
	// sandbox keeps it, under no entity set, for what refers to it afterwards (a return order).
	setPostedOrders = "postedSalesOrders"
)

func (l *ledger) salesOrderLocked(id string) (*doc, *reply) {
	so, ok := l.docs[id]
	if !ok || so.Set != SetSalesOrders {
		r := dialog("The Sales Order does not exist. Identification fields and values: Id='" + id + "'")
		return nil, &r
	}
	return so, nil
}

// applyShipment posts a shipment: each shipment line's units go to the order lines of its item
// with quantity left to ship.
func (l *ledger) applyShipment(d *doc, b *docBody) *reply {
	so, bad := l.salesOrderLocked(b.SalesOrderID)
	if bad != nil {
		return bad
	}
	left := map[string]int64{}
	for _, ln := range so.Lines {
		left[ln.ItemNumber] += ln.Quantity - ln.Shipped
	}
	for _, ln := range d.Lines {
		if ln.Quantity > left[ln.ItemNumber] {
			r := dialog(fmt.Sprintf("Qty. to Ship for item %s must not be more than %d on %s.", ln.ItemNumber, left[ln.ItemNumber], so.Number))
			return &r
		}
		left[ln.ItemNumber] -= ln.Quantity
	}
	for _, ln := range d.Lines {
		q := ln.Quantity
		for i := range so.Lines {
			sl := &so.Lines[i]
			if sl.ItemNumber != ln.ItemNumber || q == 0 {
				continue
			}
			take := min(q, sl.Quantity-sl.Shipped)
			sl.Shipped += take
			q -= take
		}
	}
	l.touchLocked(so)
	d.Parent, d.Customer, d.Reference = so.ID, so.Customer, b.PackageTrackingNumber
	return nil
}

// applyInvoice posts the invoice of a fully shipped, not yet invoiced sales order.
func (l *ledger) applyInvoice(d *doc, b *docBody) *reply {
	so, bad := l.salesOrderLocked(b.SalesOrderID)
	if bad != nil {
		return bad
	}
	for _, sl := range so.Lines {
		if sl.Invoiced > 0 {
			r := dialog("Sales order " + so.Number + " is already invoiced.")
			return &r
		}
		if sl.Shipped < sl.Quantity {
			r := dialog(fmt.Sprintf("Item %s on %s is not fully shipped; there is nothing to invoice for it yet.", sl.ItemNumber, so.Number))
			return &r
		}
	}
	d.Lines = nil
	for i := range so.Lines {
		so.Lines[i].Invoiced = so.Lines[i].Quantity
		d.Lines = append(d.Lines, so.Lines[i])
	}
	l.touchLocked(so)
	d.Parent, d.Customer, d.Currency, d.Status = so.ID, so.Customer, so.Currency, "Open"
	d.Reference = so.Number  // the invoice's orderNumber
	so.Set = setPostedOrders // fully shipped and invoiced: posting deletes the order
	return nil
}

// deleteLocked deletes a sales order with the ETag the client read; one with shipped lines
// cannot be deleted.
func (l *ledger) deleteLocked(set, id, ifMatch string) reply {
	d, ok := l.docs[id]
	if !ok || d.Set != set {
		return notFound(set)
	}
	if set != SetSalesOrders {
		return fail(http.StatusMethodNotAllowed, "BadRequest_MethodNotAllowed", "'DELETE' is not allowed on this resource.")
	}
	if ifMatch == "" {
		return fail(http.StatusBadRequest, "Request_EntityChanged",
			"Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.")
	}
	if ifMatch != "*" && ifMatch != d.etag() {
		l.conflicts++
		return fail(http.StatusPreconditionFailed, "Request_EntityChanged", "Another user has already changed the record.")
	}
	for _, ln := range d.Lines {
		if ln.Shipped > 0 {
			return dialog("Sales order " + d.Number + " has shipped lines and cannot be deleted.")
		}
	}
	delete(l.docs, id)
	for i, o := range l.order {
		if o.ID == id {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
	return reply{status: http.StatusNoContent}
}
