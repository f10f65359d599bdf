package orders

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"

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

// An SKU the ERP's item master does not know holds the order as incomplete with the reason,
// visible to support; the storefront's corrected order (orders/updated) releases it.
func TestUnknownSKUIsIncomplete(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o := wfOrder("9003", "SKU-SHIRT", "SKU-GHOST")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	d := h.wantState(t, w, o.GetId(), StateIncomplete)
	if len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "SKU-GHOST") {
		t.Errorf("reasons %q, want the unknown SKU named", d.Reasons)
	}
	list, err := w.ListOrderExceptions(wfAgent(), &ordersv1.ListOrderExceptionsRequest{Queue: QueueIncomplete})
	if err != nil || len(list.GetOrders()) != 1 || list.GetOrders()[0].GetOrderId() != o.GetId() {
		t.Fatalf("incomplete queue %v (%v), want order %s", list.GetOrders(), err, o.GetId())
	}
	if h.sys.count("sales_order", "") != 0 {
		t.Fatal("an incomplete order was booked")
	}
	o.Lines[1].Sku = "SKU-MUG"
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_UPDATED, o)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateAwaitingAck)
}

// An order whose jurisdiction has no tax code for an item's category waits in the failed tax
// enrichment queue before anything is booked; when support fixes the tax configuration the
// order is retried, and the fix is on its timeline with the agent's name.
func TestMissingTaxCodeThenFixed(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		w := h.workflow(t)
		h.putTax(t, w, "US-CA", "apparel", "CA-APP")
		o := wfOrder("9004", "SKU-SHIRT", "SKU-SOAP") // hygiene has no code in US-CA
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
		w = h.drive(t, w)
		d := h.wantState(t, w, o.GetId(), StateFailedTax)
		if len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "hygiene") {
			t.Errorf("reasons %q, want the category without a code", d.Reasons)
		}
		list, err := w.ListOrderExceptions(wfAgent(), &ordersv1.ListOrderExceptionsRequest{Queue: QueueFailedTaxEnrichment})
		if err != nil || len(list.GetOrders()) != 1 {
			t.Fatalf("failed tax enrichment queue %v (%v), want the order", list.GetOrders(), err)
		}
		if n := h.sys.count("sales_order", ""); n != 0 {
			t.Fatalf("%d sales orders booked before tax enrichment", n)
		}
		resp, err := w.PutTaxCode(wfAgent(), &ordersv1.PutTaxCodeRequest{Jurisdiction: "US", Category: "hygiene", TaxCode: "US-HYG"})
		if err != nil || resp.GetReleased() != 1 {
			t.Fatalf("put tax code: released %d (%v), want 1", resp.GetReleased(), err)
		}
		w = h.drive(t, w)
		d = h.wantState(t, w, o.GetId(), StateAwaitingAck)
		if got := h.sys.taxCodes[d.SalesOrderID]; !slices.Equal(got, []string{"CA-APP", "US-HYG"}) {
			t.Errorf("tax codes %v, want CA-APP and US-HYG", got)
		}
		wantActor(t, w, o.GetId(), "support:agent-7")
	})
}

// Support may resolve a held order with a tax code of its choosing; the decision is audited.
func TestTaxEnrichmentResolvedBySupport(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	o := wfOrder("9005", "SKU-MUG")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateFailedTax)
	_, err := w.ResolveOrderException(wfAgent(), &ordersv1.ResolveOrderExceptionRequest{OrderId: o.GetId(),
		Resolution: ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_USE_TAX_CODE, TaxCode: "EXEMPT", Note: "tax-exempt customer"})
	if err != nil {
		t.Fatal(err)
	}
	w = h.drive(t, w)
	d := h.wantState(t, w, o.GetId(), StateAwaitingAck)
	if got := h.sys.taxCodes[d.SalesOrderID]; !slices.Equal(got, []string{"EXEMPT"}) {
		t.Errorf("tax codes %v, want EXEMPT", got)
	}
	wantActor(t, w, o.GetId(), "support:agent-7")
}

func wantActor(t *testing.T, w *Workflow, id, actor string) {
	t.Helper()
	_, hist, err := w.State(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range hist {
		if e.Actor == actor {
			return
		}
	}
	t.Errorf("no timeline entry by %s", actor)
}

// A warehouse that does not acknowledge within its SLA escalates the order once; the shipping
// order is never sent again, however long the silence lasts.
func TestAckPastSLAEscalatesOnce(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o := wfOrder("9006", "SKU-MUG")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateAwaitingAck)
	for range 3 {
		h.clock.Advance(2 * time.Hour)
		w = h.drive(t, w)
	}
	d := h.wantState(t, w, o.GetId(), StateAwaitingAck)
	_, hist, _ := w.State(context.Background(), o.GetId())
	escalations := 0
	for _, e := range hist {
		if strings.HasPrefix(e.Description, "escalated:") {
			escalations++
		}
	}
	if escalations != 1 || !d.Escalated {
		t.Errorf("escalations %d (flag %v), want 1", escalations, d.Escalated)
	}
	if n := h.sys.count("shipping_order", ""); n != 1 {
		t.Errorf("shipping orders %d, want 1 (never re-sent)", n)
	}
	h.ship(t, w, o, SignalShipped)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateCompleted)
}

