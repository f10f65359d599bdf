package erp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
)

// TestLocationMap reads balances and writes an adjustment through the service over the NetSuite
// sandbox, which books stock under its own location internal ids: every balance comes back under
// the ledger's location id with the ERP's id beside it; stock planted at an ERP location the map
// lacks comes back with no ledger id (reported, never passed through); a write or a filter naming
// a ledger location the map lacks is refused; the adjustment reaches the ERP under its own id.
func TestLocationMap(t *testing.T) {
	t.Parallel()
	s, sb, ds := newTestService(t, nil)
	ctx := context.Background()
	sku := ds.StoreStock()[0].SKU
	sb.SetOnHand(sku, "99", 4) // a location the account has and the map lacks
	resp, err := s.ListInventoryBalances(ctx, &erpv1.ListInventoryBalancesRequest{Skus: []string{sku}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range resp.GetBalances() {
		got[b.GetErpLocationId()] = b.GetLocationId()
	}
	want := map[string]string{"11": demo.Stores[0], "12": demo.Stores[1], "13": demo.Stores[2], "99": ""}
	for id, loc := range want {
		if l, ok := got[id]; !ok || l != loc {
			t.Errorf("balance at ERP location %s: ledger location %q (listed %v); want %q", id, l, ok, loc)
		}
	}
	_, err = s.ListInventoryBalances(ctx, &erpv1.ListInventoryBalancesRequest{LocationIds: []string{"store-nowhere"}})
	connectortest.WantErr(t, err, errs.FailedPrecondition, "location_not_mapped")

	adj := func(loc, key string) *erpv1.RecordInventoryAdjustmentRequest {
		return &erpv1.RecordInventoryAdjustmentRequest{
			Adjustment: &canonicalv1.InventoryAdjustment{Sku: sku, LocationId: loc, Quantity: 1, Reason: "return_damaged",
				FromState: canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED},
			Disposition: canonicalv1.Disposition_DISPOSITION_WRITE_OFF, Value: money.New(1999, "USD"), IdempotencyKey: key}
	}
	_, err = s.RecordInventoryAdjustment(ctx, adj("store-nowhere", "adj-unmapped"))
	connectortest.WantErr(t, err, errs.FailedPrecondition, "location_not_mapped")
	before := sb.OnHand(sku, "11")
	if _, err := s.RecordInventoryAdjustment(ctx, adj(demo.Stores[0], "adj-mapped")); err != nil {
		t.Fatal(err)
	}
	if after := sb.OnHand(sku, "11"); after != before-1 {
		t.Errorf("on-hand at NetSuite location 11 after writing off 1 at %s: %d → %d; want one less", demo.Stores[0], before, after)
	}
}

// TestLocationMapConfig parses and validates the per-vendor maps.
func TestLocationMapConfig(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"1=dc-east,1=dc-west", "1=dc-east,2=dc-east", "1", "=dc-east", "1="} {
		if _, err := erp.ParseLocationMap(bad); err == nil {
			t.Errorf("ParseLocationMap(%q) accepted", bad)
		}
	}
	m, err := erp.ParseLocationMap(" 2=dc-west , 1=dc-east")
	if err != nil || m.String() != "1=dc-east,2=dc-west" {
		t.Errorf("ParseLocationMap = %v, %v; want 1=dc-east,2=dc-west", m, err)
	}
	lookup := func(env map[string]string) func(string) string { return func(k string) string { return env[k] } }
	if _, err := erp.NetSuiteFromEnv(lookup(map[string]string{"NETSUITE_LOCATIONS": "1=a,1=b"})); err == nil || !strings.Contains(err.Error(), "NETSUITE_LOCATIONS") {
		t.Errorf("NETSUITE_LOCATIONS mapped twice: %v; want an error naming the variable", err)
	}
	cfg := validConfig("")
	ns := cfg.Connection.(erp.NetSuiteConfig)
	ns.Locations = erp.LocationMap{"EAST": "dc-east"}
	cfg.Connection = ns
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "netsuite.locations") {
		t.Errorf("a NetSuite map keyed by a code: %v; want netsuite.locations named", err)
	}
	bc, err := erp.BusinessCentralFromEnv(lookup(map[string]string{"BUSINESSCENTRAL_LOCATIONS": "east store=dc-east"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := bc.Validate(); err == nil || !strings.Contains(err.Error(), "businesscentral.locations") {
		t.Errorf("a Business Central code with a space: %v; want businesscentral.locations named", err)
	}
}
