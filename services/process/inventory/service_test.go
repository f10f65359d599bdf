package inventory

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

const (
	sellable  = canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE
	inTransit = canonicalv1.InventoryState_INVENTORY_STATE_IN_TRANSIT
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
	if err := (Config{PositionTTL: -time.Second, CacheEntries: -1}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "PositionTTL") || !strings.Contains(err.Error(), "CacheEntries") {
		t.Errorf("Validate = %v, want both PositionTTL and CacheEntries named", err)
	}
	if _, err := New(Config{PositionTTL: -time.Second}, Deps{}); err == nil ||
		!strings.Contains(err.Error(), "PositionTTL") || !strings.Contains(err.Error(), "WMS") {
		t.Errorf("New = %v, want PositionTTL and WMS named", err)
	}
	if got := (Config{}).withDefaults(); got != (Config{PositionTTL: DefaultPositionTTL, CacheEntries: DefaultCacheEntries}) {
		t.Errorf("defaults = %+v", got)
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
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("positions across pages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAvailabilityIsCached shows a burst of polls costs one warehouse call per TTL, and that a
// stock change shows once the TTL has passed.
func TestAvailabilityIsCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{PositionTTL: 5 * time.Second})
	skus := f.stockedSKUs(t, 3)
	get := func(ctx context.Context, skus ...string) []*inventoryv1.Availability {
		t.Helper()
		resp, err := f.inv.GetAvailability(ctx, &inventoryv1.GetAvailabilityRequest{Skus: skus})
		if err != nil {
			t.Fatalf("GetAvailability: %v", err)
		}
		return resp.GetAvailability()
	}

	before := f.warehouseRequests()
	first := get(asPartner("acme"), skus...)
	if n := f.warehouseRequests() - before; n != 1 {
		t.Fatalf("first poll made %d warehouse requests, want 1", n)
	}
	f.clock.Advance(4 * time.Second)
	second := get(asPartner("acme"), skus...)
	// Other callers, other orders and subsets are served from the same per-SKU entries.
	get(asPartner("corner"), skus[2], skus[0])
	get(asSupport(), skus[1])
	if n := f.warehouseRequests() - before; n != 1 {
		t.Errorf("polls within the TTL made %d warehouse requests, want 1", n)
	}
	if diff := cmp.Diff(first, second, protocmp.Transform()); diff != "" {
		t.Errorf("second poll differs (-first +second):\n%s", diff)
	}

	f.ship(t, "SH-1", "dc-east", skus[0], 7)
	stale := get(asPartner("acme"), skus...)
	if diff := cmp.Diff(first, stale, protocmp.Transform()); diff != "" {
		t.Errorf("within the TTL the cached figure should be served (-first +got):\n%s", diff)
	}

	f.clock.Advance(time.Second)
	before = f.warehouseRequests()
	fresh := get(asPartner("acme"), skus...)
	if n := f.warehouseRequests() - before; n != 1 {
		t.Errorf("poll after the TTL made %d warehouse requests, want 1", n)
	}
	if diff := cmp.Diff(f.expect(t, skus, []string{"dc-east", "dc-west"}, 2), fresh, protocmp.Transform()); diff != "" {
		t.Errorf("after the TTL (-want +got):\n%s", diff)
	}
	if got, want := fresh[0].GetAvailableToSell(), first[0].GetAvailableToSell()-7; got != want {
		t.Errorf("available after shipping 7 = %d, want %d", got, want)
	}
	// The moved position was confirmed later; as_of is the oldest counted, dc-west's.
	if got := fresh[0].GetAsOf().AsTime(); !got.Equal(start) {
		t.Errorf("as_of = %v, want the older position's %v", got, start)
	}
}

// TestConcurrentMissesShareOneCall polls a slow warehouse from many callers at once.
func TestConcurrentMissesShareOneCall(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	skus := f.stockedSKUs(t, 4)
	f.sb.Faults().Set(faults.Settings{Latency: 100 * time.Millisecond})
	before := f.warehouseRequests()
	var wg sync.WaitGroup
	answers := make([][]*inventoryv1.Availability, 10)
	for i := range answers {
		wg.Go(func() {
			req := slices.Clone(skus)
			if i%2 == 1 {
				slices.Reverse(req) // the same set in another order shares the call too
			}
			resp, err := f.inv.GetAvailability(asPartner("acme"), &inventoryv1.GetAvailabilityRequest{Skus: req})
			if err != nil {
				t.Errorf("GetAvailability: %v", err)
				return
			}
			answers[i] = resp.GetAvailability()
			if i%2 == 1 {
				slices.Reverse(answers[i])
			}
		})
	}
	wg.Wait()
	if n := f.warehouseRequests() - before; n != 1 {
		t.Errorf("10 concurrent polls made %d warehouse requests, want 1", n)
	}
	for i := 1; i < len(answers); i++ {
		if diff := cmp.Diff(answers[0], answers[i], protocmp.Transform()); diff != "" {
			t.Errorf("answer %d differs (-first +got):\n%s", i, diff)
		}
	}
}

// TestWarehouseErrorsPassThrough makes the warehouse fail and checks callers get its error, and
// that the failure is not cached.
func TestWarehouseErrorsPassThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	sku := f.stockedSKUs(t, 1)[0]
	f.sb.Faults().Set(faults.Settings{ErrorRate: 1})
	want := &failure{Kind: errs.Unavailable, Reason: "vendor_unavailable"}
	_, err := f.inv.GetAvailability(asPartner("acme"), &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}})
	if diff := cmp.Diff(want, failureOf(err)); diff != "" {
		t.Errorf("GetAvailability error (-want +got):\n%s", diff)
	}
	_, err = f.inv.ListPositions(asPartner("acme"), &inventoryv1.ListPositionsRequest{})
	if diff := cmp.Diff(want, failureOf(err)); diff != "" {
		t.Errorf("ListPositions error (-want +got):\n%s", diff)
	}
	f.sb.Faults().Set(faults.Settings{})
	if _, err := f.inv.GetAvailability(asPartner("acme"), &inventoryv1.GetAvailabilityRequest{Skus: []string{sku}}); err != nil {
		t.Errorf("GetAvailability once the warehouse is back: %v", err)
	}
}

func TestReservationsAreNotImplementedYet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	_, err := f.inv.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "5100001", Sku: "A", Quantity: 1})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Reserve = %v, want Unimplemented", err)
	}
	_, err = f.inv.Release(asSupport(), &inventoryv1.ReleaseRequest{ReservationId: "r-1"})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Release = %v, want Unimplemented", err)
	}
}
