package erp_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	nssandbox "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/connectortest"
)

func validConfig(baseURL string) erp.Config {
	return erp.Config{Connection: validNetSuite(baseURL)}
}

func validNetSuite(baseURL string) erp.NetSuiteConfig {
	return erp.NetSuiteConfig{
		BaseURL: baseURL, Account: nssandbox.DevAccount,
		ConsumerKey: nssandbox.DevConsumerKey, ConsumerSecret: nssandbox.DevConsumerSecret,
		TokenID: nssandbox.DevTokenID, TokenSecret: nssandbox.DevTokenSecret,
	}
}

// newTestService serves the demo catalogue from a NetSuite sandbox and connects through the same
// kind of HTTP client production uses.
func newTestService(tb testing.TB, mutate func(*erp.Config)) (*erp.Service, *nssandbox.Sandbox, *demo.Dataset) {
	tb.Helper()
	ds := connectortest.Catalogue(tb)
	sb := nssandbox.New(ds, nssandbox.Options{})
	srv := httptest.NewServer(sb)
	tb.Cleanup(srv.Close)
	cfg := validConfig(srv.URL)
	cfg.Locations = erp.LocationMap(nssandbox.Locations)
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := erp.New(cfg, erp.Deps{HTTPClient: telemetry.NewVendorClient("netsuite", 5*time.Second, nil, nil)})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s, sb, ds
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*erp.Config)
		fields []string
	}{
		{"valid", func(*erp.Config) {}, nil},
		{"valid with defaults left empty", func(c *erp.Config) { c.Connection = validNetSuite("") }, nil},
		{"no vendor connection", func(c *erp.Config) { c.Connection = nil }, []string{"connection"}},
		{"everything wrong at once", func(c *erp.Config) {
			c.Timeout = -time.Second
			c.Connection = erp.NetSuiteConfig{BaseURL: "ftp://x", Currency: "usd", MaxConcurrency: -1}
		}, []string{
			"timeout", "netsuite.account", "netsuite.consumer_key", "netsuite.consumer_secret",
			"netsuite.token_id", "netsuite.token_secret", "netsuite.base_url", "netsuite.currency",
			"netsuite.max_concurrency",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig("https://1234567-sb1.suitetalk.api.netsuite.com")
			tt.mutate(&cfg)
			err := cfg.Validate()
			var got []string
			if e := errs.As(err); e != nil {
				for _, f := range e.Fields {
					got = append(got, f.Field)
					if !strings.Contains(e.Error(), f.Field) {
						t.Errorf("error text %q does not name %s", e.Error(), f.Field)
					}
				}
			} else if err != nil {
				t.Fatalf("Validate: %v is not an *errs.Error", err)
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("bad fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewNeedsHTTPClient(t *testing.T) {
	t.Parallel()
	_, err := erp.New(validConfig(""), erp.Deps{})
	if errs.KindOf(err) != errs.Invalid {
		t.Errorf("New without an HTTP client: %v; want an Invalid error", err)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	t.Parallel()
	cfg := validConfig("")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "netsuite", cfg.Connection)
	for _, out := range []string{logged.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg.Connection)} {
		for _, secret := range []string{nssandbox.DevConsumerSecret, nssandbox.DevTokenSecret, nssandbox.DevTokenID} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
}

func TestGetItems(t *testing.T) {
	t.Parallel()
	s, sb, ds := newTestService(t, nil)
	a, b := ds.Items[0], ds.Items[1]
	before := sb.Stats().Requests
	resp, err := s.GetItems(context.Background(), &erpv1.GetItemsRequest{Skus: []string{a.SKU, "NOPE-1", b.SKU, a.SKU, "NOPE-1"}})
	if err != nil {
		t.Fatalf("GetItems: %v", err)
	}
	want := &erpv1.GetItemsResponse{
		Items:       []*erpv1.Item{connectortest.WantItem(ds, a), connectortest.WantItem(ds, b)},
		MissingSkus: []string{"NOPE-1"},
	}
	if diff := cmp.Diff(want, resp, protocmp.Transform()); diff != "" {
		t.Errorf("GetItems mismatch (-want +got):\n%s", diff)
	}
	if got := sb.Stats().Requests - before; got != 3 {
		t.Errorf("sandbox saw %d requests; want 3, one per distinct SKU", got)
	}
}

func TestGetItemsInvalid(t *testing.T) {
	t.Parallel()
	s, sb, _ := newTestService(t, nil)
	many := make([]string, erp.MaxSKUs+1)
	for i := range many {
		many[i] = fmt.Sprintf("SKU-%d", i)
	}
	tests := []struct {
		name   string
		skus   []string
		fields []string
	}{
		{"none", nil, []string{"skus"}},
		{"too many", many, []string{"skus"}},
		{"empty and unsupported characters", []string{"APP-000", "", "APP 001", "APP/002", "APP-ß"},
			[]string{"skus[1]", "skus[2]", "skus[3]", "skus[4]"}},
		{"too long", []string{strings.Repeat("A", 256)}, []string{"skus[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.GetItems(context.Background(), &erpv1.GetItemsRequest{Skus: tt.skus})
			e := connectortest.WantErr(t, err, errs.Invalid, "invalid_request")
			if e == nil {
				return
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("field violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Cleanup(func() {
		if n := sb.Stats().Requests; n != 0 {
			t.Errorf("sandbox saw %d requests; want none for invalid requests", n)
		}
	})
}

func TestGetItemsVendorFailures(t *testing.T) {
	t.Parallel()
	t.Run("maintenance", func(t *testing.T) {
		t.Parallel()
		s, sb, ds := newTestService(t, nil)
		sb.SetMaintenance(true, time.Minute)
		_, err := s.GetItems(context.Background(), &erpv1.GetItemsRequest{Skus: []string{ds.Items[0].SKU}})
		if e := connectortest.WantErr(t, err, errs.Unavailable, "erp_maintenance"); e != nil && e.RetryAfter != time.Minute {
			t.Errorf("RetryAfter = %v; want 1m", e.RetryAfter)
		}
	})
	t.Run("configured timeout", func(t *testing.T) {
		t.Parallel()
		s, sb, ds := newTestService(t, func(c *erp.Config) { c.Timeout = 100 * time.Millisecond })
		sb.Faults().Set(faults.Settings{Latency: 2 * time.Second})
		began := time.Now()
		_, err := s.GetItems(context.Background(), &erpv1.GetItemsRequest{Skus: []string{ds.Items[0].SKU}})
		connectortest.WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
		if took := time.Since(began); took > time.Second {
			t.Errorf("GetItems took %v; want about the 100ms timeout", took)
		}
	})
	t.Run("vendor down", func(t *testing.T) {
		t.Parallel()
		s, sb, ds := newTestService(t, nil)
		sb.Faults().Set(faults.Settings{Down: true})
		_, err := s.GetItems(context.Background(), &erpv1.GetItemsRequest{Skus: []string{ds.Items[0].SKU}})
		connectortest.WantErr(t, err, errs.Unavailable, "vendor_unavailable")
	})
	t.Run("ready", func(t *testing.T) {
		t.Parallel()
		s, sb, _ := newTestService(t, nil)
		if err := s.Ready(context.Background()); err != nil {
			t.Errorf("Ready: %v; want nil", err)
		}
		sb.Faults().Set(faults.Settings{ErrorRate: 1, ErrorStatus: http.StatusBadGateway})
		connectortest.WantErr(t, s.Ready(context.Background()), errs.Unavailable, "vendor_unavailable")
	})
}

// TestWriteValidation: malformed writes are refused with every bad field named, and never reach
// the ERP.
func TestWriteValidation(t *testing.T) {
	t.Parallel()
	s, sb, ds := newTestService(t, nil)
	ctx := context.Background()
	o := ds.Scenario(demo.ScenarioEligible)
	longKey := strings.Repeat("k", erp.MaxIdempotencyKeyLen+1)
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"sales order without anything", func() error {
			_, err := s.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{})
			return err
		}, []string{"idempotency_key", "order"}},
		{"sales order with bad lines", func() error {
			_, err := s.CreateSalesOrder(ctx, &erpv1.CreateSalesOrderRequest{IdempotencyKey: "k", Order: &canonicalv1.Order{
				Id: "1/2", Customer: &canonicalv1.CustomerRef{Id: "c"},
				Lines: []*canonicalv1.OrderLine{{Sku: "", Quantity: 0, UnitPrice: money.New(-1, "USD")}}}})
			return err
		}, []string{"order.id", "order.lines[0].sku", "order.lines[0].quantity", "order.lines[0].unit_price.amount_minor"}},
		{"sales order id", func() error { _, err := s.GetSalesOrder(ctx, &erpv1.GetSalesOrderRequest{}); return err },
			[]string{"sales_order_id"}},
		{"return authorization without a return", func() error {
			_, err := s.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{IdempotencyKey: longKey})
			return err
		}, []string{"idempotency_key", "return"}},
		{"return authorization with bad lines and no order", func() error {
			_, err := s.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{IdempotencyKey: "key with spaces",
				Return: &canonicalv1.Return{Lines: []*canonicalv1.ReturnLine{{Sku: "APP 1", Quantity: -1}}}})
			return err
		}, []string{"idempotency_key", "return.order_id", "return.lines[0].sku", "return.lines[0].quantity"}},
		{"close without an RMA", func() error {
			_, err := s.CloseReturnAuthorization(ctx, &erpv1.CloseReturnAuthorizationRequest{})
			return err
		}, []string{"idempotency_key", "return_authorization_id"}},
		{"receipt without location or lines", func() error {
			_, err := s.CreateItemReceipt(ctx, &erpv1.CreateItemReceiptRequest{ReturnAuthorizationId: "1", IdempotencyKey: "k"})
			return err
		}, []string{"location_id", "lines"}},
		{"credit memo that does not add up", func() error {
			_, err := s.CreateCreditMemo(ctx, &erpv1.CreateCreditMemoRequest{ReturnAuthorizationId: "1", IdempotencyKey: "k",
				Total: money.New(1000, "USD"), Lines: []*canonicalv1.CreditMemoLine{{Sku: o.Lines[0].SKU, Quantity: 1, Amount: money.New(999, "USD")}}})
			return err
		}, []string{"total"}},
		{"credit memo in two currencies", func() error {
			_, err := s.CreateCreditMemo(ctx, &erpv1.CreateCreditMemoRequest{ReturnAuthorizationId: "1", IdempotencyKey: "k",
				Total: money.New(1000, "USD"), Lines: []*canonicalv1.CreditMemoLine{{Sku: o.Lines[0].SKU, Quantity: 1, Amount: money.New(1000, "EUR")}, {Sku: o.Lines[0].SKU, Quantity: 1}}})
			return err
		}, []string{"lines[0].amount.currency_code", "lines[1].amount"}},
		{"adjustment that is not a write-off", func() error {
			_, err := s.RecordInventoryAdjustment(ctx, &erpv1.RecordInventoryAdjustmentRequest{IdempotencyKey: "k",
				Adjustment: &canonicalv1.InventoryAdjustment{Sku: o.Lines[0].SKU}, Disposition: canonicalv1.Disposition_DISPOSITION_RESTOCK,
				Value: &canonicalv1.Money{AmountMinor: 1, CurrencyCode: "usd"}})
			return err
		}, []string{"adjustment.location_id", "adjustment.quantity", "disposition", "value.currency_code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := connectortest.WantErr(t, tt.call(), errs.Invalid, "invalid_request")
			if e == nil {
				return
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("field violations mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Cleanup(func() {
		if n := sb.Stats().Requests; n != 0 {
			t.Errorf("sandbox saw %d requests; want none for invalid requests", n)
		}
	})
}

// TestReturnToRefund runs the ERP side of a return through the service, the way the returns
// workflow calls it, repeating each step as a workflow resumed after a crash would.
func TestReturnToRefund(t *testing.T) {
	t.Parallel()
	s, sb, ds := newTestService(t, nil)
	ctx := context.Background()
	o := ds.Scenario(demo.ScenarioEligible)
	ret := connectortest.ReturnOf(o, "ret-1")
	var rma *erpv1.CreateReturnAuthorizationResponse
	for range 2 {
		resp, err := s.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{Return: ret, IdempotencyKey: "wf-1/rma"})
		if err != nil {
			t.Fatalf("CreateReturnAuthorization: %v", err)
		}
		if rma != nil && !cmp.Equal(rma, resp, protocmp.Transform()) {
			t.Errorf("repeat answered %v; want %v", resp, rma)
		}
		rma = resp
	}
	if rma.GetStatus() != "Pending Receipt" || !strings.HasPrefix(rma.GetRmaNumber(), "RMA") {
		t.Errorf("RMA %v; want Pending Receipt and an RMA number", rma)
	}
	// The RMA reads back under the reference it was opened under (reconciliation matches by it).
	got, err := s.GetReturnAuthorization(ctx, &erpv1.GetReturnAuthorizationRequest{ReturnAuthorizationId: rma.GetReturnAuthorizationId()})
	if err != nil || got.GetReference() != "ret-1" || got.GetStatus() != "Pending Receipt" || got.GetReturnAuthorizationId() != rma.GetReturnAuthorizationId() {
		t.Errorf("GetReturnAuthorization: %v, %v; want RMA %s, Pending Receipt, reference ret-1", got, err, rma.GetReturnAuthorizationId())
	}
	_, err = s.GetReturnAuthorization(ctx, &erpv1.GetReturnAuthorizationRequest{ReturnAuthorizationId: "999999"})
	connectortest.WantErr(t, err, errs.NotFound, "return_authorization_not_found")
	receipt := &erpv1.CreateItemReceiptRequest{ReturnAuthorizationId: rma.GetReturnAuthorizationId(), LocationId: "dc-east", IdempotencyKey: "wf-1/receipt"}
	memo := &erpv1.CreateCreditMemoRequest{ReturnAuthorizationId: rma.GetReturnAuthorizationId(), IdempotencyKey: "wf-1/memo"}
	var total int64
	for _, l := range o.Lines {
		receipt.Lines = append(receipt.Lines, &erpv1.ReceiptLine{Sku: l.SKU, Quantity: int32(l.Quantity), Restock: true})
		amt := l.UnitPriceMinor * int64(l.Quantity)
		total += amt
		memo.Lines = append(memo.Lines, &canonicalv1.CreditMemoLine{Sku: l.SKU, Quantity: int32(l.Quantity), Amount: money.New(amt, "USD"), Restock: true})
	}
	memo.Total = money.New(total, "USD")
	for range 2 {
		if _, err := s.CreateItemReceipt(ctx, receipt); err != nil {
			t.Fatalf("CreateItemReceipt: %v", err)
		}
		resp, err := s.CreateCreditMemo(ctx, memo)
		if err != nil {
			t.Fatalf("CreateCreditMemo: %v", err)
		}
		if got := resp.GetCreditMemo().GetTotal(); got.GetAmountMinor() != total {
			t.Errorf("credit memo total %v; want %d", got, total)
		}
	}
	if got, _ := sb.Status(nssandbox.TypeReturnAuthorization, rma.GetReturnAuthorizationId()); got != "Refunded" {
		t.Errorf("RMA status %q; want Refunded", got)
	}
	want := map[string]int64{nssandbox.TypeReturnAuthorization: 1, nssandbox.TypeItemReceipt: 1, nssandbox.TypeCreditMemo: 1}
	if diff := cmp.Diff(want, sb.Stats().Created); diff != "" {
		t.Errorf("records created mismatch (-want +got):\n%s", diff)
	}

	sb.SetMaintenance(true, time.Minute)
	_, err = s.CloseReturnAuthorization(ctx, &erpv1.CloseReturnAuthorizationRequest{ReturnAuthorizationId: rma.GetReturnAuthorizationId(), IdempotencyKey: "wf-1/close"})
	if e := connectortest.WantErr(t, err, errs.Unavailable, "erp_maintenance"); e != nil && e.RetryAfter != time.Minute {
		t.Errorf("RetryAfter = %v; want 1m", e.RetryAfter)
	}
}
