package connectortest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp"
)

// Record kinds, as Stats.Created counts them and Sandbox.Stage reads them.
const (
	RecordSalesOrder          = "sales_order"
	RecordReturnAuthorization = "return_authorization"
	RecordItemReceipt         = "item_receipt"
	RecordCreditMemo          = "credit_memo"
	RecordInventoryAdjustment = "inventory_adjustment"
	RecordItemFulfillment     = "item_fulfillment"
	RecordInvoice             = "invoice"
)

// Stage is where a return authorisation is in its life, whatever the vendor calls it.
type Stage int

// Stages of a return authorisation.
const (
	StageUnknown       Stage = iota
	StageAuthorized          // open, nothing received
	StagePartlyHandled       // some units received or credited, more to come
	StageReceived            // every unit received, not all credited
	StageRefunded            // every unit credited
	StageClosed              // closed before it was done
)

func (s Stage) String() string {
	return [...]string{"unknown", "authorized", "partly handled", "received", "refunded", "closed"}[s]
}

// runWrites adds the write-path scenarios to Run.
func runWrites(t *testing.T, start Start) {
	t.Run("ReturnToRefund", func(t *testing.T) { t.Parallel(); testReturnToRefund(t, start) })
	t.Run("CloseReturnAuthorization", func(t *testing.T) { t.Parallel(); testClose(t, start) })
	t.Run("RepeatedWritesWriteOnce", func(t *testing.T) { t.Parallel(); testRepeatedWrites(t, start) })
	t.Run("RepeatAfterLostAnswer", func(t *testing.T) { t.Parallel(); testRepeatAfterLostAnswer(t, start) })
	t.Run("SameKeyOtherRequest", func(t *testing.T) { t.Parallel(); testSameKeyOtherRequest(t, start) })
	t.Run("WriteFailures", func(t *testing.T) { t.Parallel(); testWriteFailures(t, start) })
	t.Run("SalesOrdersAndAdjustments", func(t *testing.T) { t.Parallel(); testSalesOrdersAndAdjustments(t, start) })
	t.Run("SalesOrderReference", func(t *testing.T) { t.Parallel(); testSalesOrderReference(t, start) })
	t.Run("MaintenanceDuringBurst", func(t *testing.T) { t.Parallel(); testMaintenanceBurst(t, start) })
	t.Run("OrderToCash", func(t *testing.T) { t.Parallel(); testOrderToCash(t, start) })
	t.Run("Cash", func(t *testing.T) { t.Parallel(); testCash(t, start) })
}

// ReturnOf is a return of every unit of every line of o.
func ReturnOf(o demo.Order, id string) *canonicalv1.Return {
	r := &canonicalv1.Return{Id: id, OrderId: o.ID, CustomerId: o.CustomerID}
	for _, l := range o.Lines {
		r.Lines = append(r.Lines, &canonicalv1.ReturnLine{OrderLineId: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity),
			Reason: canonicalv1.ReturnReason_RETURN_REASON_SIZE_OR_FIT})
	}
	return r
}

// eligible is the demo order every write scenario returns: two lines, of one and two units.
func eligible(ds *demo.Dataset) demo.Order { return ds.Scenario(demo.ScenarioEligible) }

func openRMA(tb testing.TB, c erp.Connector, o demo.Order, key string) *erpv1.CreateReturnAuthorizationResponse {
	tb.Helper()
	resp, err := c.CreateReturnAuthorization(ctxFor(tb, 10*time.Second),
		&erpv1.CreateReturnAuthorizationRequest{Return: ReturnOf(o, "ret-"+key), IdempotencyKey: key})
	if err != nil {
		tb.Fatalf("CreateReturnAuthorization(%s): %v", key, err)
	}
	return resp
}

func receiveAll(o demo.Order, rma, key string) *erpv1.CreateItemReceiptRequest {
	req := &erpv1.CreateItemReceiptRequest{ReturnAuthorizationId: rma, LocationId: "7", IdempotencyKey: key}
	for i, l := range o.Lines {
		rl := &erpv1.ReceiptLine{Sku: l.SKU, Quantity: int32(l.Quantity), Restock: true,
			Condition: canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE}
		if i == 1 {
			rl.Restock, rl.Condition = false, canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED
		}
		req.Lines = append(req.Lines, rl)
	}
	return req
}

