package inventory

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/configs"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/tenancy"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// TestAvailabilityPerChannel computes available-to-sell for every built-in channel from a ledger
// stocked at three locations at three different times: locations, buffers (the channel's plus a
// partner tenant's), units in transit and the oldest as_of behind each figure.
func TestAvailabilityPerChannel(t *testing.T) {
	channels, err := ParseChannels(configs.InventoryChannels)
	if err != nil {
		t.Fatal(err)
	}
	tenants, err := tenancy.Parse([]byte(tenantsYAML))
	if err != nil {
		t.Fatal(err)
	}
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		svc, err := New(Config{Channels: channels}, Deps{DB: storetest.Open(t, d, store.Options{}), Tenants: tenants, Now: func() time.Time { return start }})
		if err != nil {
			t.Fatal(err)
		}
		f := &ledgerFixture{svc: svc, db: svc.db}
		t1, t2, t3 := start.Add(time.Minute), start.Add(2*time.Minute), start.Add(3*time.Minute)
		for _, s := range []struct {
			loc   string
			state canonicalv1.InventoryState
			qty   int64
			at    time.Time
		}{{"dc-east", sellable, 10, t2}, {"dc-east", inTransit, 5, t2}, {"dc-west", sellable, 2, t1}, {"store-nyc-soho", sellable, 4, t3}} {
			id := s.loc + s.state.String()
			f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, id, s.at, adjustment("S", s.loc, 0, s.state, s.qty, s.at, id), id))
		}
		all := []string{"dc-east", "dc-west", "store-nyc-soho"}
		two := []string{"dc-east", "dc-west"}
		ts := timestamppb.New
		tests := []struct {
			name    string
			channel string
			want    *inventoryv1.Availability
		}{
			{"web: every location, buffer 1", "web", &inventoryv1.Availability{AvailableToSell: 9 + 1 + 3, HeldBack: 3, Incoming: 5, AsOf: ts(t1), LocationIds: all}},
			{"marketplace: two DCs, buffer 3", "marketplace", &inventoryv1.Availability{AvailableToSell: 7, HeldBack: 3 + 2, Incoming: 5, AsOf: ts(t1), LocationIds: two}},
			{"store pickup: the store only", "store-pickup", &inventoryv1.Availability{AvailableToSell: 4, AsOf: ts(t3), LocationIds: []string{"store-nyc-soho"}}},
			{"b2b counts units in transit", "b2b", &inventoryv1.Availability{AvailableToSell: 10 + 2 + 5, Incoming: 5, AsOf: ts(t1), LocationIds: two}},
			{"no channel: every location, no buffer", "", &inventoryv1.Availability{AvailableToSell: 16, Incoming: 5, AsOf: ts(t1), LocationIds: all}},
		}
		for _, tt := range tests {
			resp, err := svc.GetAvailability(asSupport(), &inventoryv1.GetAvailabilityRequest{Skus: []string{"S"}, Channel: tt.channel})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			tt.want.Sku = "S"
			if diff := cmp.Diff(tt.want, resp.GetAvailability()[0], protocmp.Transform()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
		// A partner's tenant (acme: both DCs, buffer 2) on the web channel (buffer 1).
		resp, err := svc.GetAvailability(asPartner("acme"), &inventoryv1.GetAvailabilityRequest{Skus: []string{"S"}, Channel: "web"})
		if err != nil {
			t.Fatal(err)
		}
		want := &inventoryv1.Availability{Sku: "S", AvailableToSell: 7, HeldBack: 3 + 2, Incoming: 5, AsOf: ts(t1), LocationIds: two}
		if diff := cmp.Diff(want, resp.GetAvailability()[0], protocmp.Transform()); diff != "" {
			t.Errorf("acme on web (-want +got):\n%s", diff)
		}
		_, err = svc.GetAvailability(asSupport(), &inventoryv1.GetAvailabilityRequest{Skus: []string{"S"}, Channel: "fax"})
		if e := errs.FromError(err); e.Reason != "channel_not_found" {
			t.Errorf("unknown channel = %v, want channel_not_found", err)
		}
		// Reservations follow the channel's locations.
		res, err := svc.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O", Sku: "S", Quantity: 1, IdempotencyKey: "p1", Channel: "store-pickup"})
		if err != nil || res.GetLocationId() != "store-nyc-soho" {
			t.Errorf("store-pickup hold = %v, %v; want store-nyc-soho", res, err)
		}
		_, err = svc.Reserve(asSupport(), &inventoryv1.ReserveRequest{OrderId: "O", Sku: "S", Quantity: 1, IdempotencyKey: "p2", Channel: "store-pickup", LocationId: "dc-east"})
		if e := errs.FromError(err); e.Reason != "location_not_in_channel" {
			t.Errorf("store-pickup hold at dc-east = %v, want location_not_in_channel", err)
		}
	})
}

func TestParseChannels(t *testing.T) {
	t.Parallel()
	if _, err := ParseChannels([]byte("channels:\n  web:\n    buffr: 1\n")); err == nil {
		t.Error("a misspelt key was accepted")
	}
	if _, err := ParseChannels([]byte("channels:\n  web:\n    buffer: -1\n")); err == nil {
		t.Error("a negative buffer was accepted")
	}
}
