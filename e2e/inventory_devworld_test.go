package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// TestInventoryDevWorldHasNoMismatches boots the dev world (every sandbox with its demo data,
// the product feed's opening master file included) and refreshes the item master and the
// location check: the sandboxes agree with each other and with the shipped configuration, so
// the mismatch report is empty. A sandbox or a config file that names a SKU or location the
// others do not know shows up here as a row.
func TestInventoryDevWorldHasNoMismatches(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	support := h.supportToken(t, "agent-1", "support:read")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The feed's opening file arrives on the exchange's first poll.
	testkit.Eventually(t, time.Minute, "the product feed's opening file is applied", func() bool {
		resp := h.do(t, http.MethodGet, "/v1/support/item-master?page_size=1", support, nil)
		var items struct {
			Items []json.RawMessage `json:"items"`
		}
		return resp.Status == http.StatusOK && json.Unmarshal(resp.Body, &items) == nil && len(items.Items) > 0
	})
	if _, err := h.Inventory.ReconcileERP(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := h.Inventory.RefreshItemMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp := h.do(t, http.MethodGet, "/v1/support/inventory/sku-mismatches?page_size=500", support, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("sku-mismatches: %d %s", resp.Status, resp.Body)
	}
	var m mismatchesJSON
	resp.JSON(t, &m)
	if len(m.Mismatches) != 0 {
		t.Errorf("the dev world reports %d mismatches over %d SKUs, want none; first ones: %+v", len(m.Mismatches), res.SKUs, m.Mismatches[:min(len(m.Mismatches), 10)])
	}
	if res.SKUs == 0 {
		t.Errorf("the refresh saw no SKUs: nothing was compared")
	}
}
