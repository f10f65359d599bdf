package inventory

import (
	"fmt"
	"testing"
)

// TestPushBatchesPositions moves 30 SKUs at once: they reach the storefront in a few batched
// sets, not one per SKU; a merchant's hand change on one of them fails its batch, which is then
// pushed position by position, so every SKU still ends at the ledger's figure.
func TestPushBatchesPositions(t *testing.T) {
	f := newPushFixture(t)
	skus := make([]string, 30)
	for i := range skus {
		skus[i] = fmt.Sprintf("BATCH-%02d", i)
		f.sb.AddInventoryItem(skus[i])
	}
	runService(t, f.svc)
	for _, sku := range skus {
		f.move(t, sku, 10)
	}
	for _, sku := range skus {
		f.waitStorefront(t, sku, 9, "the first pushes")
	}
	sets := (&replicas{reg: f.reg}).counter(t, "retailbridge_inventory_push_calls_total", "set")
	if sets >= float64(len(skus)) {
		t.Errorf("%v sets for %d positions; want them batched", sets, len(skus))
	}
	f.sb.SetAvailable(skus[7], shopWarehouse, 40) // the merchant's hand
	for _, sku := range skus {
		f.move(t, sku, 5)
	}
	for _, sku := range skus {
		f.waitStorefront(t, sku, 14, "the pushes after the hand change")
	}
	if n := f.counter(t, "retailbridge_inventory_push_conflicts_total"); n < 1 {
		t.Errorf("conflicts %v, want at least 1", n)
	}
	t.Logf("%v sets for the first %d positions", sets, len(skus))
}
