package returns

import (
	"context"
	"fmt"
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

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

const (
	ownOrder     = "5100001" // belongs to customerID
	foreignOrder = "5100002" // belongs to someone else
	unknownSKUs  = "5100003" // belongs to customerID; one line's SKU is unknown to the ERP
	customerID   = "7000001"
	// testReturnsLocation is the warehouse sandbox location mailed returns go to in these tests.
	testReturnsLocation = "dc-east"
)

// clock is a settable test clock.
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
	erp      *erpServer
	clock    *clock
}

// newFixture runs the service against in-memory commerce and ERP system APIs over gRPC.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	commerce := &commerceServer{orders: map[string]*canonicalv1.Order{
		ownOrder: testOrder([]*canonicalv1.OrderLine{
			line("L1", "APP-1", 2, 2500), line("L2", "ELC-1", 1, 9999), line("L3", "HOM-1", 1, 1200),
		}),
		foreignOrder: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500)}, func(o *canonicalv1.Order) {
			o.Id, o.Customer = foreignOrder, &canonicalv1.CustomerRef{Id: "7000002"}
		}),
		unknownSKUs: testOrder([]*canonicalv1.OrderLine{line("L1", "APP-1", 1, 2500), line("L2", "ZZZ-404", 1, 2500)}, func(o *canonicalv1.Order) {
			o.Id = unknownSKUs
		}),
	}}
	erp := &erpServer{items: testItems}
	conn := serve(t, func(s *grpc.Server) {
		commercev1.RegisterCommerceServiceServer(s, commerce)
		erpv1.RegisterErpServiceServer(s, erp)
	})
	clk := &clock{t: inWindow}
	svc, err := New(Config{Policy: testPolicy(t), ReturnsLocation: testReturnsLocation}, Deps{
		Commerce: commercev1.NewCommerceServiceClient(conn),
		ERP:      erpv1.NewErpServiceClient(conn),
		Now:      clk.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{svc: svc, commerce: commerce, erp: erp, clock: clk}
}

func asCustomer(id string) context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Storefront, Subject: id})
}

func asAgent() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "agent-1"})
}

func check(orderID string, lines ...*returnsv1.LineSelection) *returnsv1.CheckEligibilityRequest {
	return &returnsv1.CheckEligibilityRequest{OrderId: orderID, Lines: lines}
}

func TestCheckEligibilityOwnership(t *testing.T) {
	t.Parallel()
	notFound := errs.E(errs.NotFound, "order_not_found", "order not found")
	tests := []struct {
		name    string
		ctx     context.Context
		orderID string
		wantErr *errs.Error
	}{
		{name: "customer reads their own order", ctx: asCustomer(customerID), orderID: ownOrder},
		{name: "customer asks about another customer's order", ctx: asCustomer("7000002"), orderID: ownOrder, wantErr: notFound},
		{name: "customer asks about an unknown order", ctx: asCustomer(customerID), orderID: "999", wantErr: notFound},
		{name: "customer without a subject owns nothing", ctx: asCustomer(""), orderID: ownOrder, wantErr: notFound},
		{name: "agent reads any customer's order", ctx: asAgent(), orderID: foreignOrder},
		{name: "agent asks about an unknown order", ctx: asAgent(), orderID: "999", wantErr: notFound},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := f.svc.CheckEligibility(tt.ctx, check(tt.orderID))
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, errs.As(err)); diff != "" {
					t.Errorf("CheckEligibility error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckEligibility: %v", err)
			}
			if got := resp.GetOrderId(); got != tt.orderID {
				t.Errorf("order_id = %q, want %q", got, tt.orderID)
			}
		})
	}
}

func TestCheckEligibilityForeignOrderLooksUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, unknown := f.svc.CheckEligibility(asCustomer(customerID), check("999"))
	_, foreign := f.svc.CheckEligibility(asCustomer(customerID), check(foreignOrder))
	if unknown == nil || foreign == nil {
		t.Fatalf("errors = %v, %v; want two errors", unknown, foreign)
	}
	if diff := cmp.Diff(errs.As(unknown), errs.As(foreign)); diff != "" || unknown.Error() != foreign.Error() {
		t.Errorf("another customer's order answers differently from an unknown one (-unknown +foreign):\n%s", diff)
	}
}

