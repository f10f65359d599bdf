package orders

import (
	"slices"
	"strings"
	"testing"


	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// forDialects runs f against SQLite and PostgreSQL.
func forDialects(t *testing.T, f func(t *testing.T, h *wfHarness)) {
	t.Helper()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			f(t, newWFHarness(t, d))
		})
	}
}

// The thin end-to-end path: accepted → validated → enriched → sales order → reserved → shipping
// order → acknowledged → shipped → storefront fulfilment → ERP item fulfilment → invoice.
func TestOrderWorkflowEndToEnd(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		w := h.workflow(t)
		h.putTax(t, w, "US-CA", "*", "CA-STD")
		o := wfOrder("9001", "SKU-SHIRT", "SKU-MUG")
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
		w = h.drive(t, w)
		d := h.wantState(t, w, o.GetId(), StateAwaitingAck)
		if got := h.sys.taxCodes[d.SalesOrderID]; !slices.Equal(got, []string{"CA-STD", "CA-STD"}) {
			t.Errorf("sales order tax codes %v, want CA-STD on both lines", got)
		}
		h.ship(t, w, o, SignalAcknowledged)
		h.wantState(t, w, o.GetId(), StateAwaitingShipment)
		h.ship(t, w, o, SignalShipped)
		w = h.drive(t, w)
		d = h.wantState(t, w, o.GetId(), StateCompleted)
		for kind, want := range map[string]int{"sales_order": 1, "reservation": 2, "shipping_order": 1, "fulfillment": 1,
			"item_fulfillment": 1, "invoice": 1, "capture": 0} {
			if got := h.sys.count(kind, ""); got != want {
				t.Errorf("%s: %d, want %d", kind, got, want)
			}
		}
		if d.InvoiceID == "" {
			t.Error("no invoice id recorded")
		}
		resp, err := w.GetOrderWorkflow(wfAgent(), &ordersv1.GetOrderWorkflowRequest{OrderId: o.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		for _, e := range resp.GetTimeline() {
			if e.GetKind() == "call" && strings.Contains(e.GetDescription(), "key rb-") {
				calls++
			}
		}
		if calls < 8 {
			t.Errorf("timeline names %d vendor calls with their keys, want every step's (≥ 8)", calls)
		}
	})
}

// An order authorised but not captured at checkout is captured once it is invoiced.
func TestAuthorisedOrderIsCapturedAfterInvoice(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o := wfOrder("9002", "SKU-MUG")
	o.FinancialStatus = canonicalv1.FinancialStatus_FINANCIAL_STATUS_AUTHORIZED
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	h.ship(t, w, o, SignalShipped)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateCompleted)
	if got := h.sys.count("capture", ""); got != 1 {
		t.Errorf("captures %d, want 1", got)
	}
}
