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

// hit is a return id found and what matched.
type hit struct{ id, matched string }

// searchIDs runs one indexed query per identifier, then the return id, order, customer and
// correlation id lookups, keeping the first reason each return was found for.
func (in *insight) searchIDs(ctx context.Context, q string, limit int) ([]hit, error) {
	db := in.s.db
	var hits []hit
	seen := map[string]bool{}
	add := func(matched string, ids []string) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				hits = append(hits, hit{id, matched})
			}
		}
	}
	for _, ri := range returnIdentifiers {
		v := q
		if ri.fold {
			v = strings.ToLower(q)
		}
		ids, err := queryIDs(ctx, db, `SELECT id FROM rb_workflows WHERE kind = 'return' AND `+dataExpr(db.Dialect(), ri.path, ri.fold)+
			` = $1 ORDER BY created_at DESC LIMIT $2`, v, limit)
		if err != nil {
			return nil, err
		}
		add(ri.matched, ids)
	}
	for _, c := range []struct{ matched, sql string }{
		{"return id", `SELECT id FROM returns WHERE id = $1 LIMIT $2`},
		{"order id", `SELECT id FROM returns WHERE order_id = $1 ORDER BY created_at DESC LIMIT $2`},
		{"customer id", `SELECT id FROM returns WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2`},
	} {
		ids, err := queryIDs(ctx, db, c.sql, q, limit)
		if err != nil {
			return nil, err
		}
		add(c.matched, ids)
	}
	ids, err := workflow.ByCorrelation(ctx, db, Kind, q, limit)
	if err != nil {
		return nil, err
	}
	add("correlation id", ids)
	return hits, nil
}

func queryIDs(ctx context.Context, db *store.DB, q string, args ...any) ([]string, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
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
		inst, _, err := in.s.engine.Get(ctx, h.id)
		if err != nil {
			return nil, err
		}
		r, err := toReturn(inst)
		if err != nil {
			return nil, err
		}
		resp.Hits = append(resp.Hits, &returnsv1.ReturnSearchHit{Return: r, Matched: h.matched})
	}
	return resp, nil
}
