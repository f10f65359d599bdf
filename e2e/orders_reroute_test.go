package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// servedStates are the states of an order whose units are reserved and on their way (or
// delivered: the warehouse and the storefront are fast in this stack).
var servedStates = []string{"sending_to_warehouse", "awaiting_acknowledgement", "awaiting_shipment", "fulfilling",
	"recording_shipment", "invoicing", "capturing", "posting_payment", "completed"}

// Two ship-to-home orders race for the last unit of a SKU at the warehouse they are allocated
// to, through the real inventory process and the Fluent OMS sandbox. With stock elsewhere the
// loser is routed again through the OMS without the exhausted warehouse, and both are served.
// With none elsewhere the loser waits, visibly, in the awaiting_stock queue, and a receipt at
// the warehouse releases it on its own. Nothing is reserved twice: the units reserved for the
// two orders equal their quantities.
func TestOrderLosingTheLastUnitIsRoutedAgain(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors = true })
	if h.Fluent == nil || h.Warehouse == nil {
		t.Skip("the OMS sandbox is not Fluent's or the warehouse is not the REST warehouse sandbox")
	}
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	var skus []string
	for _, it := range h.Demo.Items {
		if it.Category != "gift_card" && h.sellableAt(t, it.SKU)["dc-east"] > 0 && len(skus) < 2 {
			skus = append(skus, it.SKU)
			if resp := h.do(t, http.MethodPut, "/v1/support/tax-codes/US/"+it.Category, agent, map[string]string{"tax_code": "US-STD"}); resp.Status != http.StatusOK {
				t.Fatalf("put tax code: %d %s", resp.Status, resp.Body)
			}
		}
	}
	if len(skus) < 2 {
		t.Fatal("the demo has no two SKUs stocked at dc-east")
	}

	t.Run("stock elsewhere", func(t *testing.T) {
		sku := skus[0]
		h.leaveOnly(t, sku, map[string]int64{"dc-east": 1}, false)
		a, b := h.raceForOneUnit(t, sku, "elsewhere")
		wa := h.waitOrderWorkflow(t, agent, a, servedStates...)
		wb := h.waitOrderWorkflow(t, agent, b, servedStates...)
		rerouted := 0
		for _, w := range []orderWorkflowJSON{wa, wb} {
			if slices.ContainsFunc(w.Timeline, func(e struct {
				Kind        string `json:"kind"`
				Description string `json:"description"`
				Actor       string `json:"actor"`
				Outcome     string `json:"outcome"`
			}) bool {
				return strings.Contains(e.Description, "routed again without") && strings.Contains(e.Description, "at dc-east")
			}) {
				rerouted++
			}
		}
		if rerouted != 1 {
			t.Errorf("%d of the two orders were re-routed on their timelines, want 1", rerouted)
		}
		h.wantReserved(t, sku, a, b)
	})

	t.Run("no stock elsewhere", func(t *testing.T) {
		sku := skus[1]
		h.leaveOnly(t, sku, map[string]int64{"dc-east": 1}, true)
		a, b := h.raceForOneUnit(t, sku, "nowhere")
		states := append([]string{"awaiting_stock"}, servedStates...)
		wa, wb := h.waitOrderWorkflow(t, agent, a, states...), h.waitOrderWorkflow(t, agent, b, states...)
		waiting := a
		if wb.Workflow.State == "awaiting_stock" {
			waiting = b
		}
		if (wa.Workflow.State == "awaiting_stock") == (wb.Workflow.State == "awaiting_stock") {
			t.Fatalf("orders are %s and %s; want one served and one awaiting stock", wa.Workflow.State, wb.Workflow.State)
		}
		resp := h.do(t, http.MethodGet, "/v1/support/order-exceptions/awaiting_stock", agent, nil)
		if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), waiting) {
			t.Errorf("awaiting_stock queue: %d %s; want order %s in it", resp.Status, resp.Body, waiting)
		}
		h.clock.Advance(2 * time.Second) // the receipt happens after the ledger's snapshot
		if _, err := h.Warehouse.ReceiveStock("dc-east", sku, 3); err != nil {
			t.Fatal(err)
		}
		h.waitOrderWorkflow(t, agent, waiting, servedStates...)
		h.wantReserved(t, sku, a, b)
	})
}

// leaveOnly reserves away every sellable unit of sku beyond keep at each location (all other
// locations' when drainRest), as other customers' orders would.
func (h *harness) leaveOnly(t *testing.T, sku string, keep map[string]int64, drainRest bool) {
	t.Helper()
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "e2e-other-customers"})
	for loc := range h.sellableAt(t, sku) {
		want, kept := keep[loc]
		if !kept && !drainRest {
			continue
		}
		resp, err := h.Inventory.GetAvailability(ctx, &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}, LocationIds: []string{loc}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.GetAvailability() {
			if n := a.GetAvailableToSell() - want; n > 0 {
				_, err := h.Inventory.Reserve(ctx, &inventoryv1.ReserveRequest{OrderId: "other-" + loc, Sku: sku, Quantity: n, LocationId: loc,
					IdempotencyKey: fmt.Sprintf("drain-%s-%s-%d", loc, sku, time.Now().UnixNano())})
				if err != nil {
					t.Fatalf("reserving %d of %s at %s away: %v", n, sku, loc, err)
				}
			}
		}
	}
}

// raceForOneUnit checks out two orders of one unit of sku at once in the Shopify sandbox (their
// orders/create webhooks reach the workflow through the gateway) and returns their ids.
func (h *harness) raceForOneUnit(t *testing.T, sku, _ string) (string, string) {
	t.Helper()
	item, _ := h.Demo.Item(sku)
	ids := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = h.Shopify.PlaceOrder(h.Demo.Customers[i].ID, []demo.Line{{SKU: sku, Title: item.Title, Quantity: 1, UnitPriceMinor: item.PriceMinor}})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids[0], ids[1]
}

// wantReserved checks each order holds exactly its one unit in reservations: a lost race
// released what it held and reserved once more, never twice.
func (h *harness) wantReserved(t *testing.T, sku string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		var data struct {
			Reservations []struct {
				ID       string `json:"id"`
				Location string `json:"location"`
			} `json:"reservations"`
			RouteAttempt int `json:"route_attempt"`
		}
		testkit.Eventually(t, 10*time.Second, "order "+id+"'s workflow data", func() bool {
			i, _, err := h.OrderWorkflow.State(context.Background(), id)
			return err == nil && json.Unmarshal(i.Data, &data) == nil
		})
		if len(data.Reservations) != 1 {
			t.Errorf("order %s holds %d reservations of %s (%+v), want 1", id, len(data.Reservations), sku, data.Reservations)
		}
		t.Logf("order %s: reservations %+v, routing attempt %d (0 = the first)", id, data.Reservations, data.RouteAttempt)
	}
}
