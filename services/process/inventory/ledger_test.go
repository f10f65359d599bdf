package inventory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// ledgerFixture is the service over a fresh store of one engine, with no bus and no warehouse:
// events are handed to it the way the consumer does, inside a transaction.
type ledgerFixture struct {
	svc   *Service
	db    *store.DB
	clock *clock
}

func newLedger(t testing.TB, d store.Dialect, cfg Config) *ledgerFixture {
	t.Helper()
	clk := &clock{t: start}
	db := storetest.Open(t, d, store.Options{})
	svc, err := New(cfg, Deps{DB: db, Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &ledgerFixture{svc: svc, db: db, clock: clk}
}

// event builds a canonical event of type typ carrying data, as a system API publishes it.
func event(t testing.TB, typ canonicalv1.EventType, id string, at time.Time, data proto.Message, recordID string) *canonicalv1.Event {
	t.Helper()
	payload, err := anypb.New(data)
	if err != nil {
		t.Fatal(err)
	}
	return &canonicalv1.Event{Id: id, Source: "retailbridge/system/wms", Type: events.TypeName(typ), Time: timestamppb.New(at),
		Data: payload, SpecVersion: 1, CorrelationId: "corr-" + id,
		References: &canonicalv1.EventReferences{SystemRecordId: recordID}}
}

// deliver hands ev to the ledger the way the consumer does.
func (f *ledgerFixture) deliver(t testing.TB, ev *canonicalv1.Event) {
	t.Helper()
	err := f.db.InTx(context.Background(), func(tx *store.Tx) error { return f.svc.handleEvent(context.Background(), tx, ev) })
	if err != nil {
		t.Fatalf("handle %s %s: %v", ev.GetType(), ev.GetId(), err)
	}
}

func adjustment(sku, loc string, from, to canonicalv1.InventoryState, qty int64, at time.Time, record string) *canonicalv1.InventoryAdjustment {
	return &canonicalv1.InventoryAdjustment{Sku: sku, LocationId: loc, FromState: from, ToState: to, Quantity: qty,
		OccurredAt: timestamppb.New(at), SourceRecordId: record, Reason: "test"}
}

func countOf(sku, loc string, at time.Time, q map[canonicalv1.InventoryState]int64) *canonicalv1.InventoryPosition {
	p := &canonicalv1.InventoryPosition{Sku: sku, LocationId: loc, AsOf: timestamppb.New(at)}
	for st, n := range q {
		p.Quantities = append(p.Quantities, &canonicalv1.InventoryQuantity{State: st, Quantity: n})
	}
	return p
}

// figures reads the position of sku at loc per state (zero states left out).
func (f *ledgerFixture) figures(t testing.TB, sku, loc string) map[canonicalv1.InventoryState]int64 {
	t.Helper()
	qs, err := stateQuantities(context.Background(), f.db, sku, loc)
	if err != nil {
		t.Fatal(err)
	}
	for st, n := range qs {
		if n == 0 {
			delete(qs, st)
		}
	}
	return qs
}

// explain checks that the movements listed for every state of sku at loc add up to the
// position's figure, page by page, and returns how many lines there are.
func (f *ledgerFixture) explain(t testing.TB, sku, loc string) int {
	t.Helper()
	lines := 0
	for _, st := range append([]canonicalv1.InventoryState{canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED}, ledgerStates...) {
		var sum int64
		var resp *inventoryv1.ListMovementsResponse
		tok := ""
		for {
			var err error
			resp, err = f.svc.ListMovements(asSupport(), &inventoryv1.ListMovementsRequest{Sku: sku, LocationId: loc, State: st, PageSize: 2, PageToken: tok})
			if err != nil {
				t.Fatalf("ListMovements %s: %v", st, err)
			}
			for _, m := range resp.GetMovements() {
				sum += m.GetDelta()
				if m.GetCause() == "" || m.GetSourceRecordId() == "" || m.GetMovementId() == "" || m.GetOccurredAt() == nil {
					t.Errorf("movement %d has no cause, source record or time: %v", m.GetSequence(), m)
				}
				if st != canonicalv1.InventoryState_INVENTORY_STATE_UNSPECIFIED {
					lines++
				}
			}
			if tok = resp.GetNextPageToken(); tok == "" {
				break
			}
		}
		if sum != resp.GetQuantity() {
			t.Errorf("%s: movements sum to %d, position says %d", st, sum, resp.GetQuantity())
		}
	}
	return lines
}

func forEachEngine(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// TestLedgerFollowsTheWarehouse feeds a receipt, an adjustment, returns received and inspected
// (restock and write-off) and a shipment, and checks every state's figure and that the
// movements explain each one.
func TestLedgerFollowsTheWarehouse(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newLedger(t, d, Config{})
		const sku, loc = "SKU-1", "dc-east"
		at := start.Add(time.Minute)
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "ev-1", at,
			adjustment(sku, loc, 0, 0, 50, at, "RCPT-1"), "RCPT-1"))
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_ADJUSTED, "ev-2", at.Add(time.Minute),
			adjustment(sku, loc, sellable, damaged, 3, at.Add(time.Minute), "ADJ-1"), "ADJ-1"))
		ret := &canonicalv1.Return{Id: "R-1", OrderId: "O-9", ExternalIds: map[string]string{returnLocationKey: loc},
			Lines: []*canonicalv1.ReturnLine{{Sku: sku, Quantity: 2}, {Sku: sku, Quantity: 1}}}
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_RECEIVED, "ev-3", at.Add(2*time.Minute), ret, "RC-1"))
		inspected := proto.Clone(ret).(*canonicalv1.Return)
		inspected.Lines[0].Disposition = canonicalv1.Disposition_DISPOSITION_RESTOCK
		inspected.Lines[1].Condition = canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED, "ev-4", at.Add(3*time.Minute), inspected, "RC-1"))
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_SHIPPING_ORDER_SHIPPED, "ev-5", at.Add(4*time.Minute),
			&canonicalv1.Shipment{Id: "SH-1", OrderId: "O-1", FromLocationId: loc, ShippedAt: timestamppb.New(at.Add(4 * time.Minute)),
				Lines: []*canonicalv1.ShipmentLine{{Sku: sku, Quantity: 4}}}, "SH-1"))

		want := map[canonicalv1.InventoryState]int64{sellable: 50 - 3 + 2 - 4, damaged: 3 + 1}
		if diff := cmp.Diff(want, f.figures(t, sku, loc)); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
		if n := f.explain(t, sku, loc); n < 8 {
			t.Errorf("explained by %d lines, want at least 8", n)
		}
	})
}

