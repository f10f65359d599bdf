package inventory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// replicas are n inventory services over one store (each with its own connections, as separate
// processes would have), each on its own gRPC server.
type replicas struct {
	svcs    []*Service
	clients []inventoryv1.InventoryServiceClient
	db      *store.DB // one more handle, for the test's own reads
	clock   *clock
	reg     *prometheus.Registry // the replicas' shared metrics
}

func newReplicas(t testing.TB, d store.Dialect, n int, cfg Config) *replicas {
	t.Helper()
	url := storetest.URL(t, d)
	r := &replicas{clock: &clock{t: start}, reg: prometheus.NewRegistry()}
	// The replicas are separate handles on one database, as separate processes would be. On
	// SQLite they pass one file's write lock back and forth; on a loaded machine a writer may
	// wait longer than the default busy timeout, which these tests are not about: they count
	// what is granted, so a writer waits as long as it takes.
	opts := store.Options{BusyTimeout: time.Minute, TxAttempts: 50}
	for range n {
		db := storetest.OpenURL(t, url, opts)
		svc, err := New(cfg, Deps{DB: db, Now: r.clock.Now, Metrics: r.reg})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		r.svcs = append(r.svcs, svc)
		r.clients = append(r.clients, inventoryv1.NewInventoryServiceClient(serve(t, func(s *grpc.Server) { inventoryv1.RegisterInventoryServiceServer(s, svc) })))
	}
	r.db = storetest.OpenURL(t, url, store.Options{})
	return r
}

// stock receives qty sellable units of sku at loc through the ledger, as a receipt event would.
func (r *replicas) stock(t testing.TB, sku, loc string, qty int64) {
	t.Helper()
	ev := event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "stock-"+sku+loc, start,
		adjustment(sku, loc, 0, sellable, qty, start, "RCPT-"+sku+loc), "")
	err := r.db.InTx(context.Background(), func(tx *store.Tx) error { return r.svcs[0].handleEvent(context.Background(), tx, ev) })
	if err != nil {
		t.Fatal(err)
	}
}

