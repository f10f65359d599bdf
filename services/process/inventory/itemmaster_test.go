package inventory

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	shopifysb "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/commerce"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/wms"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// feedRows is the product feed's item master as the stack hands it over: rows the feed took.
type feedRows []ItemMasterRow

func (f feedRows) ItemMasterRows(context.Context) ([]ItemMasterRow, error) { return f, nil }

// TestItemMasterReportsMismatches refreshes the SKU mapping from the real ERP (NetSuite), storefront
// (Shopify), warehouse and product feed over their sandboxes, with each kind of mismatch planted:
// each is reported and readable through ListSkuMismatches with a metric, none silently dropped;
// a variant replaced on the storefront is a changed mapping; a mismatch that goes away is
// resolved; a SKU the storefront lacks is not pushed again and again but reported.
func TestItemMasterReportsMismatches(t *testing.T) {
	t.Parallel()
	ds := demo.Generate(5, start, 2, 2)
	ef := newERPFixture(t, erp.Kind.Vendors[0], ds)
	shop := shopifysb.New(ds, shopifysb.Options{RestoreRate: 100000})
	commerceClient := serveCommerce(t, shop)
	wmsClient := serveWarehouse(t, ds)
	items := ds.Items
	noFeed, feedWrong, gone, twice, replaced, whWrong := items[0].SKU, items[1].SKU, items[2].SKU, items[3].SKU, items[4].SKU, items[5].SKU
	whNone := items[6].SKU // stocked by the warehouse, though the master names no warehouse SKU
	var feed feedRows
	for _, it := range items[1:] {
		row := ItemMasterRow{SKU: it.SKU, ERPItemID: it.ERPID, WarehouseSKU: it.SKU, Active: true}
		if it.SKU == feedWrong {
			row.ERPItemID = "999999"
		}
		if it.SKU == whWrong {
			row.WarehouseSKU = "WH-" + it.SKU
		}
		if it.SKU == whNone || it.Category == "gift_card" { // the master: no warehouse item
			row.WarehouseSKU = ""
		}
		feed = append(feed, row)
	}
	shop.RemoveInventoryItem(gone)
	shop.AddDuplicateItem(twice)
	db := storetest.Open(t, store.SQLite, store.Options{})
	reg := prometheus.NewRegistry()
	svc, err := New(Config{SnapshotEvery: -1, ReconcileEvery: -1, MappingEvery: -1,
		Push: PushConfig{Channel: "web", Locations: map[string]string{"dc-east": shopWarehouse}, Every: 20 * time.Millisecond, Settle: 20 * time.Millisecond}},
		Deps{DB: db, ERP: ef.client, Commerce: commerceClient, WMS: wmsClient, ItemMaster: feed, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	(&ledgerFixture{db: db, svc: svc}).deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "ghost", time.Now(),
		adjustment("GHOST-1", "dc-east", 0, sellable, 4, time.Now(), "RCPT-GHOST"), ""))

	refresh(t, svc)
	got := mismatches(t, svc, false)
	for _, want := range []string{
		noFeed + " missing_in_product_feed product_feed",
		feedWrong + " feed_disagrees erp",
		whWrong + " feed_disagrees wms",
		whNone + " feed_disagrees wms",
		gone + " missing_in_storefront storefront",
		twice + " duplicate_sku storefront",
		"GHOST-1 missing_in_erp erp", "GHOST-1 unmapped_movement ledger", "GHOST-1 unmapped_push storefront",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("report lacks %q; got %v", want, got)
		}
	}
	for _, it := range items {
		if it.Category == "gift_card" && slices.Contains(got, it.SKU+" missing_in_wms wms") {
			t.Errorf("%s, which the master says the warehouse does not stock, is reported missing in the warehouse", it.SKU)
		}
	}
	if n := gauge(t, reg, "retailbridge_inventory_sku_mismatches", "unmapped_movement"); n != 1 {
		t.Errorf("unmapped_movement gauge = %v; want 1", n)
	}

	newItem := shop.ReplaceInventoryItem(replaced)
	shop.AddInventoryItem(gone) // the merchant recreates the variant
	refresh(t, svc)
	got = mismatches(t, svc, false)
	wantChanged := fmt.Sprintf("%s mapping_changed storefront", replaced)
	if !slices.Contains(got, wantChanged) {
		t.Errorf("report lacks %q after the variant was replaced (new item %s); got %v", wantChanged, newItem, got)
	}
	if slices.Contains(got, gone+" missing_in_storefront storefront") {
		t.Errorf("%s is still missing from the storefront after it was recreated: %v", gone, got)
	}
	if all := mismatches(t, svc, true); !slices.Contains(all, gone+" missing_in_storefront storefront") {
		t.Errorf("the resolved mismatch of %s is gone from the full report: %v", gone, all)
	}
	testUnmappedPush(t, svc, reg)
}

