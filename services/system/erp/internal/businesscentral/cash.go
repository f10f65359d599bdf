package businesscentral

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The cash end of order-to-cash. A customer payment is a line of a customer payment journal
// (API v2.0 customerPaymentJournals / customerPayments) applied to the order's posted invoice,
// with the storefront order as its external document number: that number is how a payment is
// found again, so an order is paid once under any key. Bank deposits have no v2.0 entity: they
// are read from the Retailbridge extension's bankDeposits page (the Bank Deposits feature's
// header with its customer payments). Listings filter on lastModifiedDateTime.

// paymentDoc is a customer payment journal line.
type paymentDoc struct {
	ID           string      `json:"id"`
	External     string      `json:"externalDocumentNumber"`
	Amount       json.Number `json:"amount"`
	Description  string      `json:"description"`
	LastModified string      `json:"lastModifiedDateTime"`
}

// depositDoc is a bank deposit of the extension's page.
type depositDoc struct {
	ID           string      `json:"id"`
	Description  string      `json:"postingDescription"`
	Total        json.Number `json:"totalDepositAmount"`
	Charges      json.Number `json:"chargesAmount"`
	PaymentIDs   []string    `json:"customerPaymentIds"`
	LastModified string      `json:"lastModifiedDateTime"`
}

// RecordCustomerPayment adds the order's payment to the company's cash receipt journal,
// applied to the invoice. A payment for the order already there is returned as it is.
func (c *Client) RecordCustomerPayment(ctx context.Context, req *erpv1.RecordCustomerPaymentRequest) (*erpv1.RecordCustomerPaymentResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	if !isGUID(req.GetInvoiceId()) {
		return nil, errs.E(errs.NotFound, "invoice_not_found", "no such invoice")
	}
	if err := c.checkCurrency("amount.currency_code", req.GetAmount()); err != nil {
		return nil, err
	}
	unlock, err := c.keys.lock(ctx, "customerPayment:"+req.GetOrderId())
	if err != nil {
		return nil, toErr(err)
	}
	defer unlock()
	var page collection[paymentDoc]
	if err := c.get(ctx, c.entityURL(groupV2, "customerPayments", filterEq("externalDocumentNumber", req.GetOrderId())), &page, "customerPayment"); err != nil {
		return nil, err
	}
	if len(page.Value) > 0 {
		return &erpv1.RecordCustomerPaymentResponse{CustomerPaymentId: page.Value[0].ID}, nil
	}
	var journals collection[struct {
		ID string `json:"id"`
	}]
	if err := c.get(ctx, c.entityURL(groupV2, "customerPaymentJournals", nil), &journals, "customerPaymentJournal"); err != nil {
		return nil, err
	}
	if len(journals.Value) == 0 {
		return nil, errs.E(errs.FailedPrecondition, "payment_journal_missing", "the company has no customer payment journal")
	}
	doc, err := c.post(ctx, c.entityURL(groupV2, "customerPayments", nil), map[string]any{
		"journalId": journals.Value[0].ID, "customerNumber": req.GetCustomerId(), "externalDocumentNumber": req.GetOrderId(),
		"postingDate": c.now().UTC().Format(time.DateOnly), "amount": decimal(req.GetAmount().GetAmountMinor()),
		"appliesToInvoiceId": req.GetInvoiceId(), "description": truncate(req.GetPaymentReference(), 100),
	}, "customerPayment")
	if err != nil {
		return nil, err
	}
	return &erpv1.RecordCustomerPaymentResponse{CustomerPaymentId: doc.ID}, nil
}

