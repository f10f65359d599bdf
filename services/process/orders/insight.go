package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// Insight serves OrderInsightService: search by business identifiers over every stored order
// and order workflow (indexed by migrations 0013 and 0014), and the order KPIs from the
// workflow's stored history (insight_kpi.go).
type Insight struct {
	ordersv1.UnimplementedOrderInsightServiceServer
	db  *store.DB
	now func() time.Time
}

// NewInsight returns the insight API over db (the order store's and the order workflow's
// database; the store's migrations create the indexes it reads).
func NewInsight(db *store.DB, now func() time.Time) *Insight {
	if now == nil {
		now = time.Now
	}
	return &Insight{db: db, now: now}
}

// orderIdentifier is one business identifier search matches, with the indexed expression and
// the table it lives in.
type orderIdentifier struct {
	matched string
	// store: order_store's canonical order (payload); otherwise the order workflow's data.
	store bool
	path  []string
	fold  bool
}

var orderIdentifiers = []orderIdentifier{
	{"order number", true, []string{"name"}, true},
	{"customer email", true, []string{"customer", "email"}, true},
	{"payment reference", true, []string{"payment_reference"}, false},
	{"ERP sales order", false, []string{"sales_order_id"}, false},
	{"ERP sales order number", false, []string{"sales_order_number"}, false},
	{"ERP invoice", false, []string{"invoice_id"}, false},
	{"OMS order", false, []string{"oms_order_id"}, false},
}

// jsonExpr reads path from column col, written exactly as the migrations' indexes are.
func jsonExpr(d store.Dialect, col string, path []string, fold bool) string {
	e := "json_extract(" + col + ", '$." + strings.Join(path, ".") + "')"
	if d == store.Postgres {
		e = "(" + col + "::jsonb #>> '{" + strings.Join(path, ",") + "}')"
	}
	if fold {
		return "lower(" + e + ")"
	}
	return e
}

// identifierSQL is the indexed lookup of one identifier: ids matching the value argument v,
// newest first, at most the limit argument n.
func (in *Insight) identifierSQL(oi orderIdentifier, v, n string) string {
	if oi.store {
		return `SELECT order_id AS id FROM order_store WHERE ` + jsonExpr(in.db.Dialect(), "payload", oi.path, oi.fold) +
			` = ` + v + ` ORDER BY created_us DESC LIMIT ` + n
	}
	return `SELECT id FROM rb_workflows WHERE kind = 'order' AND ` + jsonExpr(in.db.Dialect(), "data", oi.path, oi.fold) +
		` = ` + v + ` ORDER BY created_at DESC LIMIT ` + n
}

// searchSQL is every lookup in one statement, so a search is two round trips whatever the
// number of identifiers: each branch is its own indexed query (in a subquery, for its own order
// and limit), ranked in the order the identifiers are tried. $1 is the query as typed, $2 folded
// to lower case, $3 the folded order number with its "#", $4 the limit.
func (in *Insight) searchSQL() string {
	branches := []string{
		`SELECT order_id AS id FROM order_store WHERE order_id = $1 LIMIT $4`,
		`SELECT id FROM rb_workflows WHERE id = $1 AND kind = 'order' LIMIT $4`,
	}
	matched := []string{"order id", "order id"}
	for _, oi := range orderIdentifiers {
		v := "$1"
		if oi.fold {
			v = "$2"
		}
		branches, matched = append(branches, in.identifierSQL(oi, v, "$4")), append(matched, oi.matched)
		if oi.matched == "order number" {
			branches, matched = append(branches, in.identifierSQL(oi, "$3", "$4")), append(matched, oi.matched)
		}
	}
	branches = append(branches, `SELECT order_id AS id FROM order_store WHERE customer_id = $1 ORDER BY created_us DESC LIMIT $4`)
	matched = append(matched, "customer id")
	parts := make([]string, len(branches))
	for i, b := range branches {
		parts[i] = fmt.Sprintf(`SELECT id, '%s' AS matched, %d AS r FROM (%s) AS b%d`, matched[i], i, b, i)
	}
	return strings.Join(parts, " UNION ALL ") + " ORDER BY r"
}

// searchIDs runs the lookups, then the correlation id's, keeping the first reason each order
// was found for.
func (in *Insight) searchIDs(ctx context.Context, q string, limit int) ([]workflow.SearchHit, error) {
	number := strings.ToLower(q)
	if !strings.HasPrefix(number, "#") {
		number = "#" + number
	}
	return workflow.Search(ctx, in.db, WorkflowKind, q, limit, in.searchSQL(), q, strings.ToLower(q), number, limit)
}

// SearchOrders finds orders by order number, customer email or id, payment or partner
// reference, order id or correlation id, across every stored order. Support only.
func (in *Insight) SearchOrders(ctx context.Context, req *ordersv1.SearchOrdersRequest) (*ordersv1.SearchOrdersResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportRead); err != nil {
		return nil, err
	}
	q, size := strings.TrimSpace(req.GetQ()), req.GetPageSize()
	if size == 0 {
		size = 20
	}
	if q == "" || len(q) > 256 || size < 0 || size > 100 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(
			errs.FieldViolation{Field: "q", Description: "required, at most 256 characters"},
			errs.FieldViolation{Field: "page_size", Description: "between 1 and 100"})
	}
	hits, err := in.searchIDs(ctx, q, int(size))
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.SearchOrdersResponse{}
	for _, h := range hits[:min(len(hits), int(size))] {
		hit, err := in.hit(ctx, h)
		if err != nil {
			return nil, err
		}
		resp.Hits = append(resp.Hits, hit)
	}
	return resp, nil
}

// hit describes an order found: from the order store when it holds the order, else from the
// order the workflow accepted; with the workflow's state and queue when it has one.
func (in *Insight) hit(ctx context.Context, h workflow.SearchHit) (*ordersv1.OrderSearchHit, error) {
	out := &ordersv1.OrderSearchHit{OrderId: h.ID, Matched: h.Matched}
	var o *canonicalv1.Order
	so, ok, err := (&orderStore{db: in.db, now: in.now}).get(ctx, h.ID)
	if err != nil {
		return nil, err
	}
	if ok {
		o = so.order
	}
	var state, data string
	err = in.db.QueryRow(ctx, `SELECT state, data FROM rb_workflows WHERE id = $1 AND kind = 'order'`, h.ID).Scan(&state, &data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		out.State, out.Queue = state, queueOf(state)
		if o == nil {
			if d, derr := decode([]byte(data)); derr == nil {
				o, _ = d.order()
			}
		}
	}
	if o != nil {
		out.Name, out.CustomerId, out.CustomerEmail, out.Source = o.GetName(), o.GetCustomer().GetId(), o.GetCustomer().GetEmail(), o.GetSource()
		out.CreatedAt = o.GetCreatedAt()
	}
	return out, nil
}
