package console

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/governor"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// bulkPlan is a dry run of a bulk action on held orders, kept in the agent's session: the real
// run needs one of the same selection and action, and acts only on the orders it listed (an
// order that entered the queue since was never shown to the agent).
type bulkPlan struct {
	Filter   orderFilter `json:"filter"`
	Action   string      `json:"action"` // retry, use_tax_code, cancel
	TaxCode  string      `json:"tax_code,omitempty"`
	OrderIDs []string    `json:"order_ids"`
}

var bulkVerbs = map[string]string{"retry": "released for another attempt", "use_tax_code": "resolved with a tax code", "cancel": "cancelled"}

func queueURL(f orderFilter) string {
	return "/console/orders/queues/" + url.PathEscape(f.Queue) + "?" + f.query()
}

// bulkOrders releases, resolves with a tax code, or cancels every held order a filter selects:
// the first press is a dry run that lists them and changes nothing; the real run is refused
// without it, and each order it touches is audited with its workflow before and after.
func (c *Console) bulkOrders(r *http.Request, s *session) result {
	f := orderFilterOf(r)
	how, code, dry := r.PostFormValue("resolution"), strings.TrimSpace(r.PostFormValue("tax_code")), r.PostFormValue("dry_run") == "1"
	res := result{Redirect: queueURL(f), Audit: fmt.Sprintf("bulk-resolve-orders queue=%s reason=%q owner=%q %s", f.Queue, f.Reason, f.Owner, how)}
	if how == "use_tax_code" {
		res.Audit += " tax_code=" + code
	}
	n, err := note(r)
	switch _, known := findOrderQueue(f.Queue); {
	case !known:
		res.Err = errs.E(errs.NotFound, "queue_not_found", "there is no order queue "+f.Queue)
	case err != nil:
		res.Err = err
	case resolutions[how] == ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_UNSPECIFIED:
		res.Err = errs.E(errs.Invalid, "resolution_required", "choose retry, use a tax code or cancel")
	case how == "use_tax_code" && (code == "" || utf8.RuneCountInString(code) > 64):
		res.Err = errs.E(errs.Invalid, "tax_code_required", "give the tax code (at most 64 characters)")
	}
	if res.Err != nil {
		return res
	}
	rows, err := c.heldOrders(r.Context(), f)
	if err != nil {
		res.Err = err
		return res
	}
	if dry {
		return c.bulkDryRun(s, res, bulkPlan{Filter: f, Action: how, TaxCode: code}, rows)
	}
	plan := s.OrderBulk
	if plan == nil || plan.Filter != f || plan.Action != how || plan.TaxCode != code {
		res.Err = errs.E(errs.FailedPrecondition, "dry_run_first", "run a dry run of this selection and action first")
		return res
	}
	s.OrderBulk = nil
	return c.bulkApply(r, s, res, *plan, rows, n)
}

// bulkDryRun records the plan in the session and says what the real run would do.
func (c *Console) bulkDryRun(s *session, res result, plan bulkPlan, rows []orderRow) result {
	for _, row := range rows {
		plan.OrderIDs = append(plan.OrderIDs, row.GetOrderId())
	}
	s.OrderBulk = &plan
	shown := plan.OrderIDs[:min(len(plan.OrderIDs), 20)]
	more := ""
	if len(plan.OrderIDs) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(plan.OrderIDs)-len(shown))
	}
	res.Flash = fmt.Sprintf("Dry run: %d orders would be %s: %s%s. Nothing was changed; press Apply to do it.",
		len(plan.OrderIDs), bulkVerbs[plan.Action], strings.Join(shown, ", "), more)
	res.Audit += fmt.Sprintf(" (dry run) selected=%d [%s]", len(plan.OrderIDs), strings.Join(plan.OrderIDs, " "))
	return res
}

// bulkApply resolves the planned orders still selected, one audit entry each (before and
// after), and sums the outcomes.
func (c *Console) bulkApply(r *http.Request, s *session, res result, plan bulkPlan, rows []orderRow, note string) result {
	planned := map[string]bool{}
	for _, id := range plan.OrderIDs {
		planned[id] = true
	}
	counts := map[string]int{}
	for _, row := range rows {
		id := row.GetOrderId()
		if !planned[id] {
			counts["skipped (not in the dry run)"]++
			continue
		}
		delete(planned, id)
		// Bulk work: the released orders run behind customer-facing ones (the orders service's lanes).
		resp, err := c.deps.Orders.ResolveOrderException(governor.WithPriority(r.Context(), governor.Bulk), &ordersv1.ResolveOrderExceptionRequest{
			OrderId: id, Resolution: resolutions[plan.Action], TaxCode: plan.TaxCode, Note: note})
		outcome, status := bulkVerbs[plan.Action], http.StatusOK
		if err != nil {
			p := errs.ProblemFor(err)
			outcome, status = "failed ("+p.Title+")", p.Status
		}
		c.audit(r, s, fmt.Sprintf("bulk-resolve-order %s %s (before: %s; after: %s)", id, plan.Action, describe(row.OrderWorkflow),
			describe(resp.GetWorkflow())), status)
		counts[outcome]++
	}
	if len(planned) > 0 {
		counts["left the selection since the dry run"] = len(planned)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	res.Flash = fmt.Sprintf("Bulk %s of %d planned orders: %s.", plan.Action, len(plan.OrderIDs), strings.Join(parts, ", "))
	res.Audit += fmt.Sprintf(" applied=%d", len(plan.OrderIDs)-len(planned))
	return res
}

// assignOrder makes an agent or team own a held order; back=queue returns to its queue.
func (c *Console) assignOrder(r *http.Request, s *session) result {
	id := r.PathValue("id")
	to := strings.TrimSpace(r.PostFormValue("assignee"))
	res := result{Redirect: orderURL(id), Audit: "assign order " + id + " to " + to}
	if q := r.PostFormValue("back"); q != "" {
		res.Redirect = queueURL(orderFilter{Queue: q, Reason: r.PostFormValue("reason"), Owner: r.PostFormValue("owner")})
	}
	if utf8.RuneCountInString(to) > 64 || strings.ContainsAny(to, "\r\n\t") || to == "-" {
		res.Err = errs.E(errs.Invalid, "assignee_invalid", "an agent or team name has at most 64 characters")
		return res
	}
	// The order must have a workflow the agent can see.
	if _, err := c.before(r.Context(), id); err != nil {
		res.Err = err
		return res
	}
	res.Err = c.assign.set(r.Context(), ownOrder, id, to, s.Agent)
	res.Flash = "Order " + id + " assigned to " + to + "."
	if to == "" {
		res.Flash = "Assignment of order " + id + " released."
	}
	return res
}

type ownersData struct {
	Owner  string
	List   []assignment
	Counts []queueCount
}

// ownersPage shows who owns what: every assigned return and order, by owner, with a count per
// owner; ?owner= narrows it to one agent or team.
func (c *Console) ownersPage(r *http.Request, _ *session) (string, any, error) {
	owner := strings.TrimSpace(r.URL.Query().Get("owner"))
	list, err := c.assign.all(r.Context(), owner)
	if err != nil {
		return "", nil, err
	}
	n := map[string]int{}
	for _, a := range list {
		n[a.Assignee]++
	}
	d := ownersData{Owner: owner, List: list}
	for _, k := range slices.Sorted(maps.Keys(n)) {
		d.Counts = append(d.Counts, queueCount{Key: k, Title: k, N: n[k]})
	}
	return "owners", d, nil
}
