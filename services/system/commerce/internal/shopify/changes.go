package shopify

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// MaxChangesPageSize is Shopify's largest page (first ≤ 250).
const MaxChangesPageSize = 250

// listOrderChangesOp pages through the ids of orders changed since a time, oldest change first:
// Shopify's search syntax "updated_at:>=<ISO 8601>" with sortKey UPDATED_AT, as the Admin
// GraphQL orders query documents it. Ids only, like listOrdersOp, so a page costs 2 + first.
var listOrderChangesOp = operation{
	name: "ListOrderChanges",
	cost: func(vars map[string]any) float64 {
		n, _ := vars["first"].(int)
		return float64(2 + n)
	},
	query: `query ListOrderChanges($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { id updatedAt }
    pageInfo { hasNextPage endCursor }
  }
}`,
}

// changesQuery is the search for orders updated at or after since, to the second (Shopify's
// search compares at second precision, so since is truncated, never rounded up).
func changesQuery(since time.Time) string {
	return "updated_at:>='" + since.UTC().Truncate(time.Second).Format(time.RFC3339) + "'"
}

// ListOrderChanges lists orders updated at or after since, oldest change first, each read in
// full — or, with changesOnly, only their ids and updatedAt. The repair poller of the order store
// calls it with its watermark.
func (c *Connector) ListOrderChanges(ctx context.Context, since time.Time, pageSize int, token string, changesOnly bool) ([]*canonicalv1.Order, string, error) {
	query := changesQuery(since)
	vars := map[string]any{"first": pageSize, "query": query}
	if token != "" {
		t, err := decodePageToken(token, query)
		if err != nil {
			return nil, "", err
		}
		vars["after"] = t.After
	}
	var data struct {
		Orders struct {
			Nodes []struct {
				ID        string    `json:"id"`
				UpdatedAt time.Time `json:"updatedAt"`
			} `json:"nodes"`
			PageInfo pageInfo `json:"pageInfo"`
		} `json:"orders"`
	}
	if err := c.do(ctx, listOrderChangesOp, vars, &data); err != nil {
		return nil, "", err
	}
	orders := make([]*canonicalv1.Order, len(data.Orders.Nodes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listConcurrency)
	for i, n := range data.Orders.Nodes {
		id, err := numericID(n.ID)
		if err != nil {
			return nil, "", c.fail(ctx, listOrderChangesOp, failure{status: http.StatusOK, cause: err})
		}
		if changesOnly {
			orders[i] = &canonicalv1.Order{Id: id, UpdatedAt: timestamppb.New(n.UpdatedAt)}
			continue
		}
		g.Go(func() error {
			o, err := c.GetOrder(gctx, id)
			if errs.KindOf(err) == errs.NotFound {
				return nil // deleted since the listing
			}
			orders[i] = o
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	out := orders[:0]
	for _, o := range orders {
		if o != nil {
			out = append(out, o)
		}
	}
	next := ""
	if pi := data.Orders.PageInfo; pi.HasNextPage && pi.EndCursor != nil {
		next = encodePageToken(pageToken{Query: query, After: *pi.EndCursor})
	}
	return out, next, nil
}
