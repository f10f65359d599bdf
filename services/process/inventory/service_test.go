package inventory

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

func asPartner(tenant string, scopes ...string) context.Context {
	if scopes == nil {
		scopes = []string{tenancy.ScopeInventoryRead}
	}
	return auth.WithPrincipal(context.Background(),
		auth.Principal{Audience: auth.Partner, Subject: "client-" + tenant, Tenant: tenant, Scopes: scopes})
}

func asSupport() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "agent-1"})
}

func asCustomer() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Storefront, Subject: "7000001"})
}

// stockedSKUs returns the first n SKUs the warehouse stocks (every catalogue item but gift cards).
func (f *fixture) stockedSKUs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for _, it := range f.ds.Items {
		if it.Category != "gift_card" && len(out) < n {
			out = append(out, it.SKU)
		}
	}
	if len(out) < n {
		t.Fatalf("the demo catalogue stocks %d SKUs, want %d", len(out), n)
	}
	return out
}

// giftCardSKU is a catalogue SKU the warehouse holds no position for.
func (f *fixture) giftCardSKU(t testing.TB) string {
	t.Helper()
	for _, it := range f.ds.Items {
		if it.Category == "gift_card" {
			return it.SKU
		}
	}
	t.Fatal("the demo catalogue has no gift card")
	return ""
}

// allPositions reads every position from the wms system API.
func (f *fixture) allPositions(t testing.TB, skus ...string) []*canonicalv1.InventoryPosition {
	t.Helper()
	resp, err := f.wms.ListPositions(context.Background(), &wmsv1.ListPositionsRequest{Skus: skus})
	if err != nil {
		t.Fatalf("wms ListPositions: %v", err)
	}
	return resp.GetPositions()
}

// expect computes availability on its own from the positions the wms system API reports: at
// each of locs (nil: all), sellable above buffer is available, up to buffer is held back.
func (f *fixture) expect(t testing.TB, skus, locs []string, buffer int64) []*inventoryv1.Availability {
	t.Helper()
	positions := f.allPositions(t)
	var want []*inventoryv1.Availability
	for _, sku := range skus {
		a := &inventoryv1.Availability{Sku: sku}
		for _, p := range positions {
			if p.GetSku() != sku || (locs != nil && !slices.Contains(locs, p.GetLocationId())) {
				continue
			}
			q := map[canonicalv1.InventoryState]int64{}
			for _, x := range p.GetQuantities() {
				q[x.GetState()] = x.GetQuantity()
			}
			if q[sellable] > buffer {
				a.AvailableToSell += q[sellable] - buffer
				a.HeldBack += buffer
			} else {
				a.HeldBack += q[sellable]
			}
			a.Incoming += q[inTransit]
			if a.AsOf == nil || p.GetAsOf().AsTime().Before(a.AsOf.AsTime()) {
				a.AsOf = p.GetAsOf()
			}
			a.LocationIds = append(a.LocationIds, p.GetLocationId())
		}
		slices.Sort(a.LocationIds)
		want = append(want, a)
	}
	return want
}

// ship takes qty sellable units of sku at loc out of stock: a shipping order the warehouse
// acknowledges reserves them.
func (f *fixture) ship(t testing.TB, id, loc, sku string, qty int32) {
	t.Helper()
	resp, err := f.wms.CreateShippingOrder(context.Background(), &wmsv1.CreateShippingOrderRequest{Shipment: &canonicalv1.Shipment{
		Id: id, FromLocationId: loc,
		ToAddress: &canonicalv1.Address{Name: "Ada Lovelace", Lines: []string{"1 Analytical Way"}, City: "London", CountryCode: "GB"},
		Lines:     []*canonicalv1.ShipmentLine{{Sku: sku, Quantity: qty}},
	}})
	if err != nil {
		t.Fatalf("CreateShippingOrder: %v", err)
	}
	if err := f.sb.Acknowledge(resp.GetWarehouseOrderId()); err != nil {
		t.Fatalf("Acknowledge: %v", err)
	}
}

func (f *fixture) warehouseRequests() int64 { return f.sb.Stats().Requests }

