package orders

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/tenancy"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

const (
	alice = "7000001" // 25 orders, 5100001 … 5100025, newest first
	bob   = "7000002" // one order, 5200001
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc      *Service
	commerce *commerceServer
	clock    *clock
}

func order(id, customer string, age time.Duration) *canonicalv1.Order {
	return &canonicalv1.Order{
		Id: id, Name: "#" + id, Customer: &canonicalv1.CustomerRef{Id: customer},
		Channel: canonicalv1.Channel_CHANNEL_WEB, CreatedAt: timestamppb.New(start.Add(-age)),
	}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	commerce := &commerceServer{}
	for i := range 25 {
		commerce.orders = append(commerce.orders, order(fmt.Sprintf("51%05d", i+1), alice, time.Duration(i)*time.Hour))
	}
	bobs := order("5200001", bob, 0)
	bobs.Source = "acme-marketplace" // placed through the acme tenant's marketplace
	commerce.orders = append(commerce.orders, bobs)
	conn := serve(t, func(s *grpc.Server) { commercev1.RegisterCommerceServiceServer(s, commerce) })
	clk := &clock{t: start}
	tenants, err := tenancy.Parse([]byte(`tenants:
  acme: {name: Acme, order_sources: [acme-marketplace]}
  globex: {name: Globex, order_sources: [globex-b2b]}
`))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{}, Deps{Commerce: commercev1.NewCommerceServiceClient(conn), Now: clk.Now, Tenants: tenants})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{svc: svc, commerce: commerce, clock: clk}
}

func asCustomer(id string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Storefront, Subject: id})
}

func asPartner(tenant string, scopes ...string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Partner, Subject: "rbc_" + tenant, Tenant: tenant, Scopes: scopes})
}

func asAgent() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "agent-1"})
}

func ids(orders []*canonicalv1.Order) []string {
	out := make([]string, 0, len(orders))
	for _, o := range orders {
		out = append(out, o.GetId())
	}
	return out
}

// aliceIDs lists alice's order ids from the first-th newest to the last-th.
func aliceIDs(first, last int) []string {
	var out []string
	for i := first; i <= last; i++ {
		out = append(out, fmt.Sprintf("51%05d", i))
	}
	return out
}

func invalid(reason string, fields ...errs.FieldViolation) *errs.Error {
	return errs.E(errs.Invalid, reason, "the request has invalid fields").WithFields(fields...)
}

func TestListOrders(t *testing.T) {
	t.Parallel()
	aliceFirst3 := aliceIDs(1, 3)
	tests := []struct {
		name     string
		ctx      context.Context
		req      *ordersv1.ListOrdersRequest
		wantIDs  []string
		wantNext string
		wantSize int32 // page size asked of the commerce platform
		wantErr  *errs.Error
	}{
		{
			name:    "customer lists their own orders",
			ctx:     asCustomer(alice),
			req:     &ordersv1.ListOrdersRequest{PageSize: 3},
			wantIDs: aliceFirst3, wantNext: "3", wantSize: 3,
		},
		{
			name:    "customer_id is ignored for customers",
			ctx:     asCustomer(alice),
			req:     &ordersv1.ListOrdersRequest{CustomerId: bob, PageSize: 3},
			wantIDs: aliceFirst3, wantNext: "3", wantSize: 3,
		},
		{
			name:    "agent lists a named customer's orders",
			ctx:     asAgent(),
			req:     &ordersv1.ListOrdersRequest{CustomerId: bob},
			wantIDs: []string{"5200001"}, wantSize: 20,
		},
		{
			name:     "page size defaults to 20",
			ctx:      asCustomer(alice),
			req:      &ordersv1.ListOrdersRequest{},
			wantIDs:  aliceIDs(1, 20),
			wantNext: "20", wantSize: 20,
		},
		{
			name:    "next page",
			ctx:     asCustomer(alice),
			req:     &ordersv1.ListOrdersRequest{PageSize: 10, PageToken: "20"},
			wantIDs: aliceIDs(21, 25), wantSize: 10,
		},
		{
			name:    "page size 100 is allowed",
			ctx:     asAgent(),
			req:     &ordersv1.ListOrdersRequest{CustomerId: bob, PageSize: 100},
			wantIDs: []string{"5200001"}, wantSize: 100,
		},
		{
			name:    "page size above 100",
			ctx:     asCustomer(alice),
			req:     &ordersv1.ListOrdersRequest{PageSize: 101},
			wantErr: invalid("page_size_too_large", errs.FieldViolation{Field: "page_size", Description: "at most 100"}),
		},
		{
			name:    "negative page size",
			ctx:     asCustomer(alice),
			req:     &ordersv1.ListOrdersRequest{PageSize: -1},
			wantErr: invalid("invalid_request", errs.FieldViolation{Field: "page_size", Description: "must be between 1 and 100"}),
		},
		{
			name: "agent without customer_id, every bad field at once",
			ctx:  asAgent(),
			req:  &ordersv1.ListOrdersRequest{PageSize: 500, PageToken: strings.Repeat("x", 2000)},
			wantErr: invalid("page_size_too_large",
				errs.FieldViolation{Field: "page_size", Description: "at most 100"},
				errs.FieldViolation{Field: "customer_id", Description: "required"},
				errs.FieldViolation{Field: "page_token", Description: "not a token this service issued"}),
		},
		{
			name:    "no principal",
			ctx:     context.Background(),
			req:     &ordersv1.ListOrdersRequest{},
			wantErr: errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			resp, err := f.svc.ListOrders(tt.ctx, tt.req)
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, errs.As(err)); diff != "" {
					t.Errorf("ListOrders error (-want +got):\n%s", diff)
				}
				if _, lists := f.commerce.calls(); len(lists) != 0 {
					t.Errorf("a rejected request cost %d commerce calls, want 0", len(lists))
				}
				return
			}
			if err != nil {
				t.Fatalf("ListOrders: %v", err)
			}
			if diff := cmp.Diff(tt.wantIDs, ids(resp.GetOrders())); diff != "" {
				t.Errorf("order ids (-want +got):\n%s", diff)
			}
			if got := resp.GetNextPageToken(); got != tt.wantNext {
				t.Errorf("next_page_token = %q, want %q", got, tt.wantNext)
			}
			if _, lists := f.commerce.calls(); len(lists) != 1 || lists[0].GetPageSize() != tt.wantSize {
				t.Errorf("commerce ListOrders calls = %v, want one with page_size %d", lists, tt.wantSize)
			}
		})
	}
}

