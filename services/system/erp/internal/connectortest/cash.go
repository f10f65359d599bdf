package connectortest

import (
	"context"
	"slices"
	"testing"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// Depositor is the bookkeeper's side of a sandbox: it records a bank deposit of the customer
// payments of orders, less fees, for a payout (NetSuite deposit, Business Central bank deposit).
type Depositor interface {
	RecordDeposit(payout string, orderIDs []string, fees int64) (string, error)
}

// testCash books, fulfils and bills an order, records its customer payment (twice, under two
// keys: one payment), lists it, deposits it with a fee and lists the deposit with the payment
// it carried; the sales order's changes are listed with their status, and a closed order is
// never listed as open.
func testCash(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	dep, ok := sb.(Depositor)
	if !ok {
		t.Fatal("the sandbox records no deposits")
	}
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 20*time.Second)
	since := time.Now().Add(-time.Minute)
	a := ds.Items[0]
	order := &canonicalv1.Order{Id: "9300001", Name: "#9301", Customer: &canonicalv1.CustomerRef{Id: ds.Customers[0].ID},
		Total: money.New(a.PriceMinor, "USD"), PaymentReference: "pi_9300001",
		Lines: []*canonicalv1.OrderLine{{Id: "930000101", Sku: a.SKU, Quantity: 1, UnitPrice: money.New(a.PriceMinor, "USD")}}}
	so, err := c.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{Order: order, IdempotencyKey: "cash-so"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateItemFulfillment(ctx, &erpv1.CreateItemFulfillmentRequest{SalesOrderId: so.GetSalesOrderId(), LocationId: "1",
		Lines: []*erpv1.FulfillmentLine{{Sku: a.SKU, Quantity: 1}}, IdempotencyKey: "cash-f"}); err != nil {
		t.Fatal(err)
	}
	inv, err := c.CreateInvoice(ctx, &erpv1.CreateInvoiceRequest{SalesOrderId: so.GetSalesOrderId(), IdempotencyKey: "cash-inv"})
	if err != nil {
		t.Fatal(err)
	}
	pay := &erpv1.RecordCustomerPaymentRequest{OrderId: order.GetId(), InvoiceId: inv.GetInvoiceId(), Amount: order.GetTotal(),
		PaymentReference: order.GetPaymentReference(), CustomerId: order.GetCustomer().GetId(), IdempotencyKey: "cash-pay"}
	first, err := c.RecordCustomerPayment(ctx, pay)
	if err != nil || first.GetCustomerPaymentId() == "" {
		t.Fatalf("RecordCustomerPayment = %v, %v", first, err)
	}
	pay.IdempotencyKey = "cash-pay-again"
	if again, err := c.RecordCustomerPayment(ctx, pay); err != nil || again.GetCustomerPaymentId() != first.GetCustomerPaymentId() {
		t.Errorf("a second payment of the order = %v, %v; want payment %s", again, err, first.GetCustomerPaymentId())
	}
	wantPayments(t, c, since, first.GetCustomerPaymentId(), order)
	const fee = 59
	depID, err := dep.RecordDeposit("po_cash_1", []string{order.GetId()}, fee)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := c.ListDeposits(ctx, since)
	if err != nil || len(deps) != 1 {
		t.Fatalf("ListDeposits = %v, %v; want the one deposit", deps, err)
	}
	d := deps[0]
	if d.GetId() != depID || d.GetPayoutReference() != "po_cash_1" || d.GetFee().GetAmountMinor() != fee ||
		d.GetAmount().GetAmountMinor() != a.PriceMinor-fee || !slices.Equal(d.GetPaymentIds(), []string{first.GetCustomerPaymentId()}) {
		t.Errorf("deposit = %v; want %s for po_cash_1 of %d less %d carrying %s", d, depID, a.PriceMinor, fee, first.GetCustomerPaymentId())
	}
	wantChanges(t, c, since, order.GetId(), so.GetSalesOrderId())
}

func wantPayments(t *testing.T, c interface {
	ListCustomerPayments(ctx context.Context, since time.Time) ([]*erpv1.CustomerPayment, error)
}, since time.Time, id string, order *canonicalv1.Order) {
	t.Helper()
	ps, err := c.ListCustomerPayments(ctxFor(t, 10*time.Second), since)
	if err != nil || len(ps) != 1 {
		t.Fatalf("ListCustomerPayments = %v, %v; want the one payment", ps, err)
	}
	p := ps[0]
	if p.GetId() != id || p.GetOrderId() != order.GetId() || p.GetPaymentReference() != order.GetPaymentReference() ||
		p.GetAmount().GetAmountMinor() != order.GetTotal().GetAmountMinor() {
		t.Errorf("payment = %v; want %s for order %s, %s, %d", p, id, order.GetId(), order.GetPaymentReference(), order.GetTotal().GetAmountMinor())
	}
	if later, err := c.ListCustomerPayments(ctxFor(t, 10*time.Second), time.Now().Add(time.Minute)); err != nil || len(later) != 0 {
		t.Errorf("payments listed since a minute from now = %v, %v; want none", later, err)
	}
}

// wantChanges lists the booked, shipped and invoiced order among the changes, Billed (NetSuite
// keeps the order as Billed; Business Central deletes it on posting, and the connector reports
// it Billed from its invoice).
func wantChanges(t *testing.T, c interface {
	ListSalesOrderChanges(ctx context.Context, since time.Time) ([]*erpv1.SalesOrderChange, error)
}, since time.Time, orderID, salesOrderID string) {
	t.Helper()
	cs, err := c.ListSalesOrderChanges(ctxFor(t, 10*time.Second), since)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cs, func(ch *erpv1.SalesOrderChange) bool { return ch.GetOrderId() == orderID })
	if i < 0 {
		t.Fatalf("changes %v do not list order %s", cs, orderID)
	}
	if ch := cs[i]; ch.GetSalesOrderId() != salesOrderID || ch.GetStatus() != "Billed" || ch.GetDeleted() || ch.GetModifiedAt().AsTime().Before(since) {
		t.Errorf("change = %v; want sales order %s Billed, not deleted, modified after %s", ch, salesOrderID, since)
	}
	if later, err := c.ListSalesOrderChanges(ctxFor(t, 10*time.Second), time.Now().Add(time.Minute)); err != nil || len(later) != 0 {
		t.Errorf("changes since a minute from now = %v, %v; want none", later, err)
	}
}
