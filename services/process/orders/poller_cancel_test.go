package orders

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

func TestPollFindsCancellation(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) { testPollFindsCancellation(t, d) })
	}
}

// An order is cancelled on the storefront and both its webhooks (orders/cancelled and
// orders/updated) are lost: the repair poll stores the cancellation as a cancellation and
// publishes the orders/cancelled event once, however often it polls; that event, handed to the
// order workflow, cancels the order with the same compensations as the webhook's (the
// warehouse's shipping order first).
func testPollFindsCancellation(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{Backfill: true})
	ctx := context.Background()
	if _, err := rig.svc.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := rig.sb.PlaceOrder(firstCustomer(), someLines)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the order's webhook is stored", func() bool {
		_, ok, _ := rig.svc.store.get(ctx, id)
		return ok
	})
	rig.holdWebhooks(true)
	if err := rig.sb.CancelOrder(id); err != nil {
		t.Fatal(err)
	}
	rig.takeHeld(2) // orders/cancelled and orders/updated never arrive
	if so := rig.stored(id); so.cancelledAt != nil {
		t.Fatal("the store knows the cancellation though its webhooks were lost")
	}
	for range 3 { // polled again and again: one event
		if _, err := rig.svc.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if so := rig.stored(id); so.cancelledAt == nil {
		t.Fatal("the poll did not store the cancellation")
	}
	ev := cancelledEvents(t, rig, id)
	// The store's own consumer may apply the published event before the poll stores its version
	// (then the poll's copy is the same version, absorbed): either way the cancellation is the
	// poll's event.
	if !slices.ContainsFunc(rig.historyOf(id), func(h historyRow) bool { return h.Kind == kindCancelled && h.EventID == ev.GetId() }) {
		t.Errorf("history %+v has no cancellation from the poll's event %s", rig.historyOf(id), ev.GetId())
	}
	wantWorkflowCancelled(t, d, id, ev)
}

// cancelledEvents reads the commerce stream's orders/cancelled events of order id; exactly one
// must be there.
func cancelledEvents(t *testing.T, rig *storeRig, id string) *canonicalv1.Event {
	t.Helper()
	ctx := context.Background()
	stream, err := rig.svc.js.Stream(ctx, events.StreamName("commerce"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found []*canonicalv1.Event
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		ev, err := events.Decode(raw.Data)
		if err == nil && events.TypeOf(ev.GetType()) == canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED && ev.GetReferences().GetOrderId() == id {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("orders/cancelled events for %s on the commerce stream: %d, want 1", id, len(found))
	}
	return found[0]
}

// wantWorkflowCancelled runs an order with id to the warehouse and hands it ev.
func wantWorkflowCancelled(t *testing.T, d store.Dialect, id string, ev *canonicalv1.Event) {
	t.Helper()
	h := newWFHarness(t, d)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o := wfOrder(id, "SKU-MUG")
	h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
	w = h.drive(t, w)
	h.wantState(t, w, id, StateAwaitingAck)
	if err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
		return w.handleCommerceEvent(context.Background(), tx, ev)
	}); err != nil {
		t.Fatal(err)
	}
	w = h.drive(t, w)
	h.wantState(t, w, id, StateCancelled)
	for kind, want := range map[string]int{"cancelled_shipping_order": 1, "released": 1, "closed": 1} {
		if got := h.sys.count(kind, ""); got != want {
			t.Errorf("%s: %d, want %d", kind, got, want)
		}
	}
}
