package shopify

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// loadOrder reads the recorded GetOrder answer in testdata.
func loadOrder(tb testing.TB) *order {
	tb.Helper()
	b, err := os.ReadFile("testdata/order_partially_returned.json")
	if err != nil {
		tb.Fatal(err)
	}
	var env struct {
		Data struct {
			Order *order `json:"order"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		tb.Fatal(err)
	}
	return env.Data.Order
}

func ts(tb testing.TB, s string) *timestamppb.Timestamp {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return timestamppb.New(t)
}

// recordedWant is what the recorded order means: line 1 delivered and partly refunded (its
// declined return does not count), line 2 delivered and returned (the cancelled return does not
// count twice), line 3 still in transit after a cancelled fulfilment, so the order is not
// delivered; the unverified return line names no line.
func recordedWant(tb testing.TB) *canonicalv1.Order {
	delivered := ts(tb, "2026-01-18T11:15:32Z")
	return &canonicalv1.Order{
		Id:                "5820071100512",
		Name:              "#4471",
		Customer:          &canonicalv1.CustomerRef{Id: "7241187033184", Email: "grace.hopper@example.com"},
		Channel:           canonicalv1.Channel_CHANNEL_MOBILE_APP,
		Source:            "android",
		FulfillmentModel:  canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME,
		FinancialStatus:   canonicalv1.FinancialStatus_FINANCIAL_STATUS_PARTIALLY_REFUNDED,
		FulfillmentStatus: canonicalv1.FulfillmentStatus_FULFILLMENT_STATUS_FULFILLED,
		Lines: []*canonicalv1.OrderLine{
			{Id: "14402208350304", Sku: "APP-031", Title: "Rust Jeans", Quantity: 2, UnitPrice: money.New(5299, "USD"),
				FulfilledQuantity: 2, RefundedQuantity: 1, DeliveredAt: delivered, Kind: canonicalv1.LineKind_LINE_KIND_STOCKED},
			{Id: "14402208383072", Sku: "FTW-100", Title: "Navy Sneaker", Quantity: 1, UnitPrice: money.New(6199, "USD"),
				FulfilledQuantity: 1, ReturnedQuantity: 1, DeliveredAt: delivered, Kind: canonicalv1.LineKind_LINE_KIND_STOCKED},
			// Gift wrap needs no shipping: it holds no stock.
			{Id: "14402208415840", Title: "Gift wrap", Quantity: 1, UnitPrice: money.New(2000, "USD"), FulfilledQuantity: 1,
				Kind: canonicalv1.LineKind_LINE_KIND_NON_INVENTORY},
		},
		Total:     money.New(18797, "USD"),
		CreatedAt: ts(tb, "2026-01-14T09:31:07Z"),
		UpdatedAt: ts(tb, "2026-02-03T16:02:44Z"),
		ShippingAddress: &canonicalv1.Address{Name: "Grace Hopper", Lines: []string{"120 Mercer Street", "Apt 4B"},
			City: "New York", Region: "NY", PostalCode: "10012", CountryCode: "US", Phone: "+12125550147"},
	}
}

func TestToCanonicalOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(o *order)
		want  func(w *canonicalv1.Order)
		errAs any
	}{
		{name: "recorded payload"},
		{
			name: "last parcel delivered",
			edit: func(o *order) {
				at := time.Date(2026, 2, 3, 16, 2, 44, 0, time.UTC)
				o.Fulfillments[2].DeliveredAt = &at
			},
			want: func(w *canonicalv1.Order) {
				w.Lines[2].DeliveredAt = ts(t, "2026-02-03T16:02:44Z")
				w.DeliveredAt = ts(t, "2026-02-03T16:02:44Z")
			},
		},
		{
			name: "pick up in store",
			edit: func(o *order) {
				fo := &o.FulfillmentOrders.Nodes[0]
				fo.DeliveryMethod.MethodType = "PICK_UP"
				fo.AssignedLocation.Location.ID = "gid://shopify/Location/61000102"
				o.ShippingAddress = nil
			},
			want: func(w *canonicalv1.Order) {
				w.FulfillmentModel = canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE
				w.PickupLocationId = "61000102"
				w.ShippingAddress = nil
			},
		},
		{
			name: "guest checkout without channel",
			edit: func(o *order) { o.Customer, o.SourceName = nil, nil },
			want: func(w *canonicalv1.Order) {
				w.Customer, w.Channel, w.Source = nil, canonicalv1.Channel_CHANNEL_UNSPECIFIED, ""
			},
		},
		{
			name:  "more lines than one read fetches",
			edit:  func(o *order) { o.LineItems.PageInfo.HasNextPage = true },
			errAs: new(errTooLarge),
		},
		{
			name:  "more return lines than one read fetches",
			edit:  func(o *order) { o.Returns.Nodes[0].ReturnLineItems.PageInfo.HasNextPage = true },
			errAs: new(errTooLarge),
		},
		{
			name:  "refund of a line not on the order",
			edit:  func(o *order) { o.Refunds[0].RefundLineItems.Nodes[0].LineItem.ID = "gid://shopify/LineItem/1" },
			errAs: new(error),
		},
		{
			name:  "amount with too many decimals",
			edit:  func(o *order) { o.TotalPriceSet.ShopMoney.Amount = "187.975" },
			errAs: new(error),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := loadOrder(t)
			if tt.edit != nil {
				tt.edit(o)
			}
			got, err := toCanonicalOrder(o)
			if tt.errAs != nil {
				if err == nil || !errors.As(err, tt.errAs) {
					t.Fatalf("got %v, %v; want an error like %T", got, err, tt.errAs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := recordedWant(t)
			if tt.want != nil {
				tt.want(want)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnumMappings(t *testing.T) {
	t.Parallel()
	channels := map[string]canonicalv1.Channel{
		"web": canonicalv1.Channel_CHANNEL_WEB, "pos": canonicalv1.Channel_CHANNEL_POINT_OF_SALE,
		"iphone": canonicalv1.Channel_CHANNEL_MOBILE_APP, "android": canonicalv1.Channel_CHANNEL_MOBILE_APP,
		"mobile": canonicalv1.Channel_CHANNEL_MOBILE_APP, "shopify_draft_order": canonicalv1.Channel_CHANNEL_UNSPECIFIED,
		"294517": canonicalv1.Channel_CHANNEL_UNSPECIFIED, "": canonicalv1.Channel_CHANNEL_UNSPECIFIED,
	}
	for in, want := range channels {
		if got := toCanonicalChannel(in); got != want {
			t.Errorf("toCanonicalChannel(%q): got %v, want %v", in, got, want)
		}
	}
	// Every Shopify status has a canonical counterpart.
	for _, s := range []string{"PENDING", "AUTHORIZED", "PARTIALLY_PAID", "PAID", "PARTIALLY_REFUNDED", "REFUNDED", "VOIDED", "EXPIRED"} {
		if got := toCanonicalFinancialStatus(s); got.String() != "FINANCIAL_STATUS_"+s {
			t.Errorf("toCanonicalFinancialStatus(%q): got %v", s, got)
		}
	}
	for _, s := range []string{"UNFULFILLED", "PARTIALLY_FULFILLED", "FULFILLED", "IN_PROGRESS", "ON_HOLD", "SCHEDULED", "REQUEST_DECLINED"} {
		if got := toCanonicalFulfillmentStatus(s); got.String() != "FULFILLMENT_STATUS_"+s {
			t.Errorf("toCanonicalFulfillmentStatus(%q): got %v", s, got)
		}
	}
	for in, want := range map[string]string{"gid://shopify/Order/123": "123", "gid://shopify/MailingAddress/9?model_name=Address": "9"} {
		if got, err := numericID(in); got != want || err != nil {
			t.Errorf("numericID(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"123", "gid://shopify/Order/", "gid://shopify/Order/12a", "gid://other/Order/1"} {
		if got, err := numericID(in); err == nil {
			t.Errorf("numericID(%q): got %q, want an error", in, got)
		}
	}
}
