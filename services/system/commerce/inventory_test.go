package commerce_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
)

// warehouse is the sandbox shop's warehouse location id.
const warehouse = "61000001"

func setReq(key string, qty, from int64) *commercev1.SetInventoryRequest {
	return &commercev1.SetInventoryRequest{IdempotencyKey: key, ReferenceDocumentUri: "retailbridge://inventory/test",
		Quantities: []*commercev1.InventoryQuantitySet{{Sku: "PUSH-1", LocationId: warehouse, Quantity: qty, CompareQuantity: from}}}
}

// TestSetInventory sets a level with compare-and-set, finds a merchant's hand change as a
// conflict, and retries a set whose answer was lost without changing the level twice.
func TestSetInventory(t *testing.T) {
	t.Parallel()
	svc, sb := newService(t, nil)
	ctx := context.Background()
	sb.AddInventoryItem("PUSH-1")
	if _, err := svc.SetInventory(ctx, setReq("k1", 5, 0)); err != nil {
		t.Fatal(err)
	}
	read := func() int64 {
		t.Helper()
		resp, err := svc.GetInventoryLevels(ctx, &commercev1.GetInventoryLevelsRequest{
			Levels: []*commercev1.InventoryLevelKey{{Sku: "PUSH-1", LocationId: warehouse}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetLevels()[0].GetAvailable()
	}
	if got := read(); got != 5 {
		t.Fatalf("available %d, want 5", got)
	}
	sb.SetAvailable("PUSH-1", warehouse, 2) // the merchant's hand
	_, err := svc.SetInventory(ctx, setReq("k2", 8, 5))
	if e := errs.As(err); e == nil || e.Kind != errs.Conflict || e.Reason != "inventory_compare_stale" {
		t.Fatalf("stale compare: %v", err)
	}
	if got := read(); got != 2 {
		t.Fatalf("after a conflict available %d, want 2", got)
	}
	// The answer is lost: the set applied, the caller cannot tell. The retry with the same key
	// replays the first result.
	sb.Faults().Set(faults.Settings{LoseAnswerRate: 1})
	if _, err := svc.SetInventory(ctx, setReq("k3", 9, 2)); err == nil {
		t.Fatal("a lost answer succeeded")
	}
	sb.Faults().Set(faults.Settings{})
	changes := sb.InventoryChanges()
	resp, err := svc.SetInventory(ctx, setReq("k3", 9, 2))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if resp.GetLevels()[0].GetAvailable() != 9 || sb.InventoryChanges() != changes {
		t.Fatalf("retry answered %v and applied %d more changes, want 9 and none", resp.GetLevels(), sb.InventoryChanges()-changes)
	}
	if got := read(); got != 9 {
		t.Fatalf("available %d, want 9", got)
	}
	_, err = svc.GetInventoryLevels(ctx, &commercev1.GetInventoryLevelsRequest{
		Levels: []*commercev1.InventoryLevelKey{{Sku: "NO-SUCH-SKU", LocationId: warehouse}}})
	if e := errs.As(err); e == nil || e.Reason != "inventory_item_not_found" {
		t.Fatalf("unknown SKU: %v", err)
	}
}

// TestListVariants reads the whole catalogue over several pages: every demo item's SKU once,
// with numeric variant and inventory item ids; a SKU two variants share is listed twice.
func TestListVariants(t *testing.T) {
	t.Parallel()
	svc, sb := newService(t, nil)
	for i := range 150 { // more than one page of 100
		sb.AddInventoryItem(fmt.Sprintf("PAGE-%03d", i))
	}
	dup := sb.AddDuplicateItem("PAGE-000")
	resp, err := svc.ListVariants(context.Background(), &commercev1.ListVariantsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, v := range resp.GetVariants() {
		seen[v.GetSku()]++
		if _, err := strconv.ParseUint(v.GetVariantId(), 10, 64); err != nil {
			t.Errorf("variant %v: variant id is not numeric", v)
		}
		if _, err := strconv.ParseUint(v.GetInventoryItemId(), 10, 64); err != nil {
			t.Errorf("variant %v: inventory item id is not numeric", v)
		}
	}
	for _, it := range dataset().Items {
		if seen[it.SKU] != 1 {
			t.Errorf("catalogue SKU %s listed %d times; want once", it.SKU, seen[it.SKU])
		}
	}
	if seen["PAGE-149"] != 1 || seen["PAGE-000"] != 2 {
		t.Errorf("PAGE-149 listed %d times, PAGE-000 (duplicated as item %s) %d; want 1 and 2", seen["PAGE-149"], dup, seen["PAGE-000"])
	}
}
