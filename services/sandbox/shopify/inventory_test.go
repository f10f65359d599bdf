package shopify_test

import (
	"fmt"
	"testing"

	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

const inventorySet = `mutation($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}`

const inventoryRead = `query($q: String!, $loc: ID!) { inventoryItems(first: 1, query: $q) {
  nodes { id sku inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { name quantity } } } } }`

func setInput(item, loc string, qty int, from any) map[string]any {
	return map[string]any{"name": "available", "reason": "correction", "referenceDocumentUri": "retailbridge://inventory/test",
		"quantities": []any{map[string]any{"inventoryItemId": "gid://shopify/InventoryItem/" + item,
			"locationId": "gid://shopify/Location/" + loc, "quantity": qty, "changeFromQuantity": from}}}
}

// TestInventorySetQuantities: compare-and-set, the idempotency key, and the key being required.
func TestInventorySetQuantities(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	item := s.AddInventoryItem("INV-1")
	loc, _ := s.LocationID("") // the warehouse
	if loc == "" {
		loc = "61000001"
	}
	a := call(t, s, "2026-07", shopify.DefaultAccessToken, inventorySet, map[string]any{"input": setInput(item, loc, 7, 0), "key": "k1"})
	if path(a.body, "data", "inventorySetQuantities", "inventoryAdjustmentGroup", "changes", 0, "delta") != 7.0 {
		t.Fatalf("first set: %s", a.raw)
	}
	// The same key again: the first result, nothing changes.
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, inventorySet, map[string]any{"input": setInput(item, loc, 7, 0), "key": "k1"})
	if path(a.body, "data", "inventorySetQuantities", "inventoryAdjustmentGroup", "changes", 0, "quantityAfterChange") != 7.0 || s.InventoryChanges() != 1 {
		t.Fatalf("replay: %s, changes %d", a.raw, s.InventoryChanges())
	}
	// A merchant changes the level by hand: the stale compare is refused and changes nothing.
	s.SetAvailable("INV-1", loc, 3)
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, inventorySet, map[string]any{"input": setInput(item, loc, 9, 7), "key": "k2"})
	if path(a.body, "data", "inventorySetQuantities", "userErrors", 0, "code") != "CHANGE_FROM_QUANTITY_STALE" {
		t.Fatalf("stale compare: %s", a.raw)
	}
	if q, _ := s.Available("INV-1", loc); q != 3 {
		t.Fatalf("after a stale compare the level is %d, want 3", q)
	}
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, inventoryRead, map[string]any{"q": "sku:INV-1", "loc": "gid://shopify/Location/" + loc})
	if path(a.body, "data", "inventoryItems", "nodes", 0, "inventoryLevel", "quantities", 0, "quantity") != 3.0 {
		t.Fatalf("read: %s", a.raw)
	}
	// The key is required from 2026-04.
	noKey := `mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }`
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, noKey, map[string]any{"input": setInput(item, loc, 9, 3)})
	if path(a.body, "errors", 0, "extensions", "code") != "BAD_REQUEST" {
		t.Fatalf("without a key: %s", a.raw)
	}
	if q, _ := s.Available("INV-1", loc); q != 3 {
		t.Fatalf("level %d, want 3", q)
	}
}

// Every inventory push carries a fresh @idempotent key: under a sustained stream of them the shop
// remembers only the latest Options.IdempotencyKeys, and the latest still replay.
func TestIdempotencyKeysStayBounded(t *testing.T) {
	t.Parallel()
	const keep, records = 30, 300
	s, _ := newSandbox(t, shopify.Options{IdempotencyKeys: keep, BucketSize: 1 << 30, RestoreRate: 1 << 30})
	item := s.AddInventoryItem("INV-B")
	loc, _ := s.LocationID("")
	if loc == "" {
		loc = "61000001"
	}
	for i := range records {
		a := call(t, s, "2026-07", shopify.DefaultAccessToken, inventorySet, map[string]any{"input": setInput(item, loc, i+1, i), "key": fmt.Sprintf("push-%d", i)})
		if path(a.body, "data", "inventorySetQuantities", "inventoryAdjustmentGroup", "changes", 0, "delta") != 1.0 {
			t.Fatalf("push %d: %s", i, a.raw)
		}
		if n := s.IdempotencyKeys(); n > keep {
			t.Fatalf("after %d pushes: %d keys remembered; want at most %d", i+1, n, keep)
		}
	}
	last := records - 1
	a := call(t, s, "2026-07", shopify.DefaultAccessToken, inventorySet, map[string]any{"input": setInput(item, loc, last+1, last), "key": fmt.Sprintf("push-%d", last)})
	if s.InventoryChanges() != records || path(a.body, "data", "inventorySetQuantities", "inventoryAdjustmentGroup", "changes", 0, "quantityAfterChange") != float64(records) {
		t.Errorf("replay of the latest key: %s, changes %d; want the first answer and %d changes", a.raw, s.InventoryChanges(), records)
	}
}
