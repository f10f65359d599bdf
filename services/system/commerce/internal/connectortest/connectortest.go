// Package connectortest is the conformance suite every commerce.Connector must pass. Run drives
// a connector against its vendor's sandbox serving the demo dataset: each order must map exactly
// as the dataset describes it, listings must page through a customer's orders exactly once, and
// failures (unknown ids, refused credentials, outages, slowness, rate limits) must come back as
// the error kinds the service relies on — caused for real through the sandbox's knobs. Writes
// must show in the next read, and a repeated write (same key) must answer the first one without
// writing again.
package connectortest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	"github.com/retailbridge/retailbridge/services/system/commerce"
)

// Setup asks the harness for a variant of the environment.
type Setup struct {
	// BadCredentials makes the connector present credentials the vendor refuses.
	BadCredentials bool
}

// Env is one connector wired to a fresh vendor sandbox. Sandboxes start with a rate limit
// generous enough never to slow the suite down.
type Env struct {
	// Connector is the implementation under test.
	Connector commerce.Connector
	// Dataset is what the sandbox serves.
	Dataset *demo.Dataset
	// Fill sets the fields of want that the demo dataset does not hold and the vendor makes
	// up: the shipping address, the platform's id of a pick-up store, updated_at.
	Fill func(o demo.Order, want *canonicalv1.Order)
	// Faults are the sandbox's fault knobs and request recorder.
	Faults *faults.Faults
	// SetThrottle changes the vendor's rate limit: bucket size in points and restore rate in
	// points per second.
	SetThrottle func(bucketSize, restoreRate float64)
	// Throttled counts the sandbox's rate-limited answers so far.
	Throttled func() int64
	// OrderCost is what one GetOrder asks of the rate limit, in points.
	OrderCost float64
}

// NewEnv builds an Env for one test; it registers its own cleanup on t.
type NewEnv func(t testing.TB, s Setup) *Env

// Run runs the suite.
func Run(t *testing.T, newEnv NewEnv) {
	t.Run("GetOrderMapsEveryField", func(t *testing.T) { t.Parallel(); testGetOrder(t, newEnv) })
	t.Run("GetOrderPickUpInStore", func(t *testing.T) { t.Parallel(); testPickUp(t, newEnv) })
	t.Run("GetOrderRefundsAndReturns", func(t *testing.T) { t.Parallel(); testRefundsAndReturns(t, newEnv) })
	t.Run("GetOrderUnknown", func(t *testing.T) { t.Parallel(); testUnknownOrder(t, newEnv) })
	t.Run("ListOrdersPagesEveryOrderOnce", func(t *testing.T) { t.Parallel(); testListOrders(t, newEnv) })
	t.Run("ListOrdersUnknownCustomer", func(t *testing.T) { t.Parallel(); testUnknownCustomer(t, newEnv) })
	t.Run("ListOrdersBySource", func(t *testing.T) { t.Parallel(); testListBySource(t, newEnv) })
	t.Run("ListOrdersBadPageToken", func(t *testing.T) { t.Parallel(); testBadPageToken(t, newEnv) })
	t.Run("BadCredentials", func(t *testing.T) { t.Parallel(); testBadCredentials(t, newEnv) })
	t.Run("VendorUnavailable", func(t *testing.T) { t.Parallel(); testUnavailable(t, newEnv) })
	t.Run("VendorSlowerThanDeadline", func(t *testing.T) { t.Parallel(); testSlow(t, newEnv) })
	t.Run("ThrottleBurstQueues", func(t *testing.T) { t.Parallel(); testBurst(t, newEnv) })
	t.Run("ThrottleFailsFastPastDeadline", func(t *testing.T) { t.Parallel(); testFailFast(t, newEnv) })
	runWrites(t, newEnv)
}

