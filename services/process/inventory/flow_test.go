package inventory

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/wms"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// flow is the warehouse sandbox sending its webhooks to the real wms system API, which
// publishes canonical events on a real JetStream, consumed by the inventory service running
// over a real store.
type flow struct {
	sb    *warehousesb.Sandbox
	wms   wmsv1.WmsServiceClient
	js    jetstream.JetStream
	svc   *Service
	db    *store.DB
	clock *clock
	sku   string
}

func newFlow(t *testing.T, d store.Dialect) *flow {
	t.Helper()
	clk := &clock{t: start}
	ds := demo.Generate(11, start, 2, 2)
	_, js := eventstest.Start(t).Connect(t)
	var ws *wms.Service
	forward := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := map[string]string{}
		for k := range r.Header {
			h[k] = r.Header.Get(k)
		}
		if _, err := ws.IngestWebhook(r.Context(), &wmsv1.IngestWebhookRequest{Headers: h, Body: body}); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(forward.Close)
	sb := warehousesb.New(ds, warehousesb.Options{Manual: true, Locations: locations, Now: clk.Now, Seed: 11, WebhookURL: forward.URL})
	web := httptest.NewServer(sb)
	t.Cleanup(func() {
		web.Close()
		sb.Close()
	})
	var err error
	ws, err = wms.New(wms.Config{Connection: wms.WarehouseConfig{
		BaseURL: web.URL, APIKey: warehousesb.DevAPIKey, WebhookSecret: warehousesb.DevWebhookSecret,
	}}, wms.Deps{HTTPClient: telemetry.NewVendorClient("warehouse", 5*time.Second, nil, nil), JetStream: js, Now: clk.Now})
	if err != nil {
		t.Fatalf("wms.New: %v", err)
	}
	wmsClient := wmsv1.NewWmsServiceClient(serve(t, func(s *grpc.Server) { wmsv1.RegisterWmsServiceServer(s, ws) }))
	db := storetest.Open(t, d, store.Options{})
	svc, err := New(Config{SnapshotEvery: -1, SweepEvery: 50 * time.Millisecond}, Deps{DB: db, JetStream: js, WMS: wmsClient, Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := svc.ApplySnapshot(context.Background()); err != nil {
		t.Fatalf("ApplySnapshot: %v", err)
	}
	runService(t, svc)
	f := &flow{sb: sb, wms: wmsClient, js: js, svc: svc, db: db, clock: clk}
	for _, it := range ds.Items {
		if it.Category != "gift_card" {
			f.sku = it.SKU
			break
		}
	}
	return f
}

// runService runs svc's loops until the test ends.
func runService(t testing.TB, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// tick moves the shared clock a second on, so each warehouse fact happens after the last.
func (f *flow) tick() { f.clock.Advance(time.Second) }

// agrees reports whether the ledger's figure for the flow's SKU at loc is the warehouse's:
// on hand, pickable total (available and reserved against sellable, reserved and committed)
// and each other state.
func (f *flow) agrees(t testing.TB, loc string) bool {
	t.Helper()
	wh := f.sb.Position(loc, f.sku)
	got, err := stateQuantities(context.Background(), f.db, f.sku, loc)
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]int64{
		{wh[warehousesb.StateAvailable] + wh[warehousesb.StateReserved], got[sellable] + got[reserved] + got[committed]},
		{wh[warehousesb.StateDamaged], got[damaged]},
		{wh[warehousesb.StateQualityControl], got[awaiting]},
		{wh[warehousesb.StateSafetyStock], got[safetyStock]},
		{wh[warehousesb.StateIncoming], got[inTransit]},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			return false
		}
	}
	return true
}

func (f *flow) waitAgrees(t testing.TB, loc, what string) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, "the ledger agrees with the warehouse after "+what, func() bool { return f.agrees(t, loc) })
}

