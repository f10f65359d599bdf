package inventory

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// TestLocationsAreMappedAndChecked (NetSuite and Business Central, whose sandboxes book stock
// under their own location ids, behind the real ERP system API and its location map, with the
// warehouse sandbox): reconciliation takes the stores' stock under the ledger's location ids and
// none under an ERP id; stock planted at an ERP location the map lacks is reported
// (unmapped_location, with a gauge), never taken; a location the channels name that no source
// knows is reported (unknown_location), the locations the sources know are not.
func TestLocationsAreMappedAndChecked(t *testing.T) {
	for _, v := range erp.Kind.Vendors {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			ds := demo.Generate(5, start, 2, 2)
			ef := newERPFixture(t, v, ds)
			db := storetest.Open(t, store.SQLite, store.Options{})
			reg := prometheus.NewRegistry()
			svc, err := New(Config{ReconcileEvery: -1, SnapshotEvery: -1, MappingEvery: -1, Channels: map[string]Channel{
				"web":          {Locations: []string{"dc-east", demo.Stores[0], demo.Stores[1]}},
				"store-pickup": {Locations: []string{demo.Stores[2], "store-nyc"}}}},
				Deps{DB: db, ERP: ef.client, WMS: serveWarehouse(t, ds), Now: func() time.Time { return start }, Metrics: reg})
			if err != nil {
				t.Fatal(err)
			}
			sku := ds.StoreStock()[0].SKU
			ef.stock.SetOnHand(sku, "ZZ99", 3) // a location the ERP has and the map lacks
			res := reconcile(t, svc)
			if res.Unmapped != 1 || res.Corrected != len(ds.StoreStock()) {
				t.Errorf("reconciliation = %+v; want the %d store positions taken and 1 unmapped location", res, len(ds.StoreStock()))
			}
			if locs, want := ledgerLocations(t, db), slices.Sorted(slices.Values(demo.Stores)); !cmp.Equal(locs, want) {
				t.Errorf("ledger locations after reconciliation = %v; want only the stores' ledger ids %v", locs, want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			check, err := svc.CheckLocations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(check.Unknown, []string{"store-nyc"}) || !cmp.Equal(check.Unmapped, []string{"ZZ99"}) {
				t.Errorf("location check = %+v; want unknown [store-nyc], unmapped [ZZ99]", check)
			}
			got := locationMismatches(t, svc)
			for _, want := range []string{"store-nyc unknown_location config", "ZZ99 unmapped_location erp"} {
				if !slices.Contains(got, want) {
					t.Errorf("mismatch report %v lacks %q", got, want)
				}
			}
			if len(got) != 2 {
				t.Errorf("location mismatches = %v; want exactly the two planted", got)
			}
			if n := gauge(t, reg, "retailbridge_inventory_sku_mismatches", mismatchUnknownLocation); n != 1 {
				t.Errorf("unknown_location gauge = %v; want 1", n)
			}
		})
	}
}

// ledgerLocations lists the locations the ledger holds positions at, sorted.
func ledgerLocations(t testing.TB, db *store.DB) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT DISTINCT location_id FROM inventory_positions ORDER BY location_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var loc string
		if err := rows.Scan(&loc); err != nil {
			t.Fatal(err)
		}
		out = append(out, loc)
	}
	return out
}

// locationMismatches lists the open location mismatches as "location kind system".
func locationMismatches(t testing.TB, svc *Service) []string {
	t.Helper()
	var out []string
	for _, kind := range []string{mismatchUnmappedLocation, mismatchUnknownLocation} {
		resp, err := svc.ListSkuMismatches(asSupport(), &inventoryv1.ListSkuMismatchesRequest{Kind: kind, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.GetMismatches() {
			if m.GetSku() != "" {
				t.Errorf("location mismatch %v names a SKU", m)
			}
			out = append(out, m.GetLocationId()+" "+m.GetKind()+" "+m.GetSystem())
		}
	}
	return out
}
