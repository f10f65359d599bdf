package inventory

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// erpStock is what the tests ask of an ERP sandbox: both vendors' sandboxes book on-hand.
type erpStock interface {
	SetOnHand(sku, location string, quantity int64)
	OnHand(sku, location string) int64
}

// erpFixture is an ERP vendor's sandbox behind the real erp system API, started through the
// vendor's registration as the stack starts it.
type erpFixture struct {
	stock  erpStock
	client erpv1.ErpServiceClient
}

func newERPFixture(t testing.TB, v vendors.Vendor, ds *demo.Dataset) *erpFixture {
	t.Helper()
	none := func(string) string { return "" }
	sb, err := v.Sandbox(vendors.SandboxDeps{Lookup: none, Demo: ds, Seed: 3, Manual: true,
		ServeHTTP: func(h http.Handler) (string, error) {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			return srv.URL, nil
		}})
	if err != nil {
		t.Fatalf("%s sandbox: %v", v.Name, err)
	}
	if sb.Close != nil {
		t.Cleanup(sb.Close)
	}
	lookup := func(k string) string { return sb.Env[k] }
	svc, err := v.Serve(vendors.ServiceDeps{Lookup: lookup, Timeout: 30 * time.Second,
		HTTPClient: telemetry.NewVendorClient(v.Name, 30*time.Second, nil, nil),
		Go:         func(string, func(context.Context) error) {}})
	if err != nil {
		t.Fatalf("%s service: %v", v.Name, err)
	}
	conn := serve(t, func(s *grpc.Server) { svc.Register(s) })
	return &erpFixture{stock: sb.Value.(erpStock), client: erpv1.NewErpServiceClient(conn)}
}

// TestReconcileWithERP plants drift in each ERP vendor's sandbox and reconciles, on SQLite and
// PostgreSQL: the first run takes the stores' stock from the ERP (the authority for on-hand at
// stores); an on-hand changed in the ERP at a store is found and corrected by a ledger line with
// the ERP as its source and reason; an on-hand changed at a distribution centre (the warehouse is
// the authority there) is found and only reported; both are in the drift report; a second run
// changes nothing.
func TestReconcileWithERP(t *testing.T) {
	for _, v := range erp.Kind.Vendors {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			forEachEngine(t, func(t *testing.T, d store.Dialect) { testReconcileWithERP(t, v, d) })
		})
	}
}

func testReconcileWithERP(t *testing.T, v vendors.Vendor, d store.Dialect) {
	ds := demo.Generate(5, start, 2, 2)
	ef := newERPFixture(t, v, ds)
	db := storetest.Open(t, d, store.Options{BusyTimeout: time.Minute})
	reg := prometheus.NewRegistry()
	store0 := demo.Stores[0]
	svc, err := New(Config{ReconcileEvery: -1, SnapshotEvery: -1,
		Channels: map[string]Channel{"web": {Locations: []string{"dc-east", store0}}, "store-pickup": {Locations: []string{store0}}}},
		Deps{DB: db, ERP: ef.client, Now: func() time.Time { return start }, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	lf := &ledgerFixture{db: db, svc: svc}
	opening := ds.StoreStock()
	storeSKU, dcSKU := opening[0].SKU, opening[1].SKU
	lf.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "rcpt-dc", start,
		adjustment(dcSKU, "dc-east", 0, sellable, 20, start, "RCPT-DC"), ""))

	first := reconcile(t, svc)
	if first.Corrected != len(opening) || first.Reported != 0 {
		t.Fatalf("first run = %+v; want the %d store positions taken from the ERP, nothing reported", first, len(opening))
	}
	if got := onHandOf(t, db, storeSKU, store0); got != opening[0].OnHand {
		t.Fatalf("%s at %s: ledger on hand %d; want the ERP's %d", storeSKU, store0, got, opening[0].OnHand)
	}
	ef.stock.SetOnHand(storeSKU, store0, opening[0].OnHand+5) // keyed in the ERP by hand
	ef.stock.SetOnHand(dcSKU, "dc-east", 17)                  // the ERP disagrees with the warehouse's figure
	res := reconcile(t, svc)
	if res.Corrected != 1 || res.Reported != 1 || res.Units != 5+3 {
		t.Errorf("run after planting = %+v; want 1 corrected, 1 reported, 8 units", res)
	}
	if got := onHandOf(t, db, storeSKU, store0); got != opening[0].OnHand+5 {
		t.Errorf("%s at %s: ledger on hand %d; want the ERP's %d", storeSKU, store0, got, opening[0].OnHand+5)
	}
	if got := onHandOf(t, db, dcSKU, "dc-east"); got != 20 {
		t.Errorf("%s at dc-east: ledger on hand %d; want the warehouse's 20 (the ERP is not the authority there)", dcSKU, got)
	}
	wantCorrection(t, svc, storeSKU, store0)
	report := driftReport(t, svc)
	want := []string{fmt.Sprintf("dc-east/%s ledger 20 erp 17 wms reported", dcSKU),
		fmt.Sprintf("%s/%s ledger %d erp %d erp corrected", store0, storeSKU, opening[0].OnHand, opening[0].OnHand+5)}
	if diff := cmp.Diff(want, report); diff != "" {
		t.Errorf("drift report (-want +got):\n%s", diff)
	}
	before := movementCount(t, db)
	again := reconcile(t, svc)
	if again.Corrected != 0 || again.Reported != 1 || movementCount(t, db) != before {
		t.Errorf("re-run = %+v, movements %d → %d; want nothing corrected, the same report, no new line", again, before, movementCount(t, db))
	}
	if diff := cmp.Diff(report, driftReport(t, svc)); diff != "" {
		t.Errorf("drift report changed on the re-run (-first +second):\n%s", diff)
	}
	if got := gauge(t, reg, "retailbridge_inventory_sync_accuracy_ratio", "store-pickup"); got != 1 {
		t.Errorf("store-pickup sync accuracy after the re-run = %v; want 1", got)
	}
}