// Cancelled before shipment: compensated once, newest first (reservation released, sales order
// closed). A shipment reported for it afterwards fulfils and bills nothing and goes to people.
func TestShipmentForCancelledOrder(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		w := h.workflow(t)
		h.putTax(t, w, "US", "*", "US-STD")
		o := wfOrder("9007", "SKU-MUG")
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
		w = h.drive(t, w)
		h.wantState(t, w, o.GetId(), StateAwaitingAck)
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED, o)
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED, o) // delivered twice
		w = h.drive(t, w)
		h.wantState(t, w, o.GetId(), StateCancelled)
		_, hist, _ := w.State(context.Background(), o.GetId())
		var comps []string
		for _, e := range hist {
			if e.Kind == "compensation" {
				comps = append(comps, e.Description)
			}
		}
		if want := []string{"compensated sending_to_warehouse", "compensated reserving", "compensated booking"}; !slices.Equal(comps, want) {
			t.Errorf("compensations %q, want %q (newest first, once)", comps, want)
		}
		if n := h.sys.count("cancelled_shipping_order", ""); n != 1 {
			t.Errorf("warehouse cancellations %d, want 1", n)
		}
		if h.sys.count("released", "") != 1 || h.sys.count("closed", "") != 1 {
			t.Errorf("released %d, closed %d; want 1 and 1", h.sys.count("released", ""), h.sys.count("closed", ""))
		}
		h.ship(t, w, o, SignalShipped)
		w = h.drive(t, w)
		h.wantState(t, w, o.GetId(), StateFailed)
		for _, kind := range []string{"fulfillment", "item_fulfillment", "invoice", "capture"} {
			if n := h.sys.count(kind, ""); n != 0 {
				t.Errorf("%s: %d for a cancelled order", kind, n)
			}
		}
	})
}

// After shipment a cancellation is refused with the reason, and the order completes.
func TestCancelAfterShipmentRefused(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o := wfOrder("9008", "SKU-MUG")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	h.ship(t, w, o, SignalShipped)
	w = h.drive(t, w)
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED, o)
	h.wantState(t, w, o.GetId(), StateCompleted)
	_, hist, _ := w.State(context.Background(), o.GetId())
	if last := hist[len(hist)-1]; !strings.Contains(last.Description, "cancellation refused") || !strings.Contains(last.Description, "a return is the way") {
		t.Errorf("last entry %q, want the refusal with its reason", last.Description)
	}
	if h.sys.count("closed", "") != 0 || h.sys.count("released", "") != 0 {
		t.Error("a shipped order was compensated")
	}
}

// Until the inventory process reserves, the order is held honestly in awaiting_inventory:
// nothing goes to the warehouse without a reservation. Once reservations answer, the held
// order goes on (support's retry here; the hold timer does the same on its own).
func TestUnimplementedReservationsHold(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	h.sys.noReservations = true
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o := wfOrder("9009", "SKU-MUG")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateAwaitingInventory)
	if n := h.sys.count("shipping_order", ""); n != 0 {
		t.Fatalf("%d shipping orders without a reservation", n)
	}
	h.sys.mu.Lock()
	h.sys.noReservations = false
	h.sys.mu.Unlock()
	h.clock.Advance(25 * time.Hour) // the hold timer
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateAwaitingAck)
}

// EV-5: the process dies right after each vendor call, before recording its answer; every
// restart resumes with the same keys: 0 duplicate sales orders, reservations, shipping orders,
// fulfilments, item fulfilments, invoices or captures.
func TestKilledAtEveryStepBoundary(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		w := h.workflow(t)
		h.putTax(t, w, "US", "*", "US-STD")
		methods := []string{"GetItems", "CreateSalesOrder", "Reserve", "Commit", "CreateShippingOrder", "CreateFulfillment",
			"CreateItemFulfillment", "CreateInvoice", "CapturePayment", "RecordCustomerPayment"}
		for i, m := range methods {
			o := wfOrder(fmt.Sprintf("98%02d", i), "SKU-MUG", "SKU-SHIRT")
			o.FinancialStatus = canonicalv1.FinancialStatus_FINANCIAL_STATUS_AUTHORIZED
			h.crash.arm(m)
			h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
			w = h.drive(t, w)
			h.ship(t, w, o, SignalShipped)
			w = h.drive(t, w)
			d := h.wantState(t, w, o.GetId(), StateCompleted)
			for kind, want := range map[string]int{"sales_order": 1, "reservation": 2, "shipping_order": 1, "fulfillment": 1,
				"item_fulfillment": 1, "invoice": 1, "capture": 1, "customer_payment": 1} {
				order := o.GetId()
				switch kind {
				case "item_fulfillment", "invoice":
					order = d.SalesOrderID
				case "capture":
					order = o.GetPaymentReference()
				}
				if got := h.sys.count(kind, order); got != want {
					t.Errorf("killed after %s: %s %d, want %d", m, kind, got, want)
				}
			}
		}
		if h.crash.kills != len(methods) {
			t.Errorf("the process died %d times, want %d (once after each call)", h.crash.kills, len(methods))
		}
	})
}

