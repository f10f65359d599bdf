package orders

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// A sales order seen open is followed: the next poll names it to the ERP, which reports it
// deleted (as Business Central reports an order a user deleted; the change names only the sales
// order). The poll writes the change as the order's, stops following it, and the order, which
// the warehouse is about to ship, is held in erp_status_conflict with the reason. An order
// Billed leaves the follow list too.
func TestDeletedERPOrderIsHeldForSupport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	h.putTax(t, w, "US", "*", "US-STD")
	o, billed := wfOrder("9312", "SKU-MUG"), wfOrder("9313", "SKU-MUG")
	for _, x := range []*canonicalv1.Order{o, billed} {
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, x)
	}
	w = h.drive(t, w)
	d := h.wantState(t, w, o.GetId(), StateAwaitingAck)
	db := h.wantState(t, w, billed.GetId(), StateAwaitingAck)
	at := h.clock.Now()
	for _, x := range []struct{ so, order string }{{d.SalesOrderID, o.GetId()}, {db.SalesOrderID, billed.GetId()}} {
		h.sys.plantChange(&erpv1.SalesOrderChange{SalesOrderId: x.so, OrderId: x.order, Status: "Open", ModifiedAt: timestamppb.New(at)})
	}
	if _, err := w.PollERPStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if got := followedNow(t, h); !slices.Equal(got, sorted(d.SalesOrderID, db.SalesOrderID)) {
		t.Fatalf("followed after the first poll: %v; want both sales orders", got)
	}
	h.sys.plantGone(&erpv1.SalesOrderChange{SalesOrderId: d.SalesOrderID, Status: "Deleted", Closed: true, Deleted: true,
		ModifiedAt: timestamppb.New(at.Add(3e9))})
	h.sys.plantGone(&erpv1.SalesOrderChange{SalesOrderId: db.SalesOrderID, OrderId: billed.GetId(), Status: "Billed", Closed: true,
		ModifiedAt: timestamppb.New(at.Add(2e9))})
	var before int64
	if err := h.db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM rb_outbox`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := w.PollERPStatus(ctx); err != nil {
		t.Fatal(err)
	}
	f := h.sys.followUp()
	f.mu.Lock()
	asked := f.followed[len(f.followed)-1]
	f.mu.Unlock()
	if !slices.Equal(asked, sorted(d.SalesOrderID, db.SalesOrderID)) {
		t.Errorf("the second poll followed %v; want both sales orders", asked)
	}
	if got := followedNow(t, h); len(got) != 0 {
		t.Errorf("followed after the orders were reported gone: %v; want none", got)
	}
	rows, err := h.db.Query(ctx, `SELECT payload FROM rb_outbox WHERE seq > $1 ORDER BY seq`, before)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*canonicalv1.Event
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		ev, err := events.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	rows.Close()
	if len(evs) != 2 || !slices.ContainsFunc(evs, func(ev *canonicalv1.Event) bool {
		return ev.GetReferences().GetOrderId() == o.GetId() && ev.GetReferences().GetSystemRecordId() == d.SalesOrderID
	}) {
		t.Fatalf("events of the second poll: %v; want the Billed one and the deletion, as order %s's", evs, o.GetId())
	}
	for _, ev := range evs {
		if err := h.db.InTx(ctx, func(tx *store.Tx) error { return w.handleERPEvent(ctx, tx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
	d = h.wantState(t, w, o.GetId(), StateERPConflict)
	if d.ERPStatus != "Deleted" || len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "deleted sales order "+d.SalesOrderID) {
		t.Errorf("ERP status %q, reasons %v; want Deleted, with the reason", d.ERPStatus, d.Reasons)
	}
	if got := h.wantState(t, w, billed.GetId(), StateERPConflict); got.ERPStatus != "Billed" {
		t.Errorf("the billed order's ERP status %q; want Billed", got.ERPStatus)
	}
}

func followedNow(t *testing.T, h *wfHarness) []string {
	t.Helper()
	rows, err := h.db.Query(context.Background(), `SELECT sales_order_id FROM order_erp_follow ORDER BY sales_order_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }
