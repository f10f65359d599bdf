package orders

import (
	"context"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// Warm reads are served from the read cache, yet a read after the store took a change always
// answers with it: GetOrder and every cached page of the listing, the moment the store holds
// the new version (no waiting: a stale answer here is a defect, not a delay).
func TestWarmReadsFollowEveryChange(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) { testWarmReadsFollowEveryChange(t, d) })
	}
}

func testWarmReadsFollowEveryChange(t *testing.T, d store.Dialect) {
	rig := newStoreRig(t, d, StoreConfig{Backfill: true})
	if _, err := rig.svc.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	customer := firstCustomer()
	id, err := rig.sb.PlaceOrder(customer, someLines)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the new order is stored", func() bool {
		_, ok, _ := rig.svc.store.get(context.Background(), id)
		return ok
	})
	ctx := customerCtx(customer)
	read := func() (single time.Time, listed map[int32]time.Time) {
		t.Helper()
		resp, err := rig.svc.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: id})
		if err != nil {
			t.Fatal(err)
		}
		listed = map[int32]time.Time{}
		for _, size := range []int32{1, 5, 100} {
			page, err := rig.svc.ListOrders(ctx, &ordersv1.ListOrdersRequest{PageSize: size})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.GetOrders() {
				if o.GetId() == id {
					listed[size] = o.GetUpdatedAt().AsTime()
				}
			}
		}
		return resp.GetOrder().GetUpdatedAt().AsTime(), listed
	}
	for round := range 3 {
		before := rig.stored(id).order.GetUpdatedAt().AsTime()
		for range 3 { // warm: the second and third reads come from the cache on SQLite
			single, listed := read()
			if !single.Equal(before) || len(listed) != 3 {
				t.Fatalf("round %d: GetOrder updated_at %v, pages %v; the store holds %v", round, single, listed, before)
			}
		}
		if err := rig.sb.UpdateOrder(id); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, "the update is stored", func() bool {
			return rig.stored(id).order.GetUpdatedAt().AsTime().After(before)
		})
		now := rig.stored(id).order.GetUpdatedAt().AsTime()
		single, listed := read()
		if !single.Equal(now) {
			t.Errorf("round %d: GetOrder answered updated_at %v after the store took %v", round, single, now)
		}
		for size, at := range listed {
			if !at.Equal(now) {
				t.Errorf("round %d: the page of size %d listed updated_at %v after the store took %v", round, size, at, now)
			}
		}
	}
}
