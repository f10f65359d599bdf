package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/testkit"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// sellableAt reads the inventory process's sellable units of sku per location.
func (h *harness) sellableAt(t *testing.T, sku string) map[string]int64 {
	t.Helper()
	support := h.supportToken(t, "agent-1", "support:read")
	resp := h.do(t, http.MethodGet, "/v1/support/inventory/positions?skus="+url.QueryEscape(sku), support, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("positions: %d %s", resp.Status, resp.Body)
	}
	var ps positionsJSON
	resp.JSON(t, &ps)
	out := map[string]int64{}
	for _, p := range ps.Positions {
		for _, q := range p.Quantities {
			if q.State == "INVENTORY_STATE_SELLABLE" {
				out[p.LocationID], _ = strconv.ParseInt(q.Quantity, 10, 64)
			}
		}
	}
	return out
}

// publishOrder publishes orders/create of o as the commerce system API does.
func (h *harness) publishOrder(t *testing.T, o *canonicalv1.Order) {
	t.Helper()
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	data, err := anypb.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ev := &canonicalv1.Event{Id: o.GetId() + "-created", Source: "test", Time: timestamppb.Now(), Data: data,
		Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED), References: &canonicalv1.EventReferences{OrderId: o.GetId()}}
	if _, err := events.Publish(context.Background(), js, ev); err != nil {
		t.Fatal(err)
	}
}

// Routing and inventory agree: the OMS's own stock says a SKU is only at a location where the
// inventory process has none, and the inventory process has it elsewhere. The order routed
// through the OMS is allocated where the inventory process has it, and its reservation there
// succeeds (without the availability load it is allocated to a location the inventory process
// has none at, and its reservation is refused).
func TestRoutingFollowsTheInventoryProcess(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors = true })
	if h.Fluent == nil {
		t.Skip("the OMS sandbox is not Fluent's")
	}
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	item := h.Demo.Items[0]
	for _, it := range h.Demo.Items {
		if it.Category != "gift_card" && len(h.sellableAt(t, it.SKU)) > 0 {
			item = it
			break
		}
	}
	have := h.sellableAt(t, item.SKU)
	stale := "store-sfo"
	for loc := range have {
		h.Fluent.SetOnHand(loc, item.SKU, 0) // the OMS believes none is left where there is
	}
	h.Fluent.SetOnHand(stale, item.SKU, 50) // and plenty where the inventory process has none
	if have[stale] > 0 {
		t.Fatalf("the inventory process holds %s at %s; the test needs a location it does not", item.SKU, stale)
	}
	if resp := h.do(t, http.MethodPut, "/v1/support/tax-codes/US/"+item.Category, agent, map[string]string{"tax_code": "US-STD"}); resp.Status != http.StatusOK {
		t.Fatalf("put tax code: %d %s", resp.Status, resp.Body)
	}
	id := fmt.Sprintf("route-%d", time.Now().UnixNano())
	h.publishOrder(t, &canonicalv1.Order{Id: id, Name: "#" + id, Customer: &canonicalv1.CustomerRef{Id: h.Demo.Customers[0].ID}, Source: "web",
		FulfillmentModel: canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_FROM_STORE,
		FinancialStatus:  canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID, PaymentReference: "pi_" + id,
		Total:           &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: item.PriceMinor},
		ShippingAddress: &canonicalv1.Address{Name: "Ada", Lines: []string{"1 Main St"}, City: "Austin", Region: "TX", CountryCode: "US"},
		Lines: []*canonicalv1.OrderLine{{Id: id + "-1", Sku: item.SKU, Quantity: 1,
			UnitPrice: &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: item.PriceMinor}}}})
	got := h.waitOrderWorkflow(t, agent, id, "awaiting_inventory", "sending_to_warehouse", "awaiting_acknowledgement",
		"awaiting_shipment", "fulfilling", "recording_shipment", "invoicing", "completed", "failed_needs_attention", "awaiting_routing")
	var data struct {
		Allocations []struct {
			Location string `json:"location"`
		} `json:"allocations"`
	}
	var inst []byte
	testkit.Eventually(t, 10*time.Second, "the order's workflow data", func() bool {
		i, hist, err := h.OrderWorkflow.State(context.Background(), id)
		inst = i.Data
		for _, e := range hist {
			if e.Kind == "failed" || e.Kind == "retry" || (e.Outcome != "" && e.Outcome != "ok") {
				t.Logf("timeline: %s %s %s (%s)", e.State, e.Kind, e.Description, e.Outcome)
			}
		}
		return err == nil
	})
	if err := json.Unmarshal(inst, &data); err != nil {
		t.Fatal(err)
	}
	t.Logf("order %s: %s; allocated %+v; the inventory process's sellable units %v; OMS positions loaded %d",
		id, got.Workflow.State, data.Allocations, have, h.Fluent.Stats().InventoryUpdates)
	if len(data.Allocations) == 0 || slices.ContainsFunc(data.Allocations, func(a struct {
		Location string `json:"location"`
	}) bool {
		return have[a.Location] <= 0
	}) {
		t.Errorf("allocated %+v; want only locations where the inventory process has %s (%v)", data.Allocations, item.SKU, have)
	}
	if got.Workflow.State == "awaiting_inventory" || got.Workflow.State == "failed_needs_attention" {
		t.Errorf("the order is %s (%q): routing and inventory disagree", got.Workflow.State, got.Workflow.Reasons)
	}
}
