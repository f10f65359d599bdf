package businesscentral

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The item ledger, as the analytics API serves it (GET api/microsoft/analytics/v1.0/companies(…)
// /itemLedgerEntries: entryNo, entryType, documentNo, postingDate, itemNo, locationCode,
// quantity, …), server-paged with @odata.nextLink. On-hand at a location is the sum of its
// entries' quantities. The entries are the stores' opening balances, restocked return receipts,
// negative adjustments and what tests post (SetOnHand).

// itemLedgerPageSize is the sandbox's server page (Business Central's is 20,000; smaller here so
// clients must follow nextLink).
const itemLedgerPageSize = 100

// plantedEntry is an item journal line a test posted.
type plantedEntry struct {
	sku, location string
	quantity      int64
	posted        time.Time
}

// itemLedgerEntriesLocked renders every entry, oldest first.
func (l *ledger) itemLedgerEntriesLocked() []map[string]any {
	var out []map[string]any
	add := func(typ, doc, sku, loc string, qty int64, at time.Time) {
		out = append(out, map[string]any{"entryNo": len(out) + 1, "entryType": typ, "documentNo": doc,
			"documentType": "", "postingDate": at.Format(time.DateOnly), "itemNo": sku, "locationCode": loc,
			"quantity": qty, "remainingQuantity": max(qty, 0), "unitOfMeasureCode": "PCS", "open": qty > 0, "positive": qty > 0})
	}
	for _, b := range l.opening {
		add("Positive Adjmt.", "OPENING", b.SKU, b.Location, b.OnHand, l.asOf)
	}
	for _, d := range l.order {
		switch d.Set {
		case SetReturnReceipts:
			for _, ln := range d.Lines {
				if ln.Restock {
					add("Sale", d.Number, ln.ItemNumber, d.Location, ln.Quantity, d.Created)
				}
			}
		case SetInventoryAdjustments:
			for _, ln := range d.Lines {
				add("Negative Adjmt.", d.Number, ln.ItemNumber, d.Location, -ln.Quantity, d.Created)
			}
		}
	}
	for _, p := range l.planted {
		typ := "Positive Adjmt."
		if p.quantity < 0 {
			typ = "Negative Adjmt."
		}
		add(typ, "SANDBOX", p.sku, p.location, p.quantity, p.posted)
	}
	return out
}

// itemLedgerLocked answers one page of the item ledger, $filter applied.
func (l *ledger) itemLedgerLocked(q url.Values) reply {
	conds, ok := parseFilter(q.Get("$filter"))
	if !ok {
		return fail(http.StatusBadRequest, "BadRequest_InvalidFilter", "The filter expression is not supported.")
	}
	skip := 0
	if v := q.Get("$skiptoken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(http.StatusBadRequest, "BadRequest_InvalidToken", "The skip token is not valid.")
		}
		skip = n
	}
	var hits []any
	for _, e := range l.itemLedgerEntriesLocked() {
		if matches(e, conds) {
			hits = append(hits, e)
		}
	}
	body := map[string]any{"value": []any{}}
	if skip < len(hits) {
		end := min(skip+itemLedgerPageSize, len(hits))
		body["value"] = hits[skip:end]
		if end < len(hits) {
			next := url.Values{}
			for k, v := range q {
				next[k] = v
			}
			next.Set("$skiptoken", strconv.Itoa(end))
			body["@odata.nextLink"] = "?" + next.Encode()
		}
	}
	return reply{status: http.StatusOK, body: body}
}

// onHandLocked sums the item ledger per item and location.
func (l *ledger) onHandLocked(sku, location string) int64 {
	var n int64
	for _, e := range l.itemLedgerEntriesLocked() {
		if e["itemNo"] == sku && e["locationCode"] == location {
			n += e["quantity"].(int64)
		}
	}
	return n
}

// SetOnHand posts an item journal line that brings sku at location (a demo location id or the
// company's own location code) to quantity units, as an
// adjustment keyed in Business Central that never reached Retailbridge would (drift for
// reconciliation to find). It lives in memory only.
func (s *Sandbox) SetOnHand(sku, location string, quantity int64) {
	l := s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	location = LocationID(location)
	l.planted = append(l.planted, plantedEntry{sku: sku, location: location, quantity: quantity - l.onHandLocked(sku, location), posted: l.now()})
}

// OnHand is the company's on-hand of sku at location (the sum of its item ledger entries).
func (s *Sandbox) OnHand(sku, location string) int64 {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	return s.ledger.onHandLocked(sku, LocationID(location))
}
