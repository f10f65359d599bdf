package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

type driftJSON struct {
	Drift []struct {
		SKU            string `json:"sku"`
		LocationID     string `json:"location_id"`
		Source         string `json:"source"`
		LedgerQuantity string `json:"ledger_quantity"`
		SourceQuantity string `json:"source_quantity"`
		Authority      string `json:"authority"`
		Action         string `json:"action"`
		MovementID     string `json:"movement_id"`
	} `json:"drift"`
}

type mismatchesJSON struct {
	Mismatches []struct {
		SKU    string `json:"sku"`
		Kind   string `json:"kind"`
		System string `json:"system"`
	} `json:"mismatches"`
}

// TestInventoryReconciliationThroughTheStack plants an on-hand in the ERP sandbox of the whole
// stack, reconciles, and reads the drift report through the gateway's support route: the store's
// position was corrected under the ERP's authority, with the correction's movement id. The item
// master's mismatches are readable the same way. Both routes need support:read.
func TestInventoryReconciliationThroughTheStack(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	if h.NetSuite == nil {
		t.Skip("the stack's ERP is not the NetSuite sandbox")
	}
	store, sku := demo.Stores[0], h.Demo.StoreStock()[0].SKU
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := h.Inventory.ReconcileERP(ctx); err != nil { // takes the stores' stock from the ERP
		t.Fatal(err)
	}
	h.NetSuite.SetOnHand(sku, store, 77)
	res, err := h.Inventory.ReconcileERP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Corrected != 1 {
		t.Errorf("reconciliation after planting = %+v; want 1 corrected", res)
	}
	support := h.supportToken(t, "agent-1", "support:read")
	q := url.Values{"source": {"erp"}, "sku": {sku}, "location_id": {store}, "include_resolved": {"true"}}
	resp := h.do(t, http.MethodGet, "/v1/support/inventory/drift?"+q.Encode(), support, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("drift: %d %s", resp.Status, resp.Body)
	}
	var d driftJSON
	resp.JSON(t, &d)
	if len(d.Drift) != 1 || d.Drift[0].SourceQuantity != "77" || d.Drift[0].Action != "corrected" || d.Drift[0].Authority != "erp" || d.Drift[0].MovementID == "" {
		t.Errorf("drift report for %s at %s = %+v; want the ERP's 77 corrected under its authority", sku, store, d.Drift)
	}
	if _, err := h.Inventory.RefreshItemMaster(ctx); err != nil {
		t.Fatal(err)
	}
	resp = h.do(t, http.MethodGet, "/v1/support/inventory/sku-mismatches?page_size=500", support, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("sku-mismatches: %d %s", resp.Status, resp.Body)
	}
	var m mismatchesJSON
	resp.JSON(t, &m)
	t.Logf("the demo world's item master has %d open mismatches", len(m.Mismatches))
	noScope := h.supportToken(t, "agent-2", "support:write")
	for _, path := range []string{"/v1/support/inventory/drift", "/v1/support/inventory/sku-mismatches"} {
		if resp := h.do(t, http.MethodGet, path, noScope, nil); resp.Status != http.StatusForbidden {
			t.Errorf("%s without support:read: %d; want 403", path, resp.Status)
		}
	}
	if resp := h.do(t, http.MethodGet, "/v1/support/inventory/drift?page_size=501", support, nil); resp.Status != http.StatusBadRequest {
		t.Errorf("drift with page_size 501: %d; want 400", resp.Status)
	}
}
