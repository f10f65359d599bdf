package inventory

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestInventoryUpdateLagFromTheLedger records movements that reach the ledger late, in two
// hours, and reads the lag back by hour and cause from the stored movements.
func TestInventoryUpdateLagFromTheLedger(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newLedger(t, d, Config{})
		const sku, loc = "SKU-K", "dc-east"
		f.clock.set(start.Add(5 * time.Minute)) // 4 minutes late
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "ev-1", start.Add(time.Minute),
			adjustment(sku, loc, 0, 0, 50, start.Add(time.Minute), "RCPT-1"), "RCPT-1"))
		f.clock.set(start.Add(6 * time.Minute)) // 1 minute late
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "ev-2", start.Add(5*time.Minute),
			adjustment(sku, loc, 0, 0, 5, start.Add(5*time.Minute), "RCPT-2"), "RCPT-2"))
		f.clock.set(start.Add(70 * time.Minute)) // 10 minutes late, next hour
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_ADJUSTED, "ev-3", start.Add(60*time.Minute),
			adjustment(sku, loc, sellable, damaged, 3, start.Add(60*time.Minute), "ADJ-1"), "ADJ-1"))

		support := auth.WithPrincipal(asSupport(), auth.Principal{Audience: auth.Support, Subject: "agent", Scopes: []string{"support:read"}})
		resp, err := f.svc.Insight().GetInventoryKpis(support, &inventoryv1.GetInventoryKpisRequest{
			Since: timestamppb.New(start), Until: timestamppb.New(start.Add(3 * time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range resp.GetPoints() {
			got = append(got, fmt.Sprintf("%s %s %s n=%d sum=%g max=%g", p.GetKpi(), p.GetBucketStart().AsTime().Format("15:04"),
				p.GetChannel(), p.GetCount(), p.GetSumSeconds(), p.GetMaxSeconds()))
		}
		want := []string{
			"inventory_update_lag 09:00 receipt n=2 sum=300 max=240",
			"inventory_update_lag 10:00 adjustment n=1 sum=600 max=600",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("points (-want +got):\n%s", diff)
		}
		if _, err := f.svc.Insight().GetInventoryKpis(asCustomer(), &inventoryv1.GetInventoryKpisRequest{}); errs.KindOf(err) != errs.PermissionDenied {
			t.Errorf("customer: got %v, want permission denied", err)
		}
	})
}
