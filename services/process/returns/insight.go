package returns

import (
	"context"
	"fmt"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// insight serves ReturnInsightService: search by business identifiers over every stored return
// (indexed by migrations/0004) and the return KPIs from the workflow's stored history.
type insight struct {
	returnsv1.UnimplementedReturnInsightServiceServer
	s *Service
}

// Insight is the service's ReturnInsightService.
func (s *Service) Insight() returnsv1.ReturnInsightServiceServer { return &insight{s: s} }

// supportRead admits support principals with support:read; the insight API is for support.
func supportRead(ctx context.Context) error {
	p, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return errUnauthenticated()
	case p.Audience != auth.Support:
		return errs.E(errs.PermissionDenied, "support_only", "search and KPIs are for support")
	case !p.HasScope("support:read"):
		return errs.E(errs.PermissionDenied, "insufficient_scope", "this needs the support:read scope")
	}
	return nil
}

// returnIdentifier is one business identifier of a return that search matches, with the
// expression its index (migrations/0004) is built on.
type returnIdentifier struct {
	matched string
	// path is the workflow data's key; fold lower-cases both sides.
	path string
	fold bool
}

var returnIdentifiers = []returnIdentifier{
	{"RMA", "RMANumber", true},
	{"tracking number", "TrackingNumber", true},
	{"ERP reference", "RMAID", false},
	{"returns platform reference", "PlatformReturnID", false},
	{"storefront reference", "CommerceReturnID", false},
}

// dataExpr is the SQL expression reading key from the workflow data, written exactly as the
// index is, so the planner uses it.
func dataExpr(d store.Dialect, key string, fold bool) string {
	e := "json_extract(data, '$." + key + "')"
	if d == store.Postgres {
		e = "(data::jsonb #>> '{" + key + "}')"
	}
	if fold {
		return "lower(" + e + ")"
	}
	return e
}

// searchSQL is every lookup in one statement, so a search is two round trips whatever the
// number of identifiers: each branch is its own indexed query (in a subquery, for its own order
// and limit), ranked in the order the identifiers are tried. $1 is the query as typed, $2 folded
// to lower case, $3 the limit.
func searchSQL(d store.Dialect) string {
	var branches, matched []string
	for _, ri := range returnIdentifiers {
		v := "$1"
		if ri.fold {
			v = "$2"
		}
		branches = append(branches, `SELECT id FROM rb_workflows WHERE kind = 'return' AND `+dataExpr(d, ri.path, ri.fold)+` = `+v+
			` ORDER BY created_at DESC LIMIT $3`)
		matched = append(matched, ri.matched)
	}
	for _, c := range []struct{ matched, sql string }{
		{"return id", `SELECT id FROM returns WHERE id = $1 LIMIT $3`},
		{"order id", `SELECT id FROM returns WHERE order_id = $1 ORDER BY created_at DESC LIMIT $3`},
		{"customer id", `SELECT id FROM returns WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $3`},
	} {
		branches, matched = append(branches, c.sql), append(matched, c.matched)
	}
	parts := make([]string, len(branches))
	for i, b := range branches {
		parts[i] = fmt.Sprintf(`SELECT id, '%s' AS matched, %d AS r FROM (%s) AS b%d`, matched[i], i, b, i)
	}
	return strings.Join(parts, " UNION ALL ") + " ORDER BY r"
}

// searchIDs runs the lookups, then the correlation id's, keeping the first reason each return
// was found for.
func (in *insight) searchIDs(ctx context.Context, q string, limit int) ([]workflow.SearchHit, error) {
	return workflow.Search(ctx, in.s.db, Kind, q, limit, searchSQL(in.s.db.Dialect()), q, strings.ToLower(q), limit)
}

// SearchReturns finds returns by RMA, tracking number, partner reference, return, order or
// customer id, or correlation id, across every stored return.
func (in *insight) SearchReturns(ctx context.Context, req *returnsv1.SearchReturnsRequest) (*returnsv1.SearchReturnsResponse, error) {
	if in.s.db == nil {
		return nil, errNotImplemented("SearchReturns")
	}
	if err := supportRead(ctx); err != nil {
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
		return nil, fmt.Errorf("search returns: %w", err)
	}
	resp := &returnsv1.SearchReturnsResponse{}
	for _, h := range hits[:min(len(hits), int(size))] {
		inst, _, err := in.s.engine.Get(ctx, h.ID)
		if err != nil {
			return nil, err
		}
		r, err := toReturn(inst)
		if err != nil {
			return nil, err
		}
		resp.Hits = append(resp.Hits, &returnsv1.ReturnSearchHit{Return: r, Matched: h.Matched})
	}
	return resp, nil
}
