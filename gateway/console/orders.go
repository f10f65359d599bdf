package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// orderQueue is one order exception queue of the order-to-cash workflow.
type orderQueue struct {
	Key, Title, About string
}

// orderQueues are the order workflow's exception queues, in the order the overview shows them;
// the keys are the process API's queue names.
var orderQueues = []orderQueue{
	{"failed_tax_enrichment", "Orders that failed tax enrichment", "No tax code for the order's jurisdiction and item category: held before allocation. Set the tax code (every held order of that jurisdiction and category is released) or resolve the order with a code."},
	{"incomplete", "Incomplete orders", "Validation against the ERP item master failed (unknown SKU, missing address or customer)."},
	{"routing_unavailable", "Orders waiting for routing", "No location could be chosen yet."},
	{"inventory_unavailable", "Orders waiting for inventory", "The inventory process could not reserve the lines yet."},
	{"storefront_unavailable", "Orders waiting for the storefront", "The storefront did not take the fulfilment yet."},
	{"capture_unavailable", "Orders waiting for payment capture", "The payment gateway did not capture yet."},
	{"awaiting_stock", "Orders waiting for stock", "Their location ran out before the reservation and no other location had the units after re-routing: released on its own when stock of the SKU arrives, or release to route again."},
}

func findOrderQueue(key string) (orderQueue, bool) {
	for _, q := range orderQueues {
		if q.Key == key {
			return q, true
		}
	}
	return orderQueue{}, false
}

func orderURL(id string) string { return "/console/orders/" + url.PathEscape(id) }

// orderQueueRows lists the orders held in queue.
func (c *Console) orderQueueRows(ctx context.Context, queue string) ([]*ordersv1.OrderWorkflow, error) {
	resp, err := c.deps.Orders.ListOrderExceptions(ctx, &ordersv1.ListOrderExceptionsRequest{Queue: queue, PageSize: maxListed})
	if err != nil {
		return nil, err
	}
	return resp.GetOrders(), nil
}

// orderRow is a held order with its owner.
type orderRow struct {
	*ordersv1.OrderWorkflow
	Owner string
}

// orderFilter selects held orders of a queue: reasons containing Reason (any case) and owned by
// Owner ("-" for unassigned).
type orderFilter struct{ Queue, Reason, Owner string }

func orderFilterOf(r *http.Request) orderFilter {
	get := r.URL.Query().Get
	if r.Method == http.MethodPost {
		get = r.PostFormValue
	}
	return orderFilter{Queue: r.PathValue("queue"), Reason: strings.TrimSpace(get("reason")), Owner: strings.TrimSpace(get("owner"))}
}

func (f orderFilter) query() string {
	return url.Values{"reason": {f.Reason}, "owner": {f.Owner}}.Encode()
}

func (f orderFilter) matches(o orderRow) bool {
	if f.Reason != "" && !strings.Contains(strings.ToLower(strings.Join(o.GetReasons(), "; ")+" "+o.GetLastError()), strings.ToLower(f.Reason)) {
		return false
	}
	switch f.Owner {
	case "":
		return true
	case "-":
		return o.Owner == ""
	}
	return o.Owner == f.Owner
}

// heldOrders lists the orders of f's queue that f selects, with their owners.
func (c *Console) heldOrders(ctx context.Context, f orderFilter) ([]orderRow, error) {
	ws, err := c.orderQueueRows(ctx, f.Queue)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.GetOrderId()
	}
	owners, err := c.assign.owners(ctx, ownOrder, ids)
	if err != nil {
		return nil, err
	}
	var out []orderRow
	for _, w := range ws {
		if row := (orderRow{w, owners[w.GetOrderId()].Assignee}); f.matches(row) {
			out = append(out, row)
		}
	}
	return out, nil
}

type orderQueueData struct {
	Q      orderQueue
	F      orderFilter
	Rows   []orderRow
	CSRF   string
	TaxQ   bool
	DryRun *bulkPlan
}

// orderQueuePage shows the orders held in one exception queue, filtered by reason and owner,
// each linking to its timeline, with who owns it and the bulk actions on the selection.
func (c *Console) orderQueuePage(r *http.Request, s *session) (string, any, error) {
	q, ok := findOrderQueue(r.PathValue("queue"))
	if !ok {
		return "", nil, errs.E(errs.NotFound, "queue_not_found", "there is no order queue "+r.PathValue("queue"))
	}
	f := orderFilterOf(r)
	rows, err := c.heldOrders(r.Context(), f)
	if err != nil {
		return "", nil, err
	}
	d := orderQueueData{Q: q, F: f, Rows: rows, CSRF: s.CSRF, TaxQ: q.Key == "failed_tax_enrichment"}
	if s.OrderBulk != nil && s.OrderBulk.Filter == f {
		d.DryRun = s.OrderBulk
	}
	return "orderqueue", d, nil
}

// orderCounts is each order queue's size, for the overview.
func (c *Console) orderCounts(ctx context.Context) ([]queueCount, error) {
	var out []queueCount
	for _, q := range orderQueues {
		rows, err := c.orderQueueRows(ctx, q.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, queueCount{Key: q.Key, Title: q.Title, N: len(rows)})
	}
	return out, nil
}