// WantOrder is the canonical order the dataset describes, before Env.Fill adds what the
// vendor makes up.
func WantOrder(ds *demo.Dataset, o demo.Order) *canonicalv1.Order {
	w := &canonicalv1.Order{
		Id:                o.ID,
		Name:              o.Name,
		Channel:           wantChannel(o.Channel),
		Source:            wantSource(o),
		FulfillmentModel:  wantModel(o.FulfillmentModel),
		FinancialStatus:   canonicalv1.FinancialStatus(canonicalv1.FinancialStatus_value["FINANCIAL_STATUS_"+o.FinancialStatus]),
		FulfillmentStatus: canonicalv1.FulfillmentStatus(canonicalv1.FulfillmentStatus_value["FULFILLMENT_STATUS_"+o.FulfillmentStatus]),
		Total:             money.New(o.TotalMinor(), o.Currency),
		CreatedAt:         timestamppb.New(o.CreatedAt),
		// Every demo order was paid through the card gateway; refunds go to that payment.
		PaymentReference: o.PaymentIntentID(),
	}
	for _, c := range ds.Customers {
		if c.ID == o.CustomerID {
			w.Customer = &canonicalv1.CustomerRef{Id: c.ID, Email: c.Email}
		}
	}
	if o.DeliveredAt != nil {
		w.DeliveredAt = timestamppb.New(*o.DeliveredAt)
	}
	for _, l := range o.Lines {
		line := &canonicalv1.OrderLine{
			Id: l.ID, Sku: l.SKU, Title: l.Title, Quantity: int32(l.Quantity),
			UnitPrice:         money.New(l.UnitPriceMinor, o.Currency),
			FulfilledQuantity: int32(l.Fulfilled), RefundedQuantity: int32(l.Refunded), ReturnedQuantity: int32(l.Returned),
			Kind: wantLineKind(l),
		}
		if l.Fulfilled > 0 && o.DeliveredAt != nil {
			line.DeliveredAt = timestamppb.New(*o.DeliveredAt)
		}
		w.Lines = append(w.Lines, line)
	}
	return w
}

// wantLineKind is what the connector must say a line's units are: gift cards and lines that
// need no shipping hold no stock.
func wantLineKind(l demo.Line) canonicalv1.LineKind {
	switch {
	case l.GiftCard:
		return canonicalv1.LineKind_LINE_KIND_GIFT_CARD
	case l.NoShipping:
		return canonicalv1.LineKind_LINE_KIND_NON_INVENTORY
	}
	return canonicalv1.LineKind_LINE_KIND_STOCKED
}

// wantSource is the sales channel's source name: the partner's for partner orders, "web" for the
// online store; mobile orders get the app the vendor reports (Env.Fill).
func wantSource(o demo.Order) string {
	switch {
	case o.Source != "":
		return o.Source
	case o.Channel == demo.ChannelWeb:
		return "web"
	}
	return ""
}

func wantChannel(c string) canonicalv1.Channel {
	switch c {
	case demo.ChannelWeb:
		return canonicalv1.Channel_CHANNEL_WEB
	case demo.ChannelMobile:
		return canonicalv1.Channel_CHANNEL_MOBILE_APP
	}
	return canonicalv1.Channel_CHANNEL_UNSPECIFIED
}

func wantModel(m string) canonicalv1.FulfillmentModel {
	switch m {
	case demo.ShipToHome:
		return canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME
	case demo.PickUpInStore:
		return canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE
	}
	return canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_UNSPECIFIED
}

func want(env *Env, o demo.Order) *canonicalv1.Order {
	w := WantOrder(env.Dataset, o)
	if env.Fill != nil {
		env.Fill(o, w)
	}
	return w
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// checkOrder compares one fetched order with the dataset.
func checkOrder(t testing.TB, env *Env, o demo.Order, got *canonicalv1.Order) {
	t.Helper()
	if diff := cmp.Diff(want(env, o), got, protocmp.Transform()); diff != "" {
		t.Errorf("order %s (%s) mismatch (-want +got):\n%s", o.ID, o.Name, diff)
	}
}

// checkErr asserts err's kind and reason and returns it.
func checkErr(t testing.TB, err error, kind errs.Kind, reason string) *errs.Error {
	t.Helper()
	e := errs.As(err)
	if e == nil {
		t.Fatalf("got error %v (%T), want *errs.Error %s/%s", err, err, kind, reason)
	}
	if e.Kind != kind || e.Reason != reason {
		t.Fatalf("got %s/%s (%v), want %s/%s", e.Kind, e.Reason, err, kind, reason)
	}
	return e
}

func testGetOrder(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 20*time.Second)
	orders := env.Dataset.OrdersOf(demo.DemoCustomerID)
	orders = append(orders, env.Dataset.Orders[:min(15, len(env.Dataset.Orders))]...)
	for _, o := range orders {
		got, err := env.Connector.GetOrder(ctx, o.ID)
		if err != nil {
			t.Fatalf("GetOrder(%s): %v", o.ID, err)
		}
		checkOrder(t, env, o, got)
	}
}