// counter reads a counter of the replicas' registry with the given label value (any label).
func (r *replicas) counter(t testing.TB, name, label string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func (r *replicas) figures(t testing.TB, sku, loc string) map[canonicalv1.InventoryState]int64 {
	t.Helper()
	return (&ledgerFixture{db: r.db}).figures(t, sku, loc)
}

// TestConcurrentReservationsNeverOversell sends 1,000 concurrent Reserve requests of one unit
// for a SKU with 100 sellable units, spread over two replicas sharing the store: exactly 100 are
// granted, the rest refused as insufficient stock, and the ledger holds 100 reserved, 0 sellable.
func TestConcurrentReservationsNeverOversell(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		r := newReplicas(t, d, 2, Config{})
		const sku, loc, units, requests = "HOT-1", "dc-east", 100, 1000
		r.stock(t, sku, loc, units)
		var granted, refused atomic.Int64
		var other sync.Map
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				_, err := r.clients[i%2].Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: fmt.Sprintf("O-%d", i), Sku: sku,
					Quantity: 1, IdempotencyKey: fmt.Sprintf("k-%d", i), Channel: "web"})
				switch e := errs.FromError(err); {
				case err == nil:
					granted.Add(1)
				case e.Reason == "insufficient_stock":
					refused.Add(1)
				default:
					other.Store(i, err.Error())
				}
			})
		}
		wg.Wait()
		other.Range(func(k, v any) bool { t.Errorf("request %v: %v", k, v); return true })
		t.Logf("%s: %d requests over 2 replicas for %d units: %d granted, %d refused", d, requests, units, granted.Load(), refused.Load())
		if granted.Load() != units || refused.Load() != requests-units {
			t.Errorf("granted %d, refused %d; want %d and %d", granted.Load(), refused.Load(), units, requests-units)
		}
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{reserved: units}, r.figures(t, sku, loc)); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
		if g, i := r.counter(t, "retailbridge_inventory_reservations_total", "granted"), r.counter(t, "retailbridge_inventory_reservations_total", "insufficient"); g != units || i != requests-units {
			t.Errorf("metrics: %v granted, %v insufficient; want %d and %d", g, i, units, requests-units)
		}
		var rows int
		if err := r.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM inventory_reservations WHERE status = $1`, statusHeld).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != units {
			t.Errorf("held reservations = %d, want %d", rows, units)
		}
	})
}

// TestReservationLifecycle covers the idempotency key, commit, release, and what each refuses.
func TestReservationLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		r := newReplicas(t, d, 1, Config{})
		c := r.clients[0]
		ctx := asSupport()
		r.stock(t, "S", "dc-east", 10)
		r.stock(t, "S", "dc-west", 3)
		req := &inventoryv1.ReserveRequest{OrderId: "O-1", Sku: "S", Quantity: 4, IdempotencyKey: "o1-s"}
		first, err := c.Reserve(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if first.GetLocationId() != "dc-east" || !first.GetExpiresAt().AsTime().Equal(start.Add(DefaultReservationTTL)) {
			t.Errorf("reservation = %v, want dc-east (most stock) expiring after the default ttl", first)
		}
		again, err := c.Reserve(ctx, req)
		if err != nil || again.GetReservationId() != first.GetReservationId() {
			t.Errorf("replay = %v, %v; want the first reservation", again, err)
		}
		_, err = c.Reserve(ctx, &inventoryv1.ReserveRequest{OrderId: "O-1", Sku: "S", Quantity: 5, IdempotencyKey: "o1-s"})
		if e := errs.FromError(err); e.Kind != errs.AlreadyExists || e.Reason != "idempotency_key_reused" {
			t.Errorf("same key, other quantity = %v; want idempotency_key_reused", err)
		}
		_, err = c.Reserve(ctx, &inventoryv1.ReserveRequest{OrderId: "O-2", Sku: "S", Quantity: 7, IdempotencyKey: "o2-s"})
		if e := errs.FromError(err); e.Reason != "insufficient_stock" {
			t.Errorf("7 units when no location has 7 = %v; want insufficient_stock", err)
		}
		_, err = c.Reserve(ctx, &inventoryv1.ReserveRequest{})
		if e := errs.FromError(err); e.Kind != errs.Invalid || len(e.Fields) != 4 {
			t.Errorf("empty request = %v; want four named fields", err)
		}
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{sellable: 6, reserved: 4}, r.figures(t, "S", "dc-east")); diff != "" {
			t.Errorf("after the hold (-want +got):\n%s", diff)
		}
		for range 2 {
			if _, err := c.Commit(ctx, &inventoryv1.CommitRequest{ReservationId: first.GetReservationId()}); err != nil {
				t.Fatalf("Commit: %v", err)
			}
		}
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{sellable: 6, committed: 4}, r.figures(t, "S", "dc-east")); diff != "" {
			t.Errorf("after commit (-want +got):\n%s", diff)
		}
		for range 2 {
			if _, err := c.Release(ctx, &inventoryv1.ReleaseRequest{ReservationId: first.GetReservationId()}); err != nil {
				t.Fatalf("Release: %v", err)
			}
		}
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{sellable: 10}, r.figures(t, "S", "dc-east")); diff != "" {
			t.Errorf("after release (-want +got):\n%s", diff)
		}
		_, err = c.Commit(ctx, &inventoryv1.CommitRequest{ReservationId: first.GetReservationId()})
		if e := errs.FromError(err); e.Reason != "reservation_released" {
			t.Errorf("commit after release = %v; want reservation_released", err)
		}
		_, err = c.Release(ctx, &inventoryv1.ReleaseRequest{ReservationId: "res-nope"})
		if e := errs.FromError(err); e.Kind != errs.NotFound {
			t.Errorf("release of an unknown reservation = %v; want not found", err)
		}
		(&ledgerFixture{svc: r.svcs[0], db: r.db}).explain(t, "S", "dc-east")
	})
}

// TestExpiredReservationsReturnOnce lets holds expire while two replicas sweep at once, and a
// release races the sweep: every hold's units come back exactly once.
func TestExpiredReservationsReturnOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		r := newReplicas(t, d, 2, Config{SweepEvery: 10 * time.Millisecond})
		const sku, loc = "EXP-1", "dc-east"
		r.stock(t, sku, loc, 50)
		var ids []string
		for i := range 20 {
			resp, err := r.clients[i%2].Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: fmt.Sprintf("O-%d", i), Sku: sku, Quantity: 2,
				IdempotencyKey: fmt.Sprintf("e-%d", i), Ttl: durationpb.New(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, resp.GetReservationId())
		}
		// One hold is committed before the deadline: committed holds never expire.
		if _, err := r.clients[0].Commit(asSupport(), &inventoryv1.CommitRequest{ReservationId: ids[0]}); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(time.Minute)
		for _, svc := range r.svcs {
			runService(t, svc)
		}
		// A release racing the sweepers.
		if _, err := r.clients[1].Release(asSupport(), &inventoryv1.ReleaseRequest{ReservationId: ids[1]}); err != nil {
			t.Fatal(err)
		}
		want := map[canonicalv1.InventoryState]int64{sellable: 48, committed: 2}
		testkit.Eventually(t, 20*time.Second, "every uncommitted hold is back", func() bool {
			return cmp.Equal(want, r.figures(t, sku, loc))
		})
		var lines int
		if err := r.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM inventory_movements WHERE cause IN ('expiry', 'release') AND state = 'sellable'`).Scan(&lines); err != nil {
			t.Fatal(err)
		}
		if lines != 19 {
			t.Errorf("units returned by %d movements, want 19 (18 expiries and 1 release)", lines)
		}
		_, err := r.clients[0].Commit(asSupport(), &inventoryv1.CommitRequest{ReservationId: ids[5]})
		if e := errs.FromError(err); e.Reason != "reservation_expired" {
			t.Errorf("commit after expiry = %v; want reservation_expired", err)
		}
	})
}

// TestCancelledOrderReleasesItsHolds delivers the commerce platform's cancellation of an order
// with a held and a committed reservation (twice): both return their units once, and another
// order's hold stays.
func TestCancelledOrderReleasesItsHolds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		r := newReplicas(t, d, 1, Config{})
		c := r.clients[0]
		r.stock(t, "C", "dc-east", 10)
		var ids []string
		for i, o := range []string{"O-1", "O-1", "O-2"} {
			res, err := c.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: o, Sku: "C", Quantity: 2, IdempotencyKey: fmt.Sprintf("c-%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.GetReservationId())
		}
		if _, err := c.Commit(asSupport(), &inventoryv1.CommitRequest{ReservationId: ids[1]}); err != nil {
			t.Fatal(err)
		}
		f := &ledgerFixture{svc: r.svcs[0], db: r.db}
		for i := range 2 {
			f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CANCELLED, fmt.Sprintf("cx-%d", i), start,
				&canonicalv1.Order{Id: "O-1"}, ""))
		}
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{sellable: 8, reserved: 2}, r.figures(t, "C", "dc-east")); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
		f.explain(t, "C", "dc-east")
	})
}
