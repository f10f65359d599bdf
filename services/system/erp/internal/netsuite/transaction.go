package netsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/money"
)

// transaction is the part of a transaction record (sales order, return authorisation, credit
// memo) Retailbridge reads. Sublists come back only when asked for with expandSubResources.
type transaction struct {
	ID          string      `json:"id"`
	TranID      string      `json:"tranId"`
	ExternalID  string      `json:"externalId"`
	CreatedDate string      `json:"createdDate"`
	Status      *listValue  `json:"status"`
	CreatedFrom *listValue  `json:"createdFrom"`
	Total       json.Number `json:"total"`
	Item        *struct {
		Items []transactionLine `json:"items"`
	} `json:"item"`
}

// transactionLine is one line of a transaction's item sublist.
type transactionLine struct {
	Line        int         `json:"line"`
	OrderLine   int         `json:"orderLine"`
	Item        listValue   `json:"item"`
	Quantity    json.Number `json:"quantity"`
	Amount      json.Number `json:"amount"`
	Restock     bool        `json:"restock"`
	IsClosed    bool        `json:"isClosed"`
	OrderLineID string      `json:"custcol_rb_order_line_id"`
	// QuantityFulfilled is a sales order line's shipped units.
	QuantityFulfilled json.Number `json:"quantityFulfilled"`
}

func (t *transaction) lines() []transactionLine {
	if t.Item == nil {
		return nil
	}
	return t.Item.Items
}

func (t *transaction) status() string {
	if t.Status == nil {
		return ""
	}
	return t.Status.RefName
}

// getTransaction reads a record of recordType by internal id, or by eid:<external id>.
func (c *Client) getTransaction(ctx context.Context, recordType, id string, expand bool) (*transaction, error) {
	var q url.Values
	if expand {
		q = url.Values{"expandSubResources": {"true"}}
	}
	var t transaction
	if err := c.get(ctx, c.recordURL(recordType+"/"+escapeID(id), q), &t, recordType); err != nil {
		return nil, err
	}
	if t.ID == "" {
		return nil, toErr(badPayload(fmt.Errorf("%s %s has no id", recordType, id)))
	}
	return &t, nil
}

// escapeID escapes an internal id or an eid:<external id> for a record URL.
func escapeID(id string) string {
	if ext, ok := strings.CutPrefix(id, "eid:"); ok {
		return "eid:" + url.PathEscape(ext)
	}
	return url.PathEscape(id)
}

// count reads a quantity; NetSuite may write whole quantities with a fraction of zeros.
func count(n json.Number) (int64, error) {
	s := n.String()
	if whole, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
		s = whole
	}
	return strconv.ParseInt(s, 10, 64)
}

// decimal renders minor units as the JSON number NetSuite expects, never through float64.
func decimal(minor int64, currency string) json.Number {
	return json.Number(money.FormatDecimal(minor, currency))
}

// ref is a reference to another record in a request body.
type ref struct {
	ID         string `json:"id,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
}

// sublist is a request body's sublist.
type sublist[T any] struct {
	Items []T `json:"items"`
}

// share is part of a request line allocated to one line of a record.
type share struct {
	line     int // the record's line number
	quantity int64
}

// allocate spreads quantity units of sku over the lines of t that carry it, in line order, up to
// what each line has left after the shares earlier request lines took (taken, by record line;
// allocate adds its own shares to it). Two request lines for one SKU so land on different record
// lines, or on what remains of one. It reads only what never changes on a record (lines, items,
// quantities), so a repeated call builds the same body and NetSuite recognises it by its
// idempotency key.
func allocate(t *transaction, sku string, quantity int64, taken map[int]int64) ([]share, bool) {
	var out []share
	left := quantity
	for _, ln := range t.lines() {
		if left == 0 {
			break
		}
		if ln.Item.RefName != sku {
			continue
		}
		q, err := count(ln.Quantity)
		if err != nil {
			continue
		}
		q -= taken[ln.Line]
		if q <= 0 {
			continue
		}
		take := min(q, left)
		out = append(out, share{line: ln.Line, quantity: take})
		taken[ln.Line] += take
		left -= take
	}
	return out, left == 0
}