// failure is what a caller can see of an error: kind, reason and bad fields.
type failure struct {
	Kind   errs.Kind
	Reason string
	Fields []errs.FieldViolation
}

func failureOf(err error) *failure {
	if err == nil {
		return nil
	}
	e := errs.FromError(err)
	return &failure{Kind: e.Kind, Reason: e.Reason, Fields: e.Fields}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	bad := Config{ReservationTTL: -time.Second, SweepEvery: -1, Channels: map[string]Channel{"web": {Buffer: -1, Locations: []string{""}}},
		Push:      PushConfig{Settle: -1, Locations: map[string]string{"dc-east": ""}},
		Authority: []AuthorityRule{{Location: "[", Source: "erp"}, {Location: "dc-*", State: "bogus", Source: "oracle"}}}
	err := bad.Validate()
	for _, name := range []string{"ReservationTTL", "SweepEvery", `Channels["web"].Buffer`, `Channels["web"].Locations[0]`,
		"Push: Every, Settle, MaxDelay and Lease", `Push.Locations["dc-east"]`, `Authority[0].Location: "["`,
		`Authority[1].State: "bogus"`, `Authority[1].Source: "oracle"`} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate = %v, want %s named", err, name)
		}
	}
	if _, err := New(Config{ReservationTTL: -time.Second}, Deps{}); err == nil ||
		!strings.Contains(err.Error(), "ReservationTTL") || !strings.Contains(err.Error(), "DB") {
		t.Errorf("New = %v, want ReservationTTL and DB named", err)
	}
	want := Config{ReservationTTL: DefaultReservationTTL, MaxReservationTTL: DefaultMaxReservationTTL,
		SweepEvery: DefaultSweepEvery, SnapshotEvery: DefaultSnapshotEvery,
		Push:      PushConfig{Every: DefaultPushEvery, Settle: DefaultPushSettle, MaxDelay: DefaultPushMaxDelay, Lease: DefaultPushLease},
		Authority: DefaultAuthority, ReconcileEvery: DefaultReconcileEvery, MappingEvery: DefaultMappingEvery}
	if diff := cmp.Diff(want, (Config{}).withDefaults()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestGetAvailabilityMatchesWarehouse checks every figure against an independent computation
// from the warehouse's own positions, per caller.
func TestGetAvailabilityMatchesWarehouse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	skus := append(f.stockedSKUs(t, 30), f.giftCardSKU(t), "NO-SUCH-SKU")
	slices.Reverse(skus) // answers follow the request's order, not the catalogue's
	tests := []struct {
		name      string
		ctx       context.Context
		locations []string // requested
		counted   []string // nil: all
		buffer    int64
	}{
		{name: "partner with buffer 2 on two locations", ctx: asPartner("acme"), counted: []string{"dc-east", "dc-west"}, buffer: 2},
		{name: "partner narrows to one of its locations", ctx: asPartner("acme"), locations: []string{"dc-west"}, counted: []string{"dc-west"}, buffer: 2},
		{name: "partner on a single location, buffer above some stock", ctx: asPartner("corner"), counted: []string{"store-nyc"}, buffer: 60},
		{name: "support sees every location", ctx: asSupport()},
		{name: "support names locations", ctx: asSupport(), locations: []string{"store-nyc", "dc-east"}, counted: []string{"store-nyc", "dc-east"}},
		{name: "support names an unknown location", ctx: asSupport(), locations: []string{"nowhere"}, counted: []string{"nowhere"}},
		{name: "storefront sees every location", ctx: asCustomer()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := f.inv.GetAvailability(tt.ctx, &inventoryv1.GetAvailabilityRequest{Skus: skus, LocationIds: tt.locations})
			if err != nil {
				t.Fatalf("GetAvailability: %v", err)
			}
			want := f.expect(t, skus, tt.counted, tt.buffer)
			if diff := cmp.Diff(want, resp.GetAvailability(), protocmp.Transform()); diff != "" {
				t.Errorf("availability mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Guard against a vacuous comparison: the data must exercise the buffer both ways.
	var clamped, full bool
	for _, a := range f.expect(t, skus, []string{"store-nyc"}, 60) {
		clamped = clamped || (len(a.GetLocationIds()) == 1 && a.GetHeldBack() < 60)
		full = full || a.GetAvailableToSell() > 0
	}
	if !clamped || !full {
		t.Errorf("store-nyc stock does not straddle the buffer (clamped %t, above %t): pick another seed", clamped, full)
	}
}

func TestGetAvailabilityUnknownSKU(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	known := f.stockedSKUs(t, 1)[0]
	resp, err := f.inv.GetAvailability(asPartner("acme"), &inventoryv1.GetAvailabilityRequest{Skus: []string{"NO-SUCH-SKU", known, f.giftCardSKU(t)}})
	if err != nil {
		t.Fatalf("GetAvailability: %v", err)
	}
	got := resp.GetAvailability()
	if len(got) != 3 {
		t.Fatalf("got %d entries, want one per requested SKU", len(got))
	}
	for _, i := range []int{0, 2} {
		want := &inventoryv1.Availability{Sku: got[i].GetSku()}
		if diff := cmp.Diff(want, got[i], protocmp.Transform()); diff != "" {
			t.Errorf("unstocked SKU %s (-want +got):\n%s", got[i].GetSku(), diff)
		}
	}
	if got[1].GetSku() != known || got[1].GetAvailableToSell() <= 0 || got[1].GetAsOf() == nil {
		t.Errorf("stocked SKU = %v, want available units with an as_of", got[1])
	}
}

func TestAccessIsScoped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	sku := f.stockedSKUs(t, 1)[0]
	tests := []struct {
		name      string
		ctx       context.Context
		locations []string
		want      *failure
	}{
		{"no principal", context.Background(), nil, &failure{Kind: errs.Unauthenticated, Reason: "unauthenticated"}},
		{"partner without the scope", asPartner("acme", tenancy.ScopeOrdersRead), nil, &failure{Kind: errs.PermissionDenied, Reason: "insufficient_scope"}},
		{"tenant unknown to the directory", asPartner("globex"), nil, &failure{Kind: errs.PermissionDenied, Reason: "tenant_has_no_locations"}},
		{"tenant without locations", asPartner("ordersonly"), nil, &failure{Kind: errs.PermissionDenied, Reason: "tenant_has_no_locations"}},
		{"partner names another tenant's location", asPartner("acme"), []string{"dc-east", "store-nyc"}, &failure{Kind: errs.NotFound, Reason: "location_not_found"}},
		{"partner names a location that does not exist", asPartner("acme"), []string{"nowhere"}, &failure{Kind: errs.NotFound, Reason: "location_not_found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.warehouseRequests()
			_, err := f.inv.GetAvailability(tt.ctx, &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}, LocationIds: tt.locations})
			if diff := cmp.Diff(tt.want, failureOf(err)); diff != "" {
				t.Errorf("GetAvailability error mismatch (-want +got):\n%s", diff)
			}
			_, err = f.inv.ListPositions(tt.ctx, &inventoryv1.ListPositionsRequest{LocationIds: tt.locations})
			if diff := cmp.Diff(tt.want, failureOf(err)); diff != "" {
				t.Errorf("ListPositions error mismatch (-want +got):\n%s", diff)
			}
			if n := f.warehouseRequests() - before; n != 0 {
				t.Errorf("refused requests cost %d warehouse calls, want 0", n)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	many := func(n int, format string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(format, i)
		}
		return out
	}
	field := func(name, desc string) errs.FieldViolation {
		return errs.FieldViolation{Field: name, Description: desc}
	}
	invalid := func(reason string, fields ...errs.FieldViolation) *failure {
		return &failure{Kind: errs.Invalid, Reason: reason, Fields: fields}
	}
	noSep := base64.RawURLEncoding.EncodeToString([]byte("dc-east"))

	availability := []struct {
		name string
		req  *inventoryv1.GetAvailabilityRequest
		want *failure
	}{
		{"no skus", &inventoryv1.GetAvailabilityRequest{},
			invalid("invalid_request", field("skus", "must name at least one SKU"))},
		{"101 skus", &inventoryv1.GetAvailabilityRequest{Skus: many(101, "SKU-%03d")},
			invalid("too_many_skus", field("skus", "must name at most 100"))},
		{"duplicate sku", &inventoryv1.GetAvailabilityRequest{Skus: []string{"A", "B", "A"}},
			invalid("invalid_request", field("skus[2]", "repeats skus[0]"))},
		{"empty sku", &inventoryv1.GetAvailabilityRequest{Skus: []string{"", "A"}},
			invalid("invalid_request", field("skus[0]", "must not be empty"))},
		{"sku too long", &inventoryv1.GetAvailabilityRequest{Skus: []string{strings.Repeat("x", 65)}},
			invalid("invalid_request", field("skus[0]", "must be at most 64 characters"))},
		{"51 locations", &inventoryv1.GetAvailabilityRequest{Skus: []string{"A"}, LocationIds: many(51, "loc-%02d")},
			invalid("too_many_locations", field("location_ids", "must name at most 50"))},
		{"every bad field at once", &inventoryv1.GetAvailabilityRequest{
			Skus:        append([]string{"", "A", "A"}, many(98, "SKU-%03d")...),
			LocationIds: []string{"dc-east", ""},
		}, invalid("too_many_skus",
			field("skus", "must name at most 100"),
			field("skus[0]", "must not be empty"),
			field("skus[2]", "repeats skus[1]"),
			field("location_ids[1]", "must not be empty"))},
	}
	for _, tt := range availability {
		t.Run("GetAvailability/"+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.inv.GetAvailability(asSupport(), tt.req)
			if diff := cmp.Diff(tt.want, failureOf(err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}

	positions := []struct {
		name string
		req  *inventoryv1.ListPositionsRequest
		want *failure
	}{
		{"page_size 501", &inventoryv1.ListPositionsRequest{PageSize: 501},
			invalid("page_size_too_large", field("page_size", "must be at most 500"))},
		{"negative page_size", &inventoryv1.ListPositionsRequest{PageSize: -1},
			invalid("invalid_request", field("page_size", "must be between 1 and 500"))},
		{"cursor not base64", &inventoryv1.ListPositionsRequest{PageToken: "not a token!"},
			invalid("invalid_page_token", field("page_token", "is not a token this service issued"))},
		{"cursor without a key", &inventoryv1.ListPositionsRequest{PageToken: noSep},
			invalid("invalid_page_token", field("page_token", "is not a token this service issued"))},
		{"101 skus", &inventoryv1.ListPositionsRequest{Skus: many(101, "SKU-%03d")},
			invalid("too_many_skus", field("skus", "must name at most 100"))},
		{"every bad field at once", &inventoryv1.ListPositionsRequest{
			Skus: []string{"A", "A"}, LocationIds: many(51, "loc-%02d"), PageSize: 501, PageToken: "%%%",
		}, invalid("too_many_locations",
			field("skus[1]", "repeats skus[0]"),
			field("location_ids", "must name at most 50"),
			field("page_size", "must be at most 500"),
			field("page_token", "is not a token this service issued"))},
	}
	for _, tt := range positions {
		t.Run("ListPositions/"+tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.inv.ListPositions(asSupport(), tt.req)
			if diff := cmp.Diff(tt.want, failureOf(err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListPositionsPagination walks every page and checks each position the caller may see
// comes exactly once, in (location, SKU) order, as the warehouse reports it.
func TestListPositionsPagination(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	all := f.allPositions(t)
	if len(all) < 100 {
		t.Fatalf("the warehouse holds %d positions; want enough for several pages", len(all))
	}
	two := f.stockedSKUs(t, 2)
	tests := []struct {
		name     string
		ctx      context.Context
		req      *inventoryv1.ListPositionsRequest
		keep     func(*canonicalv1.InventoryPosition) bool
		wantPage int // expected size of every page but the last
	}{
		{"support, every position", asSupport(), &inventoryv1.ListPositionsRequest{PageSize: 7},
			func(*canonicalv1.InventoryPosition) bool { return true }, 7},
		{"default page size", asSupport(), &inventoryv1.ListPositionsRequest{},
			func(*canonicalv1.InventoryPosition) bool { return true }, defaultPageSize},
		{"partner sees its tenant's locations", asPartner("acme"), &inventoryv1.ListPositionsRequest{PageSize: 25},
			func(p *canonicalv1.InventoryPosition) bool { return p.GetLocationId() != "store-nyc" }, 25},
		{"filtered by SKU and location", asSupport(), &inventoryv1.ListPositionsRequest{Skus: two, LocationIds: []string{"dc-west", "store-nyc"}, PageSize: 1},
			func(p *canonicalv1.InventoryPosition) bool {
				return slices.Contains(two, p.GetSku()) && p.GetLocationId() != "dc-east"
			}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []*canonicalv1.InventoryPosition
			for _, p := range all {
				if tt.keep(p) {
					want = append(want, p)
				}
			}
			slices.SortFunc(want, func(a, b *canonicalv1.InventoryPosition) int {
				if c := strings.Compare(a.GetLocationId(), b.GetLocationId()); c != 0 {
					return c
				}
				return strings.Compare(a.GetSku(), b.GetSku())
			})
			var got []*canonicalv1.InventoryPosition
			req := tt.req
			for pages := 1; ; pages++ {
				if pages > len(all)+1 {
					t.Fatal("the listing does not end")
				}
				resp, err := f.inv.ListPositions(tt.ctx, req)
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				got = append(got, resp.GetPositions()...)
				if resp.GetNextPageToken() == "" {
					break
				}
				if n := len(resp.GetPositions()); n != tt.wantPage {
					t.Errorf("page %d holds %d positions, want %d", pages, n, tt.wantPage)
				}
				req = &inventoryv1.ListPositionsRequest{Skus: tt.req.GetSkus(), LocationIds: tt.req.GetLocationIds(),
					PageSize: tt.req.GetPageSize(), PageToken: resp.GetNextPageToken()}
			}
			if diff := cmp.Diff(summaries(want), summaries(got)); diff != "" {
				t.Errorf("positions across pages (-want +got):\n%s", diff)
			}
		})
	}
}

// summary is what the ledger and the warehouse agree on for a position after a snapshot: where,
// what, how many on hand and how many sellable.
type summary struct {
	Location, SKU    string
	OnHand, Sellable int64
}

func summaries(ps []*canonicalv1.InventoryPosition) []summary {
	out := make([]summary, 0, len(ps))
	for _, p := range ps {
		out = append(out, summary{p.GetLocationId(), p.GetSku(), quantity(p, onHand), quantity(p, sellable)})
	}
	return out
}

// TestReadsMakeNoVendorCalls polls availability, positions and movements many times, with the
// warehouse answering and with it down: every answer comes from the ledger, none costs a call.
func TestReadsMakeNoVendorCalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	skus := f.stockedSKUs(t, 3)
	want := f.expect(t, skus, []string{"dc-east", "dc-west"}, 2)
	before := f.warehouseRequests()
	for i := range 200 {
		if i == 100 {
			f.sb.Faults().Set(faults.Settings{ErrorRate: 1}) // the warehouse goes down
		}
		resp, err := f.inv.GetAvailability(asPartner("acme"), &inventoryv1.GetAvailabilityRequest{Skus: skus})
		if err != nil {
			t.Fatalf("GetAvailability %d: %v", i, err)
		}
		if diff := cmp.Diff(want, resp.GetAvailability(), protocmp.Transform()); diff != "" {
			t.Fatalf("GetAvailability %d (-want +got):\n%s", i, diff)
		}
		if _, err := f.inv.ListPositions(asSupport(), &inventoryv1.ListPositionsRequest{Skus: skus}); err != nil {
			t.Fatalf("ListPositions %d: %v", i, err)
		}
		if _, err := f.inv.ListMovements(asSupport(), &inventoryv1.ListMovementsRequest{Sku: skus[0], LocationId: "dc-east"}); err != nil {
			t.Fatalf("ListMovements %d: %v", i, err)
		}
	}
	if n := f.warehouseRequests() - before; n != 0 {
		t.Errorf("600 reads made %d warehouse calls, want 0", n)
	}
}
