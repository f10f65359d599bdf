package connectortest

import (
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// testOrderToCash books a sales order with tax codes, fulfils it in two shipments (the second
// ships what the first left open of the same SKU), bills it once (a repeat with the key returns
// the invoice; another key is refused, as is billing before everything shipped), and closes
// another order, twice, which then cannot be fulfilled.
func testOrderToCash(t *testing.T, start Start) {
	ds := Catalogue(t)
	sb := start(t, ds)
	c := sb.Connect(t, Options{})
	ctx := ctxFor(t, 10*time.Second)
	a, b := ds.Items[0], ds.Items[1]
	order := &canonicalv1.Order{Id: "9200001", Name: "#9201", Customer: &canonicalv1.CustomerRef{Id: ds.Customers[0].ID},
		Total: money.New(2*a.PriceMinor+b.PriceMinor, "USD"), Lines: []*canonicalv1.OrderLine{
			{Id: "920000101", Sku: a.SKU, Quantity: 2, UnitPrice: money.New(a.PriceMinor, "USD")},
			{Id: "920000102", Sku: b.SKU, Quantity: 1, UnitPrice: money.New(b.PriceMinor, "USD")}}}
	so, err := c.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{Order: order, IdempotencyKey: "o2c-so",
		LineRefs: []*erpv1.SalesOrderLineRef{{OrderLineId: "920000101", TaxCode: "CA-STD"}, {OrderLineId: "920000102", TaxCode: "CA-STD"}}})
	if err != nil {
		t.Fatal(err)
	}
	ship := func(key string, lines ...*erpv1.FulfillmentLine) error {
		_, err := c.CreateItemFulfillment(ctx, &erpv1.CreateItemFulfillmentRequest{SalesOrderId: so.GetSalesOrderId(), LocationId: "1",
			Lines: lines, TrackingNumber: "1Z" + key, IdempotencyKey: key})
		return err
	}
	if err := ship("o2c-f1", &erpv1.FulfillmentLine{Sku: a.SKU, Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateInvoice(ctx, &erpv1.CreateInvoiceRequest{SalesOrderId: so.GetSalesOrderId(), IdempotencyKey: "o2c-early"}); err == nil || errs.IsRetryable(err) {
		t.Errorf("billing a partly shipped order: %v; want a refusal", err)
	}
	if err := ship("o2c-f2", &erpv1.FulfillmentLine{Sku: a.SKU, Quantity: 1}, &erpv1.FulfillmentLine{Sku: b.SKU, Quantity: 1}); err != nil {
		t.Fatalf("second shipment: %v", err)
	}
	inv, err := c.CreateInvoice(ctx, &erpv1.CreateInvoiceRequest{SalesOrderId: so.GetSalesOrderId(), IdempotencyKey: "o2c-inv"})
	if err != nil || inv.GetInvoiceId() == "" {
		t.Fatalf("CreateInvoice = %v, %v", inv, err)
	}
	again, err := c.CreateInvoice(ctx, &erpv1.CreateInvoiceRequest{SalesOrderId: so.GetSalesOrderId(), IdempotencyKey: "o2c-inv"})
	if err != nil || again.GetInvoiceId() != inv.GetInvoiceId() {
		t.Errorf("repeated invoice = %v, %v; want invoice %s", again, err, inv.GetInvoiceId())
	}
	if _, err := c.CreateInvoice(ctx, &erpv1.CreateInvoiceRequest{SalesOrderId: so.GetSalesOrderId(), IdempotencyKey: "o2c-inv2"}); err == nil {
		t.Error("a second invoice (another key) was accepted")
	}
	order.Id, order.Lines = "9200002", order.Lines[:1]
	other, err := c.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{Order: order, IdempotencyKey: "o2c-so2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"o2c-close", "o2c-close-again"} {
		if err := c.CloseSalesOrder(ctx, &erpv1.CloseSalesOrderRequest{SalesOrderId: other.GetSalesOrderId(), IdempotencyKey: key}); err != nil {
			t.Errorf("close (%s): %v", key, err)
		}
	}
	if _, err := c.CreateItemFulfillment(ctx, &erpv1.CreateItemFulfillmentRequest{SalesOrderId: other.GetSalesOrderId(),
		Lines: []*erpv1.FulfillmentLine{{Sku: a.SKU, Quantity: 1}}, IdempotencyKey: "o2c-f3"}); err == nil {
		t.Error("a closed sales order was fulfilled")
	}
	wantCreated(t, sb, map[string]int64{RecordSalesOrder: 2, RecordItemFulfillment: 2, RecordInvoice: 1})
}
