package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	bcsb "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	edi3plsb "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
	netsuitesb "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
)

// orderWorkflowJSON is GET /v1/support/order-workflows/{id}.
type orderWorkflowJSON struct {
	Workflow struct {
		OrderID      string   `json:"order_id"`
		State        string   `json:"state"`
		Queue        string   `json:"queue"`
		Reasons      []string `json:"reasons"`
		SalesOrderID string   `json:"sales_order_id"`
	} `json:"workflow"`
	Timeline []struct {
		Kind        string `json:"kind"`
		Description string `json:"description"`
		Actor       string `json:"actor"`
		Outcome     string `json:"outcome"`
	} `json:"timeline"`
}

// The order workflow through the whole stack: commerce order events on JetStream (as the Shopify
// connector publishes them), the support API through the gateway, the NetSuite sandbox's item
// master and sales orders. An order with an unknown SKU waits, visibly, in incomplete; a good one
// goes on past booking (into a queue when a system cannot take its step yet). Copies of
// orders/create make one sales order.
func TestOrderWorkflowThroughTheStack(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	ctx := context.Background()
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	item := h.Demo.Items[0]
	resp := h.do(t, http.MethodPut, "/v1/support/tax-codes/US/"+item.Category, agent, map[string]string{"tax_code": "US-STD"})
	if resp.Status != http.StatusOK {
		t.Fatalf("put tax code: %d %s", resp.Status, resp.Body)
	}
	run := time.Now().UnixNano()
	good, bad := fmt.Sprintf("e2e-%d-1", run), fmt.Sprintf("e2e-%d-2", run)
	publish := func(id, sku string, copies int) {
		o := &canonicalv1.Order{Id: id, Name: "#" + id, Customer: &canonicalv1.CustomerRef{Id: h.Demo.Customers[0].ID}, Source: "web",
			FulfillmentModel: canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
			FinancialStatus:  canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID, PaymentReference: "pi_" + id,
			Total:           &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: item.PriceMinor},
			ShippingAddress: &canonicalv1.Address{Name: "Ada", Lines: []string{"1 Main St"}, City: "Austin", Region: "TX", CountryCode: "US"},
			Lines: []*canonicalv1.OrderLine{{Id: id + "-1", Sku: sku, Quantity: 1,
				UnitPrice: &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: item.PriceMinor}}}}
		data, err := anypb.New(o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range copies {
			ev := &canonicalv1.Event{Id: fmt.Sprintf("%s-created-%d", id, i), Source: "test", Time: timestamppb.Now(), Data: data,
				Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED), References: &canonicalv1.EventReferences{OrderId: id}}
			if _, err := events.Publish(ctx, js, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := erpSalesOrdersCreated(h)
	publish(good, item.SKU, 3)
	publish(bad, "NO-SUCH-SKU", 1)
	held := []string{"awaiting_inventory", "awaiting_acknowledgement", "awaiting_shipment", "awaiting_storefront", "awaiting_capture", "completed"}
	got := h.waitOrderWorkflow(t, agent, good, held...)
	if got.Workflow.SalesOrderID == "" {
		t.Errorf("order %s is %s without a sales order", good, got.Workflow.State)
	}
	h.waitOrderWorkflow(t, agent, bad, "incomplete")
	resp = h.do(t, http.MethodGet, "/v1/support/order-exceptions/incomplete", agent, nil)
	var list struct {
		Orders []struct {
			OrderID string   `json:"order_id"`
			Reasons []string `json:"reasons"`
		} `json:"orders"`
	}
	resp.JSON(t, &list)
	if !slices.ContainsFunc(list.Orders, func(o struct {
		OrderID string   `json:"order_id"`
		Reasons []string `json:"reasons"`
	}) bool {
		return o.OrderID == bad && len(o.Reasons) == 1
	}) {
		t.Errorf("incomplete queue %+v lacks %s with its reason", list.Orders, bad)
	}
	publish(good, item.SKU, 2) // hours later, say
	if n := erpSalesOrdersCreated(h) - before; n != 1 {
		t.Errorf("the ERP booked %d sales orders for 5 copies of one order and one incomplete order, want 1", n)
	}
	t.Logf("order %s: %s (queue %q, reasons %q)", good, got.Workflow.State, got.Workflow.Queue, got.Workflow.Reasons)
}

// erpSalesOrdersCreated is how many sales orders the selected ERP's sandbox was asked to create.
func erpSalesOrdersCreated(h *harness) int64 {
	if h.BusinessCentral != nil {
		return h.BusinessCentral.Stats().Created[bcsb.SetSalesOrders]
	}
	return h.NetSuite.Stats().Created[netsuitesb.TypeSalesOrder]
}

// waitOrderWorkflow polls an order's workflow until it is in one of states.
func (h *harness) waitOrderWorkflow(t testing.TB, tok, id string, states ...string) orderWorkflowJSON {
	t.Helper()
	var got orderWorkflowJSON
	defer func() {
		if t.Failed() {
			t.Logf("order %s: state %q, queue %q, reasons %q, timeline %+v", id, got.Workflow.State, got.Workflow.Queue, got.Workflow.Reasons, got.Timeline)
		}
	}()
	testkit.Eventually(t, 60*time.Second, "order "+id+" in one of "+strings.Join(states, ", "), func() bool {
		resp := h.do(t, http.MethodGet, "/v1/support/order-workflows/"+id, tok, nil)
		if resp.Status != http.StatusOK {
			return false
		}
		resp.JSON(t, &got)
		return slices.Contains(states, got.Workflow.State)
	})
	return got
}

// A storefront order runs the whole way through the stack's sandboxes: validated against the
// ERP's item master, booked, reserved and committed in the inventory process, sent to the 3PL,
// acknowledged and shipped there, fulfilled on Shopify with the tracking number, recorded as an
// ERP item fulfilment and invoiced, once each. The ERP is whichever the environment selects
// (RB_ERP_VENDOR; NetSuite by default).
func TestOrderToInvoiceThroughTheStack(t *testing.T) {
	t.Parallel()
	h, so := testOrderToInvoice(t)
	if h.BusinessCentral != nil {
		wantBusinessCentralOrderToInvoice(t, h, so)
		return
	}
	// The NetSuite sandbox holds every demo order's sales order already (booked under the order id
	// as external id), so booking finds it and creates none.
	ns := h.NetSuite.Stats().Created
	if so == "" || ns[netsuitesb.TypeSalesOrder] != 0 || ns[netsuitesb.TypeItemFulfillment] != 1 || ns[netsuitesb.TypeInvoice] != 1 {
		t.Errorf("sales order %q; NetSuite created %v; want the existing sales order, one item fulfilment and one invoice", so, ns)
	}
	t.Logf("NetSuite created %v", ns)
}

// The same order to invoice with the warehouse a 3PL trading EDI X12 files over SFTP
// (RB_WMS_VENDOR=edi3pl): the shipping order goes out as a 940, the 3PL's 997 acknowledges only
// the interchange, and its 945 ships the order, which the workflow fulfils and invoices as it does
// after the REST warehouse's webhooks.
func TestOrderToInvoiceThroughTheStackOverEDI(t *testing.T) {
	t.Parallel()
	h, so := testOrderToInvoice(t, withVendorSetting("RB_WMS_VENDOR", "edi3pl"))
	sb := h.EDI3PL
	if sb == nil || h.Warehouse != nil {
		t.Fatalf("sandboxes: edi3pl %v, warehouse %v; want only the EDI 3PL", sb, h.Warehouse)
	}
	// One 940 went out (one shipping order at the 3PL, shipped), and our 997 answered its 945.
	orders, _ := sb.Documents()
	if st := sb.Stats(); orders != 1 || st.Received < 2 {
		t.Errorf("the 3PL holds %d shipping orders and received %d interchanges; want 1, and the 940 and our 997", orders, st.Received)
	}
	if h.BusinessCentral == nil {
		if ns := h.NetSuite.Stats().Created; so == "" || ns[netsuitesb.TypeItemFulfillment] != 1 || ns[netsuitesb.TypeInvoice] != 1 {
			t.Errorf("sales order %q; NetSuite created %v; want one item fulfilment and one invoice", so, ns)
		}
	}
}

// The same order to invoice with Business Central as the ERP: the shipment and the invoice are
// posted through the Retailbridge extension's pages against the sales order the sandbox holds.
func TestOrderToInvoiceThroughTheStackBusinessCentral(t *testing.T) {
	t.Parallel()
	h, so := testOrderToInvoice(t, withVendorSetting("RB_ERP_VENDOR", "businesscentral"))
	if h.BusinessCentral == nil {
		t.Fatal("no Business Central sandbox runs: RB_ERP_VENDOR=businesscentral did not select it")
	}
	if h.NetSuite != nil {
		t.Errorf("the NetSuite sandbox runs too; want only the selected ERP's")
	}
	wantBusinessCentralOrderToInvoice(t, h, so)
}

// wantBusinessCentralOrderToInvoice checks the sandbox holds the demo order's sales order (found,
// not booked again), one posted shipment and one posted invoice.
func wantBusinessCentralOrderToInvoice(t *testing.T, h *harness, so string) {
	t.Helper()
	st := h.BusinessCentral.Stats()
	if so == "" || st.Created[bcsb.SetSalesOrders] != 0 || st.Created[bcsb.SetOrderShipments] != 1 || st.Created[bcsb.SetOrderInvoices] != 1 {
		t.Errorf("sales order %q; Business Central created %v; want the existing sales order, one shipment and one invoice", so, st.Created)
	}
	t.Logf("Business Central: %d API requests, %d tokens, documents created %v", st.Requests, st.Tokens, st.Created)
}

// testOrderToInvoice publishes a demo order's creation and waits for its workflow to complete;
// it returns the stack and the workflow's sales order id.
func testOrderToInvoice(t *testing.T, opts ...stackOption) (*harness, string) {
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors = true }, opts...)
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	id := publishUnfulfilledOrder(t, h)
	got := h.waitOrderWorkflow(t, agent, id, "completed", "failed_needs_attention")
	if got.Workflow.State != "completed" {
		t.Fatalf("order %s ended %s", id, got.Workflow.State)
	}
	return h, got.Workflow.SalesOrderID
}