func testPickUp(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	o := env.Dataset.Scenario(demo.ScenarioPickUpInStore)
	got, err := env.Connector.GetOrder(ctxFor(t, 5*time.Second), o.ID)
	if err != nil {
		t.Fatalf("GetOrder(%s): %v", o.ID, err)
	}
	if got.GetFulfillmentModel() != canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE {
		t.Errorf("fulfillment model: got %v, want PICK_UP_IN_STORE", got.GetFulfillmentModel())
	}
	if got.GetPickupLocationId() == "" {
		t.Errorf("pickup_location_id: got empty, want the store")
	}
	if got.GetShippingAddress() != nil {
		t.Errorf("shipping_address: got %v, want none for a pick-up order", got.GetShippingAddress())
	}
	if got.GetDeliveredAt() == nil {
		t.Errorf("delivered_at: got nil, want the pick-up time")
	}
	checkOrder(t, env, o, got)
}

func testRefundsAndReturns(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 10*time.Second)
	for _, name := range []string{demo.ScenarioPartialRefund, demo.ScenarioAlreadyRefunded,
		demo.ScenarioAlreadyReturned, demo.ScenarioMultipleQuantity, demo.ScenarioNotDelivered, demo.ScenarioUnfulfilled} {
		o := env.Dataset.Scenario(name)
		got, err := env.Connector.GetOrder(ctx, o.ID)
		if err != nil {
			t.Fatalf("%s: GetOrder(%s): %v", name, o.ID, err)
		}
		for i, l := range o.Lines {
			g := got.GetLines()[i]
			if g.GetRefundedQuantity() != int32(l.Refunded) || g.GetReturnedQuantity() != int32(l.Returned) ||
				g.GetFulfilledQuantity() != int32(l.Fulfilled) {
				t.Errorf("%s line %s: got fulfilled/refunded/returned %d/%d/%d, want %d/%d/%d", name, l.ID,
					g.GetFulfilledQuantity(), g.GetRefundedQuantity(), g.GetReturnedQuantity(), l.Fulfilled, l.Refunded, l.Returned)
			}
		}
		checkOrder(t, env, o, got)
	}
}

func testUnknownOrder(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	for _, id := range []string{"999999999", "not-an-order"} {
		_, err := env.Connector.GetOrder(ctxFor(t, 5*time.Second), id)
		checkErr(t, err, errs.NotFound, "order_not_found")
	}
}

func testListOrders(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 30*time.Second)
	wantOrders := env.Dataset.OrdersOf(demo.DemoCustomerID)
	const pageSize = 4
	var got []*canonicalv1.Order
	token := ""
	for page := 0; ; page++ {
		if page > len(wantOrders) {
			t.Fatalf("more than %d pages: the listing does not end", page)
		}
		orders, next, err := env.Connector.ListOrders(ctx, demo.DemoCustomerID, nil, pageSize, token)
		if err != nil {
			t.Fatalf("ListOrders page %d: %v", page, err)
		}
		if len(orders) > pageSize {
			t.Fatalf("page %d: got %d orders, want at most %d", page, len(orders), pageSize)
		}
		if next != "" && len(orders) != pageSize {
			t.Errorf("page %d: got %d orders and a next page, want full pages before the last", page, len(orders))
		}
		got = append(got, orders...)
		if next == "" {
			break
		}
		token = next
	}
	if len(got) != len(wantOrders) {
		t.Fatalf("got %d orders, want %d", len(got), len(wantOrders))
	}
	seen := map[string]bool{}
	for i, o := range wantOrders {
		if seen[got[i].GetId()] {
			t.Errorf("order %s listed twice", got[i].GetId())
		}
		seen[got[i].GetId()] = true
		if got[i].GetId() != o.ID {
			t.Errorf("position %d: got order %s, want %s (newest first)", i, got[i].GetId(), o.ID)
			continue
		}
		checkOrder(t, env, o, got[i])
	}
}

