package netsuite

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// The sales order status poll's SuiteQL: table transaction, type 'SalesOrd', modified at or
// after a timestamp, in modification order. SuiteQL compares lastmodifieddate as a date-time
// (to the second), where the record service's ON_OR_AFTER compares days, so the poll reads only
// what changed since its watermark, ids and statuses in one page. The status comes both as the
// one-letter code (transaction.status) and as BUILTIN.DF's display text, which for a sales
// order is prefixed with the transaction type ("Sales Order : Billed"). Date-times are written
// in the session's time zone; the sandbox's session is UTC.

const suiteQLStamp = "2006-01-02 15:04:05" // TO_TIMESTAMP / TO_CHAR format 'YYYY-MM-DD HH24:MI:SS'

var suiteQLSalesOrders = regexp.MustCompile(`(?is)^\s*SELECT\s+transaction\.id\s+AS\s+id\s*,\s*transaction\.tranid\s+AS\s+tranid\s*,\s*` +
	`transaction\.externalid\s+AS\s+externalid\s*,\s*transaction\.status\s+AS\s+status\s*,\s*` +
	`BUILTIN\.DF\(\s*transaction\.status\s*\)\s+AS\s+statusname\s*,\s*` +
	`TO_CHAR\(\s*transaction\.lastmodifieddate\s*,\s*'YYYY-MM-DD HH24:MI:SS'\s*\)\s+AS\s+lastmodified\s+` +
	`FROM\s+transaction\s+WHERE\s+transaction\.type\s*=\s*'SalesOrd'\s+AND\s+` +
	`transaction\.lastmodifieddate\s*>=\s*TO_TIMESTAMP\(\s*'([^']*)'\s*,\s*'YYYY-MM-DD HH24:MI:SS'\s*\)\s+` +
	`ORDER\s+BY\s+transaction\.lastmodifieddate\s*,\s*transaction\.id\s*$`)

// salesOrderRows answers the status poll's query: the sales orders modified at or after since
// (to the second, as NetSuite keeps it), oldest change first, then by id.
func (l *ledger) salesOrderRows(since string) ([]map[string]string, bool) {
	from, err := time.Parse(suiteQLStamp, since)
	if err != nil {
		return nil, false
	}
	type row struct {
		so *salesOrder
		at time.Time
	}
	l.mu.Lock()
	var hits []row
	for _, so := range l.salesOrders {
		if at := so.modified.UTC().Truncate(time.Second); !at.Before(from) {
			hits = append(hits, row{so, at})
		}
	}
	slices.SortFunc(hits, func(a, b row) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(atoiOr(a.so.id, 0), atoiOr(b.so.id, 0)))
	})
	rows := make([]map[string]string, 0, len(hits))
	for _, h := range hits {
		rows = append(rows, map[string]string{"id": h.so.id, "tranid": h.so.tranID, "externalid": h.so.externalID,
			"status": h.so.status.code, "statusname": "Sales Order : " + h.so.status.text, "lastmodified": h.at.Format(suiteQLStamp)})
	}
	l.mu.Unlock()
	return rows, true
}

// suiteQLLinks are a page's navigation links as NetSuite writes them: self, first, last, and
// prev / next where such a page exists, each the same query at another offset.
func (s *Sandbox) suiteQLLinks(r *http.Request, limit, offset, total int) []link {
	at := func(off int) string {
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(off)}}
		return s.selfURL(r, r.URL.Path, q)
	}
	links := []link{{Rel: "self", Href: at(offset)}, {Rel: "first", Href: at(0)}}
	if offset > 0 {
		links = append(links, link{Rel: "prev", Href: at(max(offset-limit, 0))})
	}
	if offset+limit < total {
		links = append(links, link{Rel: "next", Href: at(offset + limit)})
	}
	last := 0
	if total > 0 {
		last = (total - 1) / limit * limit
	}
	return append(links, link{Rel: "last", Href: at(last)})
}

// The settlement's read of customer payments: table transaction, type 'CustPymt', created at
// or after a timestamp, with the amount and the integration's body fields.
var suiteQLPayments = regexp.MustCompile(`(?is)^\s*SELECT\s+transaction\.id\s+AS\s+id\s*,\s*` +
	`TO_CHAR\(\s*transaction\.createddate\s*,\s*'YYYY-MM-DD HH24:MI:SS'\s*\)\s+AS\s+created\s*,\s*` +
	`transaction\.foreigntotal\s+AS\s+amount\s*,\s*transaction\.custbody_rb_order_id\s+AS\s+orderid\s*,\s*` +
	`transaction\.custbody_rb_payment_reference\s+AS\s+reference\s+` +
	`FROM\s+transaction\s+WHERE\s+transaction\.type\s*=\s*'CustPymt'\s+AND\s+` +
	`transaction\.createddate\s*>=\s*TO_TIMESTAMP\(\s*'([^']*)'\s*,\s*'YYYY-MM-DD HH24:MI:SS'\s*\)\s+` +
	`ORDER\s+BY\s+transaction\.createddate\s*,\s*transaction\.id\s*$`)

// paymentRows answers the payments query: created at or after since (to the second), oldest
// first, then by id.
func (l *ledger) paymentRows(since string) ([]map[string]string, bool) {
	from, err := time.Parse(suiteQLStamp, since)
	if err != nil {
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var ps []*customerPayment
	for _, p := range l.cash.payments {
		if !p.created.UTC().Truncate(time.Second).Before(from) {
			ps = append(ps, p)
		}
	}
	slices.SortFunc(ps, func(a, b *customerPayment) int {
		return cmp.Or(a.created.Truncate(time.Second).Compare(b.created.Truncate(time.Second)), cmp.Compare(atoiOr(a.id, 0), atoiOr(b.id, 0)))
	})
	rows := make([]map[string]string, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, map[string]string{"id": p.id, "created": p.created.UTC().Format(suiteQLStamp),
			"amount": decimal(p.amount).String(), "orderid": p.orderID, "reference": p.reference})
	}
	return rows, true
}
