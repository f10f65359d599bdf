package connectortest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// runWrites adds the write scenarios to Run.
func runWrites(t *testing.T, newEnv NewEnv) {
	t.Run("RecordRefundOnce", func(t *testing.T) { t.Parallel(); testRecordRefundOnce(t, newEnv) })
	t.Run("RecordRefundInFull", func(t *testing.T) { t.Parallel(); testRefundInFull(t, newEnv) })
	t.Run("ReturnLifecycle", func(t *testing.T) { t.Parallel(); testReturnLifecycle(t, newEnv) })
	t.Run("WriteFailures", func(t *testing.T) { t.Parallel(); testWriteFailures(t, newEnv) })
	t.Run("MutationsQueueOnTheThrottle", func(t *testing.T) { t.Parallel(); testMutationBurst(t, newEnv) })
	t.Run("FulfilmentsWithTracking", func(t *testing.T) { t.Parallel(); testFulfilments(t, newEnv) })
	t.Run("UntrackedDelivery", func(t *testing.T) { t.Parallel(); testUntrackedDelivery(t, newEnv) })
}

// RefundOf refunds units of line i of o at its price, restocking them.
func RefundOf(o demo.Order, i, units int, key string) *commercev1.RecordRefundRequest {
	l := o.Lines[i]
	return &commercev1.RecordRefundRequest{
		OrderId: o.ID, IdempotencyKey: key, GatewayRefundId: "re_" + key,
		Lines:  []*commercev1.RefundLine{{OrderLineId: l.ID, Quantity: int32(units), Restock: true}},
		Amount: money.New(l.UnitPriceMinor*int64(units), o.Currency),
	}
}

// ReturnOf returns every unit of every line of o.
func ReturnOf(o demo.Order) *canonicalv1.Return {
	r := &canonicalv1.Return{OrderId: o.ID, CustomerId: o.CustomerID}
	for _, l := range o.Lines {
		r.Lines = append(r.Lines, &canonicalv1.ReturnLine{OrderLineId: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity),
			Reason: canonicalv1.ReturnReason_RETURN_REASON_SIZE_OR_FIT, Note: "too small"})
	}
	return r
}

// testRecordRefundOnce repeats one refund in a row and at once: every attempt answers the first
// refund, and the order shows one refund's worth.
func testRecordRefundOnce(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 15*time.Second)
	o := env.Dataset.Scenario(demo.ScenarioEligible)
	req := RefundOf(o, 1, 1, "refund-once")
	first, err := env.Connector.RecordRefund(ctx, req)
	if err != nil || first == "" {
		t.Fatalf("RecordRefund = %q, %v; want a refund id", first, err)
	}
	var wg sync.WaitGroup
	ids := make([]string, 6)
	errc := make([]error, 6)
	ids[0], errc[0] = env.Connector.RecordRefund(ctx, req)
	for i := 1; i < len(ids); i++ {
		wg.Go(func() { ids[i], errc[i] = env.Connector.RecordRefund(ctx, req) })
	}
	wg.Wait()
	for i := range ids {
		if errc[i] != nil || ids[i] != first {
			t.Errorf("repeat %d = %q, %v; want the first refund %s", i, ids[i], errc[i], first)
		}
	}
	got, err := env.Connector.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	if q := got.GetLines()[1].GetRefundedQuantity(); q != 1 {
		t.Errorf("refunded quantity %d; want 1 (one refund, however often it was asked for)", q)
	}
	if got.GetFinancialStatus() != canonicalv1.FinancialStatus_FINANCIAL_STATUS_PARTIALLY_REFUNDED {
		t.Errorf("financial status %v; want PARTIALLY_REFUNDED", got.GetFinancialStatus())
	}

	other := RefundOf(o, 0, 1, "refund-once")
	_, err = env.Connector.RecordRefund(ctx, other)
	if e := checkErr(t, err, errs.FailedPrecondition, "idempotency_key_reused"); e.Retryable {
		t.Errorf("idempotency_key_reused is retryable; want not")
	}
}

func testRefundInFull(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 10*time.Second)
	o := env.Dataset.Scenario(demo.ScenarioEligible)
	for i, l := range o.Lines {
		if _, err := env.Connector.RecordRefund(ctx, RefundOf(o, i, l.Quantity, fmt.Sprintf("full-%d", i))); err != nil {
			t.Fatalf("RecordRefund line %d: %v", i, err)
		}
	}
	got, err := env.Connector.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	if got.GetFinancialStatus() != canonicalv1.FinancialStatus_FINANCIAL_STATUS_REFUNDED {
		t.Errorf("financial status %v; want REFUNDED", got.GetFinancialStatus())
	}
	for i, l := range got.GetLines() {
		if l.GetRefundedQuantity() != l.GetQuantity() {
			t.Errorf("line %d refunded %d of %d; want all", i, l.GetRefundedQuantity(), l.GetQuantity())
		}
	}
}