type orderData struct {
	W          *ordersv1.OrderWorkflow
	Owner      assignment
	Timeline   []*ordersv1.TimelineEntry
	CSRF       string
	Held       bool
	TaxHeld    bool
	Cancelable bool
}

// orderPage shows an order's workflow and its timeline across systems (every step, vendor call
// with its idempotency key and outcome, signal and agent action) and the actions allowed.
func (c *Console) orderPage(r *http.Request, s *session) (string, any, error) {
	resp, err := c.deps.Orders.GetOrderWorkflow(r.Context(), &ordersv1.GetOrderWorkflowRequest{OrderId: r.PathValue("id")})
	if err != nil {
		return "", nil, err
	}
	w := resp.GetWorkflow()
	owners, err := c.assign.owners(r.Context(), ownOrder, []string{w.GetOrderId()})
	if err != nil {
		return "", nil, err
	}
	return "order", orderData{W: w, Owner: owners[w.GetOrderId()], Timeline: resp.GetTimeline(), CSRF: s.CSRF, Held: w.GetQueue() != "",
		TaxHeld: w.GetQueue() == "failed_tax_enrichment", Cancelable: w.GetQueue() != "" && !w.GetTerminal()}, nil
}

// describe is an order's workflow in one audit-friendly phrase.
func describe(w *ordersv1.OrderWorkflow) string {
	if w == nil {
		return "unknown"
	}
	s := "state=" + w.GetState()
	if w.GetQueue() != "" {
		s += " queue=" + w.GetQueue()
	}
	if len(w.GetReasons()) > 0 {
		s += " reasons=" + strings.Join(w.GetReasons(), "; ")
	}
	return s
}

// before reads the order's workflow ahead of an action, for the audit's "before".
func (c *Console) before(ctx context.Context, id string) (*ordersv1.OrderWorkflow, error) {
	resp, err := c.deps.Orders.GetOrderWorkflow(ctx, &ordersv1.GetOrderWorkflowRequest{OrderId: id})
	return resp.GetWorkflow(), err
}

var resolutions = map[string]ordersv1.ExceptionResolution{
	"retry":        ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_RETRY,
	"use_tax_code": ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_USE_TAX_CODE,
	"cancel":       ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_CANCEL,
}

// resolveOrder releases a held order (retry), resolves it with a tax code the agent gives, or
// cancels it; the audit entry carries the workflow before and after.
func (c *Console) resolveOrder(r *http.Request, _ *session) result {
	id, how := r.PathValue("id"), r.PostFormValue("resolution")
	code := strings.TrimSpace(r.PostFormValue("tax_code"))
	res := result{Redirect: orderURL(id), Audit: "resolve-order " + id + " " + how}
	n, err := note(r)
	resolution := resolutions[how]
	switch {
	case err != nil:
		res.Err = err
		return res
	case resolution == ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_UNSPECIFIED:
		res.Err = errs.E(errs.Invalid, "resolution_required", "choose retry, use a tax code or cancel")
		return res
	}
	old, err := c.before(r.Context(), id)
	if err != nil {
		res.Err = err
		return res
	}
	if how == "use_tax_code" {
		res.Audit += " tax_code=" + code
	}
	resp, err := c.deps.Orders.ResolveOrderException(r.Context(), &ordersv1.ResolveOrderExceptionRequest{
		OrderId: id, Resolution: resolution, TaxCode: code, Note: n})
	res.Err = err
	res.Audit += " (before: " + describe(old) + "; after: " + describe(resp.GetWorkflow()) + ")"
	res.Flash = "Order " + map[string]string{"retry": "released for another attempt", "use_tax_code": "resolved with tax code " + code, "cancel": "cancelled"}[how] + "."
	return res
}

// setTaxCode sets the tax code of a jurisdiction and item category (master data), which releases
// every order held for it; the audit entry carries the order's workflow before and after.
func (c *Console) setTaxCode(r *http.Request, _ *session) result {
	id := r.PathValue("id")
	jur, cat := strings.TrimSpace(r.PostFormValue("jurisdiction")), strings.TrimSpace(r.PostFormValue("category"))
	code := strings.TrimSpace(r.PostFormValue("tax_code"))
	res := result{Redirect: orderURL(id), Audit: fmt.Sprintf("set-tax-code %s/%s=%s for order %s", jur, cat, code, id)}
	old, err := c.before(r.Context(), id)
	if err != nil {
		res.Err = err
		return res
	}
	resp, err := c.deps.Orders.PutTaxCode(r.Context(), &ordersv1.PutTaxCodeRequest{Jurisdiction: jur, Category: cat, TaxCode: code})
	if err != nil {
		res.Err = err
		res.Audit += " (before: " + describe(old) + ")"
		return res
	}
	after, err := c.before(r.Context(), id)
	if err != nil {
		after = nil
	}
	res.Audit += fmt.Sprintf(" released=%d (before: %s; after: %s)", resp.GetReleased(), describe(old), describe(after))
	res.Flash = fmt.Sprintf("Tax code %s set for %s/%s; %d held orders released.", code, jur, cat, resp.GetReleased())
	return res
}
