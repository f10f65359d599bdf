package businesscentral_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	bcsandbox "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
)

// Business Central deletes a sales order once posting ships and invoices all of it (the
// sandbox does too), and a user may delete an open one. Through the ERP service: the poll
// reports the posted order Billed and closed from its invoice; following three orders, the one
// a user deleted is reported Deleted, the posted one Billed, the open one not at all. The
// posted order is not booked again by a repeated CreateSalesOrder, nor "closed" by a
// cancellation.
func TestClosedOrdersAreFollowed(t *testing.T) {
	t.Parallel()
	ds := demo.Generate(11, time.Now().Add(-30*24*time.Hour), 20, 300)
	h := start(t, ds, creds)
	c := h.connect(t, connectortest.Options{})
	svc := erp.FromConnector("businesscentral", c, 10*time.Second, erp.Deps{})
	var open []demo.Order
	for _, o := range ds.Orders {
		if o.FulfillmentStatus != "FULFILLED" {
			open = append(open, o)
		}
	}
	if len(open) < 3 {
		t.Fatalf("the dataset has %d open orders; want 3", len(open))
	}
	posted, deleted, kept := open[0], open[1], open[2]
	ids := map[string]string{}
	for _, o := range open[:3] {
		ids[o.ID], _ = h.sb.SalesOrderID(o.ID)
	}
	since := time.Now().Add(-time.Second)
	if _, err := c.CreateItemFulfillment(ctx5(t), shipAll(ids[posted.ID], posted, "follow-ship")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateInvoice(ctx5(t), &erpv1.CreateInvoiceRequest{SalesOrderId: ids[posted.ID], IdempotencyKey: "follow-inv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSalesOrder(ctx5(t), ids[posted.ID]); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("the posted order read: %v; want not found (posting deleted it)", err)
	}
	if !h.sb.DeleteSalesOrderAsUser(deleted.ID) {
		t.Fatal("the sandbox deleted nothing")
	}

	resp, err := svc.ListSalesOrderChanges(ctx5(t), &erpv1.ListSalesOrderChangesRequest{ModifiedSince: timestamppb.New(since)})
	if err != nil {
		t.Fatal(err)
	}
	want := &erpv1.SalesOrderChange{SalesOrderId: ids[posted.ID], OrderId: posted.ID, Status: "Billed", Closed: true}
	if got := byOrder(resp.GetChanges()); len(got) != 1 || !same(got[ids[posted.ID]], want) {
		t.Errorf("poll = %v; want only %v", resp.GetChanges(), want)
	}

	followed := []string{ids[posted.ID], ids[deleted.ID], ids[kept.ID]}
	resp, err = svc.ListSalesOrderChanges(ctx5(t), &erpv1.ListSalesOrderChangesRequest{ModifiedSince: timestamppb.New(time.Now()),
		FollowedSalesOrderIds: followed})
	if err != nil {
		t.Fatal(err)
	}
	got := byOrder(resp.GetChanges())
	gone := &erpv1.SalesOrderChange{SalesOrderId: ids[deleted.ID], Status: "Deleted", Closed: true, Deleted: true}
	if len(got) != 2 || !same(got[ids[posted.ID]], want) || !same(got[ids[deleted.ID]], gone) {
		t.Errorf("following %v = %v; want %v and %v, nothing for the open order", followed, resp.GetChanges(), want, gone)
	}

	before := h.sb.Stats().Created[bcsandbox.SetSalesOrders]
	again, err := c.CreateSalesOrder(ctx5(t), &erpv1.CreateSalesOrderRequest{Order: demoOrder(posted), IdempotencyKey: "follow-rebook"})
	if err != nil || again.GetSalesOrderId() != ids[posted.ID] || h.sb.Stats().Created[bcsandbox.SetSalesOrders] != before {
		t.Errorf("booking the posted order again = %v, %v; want sales order %s, none created", again, err, ids[posted.ID])
	}
	if e := errs.As(c.CloseSalesOrder(ctx5(t), &erpv1.CloseSalesOrderRequest{SalesOrderId: ids[posted.ID], IdempotencyKey: "follow-close"})); e == nil || e.Reason != "sales_order_fulfilled" {
		t.Errorf("closing the posted order: %v; want sales_order_fulfilled", e)
	}
}

func byOrder(cs []*erpv1.SalesOrderChange) map[string]*erpv1.SalesOrderChange {
	out := map[string]*erpv1.SalesOrderChange{}
	for _, ch := range cs {
		out[ch.GetSalesOrderId()] = ch
	}
	return out
}

// same compares what the follower decides; the modification time is the ERP's.
func same(got, want *erpv1.SalesOrderChange) bool {
	return got != nil && got.GetSalesOrderId() == want.GetSalesOrderId() && got.GetOrderId() == want.GetOrderId() &&
		got.GetStatus() == want.GetStatus() && got.GetClosed() == want.GetClosed() && got.GetDeleted() == want.GetDeleted() &&
		got.GetModifiedAt() != nil
}

// demoOrder is the storefront order of a demo order, as booking receives it.
func demoOrder(o demo.Order) *canonicalv1.Order {
	out := &canonicalv1.Order{Id: o.ID, Customer: &canonicalv1.CustomerRef{Id: o.CustomerID}}
	for _, l := range o.Lines {
		out.Lines = append(out.Lines, &canonicalv1.OrderLine{Id: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity),
			UnitPrice: money.New(l.UnitPriceMinor, "USD")})
	}
	return out
}