func testReturnLifecycle(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 15*time.Second)
	o := env.Dataset.Scenario(demo.ScenarioEligible)
	ret := ReturnOf(o)
	id, err := env.Connector.CreateReturn(ctx, ret, "return-1")
	if err != nil || id == "" {
		t.Fatalf("CreateReturn = %q, %v; want a return id", id, err)
	}
	for range 2 {
		again, err := env.Connector.CreateReturn(ctx, ret, "return-1")
		if err != nil || again != id {
			t.Errorf("CreateReturn repeated = %q, %v; want the first return %s", again, err, id)
		}
	}
	got, err := env.Connector.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	for i, l := range o.Lines {
		if q := got.GetLines()[i].GetReturnedQuantity(); q != int32(l.Quantity) {
			t.Errorf("line %d returned %d; want %d (one return)", i, q, l.Quantity)
		}
	}
	// Every unit is on a return now: another return (another key) is refused.
	_, err = env.Connector.CreateReturn(ctx, ret, "return-2")
	checkErr(t, err, errs.FailedPrecondition, "commerce_rejected_change")

	for range 2 {
		if err := env.Connector.CloseReturn(ctx, id); err != nil {
			t.Errorf("CloseReturn(%s): %v; want nil, also when it is closed already", id, err)
		}
	}
	// A closed return still counts as returned.
	if got, err = env.Connector.GetOrder(ctx, o.ID); err != nil || got.GetLines()[0].GetReturnedQuantity() != int32(o.Lines[0].Quantity) {
		t.Errorf("after closing: returned %d, %v; want the units still returned", got.GetLines()[0].GetReturnedQuantity(), err)
	}
}

func testWriteFailures(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	ctx := ctxFor(t, 10*time.Second)
	o := env.Dataset.Scenario(demo.ScenarioEligible)
	unfulfilled := env.Dataset.Scenario(demo.ScenarioUnfulfilled)
	tooMuch := RefundOf(o, 0, 1, "fail-amount")
	tooMuch.Amount = money.New(o.TotalMinor()+1, o.Currency)
	tooMany := RefundOf(o, 0, o.Lines[0].Quantity+1, "fail-units")
	notShipped := ReturnOf(unfulfilled)
	moreThanShipped := ReturnOf(o)
	moreThanShipped.Lines[1].Quantity++
	tests := []struct {
		name   string
		call   func() error
		kind   errs.Kind
		reason string
	}{
		{"refund on an unknown order", func() error {
			_, err := env.Connector.RecordRefund(ctx, &commercev1.RecordRefundRequest{OrderId: "999999999", IdempotencyKey: "f1",
				Amount: money.New(100, "USD")})
			return err
		}, errs.NotFound, "order_not_found"},
		{"refund more money than was paid", func() error { _, err := env.Connector.RecordRefund(ctx, tooMuch); return err },
			errs.FailedPrecondition, "commerce_rejected_change"},
		{"refund more units than were bought", func() error { _, err := env.Connector.RecordRefund(ctx, tooMany); return err },
			errs.FailedPrecondition, "commerce_rejected_change"},
		{"return of an order not shipped", func() error { _, err := env.Connector.CreateReturn(ctx, notShipped, "f2"); return err },
			errs.FailedPrecondition, "return_exceeds_fulfilled"},
		{"return of more than shipped", func() error { _, err := env.Connector.CreateReturn(ctx, moreThanShipped, "f3"); return err },
			errs.FailedPrecondition, "return_exceeds_fulfilled"},
		{"return on an unknown order", func() error {
			r := ReturnOf(o)
			r.OrderId = "999999999"
			_, err := env.Connector.CreateReturn(ctx, r, "f4")
			return err
		}, errs.NotFound, "order_not_found"},
		{"close an unknown return", func() error { return env.Connector.CloseReturn(ctx, "999999999") },
			errs.NotFound, "return_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.call(), tt.kind, tt.reason) })
	}
	got, err := env.Connector.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	checkOrder(t, env, o, got) // nothing changed
}

// testMutationBurst sends more refunds at once than the bucket holds: mutations queue on the
// rate-limit model like queries, so all succeed without a THROTTLED answer.
func testMutationBurst(t *testing.T, newEnv NewEnv) {
	env := newEnv(t, Setup{})
	env.SetThrottle(25, 100) // two mutations' worth
	ctx := ctxFor(t, 15*time.Second)
	var orders []demo.Order
	for _, o := range env.Dataset.Orders {
		if o.DeliveredAt != nil && o.FinancialStatus == "PAID" && len(orders) < 12 {
			orders = append(orders, o)
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(orders))
	for i, o := range orders {
		wg.Go(func() {
			if _, err := env.Connector.RecordRefund(ctx, RefundOf(o, 0, 1, fmt.Sprintf("burst-%d", i))); err != nil {
				errc <- fmt.Errorf("order %s: %w", o.ID, err)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("RecordRefund in the burst: %v", err)
	}
	if n := env.Throttled(); n != 0 {
		t.Errorf("sandbox answered THROTTLED %d times, want 0", n)
	}
}
