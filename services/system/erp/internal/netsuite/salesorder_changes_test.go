package netsuite_test

import (
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	nssandbox "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/netsuite"
)

// clock is a settable time shared by the sandbox (its writes' lastModifiedDate, its OAuth
// timestamp check) and the connector (its signatures).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// The status poll reads by time, in one SuiteQL page: as the day's changes grow from 4 to 22,
// each poll from a watermark set just before the newest changes still costs one request and
// returns only those changes (the record service's day filter cost 1 + the day's changes, a
// GET each). Paged at 7 rows, the day's changes come back whole, in modification order, through
// the pages' next links.
func TestStatusPollIsOneQueryPerPoll(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	ds := demo.Generate(11, clk.Now().Add(-30*24*time.Hour), 20, 300)
	opts := creds
	opts.Now = clk.Now
	sb := nssandbox.New(ds, opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	connect := func(pageSize int) *netsuite.Client {
		c, err := netsuite.New(netsuite.Config{BaseURL: srv.URL, Account: creds.Account, ConsumerKey: creds.ConsumerKey,
			ConsumerSecret: creds.ConsumerSecret, TokenID: creds.TokenID, TokenSecret: creds.TokenSecret,
			MaxConcurrency: 2, SuiteQLPageSize: pageSize}, srv.Client(), nil, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var open []demo.Order // billed orders cannot be closed
	for _, o := range ds.Orders {
		if o.FulfillmentStatus != "FULFILLED" {
			open = append(open, o)
		}
	}
	c := connect(0)
	startOfDay, next := clk.Now().Truncate(24*time.Hour), 0
	var closed []string // order ids in the order their sales orders were closed
	for _, batch := range []int{4, 18} {
		clk.Add(time.Hour)
		watermark := clk.Add(time.Second)
		for range batch {
			if next == len(open) {
				t.Fatalf("the dataset has only %d open orders", len(open))
			}
			o := open[next]
			next++
			clk.Add(time.Second)
			if err := sb.CloseSalesOrderAsUser(o.ID); err != nil {
				t.Fatal(err)
			}
			closed = append(closed, o.ID)
		}
		before := sb.Stats().Requests
		cs, err := c.ListSalesOrderChanges(ctxWithin(t, 10*time.Second), watermark)
		if err != nil {
			t.Fatal(err)
		}
		if n := sb.Stats().Requests - before; n != 1 {
			t.Errorf("%d changes today, poll for the newest %d: %d requests; want 1", len(closed), batch, n)
		}
		var got []string
		for _, ch := range cs {
			got = append(got, ch.GetOrderId())
			if !ch.GetClosed() || ch.GetStatus() != "Closed" || ch.GetModifiedAt().AsTime().Before(watermark) {
				t.Errorf("change %v; want Closed, closed, modified at or after %s", ch, watermark)
			}
		}
		if want := closed[len(closed)-batch:]; !slices.Equal(got, want) {
			t.Errorf("poll since %s = %v; want the %d changes since, oldest first: %v", watermark, got, batch, want)
		}
	}
	paged := connect(7)
	before := sb.Stats().Requests
	cs, err := paged.ListSalesOrderChanges(ctxWithin(t, 10*time.Second), startOfDay)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range cs {
		got = append(got, ch.GetOrderId())
	}
	if !slices.Equal(got, closed) {
		t.Errorf("the day's changes paged by 7 = %v; want %v", got, closed)
	}
	if n, want := sb.Stats().Requests-before, int64((len(closed)+6)/7); n != want {
		t.Errorf("the day's %d changes paged by 7: %d requests; want %d", len(closed), n, want)
	}
}

// Settlement's read of customer payments is one SuiteQL page too (the record service's day
// filter cost a GET per payment of the day), paged through the next links when smaller.
func TestCustomerPaymentsAreOneQuery(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)}
	ds := demo.Generate(11, clk.Now().Add(-30*24*time.Hour), 20, 300)
	opts := creds
	opts.Now = clk.Now
	sb := nssandbox.New(ds, opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	connect := func(pageSize int) *netsuite.Client {
		c, err := netsuite.New(netsuite.Config{BaseURL: srv.URL, Account: creds.Account, ConsumerKey: creds.ConsumerKey,
			ConsumerSecret: creds.ConsumerSecret, TokenID: creds.TokenID, TokenSecret: creds.TokenSecret,
			MaxConcurrency: 2, SuiteQLPageSize: pageSize}, srv.Client(), nil, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := connect(0)
	since := clk.Now()
	var want []string
	for _, o := range ds.Orders {
		if o.FulfillmentStatus == "FULFILLED" || len(want) == 3 {
			continue
		}
		clk.Add(time.Second)
		id, _ := sb.SalesOrderID(o.ID)
		ship := &erpv1.CreateItemFulfillmentRequest{SalesOrderId: id, LocationId: "1", IdempotencyKey: "pay-f-" + o.ID}
		var total int64
		for _, l := range o.Lines {
			ship.Lines = append(ship.Lines, &erpv1.FulfillmentLine{Sku: l.SKU, Quantity: int32(l.Quantity)})
			total += l.UnitPriceMinor * int64(l.Quantity)
		}
		if _, err := c.CreateItemFulfillment(ctxWithin(t, 10*time.Second), ship); err != nil {
			t.Fatal(err)
		}
		inv, err := c.CreateInvoice(ctxWithin(t, 10*time.Second), &erpv1.CreateInvoiceRequest{SalesOrderId: id, IdempotencyKey: "pay-i-" + o.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.RecordCustomerPayment(ctxWithin(t, 10*time.Second), &erpv1.RecordCustomerPaymentRequest{OrderId: o.ID,
			InvoiceId: inv.GetInvoiceId(), Amount: money.New(total, "USD"), PaymentReference: "pi_" + o.ID,
			CustomerId: o.CustomerID, IdempotencyKey: "pay-p-" + o.ID}); err != nil {
			t.Fatal(err)
		}
		want = append(want, o.ID)
	}
	for _, tc := range []struct {
		c        *netsuite.Client
		requests int64
	}{{c, 1}, {connect(2), 2}} {
		before := sb.Stats().Requests
		ps, err := tc.c.ListCustomerPayments(ctxWithin(t, 10*time.Second), since)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.GetOrderId())
			if p.GetPaymentReference() != "pi_"+p.GetOrderId() || p.GetAmount().GetAmountMinor() <= 0 || p.GetCreatedAt().AsTime().Before(since) {
				t.Errorf("payment %v; want its reference, amount and creation time", p)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("payments = %v; want %v, oldest first", got, want)
		}
		if n := sb.Stats().Requests - before; n != tc.requests {
			t.Errorf("listing %d payments: %d requests; want %d", len(want), n, tc.requests)
		}
	}
}
