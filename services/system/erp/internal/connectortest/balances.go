package connectortest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// testBalances reads the item master and the on-hand per item and location: the master holds
// every catalogue item; the balances are the stores' opening stock until an on-hand is changed
// in the ERP, which the next read shows; the SKU and location filters narrow the read.
func testBalances(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	items, err := c.ListItems(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatalf("ListItems: %v", err)
	}
	var gotSKUs, wantSKUs []string
	for _, it := range items {
		gotSKUs = append(gotSKUs, it.GetSku()+"="+it.GetErpId())
	}
	for _, it := range ds.Items {
		wantSKUs = append(wantSKUs, it.SKU+"="+it.ERPID)
	}
	slices.Sort(gotSKUs)
	slices.Sort(wantSKUs)
	if diff := cmp.Diff(wantSKUs, gotSKUs); diff != "" {
		t.Errorf("ListItems SKU=erp id mismatch (-want +got):\n%s", diff)
	}
	want := map[string]int64{}
	for _, b := range ds.StoreStock() {
		want[sb.LocationID(b.Location)+"|"+b.SKU] = b.OnHand
	}
	if diff := cmp.Diff(want, balances(t, sb.Connect(t, Options{}), nil, nil)); diff != "" {
		t.Fatalf("opening balances mismatch (-want +got):\n%s", diff)
	}
	// The vendor's own location ids: the connector maps none (the service does, location.go).
	store, east, sku := sb.LocationID(demo.Stores[0]), sb.LocationID("dc-east"), ds.StoreStock()[0].SKU
	if store == demo.Stores[0] || east == "dc-east" {
		t.Errorf("the sandbox books stock under the ledger's location ids (%s, %s), not its own", store, east)
	}
	sb.SetOnHand(sku, store, 41)
	sb.SetOnHand(sku, east, 7) // a location with no stock before
	want[store+"|"+sku], want[east+"|"+sku] = 41, 7
	if diff := cmp.Diff(want, balances(t, c, nil, nil)); diff != "" {
		t.Errorf("balances after SetOnHand mismatch (-want +got):\n%s", diff)
	}
	narrowed := map[string]int64{store + "|" + sku: 41, east + "|" + sku: 7}
	if diff := cmp.Diff(narrowed, balances(t, c, []string{sku}, []string{store, east})); diff != "" {
		t.Errorf("balances narrowed to %s at %s, dc-east mismatch (-want +got):\n%s", sku, store, diff)
	}
}

// balances reads on-hand as location|sku → units.
func balances(t *testing.T, c interface {
	ListInventoryBalances(ctx context.Context, skus, locations []string) ([]*erpv1.InventoryBalance, error)
}, skus, locations []string) map[string]int64 {
	t.Helper()
	got, err := c.ListInventoryBalances(ctxFor(t, 10*time.Second), skus, locations)
	if err != nil {
		t.Fatalf("ListInventoryBalances: %v", err)
	}
	out := map[string]int64{}
	for _, b := range got {
		k := b.GetLocationId() + "|" + b.GetSku()
		if _, dup := out[k]; dup || strings.TrimSpace(b.GetSku()) == "" {
			t.Errorf("balance %s listed twice or without a SKU", k)
		}
		out[k] = b.GetOnHand()
	}
	return out
}