// publishUnfulfilledOrder publishes the creation of the demo's unfulfilled order (its tax codes
// set) and returns its id.
func publishUnfulfilledOrder(t *testing.T, h *harness) string {
	t.Helper()
	ctx := context.Background()
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	src := h.Demo.Scenario(demo.ScenarioUnfulfilled)
	o := &canonicalv1.Order{Id: src.ID, Name: src.Name, Customer: &canonicalv1.CustomerRef{Id: src.CustomerID}, Source: "web",
		FulfillmentModel: canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
		FinancialStatus:  canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID, PaymentReference: src.PaymentIntentID(),
		Total:           &canonicalv1.Money{CurrencyCode: src.Currency, AmountMinor: src.TotalMinor()},
		ShippingAddress: &canonicalv1.Address{Name: "Ada", Lines: []string{"1 Main St"}, City: "Austin", Region: "TX", CountryCode: "US"}}
	for _, l := range src.Lines {
		o.Lines = append(o.Lines, &canonicalv1.OrderLine{Id: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity),
			UnitPrice: &canonicalv1.Money{CurrencyCode: src.Currency, AmountMinor: l.UnitPriceMinor}})
		item, _ := h.Demo.Item(l.SKU)
		if resp := h.do(t, http.MethodPut, "/v1/support/tax-codes/US/"+item.Category, agent, map[string]string{"tax_code": "US-STD"}); resp.Status != http.StatusOK {
			t.Fatalf("put tax code: %d %s", resp.Status, resp.Body)
		}
	}
	data, err := anypb.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ev := &canonicalv1.Event{Id: "o2i-" + src.ID, Source: "test", Time: timestamppb.Now(), Data: data,
		Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED)}
	if _, err := events.Publish(ctx, js, ev); err != nil {
		t.Fatal(err)
	}
	return src.ID
}