// modifiedSince is the $filter of records changed at or after since (gt one tick before).
func modifiedSince(since time.Time) url.Values {
	return url.Values{"$filter": {"lastModifiedDateTime gt " + since.Add(-time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")}}
}

func (c *Client) money(n json.Number) (*canonicalv1.Money, error) {
	m, err := minor(n)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return &canonicalv1.Money{AmountMinor: m, CurrencyCode: c.currency}, nil
}

func modifiedAt(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, toErr(badPayload(err))
	}
	return t, nil
}

// ListCustomerPayments reads the payments changed since since, oldest first.
func (c *Client) ListCustomerPayments(ctx context.Context, since time.Time) ([]*erpv1.CustomerPayment, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	var page collection[paymentDoc]
	if err := c.get(ctx, c.entityURL(groupV2, "customerPayments", modifiedSince(since)), &page, "customerPayment"); err != nil {
		return nil, err
	}
	out := make([]*erpv1.CustomerPayment, 0, len(page.Value))
	for _, p := range page.Value {
		at, err := modifiedAt(p.LastModified)
		if err != nil {
			return nil, err
		}
		amount, err := c.money(p.Amount)
		if err != nil {
			return nil, err
		}
		out = append(out, &erpv1.CustomerPayment{Id: p.ID, OrderId: p.External, PaymentReference: p.Description, Amount: amount,
			CreatedAt: timestamppb.New(at)})
	}
	slices.SortFunc(out, func(a, b *erpv1.CustomerPayment) int {
		return a.GetCreatedAt().AsTime().Compare(b.GetCreatedAt().AsTime())
	})
	return out, nil
}

// ListDeposits reads the bank deposits changed since since, oldest first.
func (c *Client) ListDeposits(ctx context.Context, since time.Time) ([]*erpv1.Deposit, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	var page collection[depositDoc]
	if err := c.get(ctx, c.entityURL(groupReturns, "bankDeposits", modifiedSince(since)), &page, "bankDeposit"); err != nil {
		return nil, err
	}
	out := make([]*erpv1.Deposit, 0, len(page.Value))
	for _, d := range page.Value {
		at, err := modifiedAt(d.LastModified)
		if err != nil {
			return nil, err
		}
		total, err := c.money(d.Total)
		if err != nil {
			return nil, err
		}
		fee, err := c.money(d.Charges)
		if err != nil {
			return nil, err
		}
		out = append(out, &erpv1.Deposit{Id: d.ID, PayoutReference: d.Description, Amount: total, Fee: fee,
			PaymentIds: d.PaymentIDs, CreatedAt: timestamppb.New(at)})
	}
	slices.SortFunc(out, func(a, b *erpv1.Deposit) int { return a.GetCreatedAt().AsTime().Compare(b.GetCreatedAt().AsTime()) })
	return out, nil
}

// closedStatuses are the statuses after which nothing more is fulfilled from a sales order. A
// sales order Business Central deleted is not listed at all: see salesorder_follow.go.
var closedStatuses = []string{"Closed", "Cancelled"}

// ListSalesOrderChanges reads the sales orders changed since since, and the orders invoices
// posted since then deleted (Billed), oldest change first.
func (c *Client) ListSalesOrderChanges(ctx context.Context, since time.Time) ([]*erpv1.SalesOrderChange, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	var page collection[document]
	if err := c.get(ctx, c.entityURL(groupV2, "salesOrders", modifiedSince(since)), &page, "salesOrder"); err != nil {
		return nil, err
	}
	out := make([]*erpv1.SalesOrderChange, 0, len(page.Value))
	for _, so := range page.Value {
		at, err := modifiedAt(so.LastModified)
		if err != nil {
			return nil, err
		}
		out = append(out, &erpv1.SalesOrderChange{SalesOrderId: so.ID, OrderId: so.External, Status: so.Status,
			Closed: slices.Contains(closedStatuses, so.Status), ModifiedAt: timestamppb.New(at)})
	}
	billed, err := c.billedSince(ctx, since, out)
	if err != nil {
		return nil, err
	}
	out = append(out, billed...)
	slices.SortFunc(out, func(a, b *erpv1.SalesOrderChange) int {
		return a.GetModifiedAt().AsTime().Compare(b.GetModifiedAt().AsTime())
	})
	return out, nil
}