// Duplicate orders/create, N copies with distinct delivery ids, delivered concurrently through
// JetStream to two replicas (and again later, with an orders/updated among them): one workflow,
// one sales order.
func TestDuplicateOrdersCreateMakeOneSalesOrder(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		w := h.workflow(t)
		h.putTax(t, w, "US", "*", "US-STD")
		for range 2 {
			replica := h.workflow(t)
			go func() { _ = replica.Run(ctx) }()
		}
		if _, err := events.EnsureStream(ctx, h.js, "commerce", events.StreamOptions{}); err != nil {
			t.Fatal(err)
		}
		o := wfOrder("9100", "SKU-MUG")
		publish := func(n int, typ canonicalv1.EventType) {
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					ev := wfEvent(t, typ, o)
					ev.Id = fmt.Sprintf("%s-%d-%d", typ, i, time.Now().UnixNano())
					if _, err := events.Publish(ctx, h.js, ev); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		}
		publish(10, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED)
		publish(2, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_UPDATED)
		testkit.Eventually(t, 30*time.Second, "the order reaches the warehouse", func() bool {
			st, _ := h.stateOrEmpty(w, o.GetId())
			return st == StateAwaitingAck
		})
		publish(5, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED) // hours later
		testkit.Eventually(t, 30*time.Second, "the late copies are consumed", func() bool {
			return h.consumed(t, "orders-workflow-from-commerce") >= 17
		})
		if n := h.sys.count("sales_order", ""); n != 1 {
			t.Errorf("sales orders %d, want 1", n)
		}
		if n := h.sys.count("shipping_order", ""); n != 1 {
			t.Errorf("shipping orders %d, want 1", n)
		}
	})
}

// A storefront or gateway that cannot take the write yet (Unimplemented) holds the shipped order
// in its queue instead of failing it; nothing shipped is undone, and the order finishes once the
// write is available.
func TestUnavailableFulfilmentAndCaptureHold(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	h.sys.setFail("CreateFulfillment", status.Error(codes.Unimplemented, "CreateFulfillment is not implemented yet"))
	h.sys.setFail("CapturePayment", status.Error(codes.Unimplemented, "CapturePayment is not implemented yet"))
	o := wfOrder("9010", "SKU-MUG")
	o.FinancialStatus = canonicalv1.FinancialStatus_FINANCIAL_STATUS_AUTHORIZED
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	h.ship(t, w, o, SignalShipped)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateAwaitingStorefront)
	if h.sys.count("closed", "") != 0 || h.sys.count("released", "") != 0 {
		t.Fatal("a shipped order was compensated")
	}
	h.sys.setFail("CreateFulfillment", nil)
	h.clock.Advance(25 * time.Hour)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateAwaitingCapture)
	h.sys.setFail("CapturePayment", nil)
	if _, err := w.ResolveOrderException(wfAgent(), &ordersv1.ResolveOrderExceptionRequest{OrderId: o.GetId(),
		Resolution: ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_RETRY, Note: "gateway capture enabled"}); err != nil {
		t.Fatal(err)
	}
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateCompleted)
	for kind, want := range map[string]int{"fulfillment": 1, "invoice": 1, "capture": 1} {
		if got := h.sys.count(kind, ""); got != want {
			t.Errorf("%s: %d, want %d", kind, got, want)
		}
	}
}

// An ERP down for two hours (maintenance) parks the order: retried with capped backoff, booked
// once when the ERP is back, nothing compensated.
func TestERPOutageParksTheOrder(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	h.sys.setFail("CreateSalesOrder", status.Error(codes.Unavailable, "NetSuite is in maintenance"))
	o := wfOrder("9011", "SKU-MUG")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	for elapsed := time.Duration(0); elapsed < 2*time.Hour; elapsed += 5 * time.Minute {
		w = h.drive(t, w)
		h.clock.Advance(5 * time.Minute)
	}
	h.wantState(t, w, o.GetId(), StateBooking)
	h.sys.setFail("CreateSalesOrder", nil)
	h.clock.Advance(5 * time.Minute)
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateAwaitingAck)
	if h.sys.count("sales_order", "") != 1 || h.sys.count("closed", "") != 0 {
		t.Errorf("sales orders %d, closed %d; want 1 and 0", h.sys.count("sales_order", ""), h.sys.count("closed", ""))
	}
}
