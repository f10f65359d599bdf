package inventory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// TestPushBatchesPositions moves 30 SKUs at once: they reach the storefront in a few batched
// sets, not one per SKU; a merchant's hand change on one of them fails its batch, which is then
// pushed position by position, so every SKU still ends at the ledger's figure, and the channel's
// storefront sync accuracy is 1.
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
	p := &pusher{s: f.svc, cfg: f.svc.cfg.Push}
	testkit.Eventually(t, 30*time.Second, "every pushed position recorded in step", func() bool {
		return p.measureStorefront(context.Background()) == nil &&
			gauge(t, f.reg, "retailbridge_inventory_sync_accuracy_ratio", "storefront") == 1
	})
	t.Logf("%v sets for the first %d positions", sets, len(skus))
}