func TestListOrdersCachesPagesBriefly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := asCustomer(alice)
	req := &ordersv1.ListOrdersRequest{PageSize: 5}
	first, err := f.svc.ListOrders(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for range 9 {
		got, err := f.svc.ListOrders(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, got, protocmp.Transform()); diff != "" {
			t.Errorf("cached page differs (-first +got):\n%s", diff)
		}
	}
	if _, lists := f.commerce.calls(); len(lists) != 1 {
		t.Errorf("10 identical lists cost %d commerce calls, want 1", len(lists))
	}
	// Listed orders are cached as orders too.
	if _, err := f.svc.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: "5100003"}); err != nil {
		t.Fatal(err)
	}
	if gets, _ := f.commerce.calls(); gets != 0 {
		t.Errorf("opening a listed order cost %d GetOrder calls, want 0", gets)
	}
	// Another caller's view of the same page size is its own entry.
	if _, err := f.svc.ListOrders(asCustomer(bob), req); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(DefaultListTTL)
	if _, err := f.svc.ListOrders(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, lists := f.commerce.calls(); len(lists) != 3 {
		t.Errorf("commerce ListOrders calls = %d, want 3 (alice, bob, alice after ListTTL)", len(lists))
	}
}

func TestGetOrderOwnership(t *testing.T) {
	t.Parallel()
	notFound := errs.E(errs.NotFound, "order_not_found", "order not found")
	tests := []struct {
		name    string
		ctx     context.Context
		orderID string
		wantErr *errs.Error
	}{
		{name: "customer reads their own order", ctx: asCustomer(alice), orderID: "5100001"},
		{name: "customer asks for another customer's order", ctx: asCustomer(bob), orderID: "5100001", wantErr: notFound},
		{name: "customer asks for an unknown order", ctx: asCustomer(bob), orderID: "999", wantErr: notFound},
		{name: "agent reads any order", ctx: asAgent(), orderID: "5200001"},
		{name: "partner reads an order from its channel", ctx: asPartner("acme", "orders:read"), orderID: "5200001"},
		{name: "partner asks for another tenant's order", ctx: asPartner("globex", "orders:read"), orderID: "5200001", wantErr: notFound},
		{name: "partner asks for a web order", ctx: asPartner("acme", "orders:read"), orderID: "5100001", wantErr: notFound},
		{name: "partner of a tenant nobody configured", ctx: asPartner("initech", "orders:read"), orderID: "5200001", wantErr: notFound},
		{
			name: "partner without orders:read", ctx: asPartner("acme", "returns:read"), orderID: "5200001",
			wantErr: errs.E(errs.PermissionDenied, "insufficient_scope", "this needs the orders:read scope"),
		},
		{
			name: "missing order id", ctx: asAgent(),
			wantErr: invalid("invalid_request", errs.FieldViolation{Field: "order_id", Description: "required"}),
		},
		{
			name: "no principal", ctx: context.Background(), orderID: "5100001",
			wantErr: errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing"),
		},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := f.svc.GetOrder(tt.ctx, &ordersv1.GetOrderRequest{OrderId: tt.orderID})
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, errs.As(err)); diff != "" {
					t.Errorf("GetOrder error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetOrder: %v", err)
			}
			if got := resp.GetOrder().GetId(); got != tt.orderID {
				t.Errorf("order id = %q, want %q", got, tt.orderID)
			}
		})
	}
}

func TestGetOrderForeignLooksUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, unknown := f.svc.GetOrder(asCustomer(bob), &ordersv1.GetOrderRequest{OrderId: "999"})
	_, foreign := f.svc.GetOrder(asCustomer(bob), &ordersv1.GetOrderRequest{OrderId: "5100001"})
	if unknown == nil || foreign == nil {
		t.Fatalf("errors = %v, %v; want two errors", unknown, foreign)
	}
	if diff := cmp.Diff(errs.As(unknown), errs.As(foreign)); diff != "" || unknown.Error() != foreign.Error() {
		t.Errorf("another customer's order answers differently from an unknown one (-unknown +foreign):\n%s", diff)
	}
}

func TestPartnersListTheirTenantsOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	list := func(ctx context.Context, customer string) []string {
		t.Helper()
		resp, err := f.svc.ListOrders(ctx, &ordersv1.ListOrdersRequest{CustomerId: customer})
		if err != nil {
			t.Fatalf("ListOrders: %v", err)
		}
		return ids(resp.GetOrders())
	}
	if got := list(asPartner("acme", "orders:read"), ""); !slices.Equal(got, []string{"5200001"}) {
		t.Errorf("acme lists %v, want its one order", got)
	}
	if got := list(asPartner("acme", "orders:read"), alice); len(got) != 0 {
		t.Errorf("acme lists alice's web orders: %v", got)
	}
	if got := list(asPartner("globex", "orders:read"), ""); len(got) != 0 {
		t.Errorf("globex lists %v", got)
	}
	if got := list(asPartner("initech", "orders:read"), ""); len(got) != 0 {
		t.Errorf("a tenant nobody configured lists %v", got)
	}
	if _, err := f.svc.ListOrders(asPartner("acme", "returns:read"), &ordersv1.ListOrdersRequest{}); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("without orders:read: %v", err)
	}
	_, unknown := f.svc.GetOrder(asPartner("globex", "orders:read"), &ordersv1.GetOrderRequest{OrderId: "999"})
	_, foreign := f.svc.GetOrder(asPartner("globex", "orders:read"), &ordersv1.GetOrderRequest{OrderId: "5200001"})
	if unknown == nil || foreign == nil || unknown.Error() != foreign.Error() {
		t.Errorf("another tenant's order answers %v, an unknown one %v; want the same", foreign, unknown)
	}
	// A platform that ignores the listing's filters leaks nothing through the process API.
	f.commerce.mu.Lock()
	f.commerce.leaky = true
	f.commerce.mu.Unlock()
	if got := list(asPartner("globex", "orders:read"), "7000009"); len(got) != 0 {
		t.Errorf("a leaky platform's orders reached globex: %v", got)
	}
}

func TestGetOrderCachesAndReloads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := asCustomer(alice)
	get := func() {
		t.Helper()
		if _, err := f.svc.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: "5100001"}); err != nil {
			t.Fatalf("GetOrder: %v", err)
		}
	}
	wantCalls := func(want int) {
		t.Helper()
		if gets, _ := f.commerce.calls(); gets != want {
			t.Errorf("commerce GetOrder calls = %d, want %d", gets, want)
		}
	}
	for range 100 {
		get()
	}
	wantCalls(1)
	f.clock.Advance(DefaultOrderTTL - time.Nanosecond)
	get()
	wantCalls(1)
	f.clock.Advance(time.Nanosecond)
	get()
	wantCalls(2)
	f.svc.InvalidateOrder("5100001")
	get()
	wantCalls(3)
}

func TestSystemErrorsPassThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.commerce.setFail(status.Error(codes.Unavailable, "shopify is down"))
	_, err := f.svc.GetOrder(asAgent(), &ordersv1.GetOrderRequest{OrderId: "5100001"})
	if got := status.Code(err); got != codes.Unavailable {
		t.Errorf("GetOrder error = %v, want code Unavailable", err)
	}
	_, err = f.svc.ListOrders(asCustomer(alice), &ordersv1.ListOrdersRequest{})
	if got := status.Code(err); got != codes.Unavailable {
		t.Errorf("ListOrders error = %v, want code Unavailable", err)
	}
	f.commerce.setFail(status.Error(codes.NotFound, "no such customer"))
	_, err = f.svc.ListOrders(asAgent(), &ordersv1.ListOrdersRequest{CustomerId: "404"})
	if diff := cmp.Diff(errs.E(errs.NotFound, "customer_not_found", "customer not found"), errs.As(err)); diff != "" {
		t.Errorf("ListOrders error (-want +got):\n%s", diff)
	}
	f.commerce.setFail(nil)
	if _, err := f.svc.GetOrder(asAgent(), &ordersv1.GetOrderRequest{OrderId: "5100001"}); err != nil {
		t.Errorf("GetOrder after recovery: %v (errors must not be cached)", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := New(Config{OrderTTL: -1, ListTTL: -1, CacheEntries: -1}, Deps{})
	if err == nil {
		t.Fatal("New succeeded, want an error")
	}
	for _, w := range []string{"OrderTTL: must not be negative", "ListTTL: must not be negative",
		"CacheEntries: must not be negative", "Commerce required"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("New error = %q, want it to contain %q", err, w)
		}
	}
}
