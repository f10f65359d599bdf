package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	netsuitesb "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
)

// Gift cards through the whole stack, from a checkout in the Shopify sandbox (signed
// orders/create → gateway → commerce system API, which reads isGiftCard → order workflow): a
// gift-card-only order is booked in the ERP, marked fulfilled on Shopify (and in the ERP) and
// invoiced, with no shipping order at the warehouse; a mixed order ships its physical
// line only and marks the gift card fulfilled. Before lines knew their kind, the gift card's
// reservation failed the order with insufficient_stock (the inventory process holds none).
func TestOrderGiftCardLinesThroughTheStack(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors = true })
	if h.NetSuite == nil || h.Warehouse == nil {
		t.Skip("the ERP is not NetSuite's sandbox or the warehouse is not the REST warehouse sandbox")
	}
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	var gift, tee demo.Item
	for _, it := range h.Demo.Items {
		switch {
		case it.Category == "gift_card" && gift.SKU == "":
			gift = it
		case it.Category != "gift_card" && tee.SKU == "" && h.sellableAt(t, it.SKU)["dc-east"] > 0:
			tee = it
		}
	}
	for _, it := range []demo.Item{gift, tee} {
		if resp := h.do(t, http.MethodPut, "/v1/support/tax-codes/US/"+it.Category, agent, map[string]string{"tax_code": "US-STD"}); resp.Status != http.StatusOK {
			t.Fatalf("put tax code: %d %s", resp.Status, resp.Body)
		}
	}
	giftLine := demo.Line{SKU: gift.SKU, Title: gift.Title, Quantity: 1, UnitPriceMinor: gift.PriceMinor, GiftCard: true}
	customer := h.Demo.Customers[0].ID
	before := h.NetSuite.Stats().Created
	onlyGift, err := h.Shopify.PlaceOrder(customer, []demo.Line{giftLine})
	if err != nil {
		t.Fatal(err)
	}
	got := h.waitOrderWorkflow(t, agent, onlyGift, "completed", "failed_needs_attention")
	if got.Workflow.State != "completed" {
		t.Fatalf("gift-card-only order %s ended %s (%q): %+v", onlyGift, got.Workflow.State, got.Workflow.Reasons, got.Timeline)
	}
	after := h.NetSuite.Stats().Created
	for kind, want := range map[string]int64{netsuitesb.TypeSalesOrder: 1, netsuitesb.TypeItemFulfillment: 1, netsuitesb.TypeInvoice: 1} {
		if n := after[kind] - before[kind]; n != want {
			t.Errorf("gift-card-only order: NetSuite created %d %s, want %d", n, kind, want)
		}
	}
	if _, ok := h.Warehouse.OrderByReference(onlyGift + "-S1"); ok {
		t.Errorf("the warehouse has a shipping order for gift-card-only order %s", onlyGift)
	}
	wantFulfilled(t, h, onlyGift, 1)

	mixed, err := h.Shopify.PlaceOrder(customer, []demo.Line{{SKU: tee.SKU, Title: tee.Title, Quantity: 1, UnitPriceMinor: tee.PriceMinor}, giftLine})
	if err != nil {
		t.Fatal(err)
	}
	got = h.waitOrderWorkflow(t, agent, mixed, "completed", "failed_needs_attention")
	if got.Workflow.State != "completed" {
		t.Fatalf("mixed order %s ended %s (%q): %+v", mixed, got.Workflow.State, got.Workflow.Reasons, got.Timeline)
	}
	var data struct {
		Allocations []struct {
			SKU string `json:"sku"`
		} `json:"allocations"`
		Reservations []json.RawMessage `json:"reservations"`
	}
	testkit.Eventually(t, 10*time.Second, "the mixed order's workflow data", func() bool {
		i, _, err := h.OrderWorkflow.State(context.Background(), mixed)
		return err == nil && json.Unmarshal(i.Data, &data) == nil
	})
	if len(data.Allocations) != 1 || data.Allocations[0].SKU != tee.SKU || len(data.Reservations) != 1 {
		t.Errorf("mixed order allocated %+v with %d reservations; want only %s, reserved once", data.Allocations, len(data.Reservations), tee.SKU)
	}
	wantFulfilled(t, h, mixed, 2)
}

// wantFulfilled checks every unit of the order is fulfilled on Shopify, in n fulfilments.
func wantFulfilled(t *testing.T, h *harness, id string, n int) {
	t.Helper()
	units, fulfilments, ok := h.Shopify.FulfilledUnits(id)
	if !ok {
		t.Fatalf("Shopify has no order %s", id)
	}
	for line, u := range units {
		if u != 1 {
			t.Errorf("order %s line %s: %d units fulfilled on Shopify, want 1", id, line, u)
		}
	}
	if fulfilments != n {
		t.Errorf("order %s: %d fulfilments on Shopify, want %d", id, fulfilments, n)
	}
}