// listAll pages through a listing and returns its order ids in order.
func listAll(t *testing.T, env *Env, customer string, sources []string, pageSize int) []string {
	t.Helper()
	ctx := ctxFor(t, 60*time.Second)
	var ids []string
	token := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("the listing does not end")
		}
		orders, next, err := env.Connector.ListOrders(ctx, customer, sources, pageSize, token)
		if err != nil {
			t.Fatalf("ListOrders(%q, %v) page %d: %v", customer, sources, page, err)
		}
		for _, o := range orders {
			ids = append(ids, o.GetId())
		}
		if next == "" {
			return ids
		}
		token = next
	}
}

// Partners list the orders of their sales channels: newest first, every one once, each with the
// source it came through; a customer's orders can be narrowed to some channels; a token is only
// good for the listing that issued it.
func testListBySource(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	want := func(customer string, sources ...string) []string {
		var ids []string
		for _, o := range env.Dataset.Orders {
			if slices.Contains(sources, o.Source) && (customer == "" || o.CustomerID == customer) {
				ids = append(ids, o.ID)
			}
		}
		return ids
	}
	acme := want("", demo.SourceAcme)
	if len(acme) < 3 {
		t.Fatalf("the dataset has %d acme orders; the test needs some", len(acme))
	}
	if got := listAll(t, env, "", []string{demo.SourceAcme}, 7); !slices.Equal(got, acme) {
		t.Errorf("acme's orders:\n got %v\nwant %v", got, acme)
	}
	both := want("", demo.SourceAcme, demo.SourceGlobex)
	if got := listAll(t, env, "", []string{demo.SourceAcme, demo.SourceGlobex}, 25); !slices.Equal(got, both) {
		t.Errorf("acme's and globex's orders: got %d, want %d", len(got), len(both))
	}
	customer := ""
	for _, o := range env.Dataset.OrdersFrom(demo.SourceGlobex) {
		customer = o.CustomerID
		break
	}
	if got, w := listAll(t, env, customer, []string{demo.SourceGlobex}, 5), want(customer, demo.SourceGlobex); !slices.Equal(got, w) {
		t.Errorf("customer %s's globex orders: got %v, want %v", customer, got, w)
	}
	if got := listAll(t, env, "", []string{"nobody-marketplace"}, 5); len(got) != 0 {
		t.Errorf("an unknown source lists %v", got)
	}
	ctx := ctxFor(t, 5*time.Second)
	_, next, err := env.Connector.ListOrders(ctx, "", []string{demo.SourceAcme}, 1, "")
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, err %v", next, err)
	}
	_, _, err = env.Connector.ListOrders(ctx, "", []string{demo.SourceGlobex}, 1, next)
	checkErr(t, err, errs.Invalid, "invalid_page_token")
}

func testUnknownCustomer(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	for _, id := range []string{"1", "nobody"} {
		orders, next, err := env.Connector.ListOrders(ctxFor(t, 5*time.Second), id, nil, 10, "")
		if err != nil || len(orders) != 0 || next != "" {
			t.Errorf("ListOrders(%q): got %d orders, next %q, err %v; want none", id, len(orders), next, err)
		}
	}
}

func testBadPageToken(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 5*time.Second)
	_, next, err := env.Connector.ListOrders(ctx, demo.DemoCustomerID, nil, 1, "")
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, err %v; want a next page", next, err)
	}
	other := env.Dataset.Customers[1].ID
	for name, call := range map[string]func() error{
		"garbage": func() error {
			_, _, err := env.Connector.ListOrders(ctx, demo.DemoCustomerID, nil, 1, "%%%garbage")
			return err
		},
		"other customer": func() error { _, _, err := env.Connector.ListOrders(ctx, other, nil, 1, next); return err },
	} {
		e := checkErr(t, call(), errs.Invalid, "invalid_page_token")
		if len(e.Fields) == 0 || e.Fields[0].Field != "page_token" {
			t.Errorf("%s: got field violations %v, want page_token", name, e.Fields)
		}
	}
}

