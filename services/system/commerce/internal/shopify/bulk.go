package shopify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// A whole-shop backfill lists every order through a bulk operation instead of paging the orders
// search: Shopify runs the query on its side, without the per-query cost limit, and leaves the
// result as a JSONL file (one object per line) at a URL that lives seven days. The connector
// starts it with bulkOperationRunQuery, follows it with node(id:), and reads the file once per
// operation, keeping the last one read for the pages that follow. From API version 2026-01 an
// app runs up to five bulk queries at once per shop (before, one), so starting is made
// idempotent by looking first: a running operation of this very query (the caller started it
// and lost the id) is adopted through bulkOperations(query: "status:running ...") instead of
// starting a second (currentBulkOperation, which saw only the latest, is deprecated).

// bulkRunOp starts a bulk query.
var bulkRunOp = operation{
	name: "BulkOrderChanges",
	cost: func(map[string]any) float64 { return 10 },
	query: `mutation BulkOrderChanges($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}`,
}

// bulkNodeOp reads a bulk operation by id.
var bulkNodeOp = operation{
	name: "BulkOperation",
	cost: func(map[string]any) float64 { return 1 },
	query: `query BulkOperation($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url query }
  }
}`,
}

// bulkRunningOp lists the app's running bulk queries (at most five run at once).
var bulkRunningOp = operation{
	name: "RunningBulkOperations",
	cost: func(map[string]any) float64 { return 2 + 5 },
	query: `query RunningBulkOperations {
  bulkOperations(first: 5, query: "status:running operation_type:query", sortKey: CREATED_AT, reverse: true) {
    nodes { id status errorCode objectCount url query }
  }
}`,
}

// bulkChangesQuery is the bulk query of every order changed since a time: ids and updatedAt,
// as the repair poll lists them (the caller reads in full only what it lacks).
func bulkChangesQuery(since time.Time) string {
	return fmt.Sprintf("{ orders(query: %s, sortKey: UPDATED_AT) { edges { node { id updatedAt } } } }", strconv.Quote(changesQuery(since)))
}

// bulkOperation is Shopify's BulkOperation object.
type bulkOperation struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	ErrorCode   *string `json:"errorCode"`
	ObjectCount string  `json:"objectCount"` // UnsignedInt64, serialised as a string
	URL         *string `json:"url"`
	Query       string  `json:"query"`
}

// bulkResult is the last export read: its orders, in the file's order.
type bulkResult struct {
	mu     sync.Mutex
	id     string
	orders []*canonicalv1.Order
}