// creditAll credits every unit at its price, less a restocking fee of 1.00 on the first line.
func creditAll(o demo.Order, rma, key string) *erpv1.CreateCreditMemoRequest {
	req := &erpv1.CreateCreditMemoRequest{ReturnAuthorizationId: rma, IdempotencyKey: key}
	var total int64
	for i, l := range o.Lines {
		amt := l.UnitPriceMinor * int64(l.Quantity)
		if i == 0 {
			amt -= 100
		}
		total += amt
		req.Lines = append(req.Lines, &canonicalv1.CreditMemoLine{Sku: l.SKU, Quantity: int32(l.Quantity),
			Amount: money.New(amt, "USD"), Restock: i == 0})
	}
	req.Total = money.New(total, "USD")
	return req
}

func wantStage(tb testing.TB, sb Sandbox, rma string, want Stage) {
	tb.Helper()
	if got := sb.Stage(RecordReturnAuthorization, rma); got != want {
		tb.Errorf("return authorization %s is %v; want %v", rma, got, want)
	}
}

func wantCreated(tb testing.TB, sb Sandbox, want map[string]int64) {
	tb.Helper()
	got := sb.Stats().Created
	for k, v := range got {
		if v == 0 {
			delete(got, k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("records created mismatch (-want +got):\n%s", diff)
	}
}

func testReturnToRefund(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	o := eligible(ds)
	ctx := ctxFor(t, 20*time.Second)

	rma := openRMA(t, c, o, "r2r-rma")
	if rma.GetReturnAuthorizationId() == "" || rma.GetRmaNumber() == "" || rma.GetStatus() == "" {
		t.Fatalf("CreateReturnAuthorization = %v; want an id, an RMA number and a status", rma)
	}
	id := rma.GetReturnAuthorizationId()
	wantStage(t, sb, id, StageAuthorized)

	receipt, err := c.CreateItemReceipt(ctx, receiveAll(o, id, "r2r-receipt"))
	if err != nil || receipt.GetItemReceiptId() == "" {
		t.Fatalf("CreateItemReceipt = %v, %v; want a receipt", receipt, err)
	}
	wantStage(t, sb, id, StageReceived)

	req := creditAll(o, id, "r2r-memo")
	memo, err := c.CreateCreditMemo(ctx, req)
	if err != nil {
		t.Fatalf("CreateCreditMemo: %v", err)
	}
	want := &canonicalv1.CreditMemo{
		Id: memo.GetId(), Number: memo.GetNumber(), ReturnAuthorizationId: id, Lines: req.GetLines(), Total: req.GetTotal(),
		Status: canonicalv1.CreditMemoStatus_CREDIT_MEMO_STATUS_OPEN, CreatedAt: memo.GetCreatedAt(),
	}
	if diff := cmp.Diff(want, memo, protocmp.Transform()); diff != "" {
		t.Errorf("credit memo mismatch (-want +got):\n%s", diff)
	}
	if memo.GetId() == "" || memo.GetNumber() == "" || memo.GetCreatedAt() == nil {
		t.Errorf("credit memo %v; want an id, a number and a creation time", memo)
	}
	wantStage(t, sb, id, StageRefunded)

	// Closing a refunded RMA, as a late compensation might, changes nothing.
	if err := c.CloseReturnAuthorization(ctx, &erpv1.CloseReturnAuthorizationRequest{ReturnAuthorizationId: id, IdempotencyKey: "r2r-close"}); err != nil {
		t.Errorf("CloseReturnAuthorization after the refund: %v; want nil", err)
	}
	wantStage(t, sb, id, StageRefunded)
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 1, RecordItemReceipt: 1, RecordCreditMemo: 1})
}