// testUnmappedPush runs the pusher on a SKU the storefront lacks: the push is reported in the
// mismatches (from the pusher, with its location) and the position is not retried every tick.
func testUnmappedPush(t *testing.T, svc *Service, reg *prometheus.Registry) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.pushLoop(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testkit.Eventually(t, 30*time.Second, "the refused push of GHOST-1 in the mismatch report", func() bool {
		resp, err := svc.ListSkuMismatches(asSupport(), &inventoryv1.ListSkuMismatchesRequest{Sku: "GHOST-1", Kind: mismatchPush})
		return err == nil && len(resp.GetMismatches()) == 1 && strings.Contains(resp.GetMismatches()[0].GetDetail(), "was refused")
	})
	if n := (&replicas{reg: reg}).counter(t, "retailbridge_inventory_push_calls_total", "read"); n != 1 {
		t.Errorf("storefront reads for the unmapped position = %v; want 1 (it is not retried until it moves again)", n)
	}
}

func refresh(t testing.TB, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := svc.RefreshItemMaster(ctx); err != nil {
		t.Fatalf("RefreshItemMaster: %v", err)
	}
}

// mismatches lists the report as "sku kind system".
func mismatches(t testing.TB, svc *Service, all bool) []string {
	t.Helper()
	var out []string
	req := &inventoryv1.ListSkuMismatchesRequest{IncludeResolved: all, PageSize: 7}
	for {
		resp, err := svc.ListSkuMismatches(asSupport(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.GetMismatches() {
			out = append(out, m.GetSku()+" "+m.GetKind()+" "+m.GetSystem())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out
		}
	}
}

func serveCommerce(t testing.TB, sb *shopifysb.Sandbox) commercev1.CommerceServiceClient {
	t.Helper()
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cs, err := commerce.New(commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: srv.URL, AccessToken: shopifysb.DefaultAccessToken}},
		commerce.Deps{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return commercev1.NewCommerceServiceClient(serve(t, func(s *grpc.Server) { commercev1.RegisterCommerceServiceServer(s, cs) }))
}

func serveWarehouse(t testing.TB, ds *demo.Dataset) wmsv1.WmsServiceClient {
	t.Helper()
	sb := warehousesb.New(ds, warehousesb.Options{Manual: true, Locations: []string{"dc-east"}, Seed: 5})
	web := httptest.NewServer(sb)
	t.Cleanup(func() { web.Close(); sb.Close() })
	svc, err := wms.New(wms.Config{Connection: wms.WarehouseConfig{
		BaseURL: web.URL, APIKey: warehousesb.DevAPIKey, WebhookSecret: warehousesb.DevWebhookSecret,
	}}, wms.Deps{HTTPClient: telemetry.NewVendorClient("warehouse", 5*time.Second, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return wmsv1.NewWmsServiceClient(serve(t, func(s *grpc.Server) { wmsv1.RegisterWmsServiceServer(s, svc) }))
}
