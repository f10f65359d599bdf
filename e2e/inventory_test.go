package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

type movementsJSON struct {
	Movements []struct {
		Delta          string `json:"delta"`
		Cause          string `json:"cause"`
		SourceRecordID string `json:"source_record_id"`
	} `json:"movements"`
	Quantity string `json:"quantity"`
}

// TestInventoryLedgerThroughTheStack receives stock at the warehouse sandbox and watches it
// arrive in the ledger through the whole stack (signed webhook → gateway → wms system API →
// JetStream → inventory consumer), then explains the figure through the support movements
// route: its lines sum to the position, the newest being the receipt.
func TestInventoryLedgerThroughTheStack(t *testing.T) {
	t.Parallel()
	needWarehouseSandbox(t)
	h := newStack(t)
	var sku string
	for _, it := range h.Demo.Items {
		if it.Category != "gift_card" {
			sku = it.SKU
			break
		}
	}
	support := h.supportToken(t, "agent-1", "support:read")
	sellable := func() int64 {
		resp := h.do(t, http.MethodGet, "/v1/support/inventory/positions?location_ids=dc-east&skus="+url.QueryEscape(sku), support, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("positions: %d %s", resp.Status, resp.Body)
		}
		var ps positionsJSON
		resp.JSON(t, &ps)
		for _, p := range ps.Positions {
			for _, q := range p.Quantities {
				if q.State == "INVENTORY_STATE_SELLABLE" {
					n, _ := strconv.ParseInt(q.Quantity, 10, 64)
					return n
				}
			}
		}
		return 0
	}
	before := sellable()
	if before <= 0 {
		t.Fatalf("the ledger was not bootstrapped from the warehouse: %s sellable at dc-east = %d", sku, before)
	}
	h.clock.Advance(2 * time.Second) // the receipt happens after the snapshot the ledger started from
	receipt, err := h.Warehouse.ReceiveStock("dc-east", sku, 7)
	if err != nil {
		t.Fatal(err)
	}
	// On a failure, say where the receipt stopped: its webhook's attempts and answers (the
	// sandbox never got a 2xx, or did and the ledger still lacks it).
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the warehouse's webhook about receipt %s: %s", receipt, receiptWebhook(h, receipt))
		}
	})
	testkit.Eventually(t, 30*time.Second, "the receipt reaches the ledger", func() bool { return sellable() == before+7 })

	q := url.Values{"sku": {sku}, "location_id": {"dc-east"}, "state": {"INVENTORY_STATE_SELLABLE"}, "page_size": {"500"}}
	resp := h.do(t, http.MethodGet, "/v1/support/inventory/movements?"+q.Encode(), support, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("movements: %d %s", resp.Status, resp.Body)
	}
	var ms movementsJSON
	resp.JSON(t, &ms)
	var sum int64
	for _, m := range ms.Movements {
		n, _ := strconv.ParseInt(m.Delta, 10, 64)
		sum += n
	}
	if qty, _ := strconv.ParseInt(ms.Quantity, 10, 64); sum != qty || qty != before+7 {
		t.Errorf("movements sum to %d, position %d, want both %d", sum, qty, before+7)
	}
	if n := len(ms.Movements); n == 0 || ms.Movements[n-1].Cause != "receipt" || ms.Movements[n-1].SourceRecordID == "" {
		t.Errorf("newest movement = %+v, want the receipt with its source record", ms.Movements)
	}
	if resp := h.do(t, http.MethodGet, "/v1/support/inventory/movements?sku="+url.QueryEscape(sku), support, nil); resp.Status != http.StatusBadRequest {
		t.Errorf("movements without a location: %d, want 400", resp.Status)
	}
}

// receiptWebhook describes what became of the warehouse's webhook about a movement.
func receiptWebhook(h *harness, movement string) string {
	var out []string
	for _, d := range h.Warehouse.Webhooks() {
		if strings.Contains(string(d.Body), movement) {
			out = append(out, fmt.Sprintf("%s %s: copies %d, attempts %d, acknowledged %d, gave up %d, last status %d %s",
				d.ID, d.Topic, d.Copies, d.Attempts, d.Acknowledged, d.GaveUp, d.LastStatus, d.LastError))
		}
	}
	if len(out) == 0 {
		return "none raised"
	}
	return strings.Join(out, "; ")
}
