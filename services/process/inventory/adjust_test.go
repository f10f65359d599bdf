package inventory

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

func adjustBy(sku, loc string, state canonicalv1.InventoryState, delta int64, reason, key string) *inventoryv1.AdjustInventoryRequest {
	return &inventoryv1.AdjustInventoryRequest{Sku: sku, LocationId: loc, State: state,
		Change: &inventoryv1.AdjustInventoryRequest_Delta{Delta: delta}, ReasonCode: reason, IdempotencyKey: key}
}

func adjustTo(sku, loc string, state canonicalv1.InventoryState, to int64, reason, key string) *inventoryv1.AdjustInventoryRequest {
	return &inventoryv1.AdjustInventoryRequest{Sku: sku, LocationId: loc, State: state,
		Change: &inventoryv1.AdjustInventoryRequest_SetTo{SetTo: to}, ReasonCode: reason, IdempotencyKey: key}
}

// asAgent is a support agent with a correlation id on the request.
func asAgent(corr string) context.Context {
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "agent-7", Scopes: []string{"support:write"}})
	return telemetry.WithCorrelationID(ctx, corr)
}

// TestManualAdjustment (SQLite and PostgreSQL): a delta and a set-to each become one ledger
// movement with the cause, reason code, actor and correlation id; a repeat of either key changes
// nothing and answers the first movement; the same key for another adjustment is refused; an
// adjustment that would go below zero is refused with its reason and leaves the figure; bad
// input names every bad field; a storefront caller is refused; 20 concurrent repeats of one key
// add the units once.
func TestManualAdjustment(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newLedger(t, d, Config{})
		const sku, loc = "ADJ-1", "store-nyc-soho"
		first, err := f.svc.AdjustInventory(asAgent("corr-found"), adjustBy(sku, loc, sellable, 5, "found", "k-1"))
		if err != nil {
			t.Fatal(err)
		}
		if first.GetDelta() != 5 || first.GetQuantity() != 5 || first.GetMovementId() == "" || first.GetReplayed() {
			t.Errorf("first adjustment = %v; want +5 to 5 with a movement", first)
		}
		again, err := f.svc.AdjustInventory(asAgent("corr-retry"), adjustBy(sku, loc, sellable, 5, "found", "k-1"))
		if err != nil || !again.GetReplayed() || again.GetMovementId() != first.GetMovementId() || again.GetQuantity() != 5 {
			t.Errorf("repeat = %v, %v; want the first movement replayed at 5", again, err)
		}
		if _, err := f.svc.AdjustInventory(asAgent("c"), adjustBy(sku, loc, sellable, 6, "found", "k-1")); reasonOf(err) != "idempotency_key_reused" {
			t.Errorf("key reused for +6: %v; want idempotency_key_reused", err)
		}
		set, err := f.svc.AdjustInventory(asAgent("corr-count"), adjustTo(sku, loc, canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND, 2, "count_correction", "k-2"))
		if err != nil || set.GetDelta() != -3 || set.GetQuantity() != 2 {
			t.Errorf("set on hand (sellable) to 2 = %v, %v; want -3 to 2", set, err)
		}
		_, err = f.svc.AdjustInventory(asAgent("c"), adjustBy(sku, loc, sellable, -3, "lost", "k-3"))
		if errs.KindOf(err) != errs.FailedPrecondition || reasonOf(err) != "adjustment_below_zero" {
			t.Errorf("-3 from 2: %v; want FailedPrecondition adjustment_below_zero", err)
		}
		if got := f.figures(t, sku, loc)[sellable]; got != 2 {
			t.Errorf("sellable after the refusal = %d; want 2", got)
		}
		checkAdjustLines(t, f, sku, loc)
		checkAdjustRefusals(t, f)
		concurrentAdjust(t, f)
	})
}