// handled reports whether the inventory consumer has handled the event id.
func (f *flow) handled(t testing.TB, id string) bool {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM rb_inbox WHERE consumer = $1 AND event_id = $2`, ConsumerName, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestWarehouseEventsFeedTheLedger drives stock through the warehouse sandbox (receipt,
// adjustment, shipment, a return received and inspected, a cycle count) and checks after each
// that the ledger, fed only by the events, agrees with the warehouse; then re-sends records
// under new event ids and a stale count, which change nothing.
func TestWarehouseEventsFeedTheLedger(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newFlow(t, d)
		ctx := context.Background()
		const loc = "dc-east"
		f.tick()
		if _, err := f.sb.ReceiveStock(loc, f.sku, 40); err != nil {
			t.Fatal(err)
		}
		f.waitAgrees(t, loc, "a receipt")
		f.tick()
		if _, err := f.sb.AdjustStock(warehousesb.StockMovement{SKU: f.sku, LocationID: loc, FromState: warehousesb.StateAvailable,
			ToState: warehousesb.StateDamaged, Quantity: 3, Reason: "dropped"}); err != nil {
			t.Fatal(err)
		}
		f.waitAgrees(t, loc, "an adjustment")

		f.ship(t, loc, 5)
		f.waitAgrees(t, loc, "a shipment")

		f.returnParcel(t, loc)
		f.tick()
		if _, err := f.sb.CountStock(loc, f.sku, map[string]int64{warehousesb.StateAvailable: 11, warehousesb.StateDamaged: 2}); err != nil {
			t.Fatal(err)
		}
		f.waitAgrees(t, loc, "a cycle count")

		// The same adjustment re-sent under a new event id (a 3PL re-sending an advice), and a
		// count older than the last one: both are handled and change nothing.
		before, err := stateQuantities(ctx, f.db, f.sku, loc)
		if err != nil {
			t.Fatal(err)
		}
		resend := event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "resent-1", f.clock.Now(),
			adjustment(f.sku, loc, 0, sellable, 40, start.Add(time.Second), "MV-000001"), "MV-000001")
		resend.Source = "retailbridge/system/wms"
		stale := event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED, "stale-1", start.Add(2*time.Second),
			countOf(f.sku, loc, start.Add(2*time.Second), map[canonicalv1.InventoryState]int64{sellable: 999}), "CC-OLD")
		if _, err := events.Publish(ctx, f.js, resend, stale); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 20*time.Second, "the re-sent records are handled", func() bool {
			return f.handled(t, "resent-1") && f.handled(t, "stale-1")
		})
		after, err := stateQuantities(ctx, f.db, f.sku, loc)
		if err != nil {
			t.Fatal(err)
		}
		for st, n := range after {
			if before[st] != n {
				t.Errorf("%s moved from %d to %d on re-sent records", st, before[st], n)
			}
		}
		if !f.agrees(t, loc) {
			t.Errorf("the ledger no longer agrees with the warehouse: %v vs %v", after, f.sb.Position(loc, f.sku))
		}
	})
}

// ship has the warehouse ship qty units of the flow's SKU for an order Retailbridge never reserved.
func (f *flow) ship(t testing.TB, loc string, qty int32) {
	t.Helper()
	f.tick()
	so, err := f.wms.CreateShippingOrder(context.Background(), &wmsv1.CreateShippingOrderRequest{Shipment: &canonicalv1.Shipment{
		Id: "SH-9", OrderId: "O-9", FromLocationId: loc,
		ToAddress: &canonicalv1.Address{Name: "Ada Lovelace", Lines: []string{"1 Analytical Way"}, City: "London", CountryCode: "GB"},
		Lines:     []*canonicalv1.ShipmentLine{{Sku: f.sku, Quantity: qty}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sb.Acknowledge(so.GetWarehouseOrderId()); err != nil {
		t.Fatal(err)
	}
	f.tick()
	if err := f.sb.Ship(so.GetWarehouseOrderId()); err != nil {
		t.Fatal(err)
	}
}

// returnParcel has a two-line return of the flow's SKU received and inspected at loc (one line
// resellable, one damaged), checking the ledger after each step.
func (f *flow) returnParcel(t testing.TB, loc string) {
	t.Helper()
	f.tick()
	rr, err := f.wms.ExpectReturn(context.Background(), &wmsv1.ExpectReturnRequest{LocationId: loc, IdempotencyKey: "rt-1",
		Return: &canonicalv1.Return{Id: "RET-1", OrderId: "O-1", Lines: []*canonicalv1.ReturnLine{{Sku: f.sku, Quantity: 2}, {Sku: f.sku, Quantity: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.tick()
	if err := f.sb.Receive(rr.GetReceiptId()); err != nil {
		t.Fatal(err)
	}
	f.waitAgrees(t, loc, "a return received")
	f.tick()
	if err := f.sb.Inspect(rr.GetReceiptId(), map[int]string{1: warehousesb.ConditionResellable, 2: warehousesb.ConditionDamaged}); err != nil {
		t.Fatal(err)
	}
	f.waitAgrees(t, loc, "a return inspected")
}
