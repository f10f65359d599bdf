package wms_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	whsandbox "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/wms"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/connectortest"
)

var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func validConfig(baseURL string) wms.Config {
	return wms.Config{Connection: validWarehouse(baseURL)}
}

func validWarehouse(baseURL string) wms.WarehouseConfig {
	return wms.WarehouseConfig{BaseURL: baseURL, APIKey: whsandbox.DevAPIKey, WebhookSecret: whsandbox.DevWebhookSecret}
}

// warehouseOf changes the warehouse connection of c.
func warehouseOf(c *wms.Config, change func(*wms.WarehouseConfig)) {
	w := c.Connection.(wms.WarehouseConfig)
	change(&w)
	c.Connection = w
}

func newSandbox(tb testing.TB, opts whsandbox.Options) (*whsandbox.Sandbox, *httptest.Server) {
	tb.Helper()
	sb := whsandbox.New(demo.Generate(3, testNow, 2, 2), opts)
	srv := httptest.NewServer(sb)
	tb.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	return sb, srv
}

func newService(tb testing.TB, srv *httptest.Server, js jetstream.JetStream, mutate func(*wms.Config)) *wms.Service {
	tb.Helper()
	cfg := validConfig(srv.URL)
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := wms.New(cfg, wms.Deps{HTTPClient: telemetry.NewVendorClient("warehouse", 5*time.Second, nil, nil), JetStream: js})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*wms.Config)
		fields []string
	}{
		{"valid", func(*wms.Config) {}, nil},
		{"no vendor connection", func(c *wms.Config) { c.Connection = nil }, []string{"connection"}},
		{"everything wrong at once", func(c *wms.Config) {
			c.Timeout = -time.Second
			c.Connection = wms.WarehouseConfig{SignatureTolerance: -time.Second}
		}, []string{"timeout", "warehouse.base_url", "warehouse.api_key", "warehouse.webhook_secret", "warehouse.signature_tolerance"}},
		{"relative base URL", func(c *wms.Config) { warehouseOf(c, func(w *wms.WarehouseConfig) { w.BaseURL = "/api" }) }, []string{"warehouse.base_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig("https://api.3pl.example")
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
	_, err := wms.New(validConfig("https://api.3pl.example"), wms.Deps{})
	if errs.KindOf(err) != errs.Invalid {
		t.Errorf("New without an HTTP client: %v; want an Invalid error", err)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	t.Parallel()
	cfg := validConfig("https://api.3pl.example")
	warehouseOf(&cfg, func(w *wms.WarehouseConfig) { w.PreviousWebhookSecret = "previous-secret-value" })
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "warehouse", cfg.Connection)
	for _, out := range []string{logged.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg.Connection)} {
		for _, secret := range []string{whsandbox.DevAPIKey, whsandbox.DevWebhookSecret, "previous-secret-value"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
}

func TestRPCs(t *testing.T) {
	t.Parallel()
	sb, srv := newSandbox(t, whsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	ctx := context.Background()
	loc := whsandbox.DefaultLocations[0]

	exp, err := s.ExpectReturn(ctx, &wmsv1.ExpectReturnRequest{Return: connectortest.SampleReturn("ret_rpc"), LocationId: loc, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("ExpectReturn: %v", err)
	}
	if err := sb.Receive(exp.GetReceiptId()); err != nil {
		t.Fatal(err)
	}
	if err := sb.Inspect(exp.GetReceiptId(), map[int]string{1: whsandbox.ConditionResellable, 2: whsandbox.ConditionDamaged}); err != nil {
		t.Fatal(err)
	}
	rc, err := s.GetReturnReceipt(ctx, &wmsv1.GetReturnReceiptRequest{ReceiptId: exp.GetReceiptId()})
	if err != nil {
		t.Fatalf("GetReturnReceipt: %v", err)
	}
	var conds []canonicalv1.ItemCondition
	for _, l := range rc.GetLines() {
		conds = append(conds, l.GetCondition())
	}
	if rc.GetReceivedAt() == nil || !cmp.Equal(conds, []canonicalv1.ItemCondition{
		canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE, canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED}) {
		t.Errorf("receipt %v; want received, lines resellable and damaged", rc)
	}
	if rc.GetReference() != "ret_rpc" {
		t.Errorf("receipt reference %q; want the announced return's id, ret_rpc", rc.GetReference())
	}

	so, err := s.CreateShippingOrder(ctx, &wmsv1.CreateShippingOrderRequest{
		Shipment: connectortest.SampleShipment("shp_rpc", loc, "APP-000"), IdempotencyKey: "k2"})
	if err != nil {
		t.Fatalf("CreateShippingOrder: %v", err)
	}
	got, err := s.GetShippingOrder(ctx, &wmsv1.GetShippingOrderRequest{WarehouseOrderId: so.GetWarehouseOrderId()})
	if err != nil || got.GetAcknowledgedAt() != nil {
		t.Errorf("GetShippingOrder = %v, %v; want not acknowledged yet", got, err)
	}
	pos, err := s.ListPositions(ctx, &wmsv1.ListPositionsRequest{Skus: []string{"APP-000"}})
	if err != nil || len(pos.GetPositions()) != len(whsandbox.DefaultLocations) {
		t.Errorf("ListPositions = %v, %v; want APP-000 at every location", pos, err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

func TestRPCValidation(t *testing.T) {
	t.Parallel()
	sb, srv := newSandbox(t, whsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	ctx := context.Background()
	long := strings.Repeat("x", 256)
	many := make([]string, wms.MaxSKUs+1)
	for i := range many {
		many[i] = fmt.Sprint("SKU-", i)
	}
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"expect: nothing", func() error { _, err := s.ExpectReturn(ctx, &wmsv1.ExpectReturnRequest{}); return err },
			[]string{"return", "location_id"}},
		{"expect: bad return", func() error {
			_, err := s.ExpectReturn(ctx, &wmsv1.ExpectReturnRequest{LocationId: "dc-east", IdempotencyKey: long,
				Return: &canonicalv1.Return{Id: long[:129], Lines: []*canonicalv1.ReturnLine{{Quantity: -1}}}})
			return err
		}, []string{"return.id", "return.lines[0].sku", "return.lines[0].quantity", "idempotency_key"}},
		{"receipt", func() error { _, err := s.GetReturnReceipt(ctx, &wmsv1.GetReturnReceiptRequest{}); return err },
			[]string{"receipt_id"}},
		{"ship: nothing", func() error { _, err := s.CreateShippingOrder(ctx, &wmsv1.CreateShippingOrderRequest{}); return err },
			[]string{"shipment"}},
		{"ship: bad shipment", func() error {
			_, err := s.CreateShippingOrder(ctx, &wmsv1.CreateShippingOrderRequest{Shipment: &canonicalv1.Shipment{
				ToAddress: &canonicalv1.Address{CountryCode: "USA"}}})
			return err
		}, []string{"shipment.id", "shipment.from_location_id", "shipment.to_address.name", "shipment.to_address.lines",
			"shipment.to_address.city", "shipment.to_address.country_code", "shipment.lines"}},
		{"order", func() error { _, err := s.GetShippingOrder(ctx, &wmsv1.GetShippingOrderRequest{}); return err },
			[]string{"warehouse_order_id"}},
		{"positions", func() error {
			_, err := s.ListPositions(ctx, &wmsv1.ListPositionsRequest{Skus: many, LocationIds: []string{""}})
			return err
		}, []string{"skus", "location_ids[0]"}},
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

// FM-4 at the system API: while the warehouse sits on an order, asking again (as a workflow
// retrying after a timeout does) never creates a second pick request.
func TestDelayedAcknowledgement(t *testing.T) {
	t.Parallel()
	sb, srv := newSandbox(t, whsandbox.Options{Delays: whsandbox.Delays{Acknowledge: -1}})
	s := newService(t, srv, nil, nil)
	ctx := context.Background()
	req := &wmsv1.CreateShippingOrderRequest{
		Shipment: connectortest.SampleShipment("shp_fm4", whsandbox.DefaultLocations[0], "APP-000"), IdempotencyKey: "wf-1/pick"}
	var id string
	for i := range 5 {
		resp, err := s.CreateShippingOrder(ctx, req)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if id != "" && resp.GetWarehouseOrderId() != id {
			t.Fatalf("attempt %d: order %s; want %s", i, resp.GetWarehouseOrderId(), id)
		}
		id = resp.GetWarehouseOrderId()
		got, err := s.GetShippingOrder(ctx, &wmsv1.GetShippingOrderRequest{WarehouseOrderId: id})
		if err != nil || got.GetAcknowledgedAt() != nil {
			t.Fatalf("attempt %d: %v, %v; want still unacknowledged", i, got, err)
		}
	}
	if n := sb.Stats().OrdersCreated; n != 1 {
		t.Errorf("warehouse holds %d orders after 5 requests; want 1", n)
	}
	if err := sb.Acknowledge(id); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetShippingOrder(ctx, &wmsv1.GetShippingOrderRequest{WarehouseOrderId: id}); got.GetAcknowledgedAt() == nil {
		t.Errorf("after the late acknowledgement: %v; want acknowledged_at", got)
	}
}

func TestVendorErrorsPassThrough(t *testing.T) {
	t.Parallel()
	_, srv := newSandbox(t, whsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	_, err := s.GetReturnReceipt(context.Background(), &wmsv1.GetReturnReceiptRequest{ReceiptId: "RCV-404"})
	connectortest.WantErr(t, err, errs.NotFound, "receipt_not_found")
	bad := newService(t, srv, nil, func(c *wms.Config) { warehouseOf(c, func(w *wms.WarehouseConfig) { w.APIKey = "wrong" }) })
	connectortest.WantErr(t, bad.Ready(context.Background()), errs.Unavailable, "vendor_auth_failed")
	slow := newService(t, srv, nil, func(c *wms.Config) { c.Timeout = time.Nanosecond })
	_, err = slow.ListPositions(context.Background(), &wmsv1.ListPositionsRequest{})
	connectortest.WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
}