func testClose(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	o := eligible(ds)
	ctx := ctxFor(t, 10*time.Second)
	id := openRMA(t, c, o, "close-rma").GetReturnAuthorizationId()
	for _, key := range []string{"close-1", "close-1", "close-2"} {
		if err := c.CloseReturnAuthorization(ctx, &erpv1.CloseReturnAuthorizationRequest{ReturnAuthorizationId: id, IdempotencyKey: key}); err != nil {
			t.Fatalf("CloseReturnAuthorization(%s): %v", key, err)
		}
		wantStage(t, sb, id, StageClosed)
	}
	_, err := c.CreateItemReceipt(ctx, receiveAll(o, id, "close-receipt"))
	WantErr(t, err, errs.FailedPrecondition, "erp_rejected_change")
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 1})
}

// testRepeatedWrites sends every write twice in a row and five times at once with one key each,
// some while the vendor's jobs are slow to complete: each key writes one record, and every
// attempt returns it.
func testRepeatedWrites(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	o := eligible(ds)
	ctx := ctxFor(t, 20*time.Second)

	repeat := func(name string, call func() (any, error)) any {
		t.Helper()
		first, err := call()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var wg sync.WaitGroup
		got := make([]any, 6)
		errc := make([]error, 6)
		got[0], errc[0] = call() // in a row
		for i := 1; i < len(got); i++ {
			wg.Go(func() { got[i], errc[i] = call() }) // at once
		}
		wg.Wait()
		for i := range got {
			if errc[i] != nil {
				t.Errorf("%s repeat %d: %v", name, i, errc[i])
				continue
			}
			if diff := cmp.Diff(first, got[i], protocmp.Transform()); diff != "" {
				t.Errorf("%s repeat %d differs from the first answer (-first +repeat):\n%s", name, i, diff)
			}
		}
		return first
	}

	rma := repeat("CreateReturnAuthorization", func() (any, error) {
		return c.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{Return: ReturnOf(o, "ret-rep"), IdempotencyKey: "rep-rma"})
	}).(*erpv1.CreateReturnAuthorizationResponse).GetReturnAuthorizationId()
	sb.SetAsyncDelay(100 * time.Millisecond)
	repeat("CreateItemReceipt", func() (any, error) { return c.CreateItemReceipt(ctx, receiveAll(o, rma, "rep-receipt")) })
	sb.SetAsyncDelay(0)
	memo := repeat("CreateCreditMemo", func() (any, error) { return c.CreateCreditMemo(ctx, creditAll(o, rma, "rep-memo")) })
	if memo.(*canonicalv1.CreditMemo).GetId() == "" {
		t.Errorf("credit memo without an id")
	}
	repeat("RecordInventoryAdjustment", func() (any, error) {
		return c.RecordInventoryAdjustment(ctx, writeOff(o.Lines[1].SKU, "rep-adjustment"))
	})
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 1, RecordItemReceipt: 1, RecordCreditMemo: 1, RecordInventoryAdjustment: 1})
	wantStage(t, sb, rma, StageRefunded)
}

func writeOff(sku, key string) *erpv1.RecordInventoryAdjustmentRequest {
	return &erpv1.RecordInventoryAdjustmentRequest{
		Adjustment: &canonicalv1.InventoryAdjustment{Sku: sku, LocationId: "7", Quantity: 1, Reason: "return_damaged",
			FromState: canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED},
		Disposition: canonicalv1.Disposition_DISPOSITION_WRITE_OFF, Value: money.New(1999, "USD"), IdempotencyKey: key,
	}
}

// testRepeatAfterLostAnswer gives up on a write while the vendor is still working on it, as a
// caller whose deadline passed or whose process died would, then repeats it: the repeat finds
// the first attempt's record instead of writing a second one.
func testRepeatAfterLostAnswer(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	o := eligible(ds)
	// The vendor writes at once but reports the job done only after the caller's deadline.
	sb.SetAsyncDelay(1200 * time.Millisecond)
	req := &erpv1.CreateReturnAuthorizationRequest{Return: ReturnOf(o, "ret-lost"), IdempotencyKey: "lost-rma"}
	short, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err := c.CreateReturnAuthorization(short, req)
	WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 1}) // written, answer lost

	resp, err := c.CreateReturnAuthorization(ctxFor(t, 5*time.Second), req)
	if err != nil {
		t.Fatalf("repeat: %v", err)
	}
	wantStage(t, sb, resp.GetReturnAuthorizationId(), StageAuthorized)
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 1})
}

