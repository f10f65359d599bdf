package netsuite

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SuiteQL: POST /services/rest/query/v1/suiteql with {"q": "..."}, paged by limit (at most
// 1000) and offset, answered as a collection whose rows carry the selected columns in lower
// case, every value a string (as NetSuite returns them). The sandbox understands the two queries
// Retailbridge sends: the inventory items (table item) and the on-hand per item and location
// (table inventorybalance joined to item, grouped), with optional "IN (…)" filters, and the
// sales order status poll (suiteql_salesorder.go). Pages carry NetSuite's self/first/prev/next/
// last links.

const suiteQLPath = "/services/rest/query/v1/suiteql"

var (
	suiteQLItems    = regexp.MustCompile(`(?is)^\s*SELECT\s+id\s*,\s*itemid\s*,\s*externalid\s*,\s*displayname\s*,\s*lastmodifieddate\s+FROM\s+item\s+WHERE\s+itemtype\s*=\s*'InvtPart'\s+AND\s+isinactive\s*=\s*'F'\s+ORDER\s+BY\s+id\s*$`)
	suiteQLBalances = regexp.MustCompile(`(?is)^\s*SELECT\s+item\.externalid\s+AS\s+sku\s*,\s*inventorybalance\.location\s+AS\s+location\s*,\s*SUM\(inventorybalance\.quantityonhand\)\s+AS\s+quantityonhand\s+FROM\s+inventorybalance\s+INNER\s+JOIN\s+item\s+ON\s+item\.id\s*=\s*inventorybalance\.item(\s+WHERE\s+.*?)?\s+GROUP\s+BY\s+item\.externalid\s*,\s*inventorybalance\.location\s+ORDER\s+BY\s+inventorybalance\.location\s*,\s*item\.externalid\s*$`)
	suiteQLIn       = regexp.MustCompile(`(?i)(item\.externalid|inventorybalance\.location)\s+IN\s*\(([^)]*)\)`)
)

// serveSuiteQL answers one SuiteQL page.
func (s *Sandbox) serveSuiteQL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "SuiteQL queries are POSTed.")
		return
	}
	var body struct {
		Q string `json:"q"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(raw, &body) != nil || body.Q == "" {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "The request body must be {\"q\": \"<SuiteQL>\"}.")
		return
	}
	limit, offset, ok := pageOf(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "The limit must be 1..1000 and the offset non-negative.")
		return
	}
	var rows []map[string]string
	switch {
	case suiteQLItems.MatchString(body.Q):
		rows = s.itemRows()
	case suiteQLBalances.MatchString(body.Q):
		rows = s.ledger.balanceRows(suiteQLIn.FindAllStringSubmatch(body.Q, -1))
	case suiteQLPayments.MatchString(body.Q):
		var ok bool
		if rows, ok = s.ledger.paymentRows(suiteQLPayments.FindStringSubmatch(body.Q)[1]); !ok {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "TO_TIMESTAMP: the value does not match 'YYYY-MM-DD HH24:MI:SS'.")
			return
		}
	case suiteQLSalesOrders.MatchString(body.Q):
		var ok bool
		if rows, ok = s.ledger.salesOrderRows(suiteQLSalesOrders.FindStringSubmatch(body.Q)[1]); !ok {
			writeError(w, http.StatusBadRequest, "INVALID_PARAMETER", "TO_TIMESTAMP: the value does not match 'YYYY-MM-DD HH24:MI:SS'.")
			return
		}
	default:
		writeError(w, http.StatusBadRequest, "INVALID_PARAMETER",
			"Invalid search query. The sandbox understands Retailbridge's item and inventorybalance queries only.")
		return
	}
	page := suiteQLPage(rows, limit, offset)
	page["links"] = s.suiteQLLinks(r, limit, offset, len(rows))
	writeJSON(w, http.StatusOK, "collection", page)
}

func pageOf(r *http.Request) (limit, offset int, ok bool) {
	limit, offset = 1000, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

func suiteQLPage(rows []map[string]string, limit, offset int) map[string]any {
	items := []any{}
	end := min(offset+limit, len(rows))
	if offset < len(rows) {
		for _, row := range rows[offset:end] {
			item := map[string]any{"links": []link{}}
			for k, v := range row {
				item[k] = v
			}
			items = append(items, item)
		}
	}
	return map[string]any{"links": []link{}, "count": len(items), "hasMore": end < len(rows),
		"items": items, "offset": offset, "totalResults": len(rows)}
}

func (s *Sandbox) itemRows() []map[string]string {
	stamp := s.asOf.Format("1/2/2006")
	rows := make([]map[string]string, 0, len(s.items))
	for _, it := range s.items {
		rows = append(rows, map[string]string{"id": it.ERPID, "itemid": it.SKU, "externalid": it.SKU,
			"displayname": it.Title, "lastmodifieddate": stamp})
	}
	slices.SortFunc(rows, func(a, b map[string]string) int { return cmp.Compare(a["id"], b["id"]) })
	return rows
}

// balanceRows sums the account's on-hand per item and location, narrowed by the IN filters.
func (l *ledger) balanceRows(filters [][]string) []map[string]string {
	allow := map[string]map[string]bool{}
	for _, f := range filters {
		set := map[string]bool{}
		for v := range strings.SplitSeq(f[2], ",") {
			set[strings.Trim(strings.TrimSpace(v), "'")] = true
		}
		allow[strings.ToLower(f[1])] = set
	}
	l.mu.Lock()
	onHand := l.onHandLocked()
	l.mu.Unlock()
	var rows []map[string]string
	for k, n := range onHand {
		if sk := allow["item.externalid"]; sk != nil && !sk[k.sku] {
			continue
		}
		if lk := allow["inventorybalance.location"]; lk != nil && !lk[k.location] {
			continue
		}
		rows = append(rows, map[string]string{"sku": k.sku, "location": k.location, "quantityonhand": strconv.FormatInt(n, 10)})
	}
	slices.SortFunc(rows, func(a, b map[string]string) int {
		return cmp.Or(cmp.Compare(a["location"], b["location"]), cmp.Compare(a["sku"], b["sku"]))
	})
	return rows
}

type balanceKey struct{ sku, location string }

// onHandLocked is the account's on-hand: the stores' opening balances, plus restocked return
// receipts, plus inventory adjustments, plus what a test planted (SetOnHand); mu held.
func (l *ledger) onHandLocked() map[balanceKey]int64 {
	out := map[balanceKey]int64{}
	for _, b := range l.opening {
		out[balanceKey{b.SKU, b.Location}] += b.OnHand
	}
	for _, ir := range l.receipts {
		for _, ln := range ir.lines {
			if ln.restock {
				out[balanceKey{ln.sku, cmp.Or(ln.location, ir.location)}] += int64(ln.quantity)
			}
		}
	}
	for _, adj := range l.adjustments {
		for _, ln := range adj.lines {
			out[balanceKey{ln.sku, ln.location}] += int64(ln.adjustQtyBy)
		}
	}
	for k, d := range l.planted {
		out[k] += d
	}
	return out
}

// SetOnHand makes the account hold quantity units of sku at location (a demo location id or
// the account's own internal id), as an adjustment keyed in
// the ERP by hand that never reached Retailbridge would (drift for reconciliation to find). It
// lives in memory only.
func (s *Sandbox) SetOnHand(sku, location string, quantity int64) {
	l := s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	k := balanceKey{sku, LocationID(location)}
	l.planted[k] += quantity - l.onHandLocked()[k]
}

// OnHand is the account's on-hand of sku at location.
func (s *Sandbox) OnHand(sku, location string) int64 {
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	return s.ledger.onHandLocked()[balanceKey{sku, LocationID(location)}]
}