func testBadCredentials(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{BadCredentials: true})
	o := env.Dataset.Orders[0]
	_, err := env.Connector.GetOrder(ctxFor(t, 5*time.Second), o.ID)
	e := checkErr(t, err, errs.Unavailable, "vendor_auth_failed")
	if e.Retryable {
		t.Errorf("refused credentials: got retryable, want not retryable")
	}
	checkErr(t, env.Connector.Ready(ctxFor(t, 5*time.Second)), errs.Unavailable, "vendor_auth_failed")
}

func testUnavailable(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	if err := env.Connector.Ready(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("Ready before the outage: %v", err)
	}
	o := env.Dataset.Orders[0]
	for _, s := range []faults.Settings{{ErrorRate: 1, ErrorStatus: 503}, {ErrorRate: 1, ErrorStatus: 502}, {Down: true}} {
		env.Faults.Set(s)
		_, err := env.Connector.GetOrder(ctxFor(t, 5*time.Second), o.ID)
		e := checkErr(t, err, errs.Unavailable, "vendor_unavailable")
		if !e.Retryable {
			t.Errorf("%+v: got not retryable, want retryable", s)
		}
	}
	env.Faults.Set(faults.Settings{})
	if _, err := env.Connector.GetOrder(ctxFor(t, 5*time.Second), o.ID); err != nil {
		t.Errorf("GetOrder after the outage: %v", err)
	}
}

func testSlow(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	env.Faults.Set(faults.Settings{Latency: time.Second})
	const deadline = 200 * time.Millisecond
	start := time.Now()
	_, err := env.Connector.GetOrder(ctxFor(t, deadline), env.Dataset.Orders[0].ID)
	took := time.Since(start)
	checkErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
	if took > deadline+300*time.Millisecond {
		t.Errorf("took %v, want about the %v deadline", took, deadline)
	}
}

// testBurst fires more GetOrders at once than the bucket holds: each one alone fits, two do not.
// A connector that obeys the limit queues them locally, so all succeed with no THROTTLED answer.
func testBurst(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	// Room for one query at a time; each must wait for its predecessor's points to come back
	// and for the bucket to restore what it kept.
	env.SetThrottle(env.OrderCost+1, env.OrderCost)
	ctx := ctxFor(t, 15*time.Second)
	orders := env.Dataset.OrdersOf(demo.DemoCustomerID)
	const calls = 20
	var wg sync.WaitGroup
	errc := make(chan error, calls)
	for i := range calls {
		o := orders[i%len(orders)]
		wg.Go(func() {
			got, err := env.Connector.GetOrder(ctx, o.ID)
			if err != nil {
				errc <- err
				return
			}
			if got.GetId() != o.ID {
				errc <- errors.New("got order " + got.GetId() + ", want " + o.ID)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("GetOrder in the burst: %v", err)
	}
	if n := env.Throttled(); n != 0 {
		t.Errorf("sandbox answered THROTTLED %d times, want 0", n)
	}
}

// testFailFast leaves the bucket short and restoring slowly: a call whose deadline comes before
// the points do must fail at once with vendor_throttled and a retry hint, sending nothing.
func testFailFast(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	env.SetThrottle(env.OrderCost+1, 1)
	o := env.Dataset.Scenario(demo.ScenarioMixed)
	if _, err := env.Connector.GetOrder(ctxFor(t, 5*time.Second), o.ID); err != nil {
		t.Fatalf("first GetOrder: %v", err)
	}
	sent := env.Faults.Requests()
	const deadline = 500 * time.Millisecond
	start := time.Now()
	_, err := env.Connector.GetOrder(ctxFor(t, deadline), o.ID)
	took := time.Since(start)
	e := checkErr(t, err, errs.Unavailable, "vendor_throttled")
	if e.RetryAfter <= deadline {
		t.Errorf("retry after: got %v, want more than the %v deadline", e.RetryAfter, deadline)
	}
	if took > deadline/2 {
		t.Errorf("took %v, want an immediate answer", took)
	}
	if n := env.Faults.Requests() - sent; n != 0 {
		t.Errorf("sent %d requests, want none", n)
	}
	if n := env.Throttled(); n != 0 {
		t.Errorf("sandbox answered THROTTLED %d times, want 0", n)
	}
}
