package shopify

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

// TestStaticCosts keeps each operation's static cost equal to what Shopify's rules, as the
// sandbox applies them, charge for it: the budget relies on it before Shopify has answered.
func TestStaticCosts(t *testing.T) {
	t.Parallel()
	ds := demo.Generate(1, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 3, 20)
	srv := httptest.NewServer(sandbox.New(ds, sandbox.Options{RestoreRate: 1e6}))
	t.Cleanup(srv.Close)
	c := New(Config{BaseURL: srv.URL, APIVersion: "2026-04", AccessToken: sandbox.DefaultAccessToken},
		Deps{HTTPClient: srv.Client()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tests := []struct {
		op   operation
		vars map[string]any
	}{
		{getOrderOp, regularOrder.vars(ds.Orders[0].ID)},
		{getOrderOp, largeOrder.vars(ds.Orders[0].ID)},
		{listOrdersOp, map[string]any{"first": 1, "query": "customer_id:" + demo.DemoCustomerID}},
		{listOrdersOp, map[string]any{"first": 100, "query": "customer_id:" + demo.DemoCustomerID}},
		{readyOp, nil},
		{returnContextOp, returnContextVars(ds.Orders[0].ID)},
		{returnStatusOp, map[string]any{"id": "gid://shopify/Return/1"}},
		{returnCloseOp, map[string]any{"id": "gid://shopify/Return/1"}},
		{returnReasonsOp, returnReasonsVars()},
	}
	if c := largeOrder.cost(); c > 1000 {
		t.Errorf("a large order read costs %v points, past Shopify's single-query limit of 1000", c)
	}
	for _, tt := range tests {
		env, f := c.post(ctx, tt.op, tt.vars)
		if f != nil {
			t.Fatalf("%s: %v", tt.op.name, cause(*f))
		}
		if errs := env.errors(); len(errs) > 0 {
			t.Fatalf("%s: %+v", tt.op.name, errs)
		}
		if got, want := env.cost().requested, tt.op.cost(tt.vars); got != want {
			t.Errorf("%s %v: Shopify asks %v points, static cost says %v", tt.op.name, tt.vars, got, want)
		}
	}
}

// TestLargeOrders: an order past the regular read is read again in full; one past the large
// read is refused rather than returned incomplete.
func TestLargeOrders(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	order := func(id string, lines int) demo.Order {
		o := demo.Order{ID: id, Name: "#" + id, CustomerID: "7000001", Channel: demo.ChannelWeb,
			FulfillmentModel: demo.ShipToHome, FinancialStatus: "PAID", FulfillmentStatus: "UNFULFILLED",
			Currency: "USD", CreatedAt: created}
		for i := range lines {
			o.Lines = append(o.Lines, demo.Line{ID: fmt.Sprintf("%s%03d", id, i), SKU: "APP-000", Title: "Tee",
				Quantity: 1, UnitPriceMinor: 1999})
		}
		return o
	}
	ds := &demo.Dataset{Now: created, Customers: []demo.Customer{{ID: "7000001", Email: "a@example.com"}},
		Orders: []demo.Order{order("900001", 30), order("900002", 95)}}
	sb := sandbox.New(ds, sandbox.Options{RestoreRate: 1e6})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := New(Config{BaseURL: srv.URL, APIVersion: "2026-04", AccessToken: sandbox.DefaultAccessToken},
		Deps{HTTPClient: srv.Client()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	o, err := c.GetOrder(ctx, "900001")
	if err != nil || len(o.GetLines()) != 30 {
		t.Fatalf("30-line order: got %d lines, %v; want 30", len(o.GetLines()), err)
	}
	if n := sb.Stats().Queries; n != 2 {
		t.Errorf("30-line order took %d queries, want 2 (regular, then large)", n)
	}
	_, err = c.GetOrder(ctx, "900002")
	if e := errs.As(err); e == nil || e.Reason != "vendor_order_too_large" {
		t.Errorf("95-line order: got %v, want vendor_order_too_large", err)
	}
}
