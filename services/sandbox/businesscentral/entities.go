package businesscentral

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func decimal(minor int64) float64 { return float64(minor) / 100 }

func minorOf(n json.Number) (int64, bool) {
	if n == "" {
		return 0, true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return int64(math.Round(f * 100)), true
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// entitiesLocked renders every entity of set.
func (l *ledger) entitiesLocked(set, expand string) []map[string]any {
	var out []map[string]any
	switch set {
	case SetItems, SetReturnItems:
		for _, it := range l.items {
			e := map[string]any{"id": it.ERPID, "number": it.SKU, "displayName": it.Title, "type": "Inventory",
				"itemCategoryCode": it.Category, "unitPrice": decimal(it.PriceMinor), "blocked": false,
				"lastModifiedDateTime": stamp(l.asOf)}
			if set == SetReturnItems {
				e["returnable"], e["finalSale"], e["returnWindowDays"] = it.Returnable, it.FinalSale, it.WindowDays
			}
			out = append(out, e)
		}
	case SetCustomerPaymentJournals:
		out = append(out, paymentJournal(l.asOf))
	case SetSalesInvoices:
		for _, d := range l.order {
			if d.Set == SetOrderInvoices {
				out = append(out, l.renderInvoice(d))
			}
		}
	case SetCustomers:
		for _, c := range l.customers {
			out = append(out, map[string]any{"id": c.ID, "number": c.Number, "displayName": c.Name, "email": c.Email,
				"type": "Person", "lastModifiedDateTime": stamp(l.asOf)})
		}
	default:
		for _, d := range l.order {
			if d.Set == set {
				out = append(out, l.render(d, expand))
			}
		}
	}
	return out
}

// linesName is each document set's lines navigation property.
var linesName = map[string]string{
	SetSalesOrders: "salesOrderLines", SetSalesCreditMemos: "salesCreditMemoLines",
	SetReturnOrders: "returnOrderLines", SetReturnReceipts: "returnReceiptLines",
	SetOrderShipments: "orderShipmentLines", SetOrderInvoices: "orderInvoiceLines",
}

// render is a document as its API page shows it.
func (l *ledger) render(d *doc, expand string) map[string]any {
	e := map[string]any{"@odata.etag": d.etag(), "id": d.ID, "number": d.Number, "externalDocumentNumber": d.External,
		"lastModifiedDateTime": stamp(d.Modified)}
	switch d.Set {
	case SetSalesOrders:
		e["orderDate"], e["customerNumber"], e["currencyCode"], e["status"] = d.Created.Format(time.DateOnly), d.Customer, d.Currency, d.Status
		e["totalAmountIncludingTax"] = decimal(d.total())
	case SetSalesCreditMemos:
		e["creditMemoDate"], e["customerNumber"], e["currencyCode"], e["status"] = d.Created.Format(time.DateOnly), d.Customer, d.Currency, d.Status
		e["totalAmountIncludingTax"], e["systemCreatedAt"] = decimal(d.total()), stamp(d.Created)
	case SetReturnOrders:
		e["yourReference"], e["salesOrderId"], e["customerNumber"], e["status"] = d.Reference, d.Parent, d.Customer, d.rmaStatus()
	case SetReturnReceipts:
		e["returnOrderId"], e["locationCode"], e["postingDate"] = d.Parent, d.Location, d.Created.Format(time.DateOnly)
	case SetOrderShipments:
		e["salesOrderId"], e["customerNumber"], e["locationCode"], e["postingDate"] = d.Parent, d.Customer, d.Location, d.Created.Format(time.DateOnly)
		e["packageTrackingNumber"] = d.Reference
	case SetOrderInvoices:
		e["salesOrderId"], e["customerNumber"], e["currencyCode"], e["status"] = d.Parent, d.Customer, d.Currency, d.Status
		e["totalAmountIncludingTax"], e["invoiceDate"] = decimal(d.total()), d.Created.Format(time.DateOnly)
	case SetInventoryAdjustments:
		ln := d.Lines[0]
		e["itemNumber"], e["locationCode"], e["quantity"], e["entryType"] = ln.ItemNumber, d.Location, ln.Quantity, "Negative Adjmt."
		e["reasonCode"], e["amount"], e["postingDate"] = d.Reason, decimal(ln.UnitPrice), d.Created.Format(time.DateOnly)
	case SetCustomerPayments, SetBankDeposits:
		renderCash(d, e)
	}
	if name := linesName[d.Set]; name != "" && strings.Contains(expand, name) {
		lines := make([]any, 0, len(d.Lines))
		for _, ln := range d.Lines {
			m := map[string]any{"sequence": ln.Sequence, "documentId": d.ID, "lineType": "Item", "lineObjectNumber": ln.ItemNumber,
				"quantity": ln.Quantity}
			switch d.Set {
			case SetSalesOrders, SetSalesCreditMemos, SetOrderInvoices:
				m["unitPrice"], m["discountAmount"], m["amountIncludingTax"] = decimal(ln.UnitPrice), decimal(ln.Discount), decimal(ln.amount())
				if d.Set == SetSalesOrders {
					m["shippedQuantity"], m["invoicedQuantity"] = ln.Shipped, ln.Invoiced
				}
			case SetReturnOrders:
				m["quantityReceived"], m["returnReasonCode"] = ln.Received, ln.ReturnReasonCode
			case SetReturnReceipts:
				m["restock"], m["condition"] = ln.Restock, ln.Condition
			}
			lines = append(lines, m)
		}
		e[name] = lines
	}
	return e
}

// renderInvoice is an orderInvoices posting as v2.0's salesInvoices shows the posted invoice:
// the order it billed and that order's external document number (posting copies it).
func (l *ledger) renderInvoice(d *doc) map[string]any {
	e := map[string]any{"@odata.etag": d.etag(), "id": d.ID, "number": d.Number, "externalDocumentNumber": "",
		"orderId": d.Parent, "orderNumber": d.Reference, "invoiceDate": d.Created.Format(time.DateOnly),
		"customerNumber": d.Customer, "currencyCode": d.Currency, "status": d.Status,
		"totalAmountIncludingTax": decimal(d.total()), "lastModifiedDateTime": stamp(d.Modified)}
	if so, ok := l.docs[d.Parent]; ok {
		e["externalDocumentNumber"] = so.External
	}
	return e
}

// docBody is what a POST of any document carries (each set reads its own fields).
type docBody struct {
	ExternalDocumentNumber string      `json:"externalDocumentNumber"`
	CustomerNumber         string      `json:"customerNumber"`
	CurrencyCode           string      `json:"currencyCode"`
	YourReference          string      `json:"yourReference"`
	SalesOrderID           string      `json:"salesOrderId"`
	ReturnOrderID          string      `json:"returnOrderId"`
	LocationCode           string      `json:"locationCode"`
	ItemNumber             string      `json:"itemNumber"`
	Quantity               json.Number `json:"quantity"`
	ReasonCode             string      `json:"reasonCode"`
	Amount                 json.Number `json:"amount"`
	Number                 string      `json:"number"`
	DisplayName            string      `json:"displayName"`
	Email                  string      `json:"email"`
	PackageTrackingNumber  string      `json:"packageTrackingNumber"`
	Lines                  []lineBody  `json:"-"`
	// Cash documents (cash.go).
	JournalID          string      `json:"journalId"`
	AppliesToInvoiceID string      `json:"appliesToInvoiceId"`
	Description        string      `json:"description"`
	PostingDescription string      `json:"postingDescription"`
	ChargesAmount      json.Number `json:"chargesAmount"`
	PaymentIDs         []string    `json:"customerPaymentIds"`
}

type lineBody struct {
	LineType         string      `json:"lineType"`
	LineObjectNumber string      `json:"lineObjectNumber"`
	Quantity         json.Number `json:"quantity"`
	UnitPrice        json.Number `json:"unitPrice"`
	DiscountAmount   json.Number `json:"discountAmount"`
	ReturnReasonCode string      `json:"returnReasonCode"`
	Restock          bool        `json:"restock"`
	Condition        string      `json:"condition"`
}

// readDoc decodes a POST body and its deep-inserted lines into a document of set.
func (l *ledger) readDoc(set string, body []byte) (*doc, *docBody, *reply) {
	var b docBody
	raw := map[string]json.RawMessage{}
	if decode(body, &b) != nil || decode(body, &raw) != nil {
		r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "The request body is not valid JSON.")
		return nil, nil, &r
	}
	if name := linesName[set]; name != "" && raw[name] != nil {
		if decode(raw[name], &b.Lines) != nil {
			r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "The lines are not valid.")
			return nil, nil, &r
		}
	}
	d := &doc{Set: set, External: b.ExternalDocumentNumber, Customer: b.CustomerNumber, Currency: b.CurrencyCode,
		Reference: b.YourReference, Location: b.LocationCode, Reason: b.ReasonCode}
	for i, lb := range b.Lines {
		q, err := strconv.ParseInt(string(lb.Quantity), 10, 64)
		price, ok1 := minorOf(lb.UnitPrice)
		disc, ok2 := minorOf(lb.DiscountAmount)
		if err != nil || q <= 0 || !ok1 || !ok2 {
			r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", fmt.Sprintf("Line %d has an invalid quantity or amount.", i+1))
			return nil, nil, &r
		}
		if _, ok := l.itemBySKU[lb.LineObjectNumber]; !ok {
			r := dialog(fmt.Sprintf("The Item does not exist. Identification fields and values: No.='%s'", lb.LineObjectNumber))
			return nil, nil, &r
		}
		d.Lines = append(d.Lines, line{Sequence: 10000 * (i + 1), ItemNumber: lb.LineObjectNumber, Quantity: q, UnitPrice: price,
			Discount: disc, ReturnReasonCode: lb.ReturnReasonCode, Restock: lb.Restock, Condition: lb.Condition})
	}
	return d, &b, nil
}

// createLocked is a POST to a collection (a deep insert with the document's lines).
func (l *ledger) createLocked(set string, body []byte) reply {
	if set == SetCustomers {
		return l.createCustomerLocked(body)
	}
	d, b, bad := l.readDoc(set, body)
	if bad != nil {
		return *bad
	}
	var rep *reply
	switch set {
	case SetSalesOrders, SetSalesCreditMemos:
		rep = l.checkSalesDoc(d)
	case SetReturnOrders:
		rep = l.checkReturnOrder(d, b)
	case SetReturnReceipts:
		rep = l.applyReceipt(d, b)
	case SetInventoryAdjustments:
		rep = l.checkAdjustment(d, b)
	case SetOrderShipments:
		rep = l.applyShipment(d, b)
	case SetOrderInvoices:
		rep = l.applyInvoice(d, b)
	case SetCustomerPayments:
		rep = l.applyPayment(d, b)
	case SetBankDeposits:
		rep = l.applyDeposit(d, b)
	default:
		r := fail(http.StatusMethodNotAllowed, "BadRequest_MethodNotAllowed", "'POST' is not allowed on this resource.")
		rep = &r
	}
	if rep != nil {
		return *rep
	}
	l.addLocked(d, true)
	return reply{status: http.StatusCreated, body: l.render(d, linesName[set]), etag: d.etag(),
		changed: &change{set: set, id: d.ID, kind: "created"}}
}