func TestCheckEligibilityRejectsBadRequests(t *testing.T) {
	t.Parallel()
	invalid := func(fields ...errs.FieldViolation) *errs.Error {
		return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(fields...)
	}
	many := make([]*returnsv1.LineSelection, 101)
	for i := range many {
		many[i] = sel(fmt.Sprintf("L%d", i), 1)
	}
	tests := []struct {
		name string
		ctx  context.Context
		req  *returnsv1.CheckEligibilityRequest
		want *errs.Error
	}{
		{
			name: "no principal",
			ctx:  context.Background(),
			req:  check(ownOrder),
			want: errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing"),
		},
		{
			name: "missing order id",
			req:  check(""),
			want: invalid(errs.FieldViolation{Field: "order_id", Description: "required"}),
		},
		{
			name: "too many lines",
			req:  check(ownOrder, many...),
			want: invalid(errs.FieldViolation{Field: "lines", Description: "at most 100 lines, got 101"}),
		},
		{
			name: "every bad field at once",
			req:  check("", sel("L1", 1), sel("", 1), sel("L1", -2)),
			want: invalid(
				errs.FieldViolation{Field: "order_id", Description: "required"},
				errs.FieldViolation{Field: "lines[1].order_line_id", Description: "required"},
				errs.FieldViolation{Field: "lines[2].order_line_id", Description: "repeats lines[0]"},
				errs.FieldViolation{Field: "lines[2].quantity", Description: "must not be negative (0 means every returnable unit)"},
			),
		},
		{
			name: "overlong order id",
			req:  check(strings.Repeat("9", 257)),
			want: invalid(errs.FieldViolation{Field: "order_id", Description: "at most 256 characters"}),
		},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = asCustomer(customerID)
			}
			_, err := f.svc.CheckEligibility(ctx, tt.req)
			if diff := cmp.Diff(tt.want, errs.As(err)); diff != "" {
				t.Errorf("CheckEligibility error (-want +got):\n%s", diff)
			}
		})
	}
	t.Cleanup(func() {
		if n := f.commerce.calls(); n != 0 {
			t.Errorf("bad requests cost %d commerce calls, want 0", n)
		}
	})
}

func TestCheckEligibilityAnswersFromTheSystems(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	loadedAt := f.clock.Now()
	if _, err := f.svc.CheckEligibility(asCustomer(customerID), check(ownOrder, sel("L1", 1))); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Second) // the next answer comes from the cached order

	got, err := f.svc.CheckEligibility(asCustomer(customerID), check(ownOrder))
	if err != nil {
		t.Fatalf("CheckEligibility: %v", err)
	}
	want := Evaluate(testPolicy(t), f.commerce.orders[ownOrder], testItems, nil, f.clock.Now())
	want.OrderAsOf = timestamppb.New(loadedAt)
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("CheckEligibility (-want +got):\n%s", diff)
	}
	if n := len(want.GetLines()); n != 3 || want.GetRefundEstimateTotal().GetAmountMinor() == 0 {
		t.Fatalf("the expected answer has %d lines and total %v; the fixture is wrong", n, want.GetRefundEstimateTotal())
	}
}

func TestCheckEligibilityReadsOnceWhileFresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 100 {
		if _, err := f.svc.CheckEligibility(asCustomer(customerID), check(ownOrder)); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if got := f.commerce.calls(); got != 1 {
		t.Errorf("commerce GetOrder calls = %d, want 1", got)
	}
	if diff := cmp.Diff([][]string{{"APP-1", "ELC-1", "HOM-1"}}, f.erp.calls()); diff != "" {
		t.Errorf("ERP GetItems calls (-want +got):\n%s", diff)
	}
}

