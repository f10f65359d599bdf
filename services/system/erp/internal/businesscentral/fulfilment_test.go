package businesscentral_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	bcsandbox "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/businesscentral"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
)

// shipAll is a fulfilment of every unit of a demo order.
func shipAll(so string, o demo.Order, key string) *erpv1.CreateItemFulfillmentRequest {
	req := &erpv1.CreateItemFulfillmentRequest{SalesOrderId: so, LocationId: "MAIN", TrackingNumber: "1Z" + key, IdempotencyKey: key}
	for _, l := range o.Lines {
		req.Lines = append(req.Lines, &erpv1.FulfillmentLine{Sku: l.SKU, Quantity: int32(l.Quantity)})
	}
	return req
}

// A shipment and an invoice whose answers are lost (posted, the caller's deadline passed) are
// found by their external document numbers on the repeat: one shipment, one invoice.
func TestShipmentAndInvoiceLostAnswers(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	h := start(t, ds, creds)
	c := h.connect(t, connectortest.Options{})
	o := ds.Scenario(demo.ScenarioUnfulfilled)
	so, _ := h.sb.SalesOrderID(o.ID)
	lost := func(what string, do func(context.Context) (string, error), set string) string {
		h.sb.SetWriteDelay(1500 * time.Millisecond)
		short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, err := do(short); errs.As(err) == nil || errs.As(err).Reason != "vendor_timeout" {
			t.Fatalf("%s with a lost answer: %v; want vendor_timeout", what, err)
		}
		h.sb.SetWriteDelay(0)
		id, err := do(ctxFor(t, 5*time.Second))
		if err != nil || id == "" {
			t.Fatalf("%s repeated: %q, %v", what, id, err)
		}
		if n := h.sb.Stats().Created[set]; n != 1 {
			t.Errorf("%s: %d posted; want 1", what, n)
		}
		return id
	}
	ship := shipAll(so, o, "lost-ship")
	lost("shipment", func(ctx context.Context) (string, error) {
		r, err := c.CreateItemFulfillment(ctx, ship)
		return r.GetItemFulfillmentId(), err
	}, bcsandbox.SetOrderShipments)
	inv := &erpv1.CreateInvoiceRequest{SalesOrderId: so, IdempotencyKey: "lost-inv"}
	id := lost("invoice", func(ctx context.Context) (string, error) {
		r, err := c.CreateInvoice(ctx, inv)
		return r.GetInvoiceId(), err
	}, bcsandbox.SetOrderInvoices)
	if again, err := c.CreateInvoice(ctx5(t), inv); err != nil || again.GetInvoiceId() != id {
		t.Errorf("invoice repeated again = %v, %v; want %s", again, err, id)
	}
	_, err := c.CreateInvoice(ctx5(t), &erpv1.CreateInvoiceRequest{SalesOrderId: so, IdempotencyKey: "other-inv"})
	if e := errs.As(err); e == nil || e.Kind != errs.FailedPrecondition {
		t.Errorf("an invoice under another key: %v; want Business Central's refusal", err)
	}
	if e := errs.As(c.CloseSalesOrder(ctx5(t), &erpv1.CloseSalesOrderRequest{SalesOrderId: so, IdempotencyKey: "close-shipped"})); e == nil || e.Reason != "sales_order_fulfilled" {
		t.Errorf("closing a shipped order: %v; want sales_order_fulfilled", e)
	}
	if c.Repeats() < 3 {
		t.Errorf("connector resolved %d repeats through the external document number; want 3", c.Repeats())
	}
}

func ctx5(t *testing.T) context.Context { return ctxFor(t, 5*time.Second) }

// touchOnDelete changes the sales order just before the first DELETE arrives, as a user would.
type touchOnDelete struct {
	next    http.RoundTripper
	sb      *bcsandbox.Sandbox
	id      string
	touched atomic.Bool
}

func (t *touchOnDelete) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodDelete && !t.touched.Swap(true) {
		t.sb.Touch(t.id)
	}
	return t.next.RoundTrip(r)
}

// Closing deletes the sales order with the ETag read: a user's edit in between draws one 412,
// the connector reads it again and deletes it; closing again does nothing.
func TestCloseSalesOrderRereadsOnConflict(t *testing.T) {
	t.Parallel()
	ds := connectortest.Catalogue(t)
	h := start(t, ds, creds)
	o := ds.Scenario(demo.ScenarioUnfulfilled)
	so, _ := h.sb.SalesOrderID(o.ID)
	rt := &touchOnDelete{next: h.srv.Client().Transport, sb: h.sb, id: so}
	c, err := businesscentral.New(h.config(connectortest.Options{}), &http.Client{Transport: rt}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"close", "close-again"} {
		if err := c.CloseSalesOrder(ctx5(t), &erpv1.CloseSalesOrderRequest{SalesOrderId: so, IdempotencyKey: key}); err != nil {
			t.Fatalf("close (%s): %v", key, err)
		}
	}
	if st := h.sb.Stats(); st.Conflicts != 1 || c.Conflicts() != 1 {
		t.Errorf("sandbox answered %d conflicts, connector re-read %d times; want 1 and 1", st.Conflicts, c.Conflicts())
	}
	if _, ok := h.sb.SalesOrderID(o.ID); ok {
		t.Error("the sales order is still there after closing")
	}
	if _, err := c.CreateItemFulfillment(ctx5(t), shipAll(so, o, "after-close")); err == nil {
		t.Error("a closed sales order was fulfilled")
	}
}
