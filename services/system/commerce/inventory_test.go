package commerce_test

import (
	"context"
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
