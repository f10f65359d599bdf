package shopify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

const changesQuery = `query($q: String!, $after: String) { orders(first: 2, after: $after, query: $q, sortKey: UPDATED_AT) {
  nodes { id updatedAt cancelledAt } pageInfo { hasNextPage endCursor } } }`

// changedSince pages through the orders updated at or after since, as the order store's poller
// asks, and returns their ids oldest change first.
func changedSince(tb testing.TB, s *shopify.Sandbox, since time.Time) []string {
	tb.Helper()
	var ids []string
	vars := map[string]any{"q": "updated_at:>='" + since.UTC().Format(time.RFC3339) + "'"}
	for range 50 {
		a := query(tb, s, changesQuery, vars)
		for _, n := range path(a.body, "data", "orders", "nodes").([]any) {
			ids = append(ids, path(n, "id").(string))
		}
		if path(a.body, "data", "orders", "pageInfo", "hasNextPage") != true {
			return ids
		}
		vars["after"] = path(a.body, "data", "orders", "pageInfo", "endCursor")
	}
	tb.Fatal("paging does not end")
	return nil
}

// TestShopActivity: orders placed, edited and cancelled in the shop are found by the updated_at
// search in the order they changed, and a reopened shop keeps them.
func TestShopActivity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &clock{t: now.Add(time.Hour)}
	s, err := shopify.Open(dataset(), shopify.Options{Now: c.Now, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	customer := dataset().Customers[0].ID
	lines := []demo.Line{{SKU: "SKU-A", Title: "A", Quantity: 1, UnitPriceMinor: 500}}
	a, err := s.PlaceOrder(customer, lines)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	b, err := s.PlaceOrder(customer, lines)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if err := s.CancelOrder(a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PlaceOrder("no-such-customer", lines); err == nil {
		t.Error("an order for an unknown customer was placed")
	}
	gid := func(id string) string { return "gid://shopify/Order/" + id }
	if got, want := changedSince(t, s, now.Add(time.Hour)), []string{gid(b), gid(a)}; !slices.Equal(got, want) {
		t.Errorf("changed since the first checkout = %v, want %v (oldest change first)", got, want)
	}
	if got := changedSince(t, s, now.Add(time.Hour+2*time.Minute)); !slices.Equal(got, []string{gid(a)}) {
		t.Errorf("changed since the cancellation = %v, want only %s", got, a)
	}
	s.Close()

	reopened, err := shopify.Open(dataset(), shopify.Options{Now: c.Now, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if got, want := changedSince(t, reopened, now.Add(time.Hour)), []string{gid(b), gid(a)}; !slices.Equal(got, want) {
		t.Errorf("after reopening: changed = %v, want %v", got, want)
	}
	o := query(t, reopened, `query($id: ID!) { order(id: $id) { cancelledAt } }`, map[string]any{"id": gid(a)})
	if path(o.body, "data", "order", "cancelledAt") == nil {
		t.Errorf("the cancellation was not kept: %s", o.raw)
	}
}
