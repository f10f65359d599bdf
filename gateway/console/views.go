package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/audit"
	"github.com/retailbridge/retailbridge/pkg/errs"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// slaRule is one SLA: returns in State for at least MinAgeHours are late.
type slaRule struct {
	State       string
	MinAgeHours int32
	Breach      string
}

// slaRules mirror the alerting rules (deploy/prometheus/alerts.yaml) at hour granularity.
var slaRules = []slaRule{
	{"announcing", 1, "warehouse acknowledgement late"},
	{"awaiting_inspection", 48, "inspection late"},
	{"refunding", 72, "refund pending past escalation"},
	{"receiving_erp", 1, "ERP posting backlog (item receipt)"},
	{"crediting", 1, "ERP posting backlog (credit memo)"},
}

// queueDef is a live queue: the returns in some states.
type queueDef struct {
	Title, About string
	States       []string
	// SLA lists breaches instead of states.
	SLA bool
}

var queues = map[string]queueDef{
	"inspection": {Title: "Returns awaiting inspection", About: "Received by the warehouse, not yet inspected.",
		States: []string{"awaiting_inspection"}},
	"unposted": {Title: "Refunds paid, not posted to the ERP", About: "The payment gateway refunded the customer; the ERP has no item receipt or credit memo yet.",
		States: []string{"receiving_erp", "crediting"}},
	"sla": {Title: "SLA breaches", About: "Returns past their state's service level, oldest first.", SLA: true},
}

// row is a return in a list, with why it is there.
type row struct {
	*canonicalv1.Return
	Why      string
	Assignee string
}

// maxListed bounds how many returns one queue page reads.
const maxListed = 500