func testSameKeyOtherRequest(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	o := eligible(ds)
	rma := openRMA(t, c, o, "same-key").GetReturnAuthorizationId()
	other := ReturnOf(o, "ret-same-key")
	other.Lines = other.Lines[:1]
	_, err := c.CreateReturnAuthorization(ctxFor(t, 5*time.Second),
		&erpv1.CreateReturnAuthorizationRequest{Return: other, IdempotencyKey: "same-key"})
	e := WantErr(t, err, errs.FailedPrecondition, "idempotency_key_reused")
	if e != nil && e.Retryable {
		t.Errorf("idempotency_key_reused is retryable; want not")
	}
	// The same key on another operation is another key.
	if err := c.CloseReturnAuthorization(ctxFor(t, 5*time.Second),
		&erpv1.CloseReturnAuthorizationRequest{ReturnAuthorizationId: rma, IdempotencyKey: "same-key"}); err != nil {
		t.Errorf("CloseReturnAuthorization with a key used by another operation: %v", err)
	}
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 1})
}

func testWriteFailures(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	o := eligible(ds)
	ctx := ctxFor(t, 20*time.Second)
	rma := openRMA(t, c, o, "fail-rma").GetReturnAuthorizationId()
	if _, err := c.CreateItemReceipt(ctx, receiveAll(o, rma, "fail-receipt-1")); err != nil {
		t.Fatalf("first receipt: %v", err)
	}
	notOnOrder := ReturnOf(o, "ret-x")
	notOnOrder.Lines[0].OrderLineId, notOnOrder.Lines[0].Sku = "", ds.Items[len(ds.Items)-1].SKU
	tooMany := receiveAll(o, rma, "fail-too-many")
	tooMany.Lines[0].Quantity = 9
	euro := creditAll(o, rma, "fail-eur")
	euro.Total.CurrencyCode = "EUR"
	for _, l := range euro.Lines {
		l.Amount.CurrencyCode = "EUR"
	}
	tests := []struct {
		name   string
		call   func() error
		kind   errs.Kind
		reason string
	}{
		{"unknown sales order", func() error {
			_, err := c.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{Return: ReturnOf(o, "r"),
				SalesOrderId: "999999", IdempotencyKey: "fail-1"})
			return err
		}, errs.NotFound, "sales_order_not_found"},
		{"order never synchronised", func() error {
			r := ReturnOf(o, "r")
			r.OrderId = "424242"
			_, err := c.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{Return: r, IdempotencyKey: "fail-2"})
			return err
		}, errs.NotFound, "sales_order_not_found"},
		{"line not on the order", func() error {
			_, err := c.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{Return: notOnOrder, IdempotencyKey: "fail-3"})
			return err
		}, errs.FailedPrecondition, "return_line_not_on_order"},
		{"unknown RMA", func() error {
			_, err := c.CreateItemReceipt(ctx, receiveAll(o, "999999", "fail-4"))
			return err
		}, errs.NotFound, "return_authorization_not_found"},
		{"more than authorised", func() error { _, err := c.CreateItemReceipt(ctx, tooMany); return err },
			errs.FailedPrecondition, "line_not_authorized"},
		{"received twice", func() error {
			_, err := c.CreateItemReceipt(ctx, receiveAll(o, rma, "fail-receipt-2"))
			return err
		}, errs.FailedPrecondition, "erp_rejected_change"},
		{"another currency", func() error { _, err := c.CreateCreditMemo(ctx, euro); return err },
			errs.Invalid, "currency_not_supported"},
		{"close unknown RMA", func() error {
			return c.CloseReturnAuthorization(ctx, &erpv1.CloseReturnAuthorizationRequest{ReturnAuthorizationId: "999999", IdempotencyKey: "fail-5"})
		}, errs.NotFound, "return_authorization_not_found"},
		{"adjust unknown item", func() error {
			_, err := c.RecordInventoryAdjustment(ctx, writeOff("NOPE-404", "fail-6"))
			return err
		}, errs.NotFound, "item_not_found"},
		{"unknown sales order status", func() error { _, err := c.GetSalesOrder(ctx, "999999"); return err },
			errs.NotFound, "sales_order_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { WantErr(t, tt.call(), tt.kind, tt.reason) })
	}
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 1, RecordItemReceipt: 1})
	wantStage(t, sb, rma, StageReceived)
}

