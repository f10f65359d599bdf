package inventory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// TestReservationsWhileTheWarehouseIsDown takes the warehouse down (every call answers 503) and
// reserves, commits and reads availability: all of it runs on the ledger, with no warehouse call.
func TestReservationsWhileTheWarehouseIsDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	sku := f.stockedSKUs(t, 1)[0]
	before, err := f.inv.GetAvailability(asSupport(), &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}, LocationIds: []string{"dc-east"}})
	if err != nil {
		t.Fatal(err)
	}
	f.sb.Faults().Set(faults.Settings{ErrorRate: 1})
	calls := f.warehouseRequests()
	for i := range 3 {
		res, err := f.inv.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O-down", Sku: sku, Quantity: 1,
			IdempotencyKey: "down-" + string(rune('a'+i)), LocationId: "dc-east"})
		if err != nil {
			t.Fatalf("Reserve with the warehouse down: %v", err)
		}
		if _, err := f.inv.Commit(asSupport(), &inventoryv1.CommitRequest{ReservationId: res.GetReservationId()}); err != nil {
			t.Fatalf("Commit with the warehouse down: %v", err)
		}
	}
	after, err := f.inv.GetAvailability(asSupport(), &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}, LocationIds: []string{"dc-east"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := after.GetAvailability()[0].GetAvailableToSell(), before.GetAvailability()[0].GetAvailableToSell()-3; got != want {
		t.Errorf("available after 3 committed holds = %d, want %d", got, want)
	}
	if n := f.warehouseRequests() - calls; n != 0 {
		t.Errorf("reservations made %d warehouse calls, want 0", n)
	}
	// The warehouse comes back and its snapshot is applied again: the holds stand (a count
	// corrects the pickable total, never the ledger's holds).
	f.sb.Faults().Set(faults.Settings{})
	if _, err := f.svc.ApplySnapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := f.inv.GetAvailability(asSupport(), &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}, LocationIds: []string{"dc-east"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(after.GetAvailability()[0].GetAvailableToSell(), again.GetAvailability()[0].GetAvailableToSell()); diff != "" {
		t.Errorf("availability after the snapshot (-want +got):\n%s", diff)
	}
}

// TestShipmentConsumesTheOrdersReservation commits a hold and ships the order: the committed
// units leave the books, the reservation ends shipped, and a release afterwards changes nothing.
func TestShipmentConsumesTheOrdersReservation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		r := newReplicas(t, d, 1, Config{})
		r.stock(t, "S", "dc-east", 10)
		res, err := r.clients[0].Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O-7", Sku: "S", Quantity: 4, IdempotencyKey: "o7"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.clients[0].Commit(asSupport(), &inventoryv1.CommitRequest{ReservationId: res.GetReservationId()}); err != nil {
			t.Fatal(err)
		}
		f := &ledgerFixture{svc: r.svcs[0], db: r.db}
		ship := event(t, canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_SHIPPED, "sh-7", start.Add(time.Minute),
			&canonicalv1.Shipment{Id: "SH-7", OrderId: "O-7", FromLocationId: "dc-east", ShippedAt: timestamppb.New(start.Add(time.Minute)),
				Lines: []*canonicalv1.ShipmentLine{{Sku: "S", Quantity: 4}}}, "SH-7")
		f.deliver(t, ship)
		f.deliver(t, ship) // a duplicate delivery
		if _, err := r.clients[0].Release(asSupport(), &inventoryv1.ReleaseRequest{ReservationId: res.GetReservationId()}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{sellable: 6}, r.figures(t, "S", "dc-east")); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
		f.explain(t, "S", "dc-east")
	})
}

