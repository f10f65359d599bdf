package orders

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// A warehouse that already shipped refuses the cancellation: the cancellation is refused with
// the reason, nothing is compensated, and the order goes on with its shipment.
func TestCancellationRefusedWhenWarehouseShipped(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		w := h.workflow(t)
		h.putTax(t, w, "US", "*", "US-STD")
		o := wfOrder("9301", "SKU-MUG")
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
		w = h.drive(t, w)
		d := h.wantState(t, w, o.GetId(), StateAwaitingAck)
		h.sys.shipAtWarehouse(d.WarehouseOrders[0].ID)
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED, o)
		w = h.drive(t, w)
		h.wantState(t, w, o.GetId(), StateAwaitingAck)
		_, hist, _ := w.State(context.Background(), o.GetId())
		refused := false
		for _, e := range hist {
			refused = refused || strings.Contains(e.Description, "cancellation refused: the warehouse already shipped")
		}
		if !refused {
			t.Error("the timeline does not show the refusal with its reason")
		}
		for _, kind := range []string{"cancelled_shipping_order", "released", "closed"} {
			if n := h.sys.count(kind, ""); n != 0 {
				t.Errorf("%s: %d after a refused cancellation", kind, n)
			}
		}
		h.ship(t, w, o, SignalShipped)
		w = h.drive(t, w)
		h.wantState(t, w, o.GetId(), StateCompleted)
		if n := h.sys.count("customer_payment", o.GetId()); n != 1 {
			t.Errorf("ERP customer payments %d, want 1", n)
		}
	})
}

// The ERP's status is followed: a Pending Fulfillment change is on the timeline; the ERP
// closing an order the warehouse is about to ship holds it in the erp_status_conflict queue;
// support's cancellation then cancels at the warehouse first, once.
func TestERPClosedOrderIsHeldForSupport(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o := wfOrder("9302", "SKU-MUG")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	d := h.wantState(t, w, o.GetId(), StateAwaitingAck)
	at := h.clock.Now()
	h.sys.plantChange(&erpv1.SalesOrderChange{SalesOrderId: d.SalesOrderID, OrderId: o.GetId(), Status: "Pending Fulfillment", ModifiedAt: timestamppb.New(at)})
	h.sys.plantChange(&erpv1.SalesOrderChange{SalesOrderId: d.SalesOrderID, OrderId: o.GetId(), Status: "Closed", Closed: true,
		ModifiedAt: timestamppb.New(at.Add(1e9))})
	n, err := w.PollERPStatus(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("poll = %d, %v; want 2 changes", n, err)
	}
	var queued int
	if err := h.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM rb_outbox`).Scan(&queued); err != nil || queued < 2 {
		t.Fatalf("outbox rows %d, %v; want the 2 change events", queued, err)
	}
	// Polled again: the overlap lists both changes again; nothing is recorded twice and the poll
	// does not fail on what it recorded before.
	if n, err := w.PollERPStatus(context.Background()); err != nil || n != 2 {
		t.Fatalf("second poll = %d, %v; want the 2 changes listed again", n, err)
	}
	var after int
	if err := h.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM rb_outbox`).Scan(&after); err != nil || after != queued {
		t.Fatalf("outbox rows after a second poll %d, %v; want %d", after, err, queued)
	}
	for _, c := range []string{"Pending Fulfillment", "Closed"} {
		ch := &erpv1.SalesOrderChange{SalesOrderId: d.SalesOrderID, OrderId: o.GetId(), Status: c, Closed: c == "Closed",
			ModifiedAt: timestamppb.New(at)}
		if c == "Closed" {
			ch.ModifiedAt = timestamppb.New(at.Add(1e9))
		}
		for range 2 { // delivered twice: recorded once
			if err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
				return w.handleERPEvent(context.Background(), tx, salesOrderEvent(ch))
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	d = h.wantState(t, w, o.GetId(), StateERPConflict)
	if d.ERPStatus != "Closed" || len(d.Reasons) == 0 {
		t.Errorf("ERP status %q, reasons %v", d.ERPStatus, d.Reasons)
	}
	if _, err := w.Signal(wfAgent(), o.GetId(), SignalRelease, []byte(`{"resolution":"cancel","note":"ERP closed it"}`)); err != nil {
		t.Fatal(err)
	}
	w = h.drive(t, w)
	h.wantState(t, w, o.GetId(), StateCancelled)
	if n := h.sys.count("cancelled_shipping_order", ""); n != 1 {
		t.Errorf("warehouse cancellations %d, want 1", n)
	}
}

// A split order's shipping orders are cancelled newest first; when the older one has shipped
// after the newer one was cancelled, the order goes to people with the reason.
func TestSplitOrderCancelledNewestFirst(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	sys := systems{wms: wmsv1.NewWmsServiceClient(h.conn)}
	b := builder{cfg: WorkflowConfig{}.withDefaults(), now: h.clock.Now}
	var d orderData
	if err := d.setOrder(wfOrder("9303", "SKU-MUG", "SKU-SHIRT")); err != nil {
		t.Fatal(err)
	}
	d.WarehouseOrders = []warehouseOrder{{Location: "dc-east", ID: "wo-old"}, {Location: "store-9", ID: "wo-new"}}
	d.CancelFrom, d.CancelNote = StateAwaitingShipment, "customer asked"
	run := func() workflow.Result {
		raw, _ := json.Marshal(d)
		res, err := b.cancellingStep(sys).Do(context.Background(), workflow.Run{Instance: workflow.Instance{ID: "9303", Data: raw}, Key: "k"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	h.sys.shipAtWarehouse("wo-old")
	res := run()
	f := h.sys.followUp()
	if !slices.Equal(f.asked, []string{"wo-new", "wo-old"}) {
		t.Errorf("asked to cancel %v; want the newest first", f.asked)
	}
	if res.Next != StateFailed || !strings.Contains(res.Note, "already shipped shipping order wo-old") {
		t.Errorf("result %+v; want failed_needs_attention with the reason", res)
	}
	if n := h.sys.count("cancelled_shipping_order", ""); n != 1 {
		t.Errorf("cancelled %d shipping orders, want 1 (the newer)", n)
	}
}