// ExportOrderChanges starts (id empty) or follows an export of orders changed since since; once
// complete it returns the page of its orders at token (a line offset).
func (c *Connector) ExportOrderChanges(ctx context.Context, since time.Time, id string, pageSize int, token string) (*commercev1.ExportOrderChangesResponse, error) {
	var op *bulkOperation
	var err error
	if id == "" {
		op, err = c.startBulk(ctx, bulkChangesQuery(since))
	} else {
		op, err = c.bulkByID(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	ex := &commercev1.ExportOrderChangesResponse{ExportId: op.ID, Status: exportStatus(op.Status)}
	ex.ObjectCount, _ = strconv.ParseInt(op.ObjectCount, 10, 64)
	if ex.Status != commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_COMPLETED {
		return ex, nil
	}
	orders, err := c.bulkOrders(ctx, op)
	if err != nil {
		return nil, err
	}
	from := 0
	if token != "" {
		if from, err = strconv.Atoi(token); err != nil || from < 0 || from > len(orders) {
			return nil, c.fail(ctx, bulkNodeOp, failure{status: http.StatusOK, cause: fmt.Errorf("bad export page token %q", token)})
		}
	}
	to := min(len(orders), from+pageSize)
	ex.Orders = orders[from:to]
	if to < len(orders) {
		ex.NextPageToken = strconv.Itoa(to)
	}
	return ex, nil
}

// exportStatus maps BulkOperationStatus.
func exportStatus(s string) commercev1.OrderExportStatus {
	switch s {
	case "CREATED", "RUNNING":
		return commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_RUNNING
	case "COMPLETED":
		return commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_COMPLETED
	default: // CANCELED, CANCELING, EXPIRED, FAILED
		return commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_FAILED
	}
}

// startBulk adopts the app's running bulk operation of this very query, or starts one.
func (c *Connector) startBulk(ctx context.Context, query string) (*bulkOperation, error) {
	var running struct {
		Ops struct {
			Nodes []*bulkOperation `json:"nodes"`
		} `json:"bulkOperations"`
	}
	if err := c.do(ctx, bulkRunningOp, nil, &running); err != nil {
		return nil, err
	}
	for _, op := range running.Ops.Nodes {
		if op.Query == query {
			return op, nil
		}
	}
	var out struct {
		Run *struct {
			BulkOperation *bulkOperation `json:"bulkOperation"`
			UserErrors    []userError    `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	if err := c.do(ctx, bulkRunOp, map[string]any{"query": query}, &out); err != nil {
		return nil, err
	}
	switch p := out.Run; {
	case p == nil:
		return nil, c.fail(ctx, bulkRunOp, mutationFailure(true, nil, "bulk_operation"))
	case len(p.UserErrors) > 0 || p.BulkOperation == nil:
		return nil, c.fail(ctx, bulkRunOp, mutationFailure(false, p.UserErrors, "bulk_operation"))
	}
	return out.Run.BulkOperation, nil
}

func (c *Connector) bulkByID(ctx context.Context, id string) (*bulkOperation, error) {
	var out struct {
		Node *bulkOperation `json:"node"`
	}
	if err := c.do(ctx, bulkNodeOp, map[string]any{"id": id}, &out); err != nil {
		return nil, err
	}
	if out.Node == nil || out.Node.ID == "" {
		return nil, c.fail(ctx, bulkNodeOp, failure{status: http.StatusOK, notFound: true, object: "bulk_operation"})
	}
	return out.Node, nil
}

// bulkOrders reads a completed operation's file once, then serves its pages from memory. The URL
// is a pre-signed storage address: it is fetched without the shop's access token.
func (c *Connector) bulkOrders(ctx context.Context, op *bulkOperation) ([]*canonicalv1.Order, error) {
	c.bulk.mu.Lock()
	defer c.bulk.mu.Unlock()
	if c.bulk.id == op.ID {
		return c.bulk.orders, nil
	}
	if op.URL == nil || *op.URL == "" {
		return nil, nil // an export of nothing has no file
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *op.URL, nil)
	if err != nil {
		return nil, c.fail(ctx, bulkNodeOp, failure{status: http.StatusOK, cause: err})
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.fail(ctx, bulkNodeOp, failure{cause: err})
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.fail(ctx, bulkNodeOp, failure{status: resp.StatusCode, header: resp.Header})
	}
	orders, err := parseBulkOrders(bufio.NewScanner(resp.Body))
	if err != nil {
		return nil, c.fail(ctx, bulkNodeOp, failure{status: http.StatusOK, cause: err})
	}
	c.bulk.id, c.bulk.orders = op.ID, orders
	return orders, nil
}

// parseBulkOrders reads JSONL lines of orders (id, updatedAt); lines of nested objects (with
// __parentId) are not orders and are skipped.
func parseBulkOrders(sc *bufio.Scanner) ([]*canonicalv1.Order, error) {
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var orders []*canonicalv1.Order
	for sc.Scan() {
		var line struct {
			ID        string    `json:"id"`
			UpdatedAt time.Time `json:"updatedAt"`
			Parent    string    `json:"__parentId"`
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, err
		}
		if line.Parent != "" {
			continue
		}
		id, err := numericID(line.ID)
		if err != nil {
			return nil, err
		}
		orders = append(orders, &canonicalv1.Order{Id: id, UpdatedAt: timestamppb.New(line.UpdatedAt)})
	}
	return orders, sc.Err()
}
