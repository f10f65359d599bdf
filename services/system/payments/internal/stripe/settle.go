package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// listPage bounds one list request; Stripe's maximum.
const listPage = 100

// maxListPages bounds a listing, so a gateway that kept answering has_more cannot keep the
// caller forever: 100 pages of 100 is more than any hourly settlement run sees.
const maxListPages = 100

// Payout is a transfer of the available balance to the merchant's bank account.
type Payout struct {
	ID          string `json:"id"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Created     int64  `json:"created"`
	ArrivalDate int64  `json:"arrival_date"`
	Status      string `json:"status"`
}

// BalanceTransaction is one movement of the balance a payout paid out: a charge (amount, the
// processing fee, net), a refund (negative amount) or an adjustment.
type BalanceTransaction struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Amount      int64  `json:"amount"`
	Fee         int64  `json:"fee"`
	Net         int64  `json:"net"`
	Currency    string `json:"currency"`
	AvailableOn int64  `json:"available_on"`
	Created     int64  `json:"created"`
	// SourceID is the charge or refund id; PaymentIntent the intent a charge or refund
	// belongs to, read from the expanded source (empty for other types).
	SourceID      string `json:"-"`
	PaymentIntent string `json:"-"`
}

type balanceTxnWire struct {
	BalanceTransaction
	Source json.RawMessage `json:"source"`
}

type sourceWire struct {
	ID            string `json:"id"`
	PaymentIntent any    `json:"payment_intent"`
}

type listWire[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// ListPayouts lists the payouts created at or after since (Unix seconds), newest first, paging
// with starting_after (GET /v1/payouts).
func (c *Client) ListPayouts(ctx context.Context, since int64) ([]Payout, error) {
	return listAll(ctx, c, "v1/payouts", url.Values{"created[gte]": {fmt.Sprint(since)}}, func(p Payout) (Payout, string) { return p, p.ID })
}

// ListBalanceTransactions lists what payoutID paid out, each with its source expanded so the
// charge's payment intent is known (GET /v1/balance_transactions?payout=…&expand[]=data.source).
func (c *Client) ListBalanceTransactions(ctx context.Context, payoutID string) ([]BalanceTransaction, error) {
	if err := checkID(payoutID); err != nil {
		return nil, toErr(err)
	}
	q := url.Values{"payout": {payoutID}, "expand[]": {"data.source"}}
	return listAll(ctx, c, "v1/balance_transactions", q, func(w balanceTxnWire) (BalanceTransaction, string) {
		t := w.BalanceTransaction
		var src sourceWire
		if json.Unmarshal(w.Source, &src) == nil {
			t.SourceID = src.ID
			switch pi := src.PaymentIntent.(type) {
			case string:
				t.PaymentIntent = pi
			case map[string]any:
				t.PaymentIntent, _ = pi["id"].(string)
			}
		} else {
			_ = json.Unmarshal(w.Source, &t.SourceID)
		}
		return t, t.ID
	})
}

// listAll follows a Stripe list through its pages.
func listAll[W, T any](ctx context.Context, c *Client, path string, q url.Values, conv func(W) (T, string)) ([]T, error) {
	var out []T
	after := ""
	for range maxListPages {
		pq := url.Values{"limit": {fmt.Sprint(listPage)}}
		for k, v := range q {
			pq[k] = v
		}
		if after != "" {
			pq.Set("starting_after", after)
		}
		var page listWire[W]
		if err := c.send(ctx, request{method: http.MethodGet, path: path, query: pq, resource: "account"}, &page); err != nil {
			return nil, err
		}
		for _, w := range page.Data {
			t, id := conv(w)
			out = append(out, t)
			after = id
		}
		if !page.HasMore || len(page.Data) == 0 {
			return out, nil
		}
	}
	return out, nil
}
