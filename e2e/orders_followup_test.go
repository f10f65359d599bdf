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
	netsuitesb "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
)

// The ERP's side of order-to-cash through the stack (the REST warehouse held by hand): an order
// shipped and invoiced has its customer payment recorded in the ERP once, and the ERP's status
// (Billed) on its timeline; an order the ERP closes (Business Central: deletes) while the warehouse holds it waits in the
// erp_status_conflict queue, and support's cancellation cancels the shipping order at the
// warehouse before the rest is compensated.
func TestOrderERPFollowUpThroughTheStack(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors, o.ManualParcels = true, true },
		func(c *config.Config) { c.OrderERPPoll = 200 * time.Millisecond })
	if h.Warehouse == nil {
		t.Skip("the warehouse is not the REST warehouse (RB_WMS_VENDOR): this test holds its orders by hand")
	}
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	run := time.Now().UnixNano()
	closed := fmt.Sprintf("fu-%d", run)
	paid := publishUnfulfilledOrder(t, h) // the storefront knows it, so it can be fulfilled there
	publishPaidOrder(t, h, agent, closed)
	for _, id := range []string{paid, closed} {
		h.waitOrderWorkflow(t, agent, id, "awaiting_acknowledgement")
	}
	wo := paid + "-S1"
	warehouseID := h.warehouseOrderOf(t, wo)
	if err := h.Warehouse.Acknowledge(warehouseID); err != nil {
		t.Fatal(err)
	}
	if err := h.Warehouse.Ship(warehouseID); err != nil {
		t.Fatal(err)
	}
	h.waitOrderWorkflow(t, agent, paid, "completed")
	defer func() {
		if t.Failed() {
			t.Logf("timeline of %s: %+v", paid, h.orderWorkflow(t, agent, paid).Timeline)
		}
	}()
	// NetSuite bills the sales order (Billed); Business Central deletes it once posting invoiced
	// all of it, and the poll reports it Billed from its invoice.
	billed := "is Billed"
	testkit.Eventually(t, 60*time.Second, "the ERP's status ("+billed+") on the timeline of "+paid, func() bool {
		got := h.orderWorkflow(t, agent, paid)
		return slices.ContainsFunc(got.Timeline, func(e struct {
			Kind        string `json:"kind"`
			Description string `json:"description"`
			Actor       string `json:"actor"`
			Outcome     string `json:"outcome"`
		}) bool {
			return strings.Contains(e.Description, billed)
		})
	})
	if n := erpPaymentsCreated(h); n != 1 {
		t.Errorf("ERP customer payments created: %d, want 1", n)
	}
	h.closeInERP(t, closed)
	got := h.waitOrderWorkflow(t, agent, closed, "erp_status_conflict")
	if len(got.Workflow.Reasons) == 0 {
		t.Errorf("held without a reason: %+v", got.Workflow)
	}
	resp := h.do(t, http.MethodGet, "/v1/support/order-exceptions/erp_status_conflict", agent, nil)
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), closed) {
		t.Fatalf("erp_status_conflict queue: %d %s; want %s in it", resp.Status, resp.Body, closed)
	}
	resp = h.do(t, http.MethodPost, "/v1/support/order-workflows/"+closed+":resolve", agent,
		map[string]string{"resolution": "EXCEPTION_RESOLUTION_CANCEL", "note": "the ERP closed it"}, "Idempotency-Key", "fu-cancel-"+closed)
	if resp.Status != http.StatusOK {
		t.Fatalf("resolve: %d %s", resp.Status, resp.Body)
	}
	h.waitOrderWorkflow(t, agent, closed, "cancelled")
	if st, _ := h.Warehouse.OrderStatus(h.warehouseOrderOf(t, closed+"-S1")); st != "cancelled" {
		t.Errorf("the warehouse's order is %q, want cancelled", st)
	}
}

// orderWorkflow reads an order's workflow through the gateway.
func (h *harness) orderWorkflow(t testing.TB, tok, id string) orderWorkflowJSON {
	t.Helper()
	var got orderWorkflowJSON
	if resp := h.do(t, http.MethodGet, "/v1/support/order-workflows/"+id, tok, nil); resp.Status == http.StatusOK {
		resp.JSON(t, &got)
	}
	return got
}

// warehouseOrderOf is the REST warehouse's order id of a shipment reference.
func (h *harness) warehouseOrderOf(t testing.TB, reference string) string {
	t.Helper()
	id, ok := h.Warehouse.OrderByReference(reference)
	if !ok {
		t.Fatalf("the warehouse holds no order %s", reference)
	}
	return id
}

// closeInERP closes the order's sales order as a user of the selected ERP would: NetSuite
// closes it; Business Central has no close, a user deletes the order, and the poll finds it
// gone (followed since it was seen open) with no invoice.
func (h *harness) closeInERP(t testing.TB, orderID string) {
	t.Helper()
	if h.BusinessCentral != nil {
		if !h.BusinessCentral.DeleteSalesOrderAsUser(orderID) {
			t.Fatalf("Business Central holds no open sales order for %s", orderID)
		}
		return
	}
	if err := h.NetSuite.CloseSalesOrderAsUser(orderID); err != nil {
		t.Fatal(err)
	}
}

// erpPaymentsCreated is how many customer payments the selected ERP's sandbox was asked to create.
func erpPaymentsCreated(h *harness) int64 {
	if h.BusinessCentral != nil {
		return h.BusinessCentral.Stats().Created[bcsb.SetCustomerPayments]
	}
	return h.NetSuite.Stats().Created[netsuitesb.TypeCustomerPayment]
}

// publishPaidOrder publishes orders/create of a paid ship-to-home order of the first demo item, its
// tax code set.
func publishPaidOrder(t *testing.T, h *harness, agent, id string) {
	t.Helper()
	item := h.Demo.Items[0]
	if resp := h.do(t, http.MethodPut, "/v1/support/tax-codes/US/"+item.Category, agent, map[string]string{"tax_code": "US-STD"}); resp.Status != http.StatusOK {
		t.Fatalf("put tax code: %d %s", resp.Status, resp.Body)
	}
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	price := &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: item.PriceMinor}
	o := &canonicalv1.Order{Id: id, Name: "#" + id, Customer: &canonicalv1.CustomerRef{Id: h.Demo.Customers[0].ID}, Source: "web",
		FulfillmentModel: canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
		FinancialStatus:  canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID, PaymentReference: "pi_" + id, Total: price,
		ShippingAddress: &canonicalv1.Address{Name: "Ada", Lines: []string{"1 Main St"}, City: "Austin", Region: "TX", CountryCode: "US"},
		Lines:           []*canonicalv1.OrderLine{{Id: id + "-1", Sku: item.SKU, Quantity: 1, UnitPrice: price}}}
	data, err := anypb.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ev := &canonicalv1.Event{Id: id + "-created", Source: "test", Time: timestamppb.Now(), Data: data,
		Type: events.TypeName(canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED), References: &canonicalv1.EventReferences{OrderId: id}}
	if _, err := events.Publish(context.Background(), js, ev); err != nil {
		t.Fatal(err)
	}
}
