package orders

import (
	"context"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// Two orders want the warehouse's last mug and no OMS is deployed to route the loser elsewhere:
// the loser is not failed but waits in the awaiting_stock queue with the reason, and the
// inventory process's position event for a receipt releases it, after which it reserves once
// (under keys of its own attempt) and goes to the warehouse. Each order holds one reservation.
func TestLostRaceWaitsForStockAndIsReleasedByAReceipt(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		h.sys.stock, h.sys.held = map[string]int64{wfWarehouse + "/SKU-MUG": 1}, map[string]string{}
		w := h.workflow(t)
		h.putTax(t, w, "US-CA", "*", "CA-STD")
		a, b := wfOrder("9701", "SKU-MUG"), wfOrder("9702", "SKU-MUG")
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, a)
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, b)
		w = h.drive(t, w)
		sa, _ := h.state(t, w, a.GetId())
		sb, _ := h.state(t, w, b.GetId())
		served, waiting := a, b
		if sa == StateAwaitingStock {
			served, waiting = b, a
		}
		h.wantState(t, w, served.GetId(), StateAwaitingAck)
		d := h.wantState(t, w, waiting.GetId(), StateAwaitingStock)
		if len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "SKU-MUG at "+wfWarehouse) || len(d.Reservations) != 0 {
			t.Errorf("waiting order: reasons %q, reservations %+v; want why, naming the exhausted location, and none held", d.Reasons, d.Reservations)
		}
		q, err := w.ListOrderExceptions(wfAgent(), &ordersv1.ListOrderExceptionsRequest{Queue: QueueAwaitingStock})
		if err != nil || len(q.GetOrders()) != 1 || q.GetOrders()[0].GetOrderId() != waiting.GetId() {
			t.Fatalf("awaiting_stock queue = %v, %v; want order %s (states %s, %s)", q.GetOrders(), err, waiting.GetId(), sa, sb)
		}

		h.sys.mu.Lock()
		h.sys.stock[wfWarehouse+"/SKU-MUG"] += 2 // a receipt
		h.sys.mu.Unlock()
		receipt := &canonicalv1.InventoryPosition{Sku: "SKU-MUG", LocationId: wfWarehouse, Quantities: []*canonicalv1.InventoryQuantity{
			{State: canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE, Quantity: 2}}}
		if err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
			return w.handleInventoryEvent(context.Background(), tx, wfEvent(t, canonicalv1.EventType_EVENT_TYPE_INVENTORY_POSITION_CHANGED, receipt))
		}); err != nil {
			t.Fatal(err)
		}
		w = h.drive(t, w)
		d = h.wantState(t, w, waiting.GetId(), StateAwaitingAck)
		for _, o := range []*canonicalv1.Order{served, waiting} {
			if got := h.sys.count("reservation", o.GetId()); got != 1 {
				t.Errorf("order %s: %d reservations, want 1", o.GetId(), got)
			}
		}
		if d.RouteAttempt != 1 || len(d.Exhausted) != 0 {
			t.Errorf("released order: attempt %d, exhausted %+v; want its second attempt with nothing excluded", d.RouteAttempt, d.Exhausted)
		}
		if left := h.sys.stock[wfWarehouse+"/SKU-MUG"]; left != 1 {
			t.Errorf("the warehouse has %d mugs left, want 1 (3 units, 2 orders)", left)
		}
	})
}

// An OMS that keeps allocating the order to a location without the units: the order is routed
// again at most MaxReroutes times, each attempt a new OMS order (the one before cancelled) and on
// the timeline, and then waits in awaiting_stock; it never fails and never holds a reservation.
func TestReroutesAreBounded(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		h.sys.stock, h.sys.held = map[string]int64{wfWarehouse + "/SKU-MUG": 0, "store-1/SKU-MUG": 0}, map[string]string{}
		h.sys.omsLocation = "store-1"
		w := h.workflow(t)
		h.putTax(t, w, "US-CA", "*", "CA-STD")
		o := wfOrder("9801", "SKU-MUG")
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
		w = h.drive(t, w)
		d := h.wantState(t, w, o.GetId(), StateAwaitingStock)
		_, hist, err := w.State(context.Background(), o.GetId())
		if err != nil {
			t.Fatal(err)
		}
		rerouted := 0
		for _, e := range hist {
			if strings.Contains(e.Description, "routed again without") {
				rerouted++
			}
		}
		if rerouted != DefaultMaxReroutes || d.RouteAttempt != DefaultMaxReroutes+1 {
			t.Errorf("%d re-routes on the timeline, attempt %d; want %d re-routes, then waiting", rerouted, d.RouteAttempt, DefaultMaxReroutes)
		}
		if got, cancelled := h.sys.count("oms_order", ""), h.sys.count("oms_cancelled", ""); got != DefaultMaxReroutes || cancelled != got {
			t.Errorf("%d OMS orders, %d cancelled; want %d, each cancelled", got, cancelled, DefaultMaxReroutes)
		}
		if n := h.sys.count("reservation", o.GetId()); n != 0 || len(d.Reservations) != 0 {
			t.Errorf("%d reservations made, %d held; want none", n, len(d.Reservations))
		}
	})
}