// A 940 the 3PL acknowledges with a 997 but never ships (its NoShipAdvice switch) leaves the
// order waiting for the warehouse's acknowledgement: the 997 acknowledges the interchange, not
// the order. Past the acknowledgement SLA the order escalates once and is not sent again.
func TestOrderAcknowledgementOverdueOverEDI(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors = true }, withVendorSetting("RB_WMS_VENDOR", "edi3pl"),
		func(c *config.Config) { c.OrderAckSLA = 500 * time.Millisecond })
	sb := h.EDI3PL
	if sb == nil {
		t.Fatal("no EDI 3PL sandbox runs: RB_WMS_VENDOR=edi3pl did not select it")
	}
	sb.SetFaults(edi3plsb.Faults{NoShipAdvice: true})
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	id := publishUnfulfilledOrder(t, h)
	escalations := func(got orderWorkflowJSON) int {
		n := 0
		for _, e := range got.Timeline {
			if strings.Contains(e.Description, "escalated") {
				n++
			}
		}
		return n
	}
	var got orderWorkflowJSON
	testkit.Eventually(t, 60*time.Second, "order "+id+" escalated", func() bool {
		got = h.waitOrderWorkflow(t, agent, id, "awaiting_acknowledgement")
		return escalations(got) > 0
	})
	// The 3PL holds the 940 and has answered it with its 997: still no acknowledgement.
	testkit.Eventually(t, 30*time.Second, "the 3PL's 997 for the 940 sent", func() bool {
		orders, _ := sb.Documents()
		return orders == 1 && sb.Stats().Sent >= 1
	})
	got = h.waitOrderWorkflow(t, agent, id, "awaiting_acknowledgement")
	if n := escalations(got); n != 1 {
		t.Errorf("order %s escalated %d times; want once (timeline %+v)", id, n, got.Timeline)
	}
	if orders, _ := sb.Documents(); orders != 1 {
		t.Errorf("the 3PL holds %d shipping orders; want the one 940, never re-sent", orders)
	}
}