func reconcile(t testing.TB, svc *Service) ReconcileResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := svc.ReconcileERP(ctx)
	if err != nil {
		t.Fatalf("ReconcileERP: %v", err)
	}
	return res
}

func onHandOf(t testing.TB, db *store.DB, sku, loc string) int64 {
	t.Helper()
	q, err := stateQuantities(context.Background(), db, sku, loc)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, st := range physicalStates {
		n += q[st]
	}
	return n
}

func movementCount(t testing.TB, db *store.DB) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM inventory_movements`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantCorrection checks that the position's newest line is the ERP's correction, explained.
func wantCorrection(t testing.TB, svc *Service, sku, loc string) {
	t.Helper()
	resp, err := svc.ListMovements(asSupport(), &inventoryv1.ListMovementsRequest{Sku: sku, LocationId: loc, PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	ms := resp.GetMovements()
	last := ms[len(ms)-1]
	if last.GetCause() != "reconciliation" || last.GetCauseId() != "erp" || last.GetDelta() != 5 || last.GetReason() == "" {
		t.Errorf("newest line at %s/%s = %v; want a +5 reconciliation line from the erp with its reason", loc, sku, last)
	}
}

// driftReport lists the open and resolved drift from the ERP as "loc/sku ledger N erp M authority action".
func driftReport(t testing.TB, svc *Service) []string {
	t.Helper()
	resp, err := svc.ListDrift(asSupport(), &inventoryv1.ListDriftRequest{Source: "erp", IncludeResolved: true, PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range resp.GetDrift() {
		if d.GetAction() == driftCorrected && d.GetLedgerQuantity() == 0 {
			continue // the first run's bootstrap of the stores
		}
		out = append(out, fmt.Sprintf("%s/%s ledger %d erp %d %s %s", d.GetLocationId(), d.GetSku(), d.GetLedgerQuantity(),
			d.GetSourceQuantity(), d.GetAuthority(), d.GetAction()))
	}
	return out
}

// gauge reads a gauge of reg with the given label value.
func gauge(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
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
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// TestReportsAreForSupport: the drift and mismatch reports answer customer service only.
func TestReportsAreForSupport(t *testing.T) {
	t.Parallel()
	svc, err := New(Config{}, Deps{DB: storetest.Open(t, store.SQLite, store.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	for name, ctx := range map[string]context.Context{"partner": asPartner("acme", "inventory:read"), "anonymous": context.Background()} {
		if _, err := svc.ListDrift(ctx, &inventoryv1.ListDriftRequest{}); err == nil {
			t.Errorf("ListDrift as %s: nil error; want refused", name)
		}
		if _, err := svc.ListSkuMismatches(ctx, &inventoryv1.ListSkuMismatchesRequest{}); err == nil {
			t.Errorf("ListSkuMismatches as %s: nil error; want refused", name)
		}
	}
	if _, err := svc.ListDrift(asSupport(), &inventoryv1.ListDriftRequest{PageSize: 501}); err == nil {
		t.Error("ListDrift with page_size 501: nil error; want invalid")
	}
	if _, err := svc.ListDrift(asSupport(), &inventoryv1.ListDriftRequest{PageToken: "x"}); err == nil {
		t.Error("ListDrift with a foreign page token: nil error; want invalid")
	}
}