// list reads every page of returns req selects, up to maxListed.
func (c *Console) list(ctx context.Context, req *returnsv1.ListReturnsRequest) ([]*canonicalv1.Return, error) {
	var out []*canonicalv1.Return
	req.PageSize = 100
	for len(out) < maxListed {
		resp, err := c.deps.Returns.ListReturns(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetReturns()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	return out, nil
}

type homeData struct {
	Counts []queueCount
	// Orders are the order workflow's exception queues.
	Orders []queueCount
}

type queueCount struct {
	Key, Title string
	N          int
}

// home shows each queue's size.
func (c *Console) home(r *http.Request, _ *session) (string, any, error) {
	var d homeData
	for _, k := range []string{"inspection", "unposted", "sla"} {
		rows, err := c.queueRows(r.Context(), queues[k])
		if err != nil {
			return "", nil, err
		}
		d.Counts = append(d.Counts, queueCount{Key: k, Title: queues[k].Title, N: len(rows)})
	}
	ex, err := c.exceptionRows(r.Context())
	if err != nil {
		return "", nil, err
	}
	d.Counts = append(d.Counts, queueCount{Key: "exceptions", Title: "Exceptions", N: len(ex)})
	if c.deps.Orders != nil {
		if d.Orders, err = c.orderCounts(r.Context()); err != nil {
			return "", nil, err
		}
	}
	return "home", d, nil
}

type queueData struct {
	Key  string
	Def  queueDef
	Rows []row
}

func (c *Console) queue(r *http.Request, _ *session) (string, any, error) {
	key := r.PathValue("queue")
	def, ok := queues[key]
	if !ok {
		return "", nil, errs.E(errs.NotFound, "queue_not_found", "there is no queue "+key)
	}
	rows, err := c.queueRows(r.Context(), def)
	if err != nil {
		return "", nil, err
	}
	return "queue", queueData{Key: key, Def: def, Rows: rows}, nil
}

func (c *Console) queueRows(ctx context.Context, def queueDef) ([]row, error) {
	var rows []row
	if def.SLA {
		for _, rule := range slaRules {
			rs, err := c.list(ctx, &returnsv1.ListReturnsRequest{State: rule.State, MinAgeHours: rule.MinAgeHours})
			if err != nil {
				return nil, err
			}
			for _, rt := range rs {
				rows = append(rows, row{Return: rt, Why: rule.Breach})
			}
		}
		slices.SortFunc(rows, func(a, b row) int { return a.GetUpdatedAt().AsTime().Compare(b.GetUpdatedAt().AsTime()) })
		return rows, nil
	}
	for _, st := range def.States {
		rs, err := c.list(ctx, &returnsv1.ListReturnsRequest{State: st})
		if err != nil {
			return nil, err
		}
		for _, rt := range rs {
			rows = append(rows, row{Return: rt, Why: st})
		}
	}
	return rows, nil
}

// exceptionStates are the states in which a return waits for people.
var exceptionStates = []string{"exception", "failed_needs_attention"}

func (c *Console) exceptionRows(ctx context.Context) ([]row, error) {
	var rows []row
	for _, st := range exceptionStates {
		rs, err := c.list(ctx, &returnsv1.ListReturnsRequest{State: st})
		if err != nil {
			return nil, err
		}
		for _, rt := range rs {
			rows = append(rows, row{Return: rt, Why: st})
		}
	}
	ids := make([]string, len(rows))
	for i, rw := range rows {
		ids[i] = rw.GetId()
	}
	owners, err := c.assign.owners(ctx, ownReturn, ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Assignee = owners[rows[i].GetId()].Assignee
	}
	return rows, nil
}

type channelGroup struct {
	Channel string
	Rows    []row
}

type exceptionsData struct {
	Groups []channelGroup
	Owner  string
	CSRF   string
}

// exceptions groups the returns waiting for people by channel, with who owns each; ?owner=
// filters to one agent or team.
func (c *Console) exceptions(r *http.Request, s *session) (string, any, error) {
	rows, err := c.exceptionRows(r.Context())
	if err != nil {
		return "", nil, err
	}
	owner := strings.TrimSpace(r.URL.Query().Get("owner"))
	by := map[string][]row{}
	for _, rw := range rows {
		if owner != "" && rw.Assignee != owner {
			continue
		}
		ch := channelName(rw.GetMethod())
		by[ch] = append(by[ch], rw)
	}
	d := exceptionsData{Owner: owner, CSRF: s.CSRF}
	for _, ch := range []string{"mail", "in_store", "unknown"} {
		if len(by[ch]) > 0 {
			d.Groups = append(d.Groups, channelGroup{Channel: ch, Rows: by[ch]})
		}
	}
	return "exceptions", d, nil
}

type searchData struct {
	Q      string
	Orders []*ordersv1.OrderSearchHit
	Rows   []row
	Audit  []audit.Entry
}

// search finds orders (order number such as #1001, customer email or id, payment or partner
// reference, correlation id) and returns (RMA, tracking number, partner reference, return,
// order or customer id, correlation id) through the process services' indexed search across
// every stored record, and audit entries by correlation id for operators.
func (c *Console) search(r *http.Request, s *session) (string, any, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Q: q}
	if q == "" || len(q) > 256 {
		return "search", d, nil
	}
	ctx := r.Context()
	if c.deps.OrderInsight != nil {
		resp, err := c.deps.OrderInsight.SearchOrders(ctx, &ordersv1.SearchOrdersRequest{Q: q, PageSize: 50})
		if err != nil {
			return "", nil, err
		}
		d.Orders = resp.GetHits()
	}
	if c.deps.ReturnInsight != nil {
		resp, err := c.deps.ReturnInsight.SearchReturns(ctx, &returnsv1.SearchReturnsRequest{Q: q, PageSize: 50})
		if err != nil {
			return "", nil, err
		}
		for _, h := range resp.GetHits() {
			d.Rows = append(d.Rows, row{Return: h.GetReturn(), Why: h.GetMatched()})
		}
	}
	if s.has(ScopeOperator) {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		if d.Audit, err = c.deps.Audit.Query(actx, audit.Filter{CorrelationID: q, Limit: 50}); err != nil {
			return "", nil, err
		}
	}
	return "search", d, nil
}

type returnData struct {
	R        *canonicalv1.Return
	Timeline []*returnsv1.TimelineEntry
	Owner    assignment
	CSRF     string
	Waiting  bool
	Failed   bool
	Open     bool
}

// returnPage shows a return with its timeline: every step, vendor call (with its idempotency key
// and outcome), webhook-driven signal and agent action, and the actions the agent may take.
func (c *Console) returnPage(r *http.Request, s *session) (string, any, error) {
	resp, err := c.deps.Returns.GetReturn(r.Context(), &returnsv1.GetReturnRequest{ReturnId: r.PathValue("id")})
	if err != nil {
		return "", nil, err
	}
	owners, err := c.assign.owners(r.Context(), ownReturn, []string{resp.GetReturn().GetId()})
	if err != nil {
		return "", nil, err
	}
	st := resp.GetReturn().GetState()
	terminal := slices.Contains([]string{"refunded", "denied", "cancelled", "expired"}, st)
	return "return", returnData{R: resp.GetReturn(), Timeline: resp.GetTimeline(), Owner: owners[resp.GetReturn().GetId()], CSRF: s.CSRF,
		Waiting: st == "exception", Failed: st == "failed_needs_attention", Open: !terminal}, nil
}