// TestKilledBeforePublishing records movements in a process that dies before publishing them
// (no relay ever ran), then starts another over the same store with the bus: every committed
// movement's position-changed event is published once, and a refused hold (rolled back)
// publishes nothing. Figures: lost = 0, phantom = 0.
func TestKilledBeforePublishing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		url := storetest.URL(t, d)
		dead, err := New(Config{}, Deps{DB: storetest.OpenURL(t, url, store.Options{}), Now: func() time.Time { return start }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := asSupport()
		r := &replicas{svcs: []*Service{dead}, db: storetest.OpenURL(t, url, store.Options{})}
		r.stock(t, "K", "dc-east", 3)
		if _, err := dead.Reserve(ctx, &inventoryv1.ReserveRequest{OrderId: "O-1", Sku: "K", Quantity: 2, IdempotencyKey: "k1"}); err != nil {
			t.Fatal(err)
		}
		_, err = dead.Reserve(ctx, &inventoryv1.ReserveRequest{OrderId: "O-2", Sku: "K", Quantity: 2, IdempotencyKey: "k2"})
		if e := errs.FromError(err); e.Reason != "insufficient_stock" {
			t.Fatalf("second hold = %v, want insufficient_stock", err)
		}
		var movements int
		if err := r.db.QueryRow(context.Background(), `SELECT COUNT(DISTINCT movement_id) FROM inventory_movements`).Scan(&movements); err != nil {
			t.Fatal(err)
		}

		_, js := eventstest.Start(t).Connect(t)
		next, err := New(Config{SnapshotEvery: -1}, Deps{DB: storetest.OpenURL(t, url, store.Options{}), JetStream: js, Now: func() time.Time { return start }})
		if err != nil {
			t.Fatal(err)
		}
		runService(t, next)
		var ids map[string]int
		testkit.Eventually(t, 20*time.Second, "every movement's event is published", func() bool {
			ids = publishedIDs(t, js)
			return len(ids) >= movements
		})
		for id, n := range ids {
			if n != 1 {
				t.Errorf("event %s published %d times", id, n)
			}
		}
		if len(ids) != movements {
			t.Errorf("published %d events for %d committed movements (lost or phantom)", len(ids), movements)
		}
		t.Logf("%s: %d committed movements, %d events published after the restart", d, movements, len(ids))
	})
}

// publishedIDs counts the position-changed events on the inventory stream by id.
func publishedIDs(t testing.TB, js jetstream.JetStream) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]int{}
	s, err := js.Stream(ctx, events.StreamName(StreamDomain))
	if err != nil {
		return out
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		ev, err := events.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		out[ev.GetId()]++
	}
	return out
}

// TestSnapshotFindsDrift changes the warehouse's stock behind the ledger's back (its webhooks are
// never delivered), then applies the snapshot: both drifted positions are found; the one at a
// distribution centre (the warehouse is the authority there) is corrected by ledger lines, the
// one at a store (the ERP is the authority there, by default) is only reported; both are in the
// drift report, and a second snapshot changes nothing.
func TestSnapshotFindsDrift(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	skus := f.stockedSKUs(t, 2)
	storeBefore, err := stateQuantities(context.Background(), f.db, skus[1], "store-nyc")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.sb.AdjustStock(warehousesb.StockMovement{SKU: skus[0], LocationID: "dc-west", FromState: warehousesb.StateAvailable,
		ToState: warehousesb.StateDamaged, Quantity: 1, Reason: "found broken"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sb.ReceiveStock("store-nyc", skus[1], 6); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.ApplySnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.New != 2 || res.Drifted != 2 || res.DriftUnits != 1+1+6 || res.Corrected != 1 {
		t.Errorf("snapshot = %+v, want 2 new versions, 2 drifted positions, 8 units, 1 corrected", res)
	}
	got, err := stateQuantities(context.Background(), f.db, skus[0], "dc-west")
	if err != nil {
		t.Fatal(err)
	}
	wh := f.sb.Position("dc-west", skus[0])
	if got[sellable]+got[committed] != wh[warehousesb.StateAvailable]+wh[warehousesb.StateReserved] || got[damaged] != wh[warehousesb.StateDamaged] {
		t.Errorf("%s at dc-west: ledger %v, warehouse %v; want corrected", skus[0], got, wh)
	}
	storeAfter, err := stateQuantities(context.Background(), f.db, skus[1], "store-nyc")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(storeBefore, storeAfter); diff != "" {
		t.Errorf("%s at store-nyc changed though the ERP is the authority there (-before +after):\n%s", skus[1], diff)
	}
	report := f.drift(t, &inventoryv1.ListDriftRequest{Source: AuthorityWarehouse, IncludeResolved: true})
	want := []string{"dc-west/" + skus[0] + "/damaged wms corrected", "dc-west/" + skus[0] + "/sellable wms corrected",
		"store-nyc/" + skus[1] + "/sellable erp reported"}
	if diff := cmp.Diff(want, report); diff != "" {
		t.Errorf("drift report (-want +got):\n%s", diff)
	}
	again, err := f.svc.ApplySnapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again.New != 0 || again.Drifted != 0 {
		t.Errorf("second snapshot = %+v, want nothing new", again)
	}
}

// drift lists the drift report as "location/sku/state authority action" lines.
func (f *fixture) drift(t testing.TB, req *inventoryv1.ListDriftRequest) []string {
	t.Helper()
	resp, err := f.inv.ListDrift(asSupport(), req)
	if err != nil {
		t.Fatalf("ListDrift: %v", err)
	}
	var out []string
	for _, d := range resp.GetDrift() {
		out = append(out, fmt.Sprintf("%s/%s/%s %s %s", d.GetLocationId(), d.GetSku(), stateName(d.GetState()), d.GetAuthority(), d.GetAction()))
	}
	return out
}