// TestDuplicatesChangeNothingTwice delivers the same records again: under the same event id (a
// redelivery the inbox would also catch), and under new event ids (a vendor re-sending the same
// adjustment, a 3PL re-sending an advice), and the same count twice.
func TestDuplicatesChangeNothingTwice(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newLedger(t, d, Config{})
		const sku, loc = "SKU-2", "dc-west"
		at := start.Add(time.Hour)
		rcpt := adjustment(sku, loc, 0, sellable, 10, at, "RCPT-7")
		cnt := countOf(sku, loc, at.Add(time.Minute), map[canonicalv1.InventoryState]int64{sellable: 12})
		for i := range 3 {
			f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, fmt.Sprintf("rc-%d", i), at, rcpt, ""))
			f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED, fmt.Sprintf("ct-%d", i), at.Add(time.Minute), cnt, "CNT-1"))
		}
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{sellable: 12}, f.figures(t, sku, loc)); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
		f.explain(t, sku, loc)
	})
}

// TestOutOfOrderEvents delivers records late, across counts: a count older than the newest count
// is superseded; a receipt that happened before the newest count is already in it; a count that
// arrives after movements that happened later keeps those movements.
func TestOutOfOrderEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newLedger(t, d, Config{})
		const sku, loc = "SKU-3", "store-nyc"
		t0 := start.Add(time.Hour)
		recv := func(id string, qty int64, at time.Time) {
			f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, id, at, adjustment(sku, loc, 0, 0, qty, at, id), id))
		}
		count := func(id string, qty int64, at time.Time) {
			f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED, id, at,
				countOf(sku, loc, at, map[canonicalv1.InventoryState]int64{sellable: qty, damaged: 1}), id))
		}
		recv("R1", 20, t0)
		count("C1", 18, t0.Add(10*time.Minute)) // two units lost, one damaged found: 18 sellable + 1 damaged
		recv("R2", 5, t0.Add(20*time.Minute))
		// Late: a count taken at t0+15m, before R2 happened but delivered after it; it found 17.
		count("C2", 17, t0.Add(15*time.Minute))
		// Later still: the count at t0+5m (older than the newest) and a receipt from t0+12m
		// (already inside C2's figure).
		count("C0", 99, t0.Add(5*time.Minute))
		recv("R0", 7, t0.Add(12*time.Minute))

		want := map[canonicalv1.InventoryState]int64{sellable: 17 + 5, damaged: 1}
		if diff := cmp.Diff(want, f.figures(t, sku, loc)); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
		var superseded int
		if err := f.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM inventory_sources WHERE outcome = $1`, outcomeSuperseded).Scan(&superseded); err != nil {
			t.Fatal(err)
		}
		if superseded != 2 {
			t.Errorf("superseded records = %d, want 2 (C0 and R0)", superseded)
		}
		f.explain(t, sku, loc)
	})
}

// TestInspectionBeforeReceipt delivers a return's inspection before its receipt: the two commute.
func TestInspectionBeforeReceipt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newLedger(t, d, Config{})
		ret := &canonicalv1.Return{Id: "R-5", ExternalIds: map[string]string{returnLocationKey: "dc-east"},
			Lines: []*canonicalv1.ReturnLine{{Sku: "SKU-5", Quantity: 2, Disposition: canonicalv1.Disposition_DISPOSITION_WRITE_OFF}}}
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_INSPECTED, "in", start, ret, "RC-5"))
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_RETURN_RECEIVED, "rc", start, ret, "RC-5"))
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{damaged: 2}, f.figures(t, "SKU-5", "dc-east")); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
	})
}

// TestLedgerIsAppendOnly tries to rewrite history.
func TestLedgerIsAppendOnly(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		f := newLedger(t, d, Config{})
		f.deliver(t, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, "e", start, adjustment("S", "L", 0, 0, 1, start, "X"), "X"))
		ctx := context.Background()
		if _, err := f.db.Exec(ctx, `UPDATE inventory_movements SET delta = 100`); err == nil {
			t.Error("UPDATE of a movement succeeded")
		}
		if _, err := f.db.Exec(ctx, `DELETE FROM inventory_movements`); err == nil {
			t.Error("DELETE of a movement succeeded")
		}
	})
}

// TestConcurrentCountsAndReceipts delivers 40 receipts and 4 counts of one position all at once
// through two replicas: the rules make the result independent of the order they are applied in
// (the newest count plus the receipts after it), so any interleaving must end there.
func TestConcurrentCountsAndReceipts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d store.Dialect) {
		r := newReplicas(t, d, 2, Config{})
		const sku, loc = "CC-1", "dc-west"
		var evs []*canonicalv1.Event
		for i := 1; i <= 40; i++ {
			at := start.Add(time.Duration(i) * time.Second)
			id := fmt.Sprintf("R%d", i)
			evs = append(evs, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_RECEIVED, id, at, adjustment(sku, loc, 0, 0, 1, at, id), id))
		}
		for _, c := range []struct {
			sec int
			qty int64
		}{{10, 100}, {20, 200}, {30, 300}, {35, 350}} {
			at := start.Add(time.Duration(c.sec) * time.Second)
			id := fmt.Sprintf("C%d", c.sec)
			evs = append(evs, event(t, canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED, id, at,
				countOf(sku, loc, at, map[canonicalv1.InventoryState]int64{sellable: c.qty}), id))
		}
		var wg sync.WaitGroup
		for i, ev := range evs {
			wg.Go(func() {
				if err := r.svcs[i%2].ApplyEvent(context.Background(), ev); err != nil {
					t.Errorf("apply %s: %v", ev.GetId(), err)
				}
			})
		}
		wg.Wait()
		if diff := cmp.Diff(map[canonicalv1.InventoryState]int64{sellable: 350 + 5}, r.figures(t, sku, loc)); diff != "" {
			t.Errorf("figures (-want +got):\n%s", diff)
		}
		(&ledgerFixture{svc: r.svcs[0], db: r.db}).explain(t, sku, loc)
	})
}
