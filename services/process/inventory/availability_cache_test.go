package inventory

import (
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// available reads the units of sku svc can promise everywhere.
func available(t testing.TB, svc *Service, sku string) int64 {
	t.Helper()
	resp, err := svc.GetAvailability(asSupport(), &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}})
	if err != nil {
		t.Fatalf("GetAvailability: %v", err)
	}
	return resp.GetAvailability()[0].GetAvailableToSell()
}

// TestWarmAvailabilityReadsNoSQL checks, on SQLite (where this process is the ledger's only
// writer), that a repeated availability read runs no SQL statement, and that every committed
// ledger write (a receipt, a reservation, an adjustment) is visible to the very next read, while
// reservations decide from the ledger and never from the cached figure.
func TestWarmAvailabilityReadsNoSQL(t *testing.T) {
	f := newLedger(t, store.SQLite, Config{})
	f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "r1", start,
		adjustment("S", "dc-east", 0, sellable, 10, start, "RCPT-1"), ""))
	if got := available(t, f.svc, "S"); got != 10 {
		t.Fatalf("cold read = %d, want 10", got)
	}
	before := f.db.Statements()
	for range 3 {
		if got := available(t, f.svc, "S"); got != 10 {
			t.Fatalf("warm read = %d, want 10", got)
		}
	}
	if n := f.db.Statements() - before; n != 0 {
		t.Errorf("three warm reads ran %d SQL statements, want 0", n)
	}

	if _, err := f.svc.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O-1", Sku: "S", Quantity: 4, IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if got := available(t, f.svc, "S"); got != 6 {
		t.Errorf("read after a reservation = %d, want 6", got)
	}
	f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_ADJUSTED, "a1", start,
		adjustment("S", "dc-east", sellable, 0, 1, start, "ADJ-1"), ""))
	if got := available(t, f.svc, "S"); got != 5 {
		t.Errorf("read after an adjustment = %d, want 5", got)
	}
	if _, err := f.svc.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O-2", Sku: "S", Quantity: 5, IdempotencyKey: "k2"}); err != nil {
		t.Fatalf("reserving the last 5: %v", err)
	}
	_, err := f.svc.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O-3", Sku: "S", Quantity: 1, IdempotencyKey: "k3"})
	if e := errs.FromError(err); e.Reason != "insufficient_stock" {
		t.Errorf("reserving past the stock = %v, want insufficient_stock", err)
	}
	if got := available(t, f.svc, "S"); got != 0 {
		t.Errorf("read after selling out = %d, want 0", got)
	}
}

// TestAvailabilityIsExactAcrossReplicas checks, on PostgreSQL (several replicas write one
// ledger), that a replica's availability follows a write another replica committed: the read
// cache is never used there.
func TestAvailabilityIsExactAcrossReplicas(t *testing.T) {
	r := newReplicas(t, store.Postgres, 2, Config{})
	r.stock(t, "S", "dc-east", 10)
	if got := available(t, r.svcs[0], "S"); got != 10 {
		t.Fatalf("first read = %d, want 10", got)
	}
	if _, err := r.svcs[1].Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O-1", Sku: "S", Quantity: 3, IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if got := available(t, r.svcs[0], "S"); got != 7 {
		t.Errorf("read on one replica after a reservation on the other = %d, want 7", got)
	}
}