func TestCheckEligibilityConcurrentChecksAgree(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var wg sync.WaitGroup
	results := make([]*returnsv1.CheckEligibilityResponse, 50)
	for i := range results {
		wg.Go(func() {
			resp, err := f.svc.CheckEligibility(asCustomer(customerID), check(ownOrder))
			if err != nil {
				t.Errorf("check %d: %v", i, err)
			}
			results[i] = resp
		})
	}
	wg.Wait()
	for i, r := range results[1:] {
		if diff := cmp.Diff(results[0], r, protocmp.Transform()); diff != "" {
			t.Errorf("check %d differs from check 0 (-0 +%d):\n%s", i+1, i+1, diff)
		}
	}
}

func TestCheckEligibilityReloadsAfterTTL(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := asCustomer(customerID)
	checkAt := func(wantCommerce, wantERP int) {
		t.Helper()
		resp, err := f.svc.CheckEligibility(ctx, check(ownOrder))
		if err != nil {
			t.Fatalf("CheckEligibility: %v", err)
		}
		if got := f.commerce.calls(); got != wantCommerce {
			t.Errorf("after %v: commerce calls = %d, want %d", resp.GetOrderAsOf().AsTime(), got, wantCommerce)
		}
		if got := len(f.erp.calls()); got != wantERP {
			t.Errorf("ERP calls = %d, want %d", got, wantERP)
		}
	}
	checkAt(1, 1)
	f.clock.Advance(DefaultOrderTTL - time.Nanosecond)
	checkAt(1, 1)
	f.clock.Advance(time.Nanosecond)
	checkAt(2, 1) // the order expired; items are good for ten minutes
	f.clock.Advance(DefaultItemTTL)
	checkAt(3, 2)

	resp, err := f.svc.CheckEligibility(ctx, check(ownOrder))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.GetOrderAsOf().AsTime(), f.clock.Now(); !got.Equal(want) {
		t.Errorf("order_as_of = %v, want the reload time %v", got, want)
	}
}

func TestCheckEligibilityFetchesOnlyMissingSKUs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := asCustomer(customerID)
	steps := []*returnsv1.CheckEligibilityRequest{
		check(ownOrder, sel("L1", 1)),
		check(ownOrder),                  // L2 and L3 are new
		check(unknownSKUs),               // APP-1 is cached, ZZZ-404 is asked for once
		check(unknownSKUs, sel("L2", 1)), // the ERP's "unknown" is cached too
	}
	for i, req := range steps {
		if _, err := f.svc.CheckEligibility(ctx, req); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	want := [][]string{{"APP-1"}, {"ELC-1", "HOM-1"}, {"ZZZ-404"}}
	if diff := cmp.Diff(want, f.erp.calls()); diff != "" {
		t.Errorf("ERP GetItems calls (-want +got):\n%s", diff)
	}
}

func TestCheckEligibilityAsksAtMost100SKUsPerCall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var lines []*canonicalv1.OrderLine
	for i := range 150 {
		lines = append(lines, line(fmt.Sprintf("L%d", i), fmt.Sprintf("SKU-%03d", i), 1, 1000))
	}
	f.commerce.mu.Lock()
	f.commerce.orders["big"] = testOrder(lines, func(o *canonicalv1.Order) { o.Id = "big" })
	f.commerce.mu.Unlock()
	resp, err := f.svc.CheckEligibility(asAgent(), check("big"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetLines()); n != 150 {
		t.Errorf("answered %d lines, want 150", n)
	}
	var sizes []int
	for _, c := range f.erp.calls() {
		sizes = append(sizes, len(c))
	}
	if diff := cmp.Diff([]int{100, 50}, sizes); diff != "" {
		t.Errorf("GetItems call sizes (-want +got):\n%s", diff)
	}
}

func TestCheckEligibilitySystemErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		breakIt  func(*fixture)
		wantCode codes.Code
		wantErr  *errs.Error // when the answer is ours rather than the system's status
	}{
		{
			name:     "commerce unavailable passes through",
			breakIt:  func(f *fixture) { f.commerce.setFail(status.Error(codes.Unavailable, "shopify is down")) },
			wantCode: codes.Unavailable,
		},
		{
			name:     "ERP deadline passes through",
			breakIt:  func(f *fixture) { f.erp.setFail(status.Error(codes.DeadlineExceeded, "netsuite is slow")) },
			wantCode: codes.DeadlineExceeded,
		},
		{
			name:    "commerce not found is order_not_found",
			breakIt: func(f *fixture) { f.commerce.setFail(status.Error(codes.NotFound, "no such order")) },
			wantErr: errs.E(errs.NotFound, "order_not_found", "order not found"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tt.breakIt(f)
			_, err := f.svc.CheckEligibility(asCustomer(customerID), check(ownOrder))
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, errs.As(err)); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				return
			}
			if got := status.Code(err); got != tt.wantCode {
				t.Errorf("error = %v, want code %v", err, tt.wantCode)
			}
			// Errors are not cached: the next check after recovery succeeds.
			f.commerce.setFail(nil)
			f.erp.setFail(nil)
			if _, err := f.svc.CheckEligibility(asCustomer(customerID), check(ownOrder)); err != nil {
				t.Errorf("check after recovery: %v", err)
			}
		})
	}
}

func TestInvalidateOrderReloads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := asCustomer(customerID)
	for range 2 {
		if _, err := f.svc.CheckEligibility(ctx, check(ownOrder)); err != nil {
			t.Fatal(err)
		}
	}
	f.svc.InvalidateOrder(ownOrder)
	if _, err := f.svc.CheckEligibility(ctx, check(ownOrder)); err != nil {
		t.Fatal(err)
	}
	if got := f.commerce.calls(); got != 2 {
		t.Errorf("commerce calls = %d, want 2 (one before, one after invalidation)", got)
	}
}

func TestWorkflowRPCsAreNotImplemented(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := asAgent()
	calls := map[string]func() error{
		"CreateReturn": func() error { _, err := f.svc.CreateReturn(ctx, &returnsv1.CreateReturnRequest{}); return err },
		"GetReturn":    func() error { _, err := f.svc.GetReturn(ctx, &returnsv1.GetReturnRequest{}); return err },
		"ListReturns":  func() error { _, err := f.svc.ListReturns(ctx, &returnsv1.ListReturnsRequest{}); return err },
		"ResolveException": func() error {
			_, err := f.svc.ResolveException(ctx, &returnsv1.ResolveExceptionRequest{})
			return err
		},
		"OverrideRefund": func() error { _, err := f.svc.OverrideRefund(ctx, &returnsv1.OverrideRefundRequest{}); return err },
		"CancelReturn":   func() error { _, err := f.svc.CancelReturn(ctx, &returnsv1.CancelReturnRequest{}); return err },
	}
	for name, call := range calls {
		want := errs.E(errs.Unimplemented, "not_implemented", name+" is not implemented yet")
		if diff := cmp.Diff(want, errs.As(call())); diff != "" {
			t.Errorf("%s error (-want +got):\n%s", name, diff)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	conn := serve(t, func(*grpc.Server) {})
	deps := Deps{Commerce: commercev1.NewCommerceServiceClient(conn), ERP: erpv1.NewErpServiceClient(conn)}
	tests := []struct {
		name string
		cfg  Config
		deps Deps
		want []string // substrings of the error
	}{
		{name: "valid", cfg: Config{Policy: testPolicy(t), ReturnsLocation: testReturnsLocation}, deps: deps},
		{
			name: "everything wrong at once",
			cfg:  Config{OrderTTL: -1, ItemTTL: -1, CacheEntries: -1, ReturnsLocation: " dc-east"},
			want: []string{"Policy: required", "OrderTTL: must not be negative", "ItemTTL: must not be negative",
				"CacheEntries: must not be negative", "ReturnsLocation: required", "Commerce, ERP required"},
		},
		{
			name: "hand-built invalid policy",
			cfg:  Config{Policy: &Policy{Version: "x", DefaultWindowDays: -1}},
			deps: deps,
			want: []string{"ReturnsLocation: required", "default_window_days: must be between 1 and 3650", "return_methods.ship_to_home: required"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg, tt.deps)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
