package netsuite

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// The cash records: customerPayment (a customer's payment applied to an invoice, left in
// undeposited funds) and deposit (a bank deposit: the payments it carried on its payment
// sublist, fees on its cashBack sublist, and the payout it records in its memo). Listings use
// the REST record service's query parameter, q=<field> ON_OR_AFTER "<M/D/YYYY>": NetSuite
// compares dates, not times, so the day is read whole and the rest filtered here (deposits; the
// sales order changes and customer payments are read with SuiteQL, salesorder_changes.go).

const (
	typeCustomerPayment = "customerPayment"
	typeDeposit         = "deposit"
	listPageSize        = 1000 // the record service's largest page
)

// paymentExternalID is the external id of an order's customer payment: one per order.
func paymentExternalID(orderID string) string { return "payment-" + orderID }

// applyLine applies a payment to one invoice.
type applyLine struct {
	Doc    ref         `json:"doc"`
	Apply  bool        `json:"apply"`
	Amount json.Number `json:"amount"`
}

// RecordCustomerPayment records the order's payment against its invoice, in undeposited funds
// (a deposit moves it to the bank when the payout arrives). A payment recorded for the order
// before is returned as it is.
func (c *Client) RecordCustomerPayment(ctx context.Context, req *erpv1.RecordCustomerPaymentRequest) (*erpv1.RecordCustomerPaymentResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	ext := paymentExternalID(req.GetOrderId())
	existing, err := c.getTransaction(ctx, typeCustomerPayment, "eid:"+ext, false)
	switch {
	case err == nil:
		return &erpv1.RecordCustomerPaymentResponse{CustomerPaymentId: existing.ID}, nil
	case errs.KindOf(err) != errs.NotFound:
		return nil, err
	}
	if err := c.checkCurrency("amount.currency_code", req.GetAmount()); err != nil {
		return nil, err
	}
	amount := decimal(req.GetAmount().GetAmountMinor(), c.currency)
	body := struct {
		ExternalID string             `json:"externalId"`
		Customer   ref                `json:"customer"`
		Payment    json.Number        `json:"payment"`
		UndepFunds bool               `json:"undepFunds"`
		Memo       string             `json:"memo,omitempty"`
		OrderID    string             `json:"custbody_rb_order_id"`
		Reference  string             `json:"custbody_rb_payment_reference,omitempty"`
		Apply      sublist[applyLine] `json:"apply"`
	}{ext, ref{ExternalID: req.GetCustomerId()}, amount, true, req.GetPaymentReference(), req.GetOrderId(), req.GetPaymentReference(),
		sublist[applyLine]{Items: []applyLine{{Doc: ref{ID: req.GetInvoiceId()}, Apply: true, Amount: amount}}}}
	id, err := c.submit(ctx, write{op: "RecordCustomerPayment", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url: c.recordURL(typeCustomerPayment, nil), body: body, record: typeCustomerPayment})
	if err != nil {
		return nil, err
	}
	return &erpv1.RecordCustomerPaymentResponse{CustomerPaymentId: id}, nil
}

// listIDs lists the ids of recordType whose field is on or after since's day, every page.
func (c *Client) listIDs(ctx context.Context, recordType, field string, since time.Time) ([]string, error) {
	var ids []string
	for offset := 0; ; {
		q := url.Values{"q": {field + ` ON_OR_AFTER "` + since.UTC().Format("1/2/2006") + `"`},
			"limit": {strconv.Itoa(listPageSize)}, "offset": {strconv.Itoa(offset)}}
		var page struct {
			collection
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if err := c.get(ctx, c.recordURL(recordType, q), &page, recordType); err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if !page.HasMore || len(page.Items) == 0 {
			return ids, nil
		}
		offset += len(page.Items)
	}
}

// stamped reads a record's date-time field; NetSuite writes ISO 8601.
func stamped(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, toErr(badPayload(err))
	}
	return t, nil
}

// amountOf reads a decimal amount in the account currency.
func (c *Client) amountOf(n json.Number) (*canonicalv1.Money, error) {
	if n == "" {
		return &canonicalv1.Money{CurrencyCode: c.currency}, nil
	}
	minor, err := money.ParseDecimal(n.String(), c.currency)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return &canonicalv1.Money{AmountMinor: minor, CurrencyCode: c.currency}, nil
}

// depositRecord is the part of a deposit Retailbridge reads (with expandSubResources).
type depositRecord struct {
	ID          string      `json:"id"`
	Memo        string      `json:"memo"`
	Total       json.Number `json:"total"`
	CreatedDate string      `json:"createdDate"`
	Payment     *struct {
		Items []struct {
			Doc     listValue `json:"doc"`
			Deposit bool      `json:"deposit"`
		} `json:"items"`
	} `json:"payment"`
	CashBack *struct {
		Items []struct {
			Amount json.Number `json:"amount"`
		} `json:"items"`
	} `json:"cashBack"`
}

// ListDeposits reads the deposits created since since, oldest first.
func (c *Client) ListDeposits(ctx context.Context, since time.Time) ([]*erpv1.Deposit, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	ids, err := c.listIDs(ctx, typeDeposit, "createdDate", since)
	if err != nil {
		return nil, err
	}
	var out []*erpv1.Deposit
	for _, id := range ids {
		var rec depositRecord
		q := url.Values{"expandSubResources": {"true"}}
		if err := c.get(ctx, c.recordURL(typeDeposit+"/"+escapeID(id), q), &rec, typeDeposit); err != nil {
			return nil, err
		}
		d, at, err := c.toDeposit(rec)
		if err != nil {
			return nil, err
		}
		if !at.Before(since) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *erpv1.Deposit) int { return a.GetCreatedAt().AsTime().Compare(b.GetCreatedAt().AsTime()) })
	return out, nil
}

func (c *Client) toDeposit(rec depositRecord) (*erpv1.Deposit, time.Time, error) {
	at, err := stamped(rec.CreatedDate)
	if err != nil {
		return nil, at, err
	}
	total, err := c.amountOf(rec.Total)
	if err != nil {
		return nil, at, err
	}
	d := &erpv1.Deposit{Id: rec.ID, PayoutReference: rec.Memo, Amount: total, Fee: &canonicalv1.Money{CurrencyCode: c.currency},
		CreatedAt: timestamppb.New(at)}
	if rec.Payment != nil {
		for _, p := range rec.Payment.Items {
			if p.Deposit {
				d.PaymentIds = append(d.PaymentIds, p.Doc.ID)
			}
		}
	}
	if rec.CashBack != nil {
		for _, cb := range rec.CashBack.Items {
			fee, err := c.amountOf(cb.Amount)
			if err != nil {
				return nil, at, err
			}
			d.Fee.AmountMinor += fee.GetAmountMinor()
		}
	}
	return d, at, nil
}
