package orders

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"github.com/retailbridge/retailbridge/services/system/erp"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// bookkeeper records bank deposits in an ERP sandbox.
type bookkeeper interface {
	RecordDeposit(payout string, orderIDs []string, fees int64) (string, error)
}

// serveERP starts vendor's ERP sandbox over ds and serves the ERP system service over it on
// gRPC, as the stack does (the vendor registry builds both).
func serveERP(t *testing.T, vendor string, ds *demo.Dataset) (erpv1.ErpServiceClient, bookkeeper) {
	t.Helper()
	v, err := erp.Kind.Select(vendor)
	if err != nil {
		t.Fatal(err)
	}
	none := func(string) string { return "" }
	sb, err := v.Sandbox(vendors.SandboxDeps{Lookup: none, Demo: ds, Fast: true, ServeHTTP: func(h http.Handler) (string, error) {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sb.Close != nil {
		t.Cleanup(sb.Close)
	}
	svc, err := v.Serve(vendors.ServiceDeps{Lookup: func(k string) string { return sb.Env[k] }, Timeout: 20 * time.Second,
		HTTPClient: telemetry.NewVendorClient(vendor, 20*time.Second, nil, nil), Go: func(string, func(context.Context) error) {}})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcx.NewServer(grpcx.ServerDeps{})
	svc.Register(srv.Server)
	go func() { _ = srv.Server.Serve(lis) }()
	t.Cleanup(srv.Server.Stop)
	conn, err := grpcx.Dial(lis.Addr().String(), grpcx.DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return erpv1.NewErpServiceClient(conn), sb.Value.(bookkeeper)
}

func TestSettlementAgainstERPSandboxes(t *testing.T) {
	for _, vendor := range []string{"netsuite", erp.VendorBusinessCentral} {
		for _, d := range storetest.Dialects {
			t.Run(vendor+"/"+d.String(), func(t *testing.T) { testSettlementAgainstERP(t, vendor, d) })
		}
	}
}

// testSettlementAgainstERP pays three demo orders the ERP invoiced (their customer payments
// recorded through the ERP service, as the workflow's payment step records them): A and B are
// charged and paid out together, C's ERP payment has no charge. The bookkeeper deposits the
// payout with A's payment only and fees 5 off; a second payout (a charge no order holds) has no
// deposit. Settlement, run four days later, finds each once.
func testSettlementAgainstERP(t *testing.T, vendor string, d store.Dialect) {
	now := time.Now().UTC()
	ctx := context.Background()
	ds := demo.Generate(5, now.Add(-time.Hour), 6, 40)
	client, keeper := serveERP(t, vendor, ds)
	sb := stripesb.New(nil, stripesb.Options{Now: time.Now})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	later := func() time.Time { return now.Add(4 * 24 * time.Hour) }
	fees := FeeSchedule{BasisPoints: 290, Fixed: 30}
	st, err := NewSettler(storetest.Open(t, d, store.Options{}), servePayments(t, srv.URL), ERPCash{Client: client},
		SettlementConfig{Fees: fees, PayoutGrace: 72 * time.Hour, Lookback: 30 * 24 * time.Hour}, later, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Three new orders of the first customer, one item each (the sandbox's demo orders are
	// mostly fulfilled and billed already).
	var paid []demo.Order
	for i := range 3 {
		it := ds.Items[i]
		paid = append(paid, demo.Order{ID: fmt.Sprintf("94000%02d", i+1), CustomerID: ds.Customers[0].ID, CreatedAt: now.Add(-time.Hour),
			Lines: []demo.Line{{ID: fmt.Sprintf("94000%02d01", i+1), SKU: it.SKU, Quantity: 1, UnitPriceMinor: it.PriceMinor}}})
	}
	totals := map[string]int64{}
	for _, o := range paid {
		totals[o.ID] = invoiceAndPay(t, client, st, o)
	}
	a, b, c := paid[0].ID, paid[1].ID, paid[2].ID
	sb.Charge(a, totals[a], "usd")
	sb.Charge(b, totals[b], "usd")
	first := sb.Payout()
	sb.Charge("unknown-7", 900, "usd")
	second := sb.Payout()
	if _, err := keeper.RecordDeposit(first[0], []string{a}, fees.Expected(totals[a])+fees.Expected(totals[b])+5); err != nil {
		t.Fatal(err)
	}
	run, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{MismatchNoDeposit: b, MismatchPayoutNoDeposit: second[0], MismatchNoOrder: "",
		MismatchPaymentNoCharge: "", MismatchDepositFee: ""}
	got := map[string][]string{}
	ms, err := st.ListMismatches(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		got[m.Kind] = append(got[m.Kind], m.Subject)
	}
	for kind, subject := range want {
		if len(got[kind]) != 1 || (subject != "" && got[kind][0] != subject) {
			t.Errorf("%s: %v; want one (%q)", kind, got[kind], subject)
		}
	}
	t.Logf("%s: run %+v, mismatches %v (order C %s has its ERP payment without a charge)", vendor, run, got, c)
	if again, err := st.Run(ctx); err != nil || again.NewMismatches != 0 {
		t.Errorf("second run = %+v, %v; want no new mismatches", again, err)
	}
}

// invoiceAndPay fulfils and invoices the demo order's sales order in the ERP, records its
// customer payment, and puts the order in the order store; it returns the order total.
func invoiceAndPay(t *testing.T, client erpv1.ErpServiceClient, st *Settler, o demo.Order) int64 {
	t.Helper()
	ctx := context.Background()
	co := &canonicalv1.Order{Id: o.ID, Customer: &canonicalv1.CustomerRef{Id: o.CustomerID}, PaymentReference: stripesb.PaymentIntentID(o.ID),
		CreatedAt: timestamppb.New(o.CreatedAt)}
	var total int64
	req := &erpv1.CreateItemFulfillmentRequest{LocationId: "dc-east", IdempotencyKey: "f-" + o.ID}
	for _, l := range o.Lines {
		total += l.UnitPriceMinor * int64(l.Quantity)
		co.Lines = append(co.Lines, &canonicalv1.OrderLine{Id: l.ID, Sku: l.SKU, Quantity: int32(l.Quantity), UnitPrice: money.New(l.UnitPriceMinor, "USD")})
		req.Lines = append(req.Lines, &erpv1.FulfillmentLine{Sku: l.SKU, Quantity: int32(l.Quantity)})
	}
	co.Total = money.New(total, "USD")
	so, err := client.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{Order: co, IdempotencyKey: "so-" + o.ID})
	if err != nil {
		t.Fatal(err)
	}
	req.SalesOrderId = so.GetSalesOrderId()
	if _, err := client.CreateItemFulfillment(ctx, req); err != nil {
		t.Fatal(err)
	}
	inv, err := client.CreateInvoice(ctx, &erpv1.CreateInvoiceRequest{SalesOrderId: so.GetSalesOrderId(), IdempotencyKey: "inv-" + o.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.RecordCustomerPayment(ctx, &erpv1.RecordCustomerPaymentRequest{OrderId: o.ID, InvoiceId: inv.GetInvoiceId(),
		Amount: co.GetTotal(), PaymentReference: co.GetPaymentReference(), CustomerId: o.CustomerID, IdempotencyKey: "pay-" + o.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.orders.put(ctx, version{orderID: o.ID, order: co, kind: kindCreated, via: viaRead, updatedAt: o.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	return total
}
