package orders

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/testkit"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

func TestPollStartsTheWorkflowOfAMissedOrder(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Run("unknown to the store", func(t *testing.T) { testPollStartsTheWorkflowOfAMissedOrder(t, d, false) })
			// The customer looked at the order before the poll: the store read it from the
			// platform, and still no event brought it.
			t.Run("read before the poll", func(t *testing.T) { testPollStartsTheWorkflowOfAMissedOrder(t, d, true) })
		})
	}
}

// An order's orders/create webhook is lost at the gateway (held, never ingested): the repair
// poll finds the order and its workflow starts, through the order workflow's own consumer of the
// commerce stream, as from the webhook. Polled again, and then the webhook arriving late: still
// one workflow and one ERP sales order.
func testPollStartsTheWorkflowOfAMissedOrder(t *testing.T, d store.Dialect, readFirst bool) {
	rig := newStoreRig(t, d, StoreConfig{})
	ctx := context.Background()
	if _, err := rig.svc.PollOnce(ctx); err != nil { // starts the watermark
		t.Fatal(err)
	}
	h := newWFHarness(t, d)
	h.js = rig.svc.js // the workflow consumes the commerce stream the commerce system API publishes to
	for _, l := range someLines {
		h.sys.items[l.SKU] = &erpv1.Item{Sku: l.SKU, ErpId: "9" + l.SKU, Category: "apparel"}
	}
	w := h.workflow(t)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("order workflow: %v", err)
		}
	})

	rig.holdWebhooks(true)
	id, err := rig.sb.PlaceOrder(firstCustomer(), someLines)
	if err != nil {
		t.Fatal(err)
	}
	lost := rig.takeHeld(1) // orders/create never reaches Retailbridge
	if _, ok, _ := rig.svc.store.get(ctx, id); ok {
		t.Fatal("the store holds the order though its webhook was lost")
	}
	if readFirst {
		if _, err := rig.svc.GetOrder(customerCtx(firstCustomer()), &ordersv1.GetOrderRequest{OrderId: id}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := rig.svc.store.get(ctx, id); !ok {
			t.Fatal("the store did not keep the order it read")
		}
	}
	started := 0
	for range 2 { // polled twice: one orders/create
		res, err := rig.svc.PollOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		started += res.Started
	}
	if started != 1 {
		t.Errorf("the polls published %d orders/create for the missed order, want 1", started)
	}
	o := rig.stored(id).order
	h.putTax(t, w, strings.SplitN(jurisdictionOf(o), "-", 2)[0], "*", "TX-STD")
	testkit.Eventually(t, 30*time.Second, "the missed order's workflow books its sales order", func() bool {
		return h.sys.count("sales_order", id) == 1
	})

	before := h.consumed(t, "orders-workflow-from-commerce")
	if err := rig.ingest(lost[0]); err != nil { // the webhook arrives late
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "the late webhook is consumed by the order workflow", func() bool {
		return h.consumed(t, "orders-workflow-from-commerce") > before
	})
	var workflows int
	if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM rb_workflows WHERE id = $1`, id).Scan(&workflows); err != nil {
		t.Fatal(err)
	}
	if got := h.sys.count("sales_order", id); workflows != 1 || got != 1 {
		t.Errorf("after the late webhook: %d workflows and %d sales orders for order %s, want 1 and 1", workflows, got, id)
	}
}