func (l *ledger) createCustomerLocked(body []byte) reply {
	var b docBody
	if decode(body, &b) != nil || b.Number == "" {
		return fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "A customer needs a number.")
	}
	if _, ok := l.customers[b.Number]; ok {
		return fail(http.StatusBadRequest, "Internal_EntityWithSameKeyExists",
			"The record already exists. Identification fields and values: No.='"+b.Number+"'")
	}
	c := &customer{ID: guid(0xc, len(l.customers)+1), Number: b.Number, Name: b.DisplayName, Email: b.Email}
	l.customers[b.Number] = c
	return reply{status: http.StatusCreated, body: map[string]any{"id": c.ID, "number": c.Number, "displayName": c.Name,
		"email": c.Email}, changed: &change{set: SetCustomers, id: c.ID, kind: "created"}}
}

func (l *ledger) checkSalesDoc(d *doc) *reply {
	if _, ok := l.customers[d.Customer]; !ok {
		r := dialog("The Customer does not exist. Identification fields and values: No.='" + d.Customer + "'")
		return &r
	}
	if d.Currency == "" {
		d.Currency = "USD"
	}
	if d.Currency != "USD" {
		r := dialog("The currency " + d.Currency + " is not set up for the company.")
		return &r
	}
	d.Status = "Draft"
	if d.Set == SetSalesOrders {
		d.Status = "Open"
	}
	return nil
}

func (l *ledger) checkReturnOrder(d *doc, b *docBody) *reply {
	so, ok := l.docs[b.SalesOrderID]
	if !ok || (so.Set != SetSalesOrders && so.Set != setPostedOrders) {
		r := dialog("The Sales Order does not exist. Identification fields and values: Id='" + b.SalesOrderID + "'")
		return &r
	}
	for _, ln := range d.Lines {
		var ordered int64
		for _, sl := range so.Lines {
			if sl.ItemNumber == ln.ItemNumber {
				ordered += sl.Quantity
			}
		}
		if ln.Quantity > ordered {
			r := dialog(fmt.Sprintf("You cannot return more of item %s than was ordered on %s.", ln.ItemNumber, so.Number))
			return &r
		}
	}
	d.Parent, d.Customer, d.Status = so.ID, so.Customer, RMAOpen
	return nil
}