func testSalesOrdersAndAdjustments(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	order := &canonicalv1.Order{Id: "9100001", Name: "#9001", Customer: &canonicalv1.CustomerRef{Id: ds.Customers[0].ID},
		Total: money.New(2*ds.Items[0].PriceMinor, "USD")}
	order.Lines = append(order.Lines, &canonicalv1.OrderLine{Id: "910000101", Sku: ds.Items[0].SKU, Quantity: 2,
		UnitPrice: money.New(ds.Items[0].PriceMinor, "USD")})
	created, err := c.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{Order: order, IdempotencyKey: "so-1"})
	if err != nil || created.GetSalesOrderId() == "" || created.GetNumber() == "" {
		t.Fatalf("CreateSalesOrder = %v, %v; want an id and a number", created, err)
	}
	again, err := c.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{Order: order, IdempotencyKey: "so-2"})
	if err != nil || !cmp.Equal(created, again, protocmp.Transform()) {
		t.Errorf("booking the order again (another key) = %v, %v; want the first booking %v", again, err, created)
	}
	st, err := c.GetSalesOrder(ctx, created.GetSalesOrderId())
	if err != nil || st.GetSalesOrderId() != created.GetSalesOrderId() || st.GetStatus() == "" {
		t.Errorf("GetSalesOrder = %v, %v; want its status", st, err)
	}
	adj, err := c.RecordInventoryAdjustment(ctx, writeOff(ds.Items[0].SKU, "adj-1"))
	if err != nil || adj.GetAdjustmentId() == "" {
		t.Errorf("RecordInventoryAdjustment = %v, %v; want an id", adj, err)
	}
	wantCreated(t, sb, map[string]int64{RecordSalesOrder: 1, RecordInventoryAdjustment: 1})
}

// testSalesOrderReference authorises returns against the sales order named by its ERP id, by the
// storefront order id in its place, or not named at all; an ERP id of another order's sales order
// is refused.
func testSalesOrderReference(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	o := eligible(ds)
	booked := func(o demo.Order) string {
		t.Helper()
		order := &canonicalv1.Order{Id: o.ID, Customer: &canonicalv1.CustomerRef{Id: o.CustomerID}}
		for _, l := range o.Lines {
			order.Lines = append(order.Lines, &canonicalv1.OrderLine{Id: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity)})
		}
		resp, err := c.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{Order: order, IdempotencyKey: "book-" + o.ID})
		if err != nil {
			t.Fatalf("CreateSalesOrder(%s): %v", o.ID, err)
		}
		return resp.GetSalesOrderId()
	}
	mine, other := booked(o), booked(ds.Scenario(demo.ScenarioMultipleQuantity))
	for i, ref := range []string{mine, o.ID, ""} {
		_, err := c.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{Return: ReturnOf(o, fmt.Sprintf("ref-%d", i)),
			SalesOrderId: ref, IdempotencyKey: fmt.Sprintf("ref-%d", i)})
		if err != nil {
			t.Errorf("sales order named %q: %v", ref, err)
		}
	}
	_, err := c.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{Return: ReturnOf(o, "ref-x"),
		SalesOrderId: other, IdempotencyKey: "ref-x"})
	WantErr(t, err, errs.FailedPrecondition, "sales_order_mismatch")
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: 3})
}