// checkAdjustLines reads the position's movements back: two manual lines with their actor,
// reason and correlation id, summing to the figure.
func checkAdjustLines(t *testing.T, f *ledgerFixture, sku, loc string) {
	t.Helper()
	resp, err := f.svc.ListMovements(asSupport(), &inventoryv1.ListMovementsRequest{Sku: sku, LocationId: loc, State: sellable})
	if err != nil {
		t.Fatal(err)
	}
	ms := resp.GetMovements()
	if len(ms) != 2 {
		t.Fatalf("movements = %v; want the two applied adjustments", ms)
	}
	for i, want := range []struct {
		delta       int64
		reason, cor string
	}{{5, "found", "corr-found"}, {-3, "count_correction", "corr-count"}} {
		m := ms[i]
		if m.GetDelta() != want.delta || m.GetCause() != causeManual || m.GetReason() != want.reason ||
			m.GetCorrelationId() != want.cor || m.GetActor() != "support:agent-7" {
			t.Errorf("movement %d = %v; want %+d, cause %s, reason %s, correlation %s, actor support:agent-7", i, m, want.delta, causeManual, want.reason, want.cor)
		}
	}
	if f.explain(t, sku, loc) != 2 {
		t.Errorf("the position is not explained by its two lines")
	}
}

// checkAdjustRefusals sends bad input and a storefront caller.
func checkAdjustRefusals(t *testing.T, f *ledgerFixture) {
	t.Helper()
	bad := &inventoryv1.AdjustInventoryRequest{State: reserved, ReasonCode: "because", Note: ""}
	_, err := f.svc.AdjustInventory(asAgent("c"), bad)
	e := errs.As(err)
	if e == nil || e.Kind != errs.Invalid {
		t.Fatalf("bad adjustment: %v; want Invalid", err)
	}
	var fields []string
	for _, v := range e.Fields {
		fields = append(fields, v.Field)
	}
	for _, want := range []string{"sku", "location_id", "idempotency_key", "state", "delta", "reason_code"} {
		found := false
		for _, f := range fields {
			found = found || f == want
		}
		if !found {
			t.Errorf("bad adjustment names %v; want %s among them", fields, want)
		}
	}
	other := adjustBy("ADJ-2", "dc-east", damaged, 1, "other", "k-other")
	if _, err := f.svc.AdjustInventory(asAgent("c"), other); errs.KindOf(err) != errs.Invalid {
		t.Errorf("reason other without a note: %v; want Invalid", err)
	}
	if _, err := f.svc.AdjustInventory(asCustomer(), adjustBy("ADJ-2", "dc-east", sellable, 1, "found", "k-cust")); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("storefront caller: %v; want PermissionDenied", err)
	}
}

// concurrentAdjust sends one key 20 times at once: the units are added once.
func concurrentAdjust(t *testing.T, f *ledgerFixture) {
	t.Helper()
	const sku, loc = "ADJ-RACE", "dc-east"
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for {
				_, err := f.svc.AdjustInventory(asAgent("c"), adjustBy(sku, loc, damaged, 4, "damaged", "k-race"))
				if errs.KindOf(err) != errs.Conflict {
					if err != nil {
						t.Errorf("concurrent repeat: %v", err)
					}
					return
				}
				time.Sleep(time.Millisecond) // a retry after the in-flight answer, as a client would
			}
		})
	}
	wg.Wait()
	if got := f.figures(t, sku, loc)[damaged]; got != 4 {
		t.Errorf("damaged after 20 concurrent repeats = %d; want 4", got)
	}
}

func reasonOf(err error) string {
	if e := errs.As(err); e != nil {
		return e.Reason
	}
	return ""
}

// TestManualAdjustmentIsPushed: an agent's adjustment at a pushed location reaches the
// storefront (Shopify sandbox through the commerce system API) like any movement.
func TestManualAdjustmentIsPushed(t *testing.T) {
	f := newPushFixture(t)
	const sku = "PUSH-MANUAL"
	f.sb.AddInventoryItem(sku)
	runService(t, f.svc)
	f.move(t, sku, 10)
	f.waitStorefront(t, sku, 9, "the receipt on the storefront (10 less the channel's buffer of 1)")
	if _, err := f.svc.AdjustInventory(asAgent("corr-push"), adjustBy(sku, "dc-east", sellable, -4, "damaged", "push-1")); err != nil {
		t.Fatal(err)
	}
	f.waitStorefront(t, sku, 5, "the manual adjustment on the storefront")
}
