package orders

import (
	"context"
	"testing"
	"time"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// testTiedWebhooksSettle: two changes of one order within one second (an update, then a refund)
// reach the store as two orders/updated deliveries with one updated_at. The refund's delivery,
// second, carries other content than the version in force: the store reads the order from the
// platform once and holds the refunded unit, rather than keeping the earlier change until the
// repair poll.
func testTiedWebhooksSettle(t *testing.T, d store.Dialect) {
	frozen := time.Now().UTC().Truncate(time.Second).Add(100 * time.Millisecond)
	rig := newStoreRigAt(t, d, StoreConfig{}, func() time.Time { return frozen })
	rig.holdWebhooks(true)
	id, err := rig.sb.PlaceOrder(firstCustomer(), someLines)
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.sb.UpdateOrder(id); err != nil {
		t.Fatal(err)
	}
	first := rig.takeHeld(2) // orders/create, orders/updated (one second later)
	got, err := rig.commerce.GetOrder(context.Background(), &commercev1.GetOrderRequest{OrderId: id})
	if err != nil {
		t.Fatal(err)
	}
	line := got.GetOrder().GetLines()[0].GetId()
	if _, err := rig.commerce.RecordRefund(context.Background(), &commercev1.RecordRefundRequest{
		OrderId: id, IdempotencyKey: "tie-refund-1", Amount: got.GetOrder().GetLines()[0].GetUnitPrice(),
		Lines: []*commercev1.RefundLine{{OrderLineId: line, Quantity: 1}},
	}); err != nil {
		t.Fatalf("refund: %v", err)
	}
	second := rig.takeHeld(2) // refunds/create, orders/updated at the same updated_at
	if a, b := updatedAtOf(first[1].body), updatedAtOf(second[1].body); a == "" || a != b {
		t.Fatalf("the update and the refund do not share an updated_at: %q, %q", a, b)
	}
	calls := rig.vendorCalls() // ingesting a webhook calls no vendor
	for _, dl := range append(first, second...) {
		if err := rig.ingest(dl); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the refunded unit in the store", func() bool {
		so, ok, err := rig.svc.store.get(context.Background(), id)
		return err == nil && ok && so.order.GetLines()[0].GetRefundedQuantity() == 1
	})
	if n := rig.vendorCalls() - calls; n > 1 {
		t.Errorf("vendor calls to settle the tie: %d, want at most 1", n)
	}
}