// testMaintenanceBurst fires a burst of return authorisations, as many callers at once, and puts
// the vendor into a maintenance window in the middle of it. The callers retry when told to, after
// the hint they were given (that is their job, not the connector's). The connector must fail fast
// during the window, send only probes to the vendor once the window should have ended, never
// exceed the account's concurrency limit, and after the window every create must have written
// exactly one record.
func testMaintenanceBurst(t *testing.T, start Start) {
	const (
		creates    = 50
		limit      = 5
		windowLen  = 1500 * time.Millisecond
		retryAfter = time.Second
	)
	ds := Catalogue(t)
	sb := start(t, ds)
	sb.SetConcurrencyLimit(limit)
	sb.SetLatency(5 * time.Millisecond)
	c := sb.Connect(t, Options{MaxConcurrency: limit})
	o := eligible(ds)

	ctx := ctxFor(t, 25*time.Second)
	ids := make([]string, creates)
	var succeeded, toldToWait, attempts atomic.Int64
	var failures sync.Map
	var wg sync.WaitGroup
	for i := range creates {
		wg.Go(func() {
			req := &erpv1.CreateReturnAuthorizationRequest{Return: ReturnOf(o, fmt.Sprintf("burst-%02d", i)),
				IdempotencyKey: fmt.Sprintf("burst-%02d", i)}
			for ctx.Err() == nil {
				attempts.Add(1)
				call, cancel := context.WithTimeout(ctx, 5*time.Second)
				resp, err := c.CreateReturnAuthorization(call, req)
				cancel()
				if err == nil {
					ids[i] = resp.GetReturnAuthorizationId()
					succeeded.Add(1)
					return
				}
				e := errs.As(err)
				if e == nil || !e.Retryable {
					failures.Store(i, err)
					return
				}
				if e.Reason == "erp_maintenance" {
					toldToWait.Add(1)
				}
				_ = vendorhttp.Sleep(ctx, min(max(e.RetryAfter, 20*time.Millisecond), 2*time.Second))
			}
		})
	}

	// The window opens once the burst is under way.
	for succeeded.Load() < 5 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	before := sb.Stats()
	sb.SetMaintenance(true, retryAfter)
	_ = vendorhttp.Sleep(ctx, windowLen)
	sb.SetMaintenance(false, 0)
	during := sb.Stats()
	doneAtWindowEnd := succeeded.Load()
	wg.Wait()
	after := sb.Stats()

	failures.Range(func(k, v any) bool {
		t.Errorf("create %v failed for good: %v", k, v)
		return true
	})
	seen := map[string]bool{}
	for i, id := range ids {
		if id == "" {
			t.Errorf("create %d never succeeded", i)
			continue
		}
		if seen[id] {
			t.Errorf("creates share record %s", id)
		}
		seen[id] = true
	}
	inWindow := during.Maintenance - before.Maintenance
	repeats := "n/a"
	if r, ok := c.(interface{ Repeats() int64 }); ok {
		repeats = fmt.Sprint(r.Repeats())
	}
	t.Logf("burst of %d creates (%d attempts by the callers): %d done before the window closed; "+
		"%d vendor calls in the %v window (the first wave plus probes); callers told to wait %d times; "+
		"%d vendor requests in all, max %d in flight (limit %d), %d refused; %s writes resolved through the earlier job; "+
		"%d records created",
		creates, attempts.Load(), doneAtWindowEnd, inWindow, windowLen, toldToWait.Load(),
		after.Requests, after.MaxInFlight, limit, after.Refused, repeats, after.Created[RecordReturnAuthorization])
	if most := int64(limit + 3); inWindow > most {
		t.Errorf("the vendor saw %d calls during the window; want at most %d (the calls already under way, then one probe at a time)", inWindow, most)
	}
	if toldToWait.Load() == 0 {
		t.Errorf("no caller was told to wait; want erp_maintenance answers during the window")
	}
	if after.MaxInFlight > limit || after.Refused != 0 {
		t.Errorf("max %d in flight, %d refused; want at most %d and none refused", after.MaxInFlight, after.Refused, limit)
	}
	wantCreated(t, sb, map[string]int64{RecordReturnAuthorization: creates})
}
