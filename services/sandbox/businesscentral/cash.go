package businesscentral

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The cash end of order-to-cash. API v2.0's customerPaymentJournals and customerPayments: a
// payment is a cash receipt journal line for a customer, applied to a posted invoice
// (appliesToInvoiceId), with the storefront order as its external document number. v2.0 has no
// bank deposits, so they are the Retailbridge extension's bankDeposits page (api/retailbridge/
// returns/v1.0), modelled on the Bank Deposits feature: the payout in postingDescription, the
// total deposited, the charges (fees) deducted, the customer payments it carried.

// Entity sets of the cash documents.
const (
	SetCustomerPaymentJournals = "customerPaymentJournals"
	SetCustomerPayments        = "customerPayments"
	SetBankDeposits            = "bankDeposits"
)

// journalID is the company's one cash receipt journal.
var journalID = guid(0xa, 1)

func paymentJournal(asOf time.Time) map[string]any {
	return map[string]any{"id": journalID, "code": "CASHRCPT", "displayName": "Cash receipts",
		"balancingAccountNumber": "10200", "lastModifiedDateTime": stamp(asOf)}
}

// applyPayment checks a customer payment: the journal, the invoice it applies to, one payment
// per external document number, and a positive amount.
func (l *ledger) applyPayment(d *doc, b *docBody) *reply {
	amount, ok := minorOf(b.Amount)
	inv, found := l.docs[b.AppliesToInvoiceID]
	switch {
	case b.JournalID != journalID:
		r := notFound(SetCustomerPaymentJournals)
		return &r
	case !ok || amount <= 0:
		r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "The amount must be a positive decimal.")
		return &r
	case !found || inv.Set != SetOrderInvoices:
		r := dialog(fmt.Sprintf("The Sales Invoice Header does not exist. Identification fields and values: Id='%s'", b.AppliesToInvoiceID))
		return &r
	}
	for _, o := range l.order {
		if o.Set == SetCustomerPayments && d.External != "" && o.External == d.External {
			r := dialog("A payment with external document number " + d.External + " is already in the journal.")
			return &r
		}
	}
	d.Parent, d.Customer, d.Reference, d.Amount, d.Currency = inv.ID, inv.Customer, b.Description, amount, inv.Currency
	return nil
}

// applyDeposit checks a bank deposit: payments that exist and no other deposit carried.
func (l *ledger) applyDeposit(d *doc, b *docBody) *reply {
	fee, ok := minorOf(b.ChargesAmount)
	if !ok || len(b.PaymentIDs) == 0 {
		r := fail(http.StatusBadRequest, "BadRequest_InvalidRequestBody", "A deposit needs customer payments and a valid charges amount.")
		return &r
	}
	var total int64
	for _, id := range b.PaymentIDs {
		p, found := l.docs[id]
		if !found || p.Set != SetCustomerPayments || p.Status != "" {
			r := dialog("The customer payment " + id + " does not exist or is already deposited.")
			return &r
		}
		total += p.Amount
	}
	for _, id := range b.PaymentIDs {
		l.docs[id].Status = "Deposited"
	}
	d.Reference, d.Payments, d.Fee, d.Amount = b.PostingDescription, b.PaymentIDs, fee, total-fee
	return nil
}

// renderCash adds a cash document's fields to e.
func renderCash(d *doc, e map[string]any) {
	switch d.Set {
	case SetCustomerPayments:
		e["journalId"], e["customerNumber"], e["postingDate"] = journalID, d.Customer, d.Created.Format(time.DateOnly)
		e["amount"], e["appliesToInvoiceId"], e["description"] = decimal(d.Amount), d.Parent, d.Reference
	case SetBankDeposits:
		e["postingDescription"], e["postingDate"], e["bankAccountNumber"] = d.Reference, d.Created.Format(time.DateOnly), "CHECKING"
		e["totalDepositAmount"], e["chargesAmount"], e["customerPaymentIds"] = decimal(d.Amount), decimal(d.Fee), d.Payments
	}
}

// RecordDeposit records a bank deposit of the customer payments of orderIDs with fees deducted
// and the payout in its posting description, as the company's bookkeeper would; it returns the
// deposit's id.
func (s *Sandbox) RecordDeposit(payout string, orderIDs []string, fees int64) (string, error) {
	l := s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &docBody{PostingDescription: payout}
	for _, id := range orderIDs {
		for _, d := range l.order {
			if d.Set == SetCustomerPayments && d.External == id {
				b.PaymentIDs = append(b.PaymentIDs, d.ID)
			}
		}
	}
	b.ChargesAmount = jsonDecimal(fees)
	d := &doc{Set: SetBankDeposits}
	if rep := l.applyDeposit(d, b); rep != nil {
		return "", fmt.Errorf("businesscentral sandbox: deposit refused (%d)", rep.status)
	}
	l.addLocked(d, false)
	return d.ID, l.persistLocked()
}

// SetSalesOrderStatus changes the status of the sales order of a storefront order as a user
// would (a new version and modification time); false when there is none.
func (s *Sandbox) SetSalesOrderStatus(orderID, status string) bool {
	l := s.ledger
	l.mu.Lock()
	var found *doc
	for _, d := range l.order {
		if d.Set == SetSalesOrders && d.External == orderID {
			found = d
		}
	}
	if found != nil {
		found.Status = status
		l.touchLocked(found)
		_ = l.persistLocked()
	}
	l.mu.Unlock()
	if found != nil {
		s.subs.changed(found.Set, found.ID, "updated")
	}
	return found != nil
}

// jsonDecimal renders minor units as the decimal the API writes.
func jsonDecimal(minor int64) json.Number {
	return json.Number(strconv.FormatFloat(decimal(minor), 'f', 2, 64))
}