// applyReceipt receives units against a return order, as posting its receipt does.
func (l *ledger) applyReceipt(d *doc, b *docBody) *reply {
	rma, ok := l.docs[b.ReturnOrderID]
	if !ok || rma.Set != SetReturnOrders {
		r := dialog("The Return Order does not exist. Identification fields and values: Id='" + b.ReturnOrderID + "'")
		return &r
	}
	if st := rma.rmaStatus(); st == RMAClosed || st == RMACredited {
		r := dialog("Return order " + rma.Number + " is " + strings.ToLower(st) + "; nothing can be received.")
		return &r
	}
	left := map[string]int64{}
	for _, ln := range rma.Lines {
		left[ln.ItemNumber] += ln.Quantity - ln.Received
	}
	for _, ln := range d.Lines {
		if ln.Quantity > left[ln.ItemNumber] {
			r := dialog(fmt.Sprintf("Return Qty. to Receive for item %s must not be more than %d.", ln.ItemNumber, left[ln.ItemNumber]))
			return &r
		}
		left[ln.ItemNumber] -= ln.Quantity
	}
	for _, ln := range d.Lines {
		q := ln.Quantity
		for i := range rma.Lines {
			rl := &rma.Lines[i]
			if rl.ItemNumber != ln.ItemNumber || q == 0 {
				continue
			}
			take := min(q, rl.Quantity-rl.Received)
			rl.Received += take
			q -= take
		}
	}
	l.touchLocked(rma)
	d.Parent = rma.ID
	return nil
}

func (l *ledger) checkAdjustment(d *doc, b *docBody) *reply {
	if _, ok := l.itemBySKU[b.ItemNumber]; !ok {
		r := dialog("The Item does not exist. Identification fields and values: No.='" + b.ItemNumber + "'")
		return &r
	}
	q, err := strconv.ParseInt(string(b.Quantity), 10, 64)
	amt, ok := minorOf(b.Amount)
	if err != nil || q <= 0 || !ok {
		r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "quantity and amount must be positive numbers")
		return &r
	}
	d.Lines = []line{{Sequence: 10000, ItemNumber: b.ItemNumber, Quantity: q, UnitPrice: amt}}
	return nil
}

// actionLocked runs a bound action: salesCreditMemos(…)/Microsoft.NAV.post.
func (l *ledger) actionLocked(set, id, action string) reply {
	d, ok := l.docs[id]
	if !ok || d.Set != set {
		return notFound(set)
	}
	if set != SetSalesCreditMemos || action != "Microsoft.NAV.post" {
		return fail(http.StatusBadRequest, "BadRequest_MethodNotAllowed", "The action "+action+" is not bound to "+set+".")
	}
	if d.Status != "Draft" {
		return dialog("Credit memo " + d.Number + " is already posted.")
	}
	d.Status = "Open"
	l.touchLocked(d)
	return reply{status: http.StatusNoContent, changed: &change{set: set, id: id, kind: "updated"}}
}

// patchLocked updates a return order's status. It needs the ETag the client read: Business
// Central refuses an update made against a version that changed since.
func (l *ledger) patchLocked(set, id, ifMatch string, body []byte) reply {
	d, ok := l.docs[id]
	if !ok || d.Set != set {
		return notFound(set)
	}
	if ifMatch == "" {
		return fail(http.StatusBadRequest, "Request_EntityChanged",
			"Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.")
	}
	if ifMatch != "*" && ifMatch != d.etag() {
		l.conflicts++
		return fail(http.StatusPreconditionFailed, "Request_EntityChanged", "Another user has already changed the record.")
	}
	var b struct {
		Status string `json:"status"`
	}
	if set != SetReturnOrders || decode(body, &b) != nil {
		return fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "Only a return order's status can be changed.")
	}
	cur := d.rmaStatus()
	switch {
	case b.Status == cur:
	case cur == RMAClosed || cur == RMACredited:
		return dialog("Return order " + d.Number + " is " + strings.ToLower(cur) + " and cannot be changed.")
	case b.Status == RMAClosed || b.Status == RMACredited:
		d.Status = b.Status
	default:
		return dialog("Status must be Closed or Credited.")
	}
	l.touchLocked(d)
	return reply{status: http.StatusOK, body: l.render(d, ""), etag: d.etag(), changed: &change{set: set, id: id, kind: "updated"}}
}
