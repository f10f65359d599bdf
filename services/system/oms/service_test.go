package oms

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	fluentsb "github.com/retailbridge/retailbridge/services/sandbox/fluent"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

func newFluent(t *testing.T, password string) (*Service, *fluentsb.Sandbox) {
	t.Helper()
	sb := fluentsb.New(nil, fluentsb.Options{Locations: []string{"dc-east", "dc-west", "store-nyc"}})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	svc, err := New(Config{Connection: FluentConfig{BaseURL: srv.URL, ClientID: fluentsb.DevClientID,
		ClientSecret: fluentsb.DevClientSecret, Username: fluentsb.DevUsername, Password: password, RetailerID: fluentsb.DevRetailerID}},
		Deps{HTTPClient: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	return svc, sb
}

func omsOrder(id string, model canonicalv1.FulfillmentModel, pickup string, skus ...string) *canonicalv1.Order {
	o := &canonicalv1.Order{Id: id, FulfillmentModel: model, PickupLocationId: pickup, Customer: &canonicalv1.CustomerRef{Id: "c1"},
		Total: &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: 1000}}
	for i, sku := range skus {
		o.Lines = append(o.Lines, &canonicalv1.OrderLine{Id: id + "-" + string(rune('a'+i)), Sku: sku, Quantity: 2,
			UnitPrice: &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: 500}})
	}
	return o
}

func allocations(t *testing.T, svc *Service, id string) map[string]string {
	t.Helper()
	resp, err := svc.GetAllocation(context.Background(), &omsv1.GetAllocationRequest{OmsOrderId: id})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range resp.GetAllocations() {
		out[a.GetOrderLineId()] = a.GetLocationId()
	}
	return out
}

// Fluent sources a click & collect order from its pick-up store when the store holds it, splits
// an order no single location can fill, and books an order once under its ref.
func TestFluentRoutesSplitsAndDeduplicates(t *testing.T) {
	t.Parallel()
	svc, sb := newFluent(t, fluentsb.DevPassword)
	ctx := context.Background()
	sb.SetOnHand("store-nyc", "A", 5)
	sb.SetOnHand("dc-east", "A", 9)
	sb.SetOnHand("dc-east", "B", 0)
	sb.SetOnHand("dc-west", "B", 4)
	cc := omsOrder("o-cc", canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE, "store-nyc", "A")
	first, err := svc.SubmitOrder(ctx, &omsv1.SubmitOrderRequest{Order: cc, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.SubmitOrder(ctx, &omsv1.SubmitOrderRequest{Order: cc, IdempotencyKey: "k1"})
	if err != nil || again.GetOmsOrderId() != first.GetOmsOrderId() || sb.Stats().OrdersCreated != 1 {
		t.Fatalf("repeat: %v %v, created %d; want the same order once", again, err, sb.Stats().OrdersCreated)
	}
	if got := allocations(t, svc, first.GetOmsOrderId()); got["o-cc-a"] != "store-nyc" {
		t.Errorf("click & collect allocated %v, want the pick-up store", got)
	}
	split := omsOrder("o-split", canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_FROM_STORE, "", "A", "B")
	resp, err := svc.SubmitOrder(ctx, &omsv1.SubmitOrderRequest{Order: split, IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	got := allocations(t, svc, resp.GetOmsOrderId())
	if got["o-split-a"] != "dc-east" || got["o-split-b"] != "dc-west" {
		t.Errorf("split allocated %v, want A from dc-east and B from dc-west", got)
	}
	if _, err := svc.CancelOrder(ctx, &omsv1.CancelOrderRequest{OmsOrderId: resp.GetOmsOrderId(), Reason: "test", IdempotencyKey: "k3"}); err != nil {
		t.Fatal(err)
	}
	if len(allocations(t, svc, resp.GetOmsOrderId())) != 0 || sb.Stats().Cancellations != 1 {
		t.Errorf("a cancelled order still allocates %v", allocations(t, svc, resp.GetOmsOrderId()))
	}
}

// Wrong credentials are the connector's one classified failure, never a retry storm.
func TestFluentBadCredentials(t *testing.T) {
	t.Parallel()
	svc, _ := newFluent(t, "wrong")
	_, err := svc.SubmitOrder(context.Background(), &omsv1.SubmitOrderRequest{
		Order: omsOrder("o1", canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME, "", "A"), IdempotencyKey: "k"})
	if errs.KindOf(err) != errs.Unauthenticated {
		t.Fatalf("got %v, want Unauthenticated", err)
	}
}
