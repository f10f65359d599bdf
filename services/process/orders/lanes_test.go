package orders

import (
	"context"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// Order work runs in its lane: a tax code that releases every held order releases them as bulk
// work; an agent resolving one order lifts it to the interactive lane, unless the agent's tool
// marks the resolution bulk (the console's bulk resolution of a queue).
func TestOrderWorkRunsInItsLane(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, store.SQLite)
	w := h.workflow(t)
	ids := []string{"9101", "9102", "9103"}
	for _, id := range ids {
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, wfOrder(id, "SKU-MUG"))
	}
	w = h.drive(t, w)
	lane := func(id string) workflow.Lane {
		t.Helper()
		l, err := w.engine.Lane(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, id := range ids {
		h.wantState(t, w, id, StateFailedTax)
		if l := lane(id); l != workflow.LaneInteractive {
			t.Fatalf("a new storefront order runs in lane %d, want interactive", l)
		}
	}
	resolve := func(ctx context.Context, id string) {
		t.Helper()
		if _, err := w.ResolveOrderException(ctx, &ordersv1.ResolveOrderExceptionRequest{OrderId: id,
			Resolution: ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_USE_TAX_CODE, TaxCode: "EXEMPT"}); err != nil {
			t.Fatal(err)
		}
	}
	resolve(governor.WithPriority(wfAgent(), governor.Bulk), ids[0])
	if l := lane(ids[0]); l != workflow.LaneBulk {
		t.Errorf("an order resolved in a bulk resolution runs in lane %d, want bulk", l)
	}
	if _, err := w.PutTaxCode(wfAgent(), &ordersv1.PutTaxCodeRequest{Jurisdiction: "US", Category: "hygiene", TaxCode: "US-HYG"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[1:] {
		if l := lane(id); l != workflow.LaneBulk {
			t.Errorf("order %s released by a tax code runs in lane %d, want bulk", id, l)
		}
	}
	w = h.drive(t, w)
	h.wantState(t, w, ids[1], StateFailedTax) // still no code for its other category: held again
	resolve(wfAgent(), ids[1])
	if l := lane(ids[1]); l != workflow.LaneInteractive {
		t.Errorf("an order an agent resolves runs in lane %d, want interactive", l)
	}
}
