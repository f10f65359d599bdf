package commerce_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce"
)

var dataset = sync.OnceValue(func() *demo.Dataset {
	return demo.Generate(5, time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC), 20, 200)
})

func validConfig() commerce.Config {
	return commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: "https://demo.myshopify.com", AccessToken: "shpat_secret"}}
}

// newService starts a sandbox and a service in front of it.
func newService(tb testing.TB, edit func(*commerce.Config)) (*commerce.Service, *sandbox.Sandbox) {
	tb.Helper()
	sb := sandbox.New(dataset(), sandbox.Options{RestoreRate: 100000})
	srv := httptest.NewServer(sb)
	tb.Cleanup(srv.Close)
	cfg := commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: srv.URL, AccessToken: sandbox.DefaultAccessToken}}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := commerce.New(cfg, commerce.Deps{HTTPClient: srv.Client()})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return svc, sb
}

func fieldsOf(err error) []string {
	var out []string
	if e := errs.As(err); e != nil {
		for _, f := range e.Fields {
			out = append(out, f.Field)
		}
	}
	slices.Sort(out)
	return out
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*commerce.Config)
		bad  []string
	}{
		{"valid", nil, nil},
		{"defaults fill version and timeout", func(c *commerce.Config) { c.Timeout = 0 }, nil},
		{"empty connection", func(c *commerce.Config) { c.Connection = commerce.ShopifyConfig{} }, []string{"shopify.access_token", "shopify.base_url"}},
		{"everything wrong", func(c *commerce.Config) {
			*c = commerce.Config{Timeout: -time.Second}
		}, []string{"connection", "timeout"}},
		{"bad shopify fields", func(c *commerce.Config) {
			c.Connection = commerce.ShopifyConfig{BaseURL: "demo.myshopify.com", APIVersion: "2026-13", AccessToken: " "}
		}, []string{"shopify.access_token", "shopify.api_version", "shopify.base_url"}},
	}
	for _, tt := range tests {
		cfg := validConfig()
		if tt.edit != nil {
			tt.edit(&cfg)
		}
		err := cfg.Validate()
		if got := fieldsOf(err); !slices.Equal(got, tt.bad) {
			t.Errorf("%s: got bad fields %v (%v), want %v", tt.name, got, err, tt.bad)
		}
		if err != nil && errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: got kind %v, want invalid", tt.name, errs.KindOf(err))
		}
		if _, nerr := commerce.New(cfg, commerce.Deps{}); (nerr == nil) != (tt.bad == nil) {
			t.Errorf("%s: New returned %v", tt.name, nerr)
		}
	}
}

func TestConfigMasksToken(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	shopifyOf(&cfg).WebhookSecret = "whsec_secret"
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "shopify", cfg.Connection)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg.Connection), buf.String()} {
		for _, secret := range []string{"shpat_secret", "whsec_secret"} {
			if strings.Contains(s, secret) {
				t.Errorf("secret leaked: %s", s)
			}
		}
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	svc, sb := newService(t, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		bad  []string
	}{
		{"no order id", func() error { _, err := svc.GetOrder(ctx, &commercev1.GetOrderRequest{}); return err }, []string{"order_id"}},
		{"order id with spaces", func() error {
			_, err := svc.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: "1 OR 2"})
			return err
		}, []string{"order_id"}},
		{"everything wrong in a listing", func() error {
			_, err := svc.ListOrders(ctx, &commercev1.ListOrdersRequest{PageSize: 101, PageToken: strings.Repeat("x", 2000)})
			return err
		}, []string{"customer_id", "page_size", "page_token"}},
		{"a source that would break out of the search query", func() error {
			_, err := svc.ListOrders(ctx, &commercev1.ListOrdersRequest{Sources: []string{`acme" OR customer_id:1`}})
			return err
		}, []string{"sources"}},
		{"too many sources", func() error {
			_, err := svc.ListOrders(ctx, &commercev1.ListOrdersRequest{Sources: slices.Repeat([]string{"s"}, 21)})
			return err
		}, []string{"sources"}},
		{"negative page size", func() error {
			_, err := svc.ListOrders(ctx, &commercev1.ListOrdersRequest{CustomerId: demo.DemoCustomerID, PageSize: -1})
			return err
		}, []string{"page_size"}},
	}
	for _, tt := range tests {
		err := tt.call()
		e := errs.As(err)
		if e == nil || e.Kind != errs.Invalid || e.Reason != "invalid_request" {
			t.Errorf("%s: got %v, want invalid_request", tt.name, err)
			continue
		}
		if got := fieldsOf(err); !slices.Equal(got, tt.bad) {
			t.Errorf("%s: got bad fields %v, want %v", tt.name, got, tt.bad)
		}
	}
	if n := sb.Faults().Requests(); n != 0 {
		t.Errorf("invalid requests reached the vendor %d times, want 0", n)
	}
}

func TestGetAndListOrders(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, nil)
	ctx := context.Background()
	if err := svc.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	o := dataset().Scenario(demo.ScenarioEligible)
	got, err := svc.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: o.ID})
	if err != nil || got.GetOrder().GetId() != o.ID || len(got.GetOrder().GetLines()) != len(o.Lines) {
		t.Fatalf("GetOrder: got %v, %v", got, err)
	}
	_, err = svc.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: "424242"})
	if e := errs.As(err); e == nil || e.Kind != errs.NotFound || e.Reason != "order_not_found" {
		t.Errorf("unknown order: got %v, want order_not_found", err)
	}

	want := dataset().OrdersOf(demo.DemoCustomerID)
	list, err := svc.ListOrders(ctx, &commercev1.ListOrdersRequest{CustomerId: demo.DemoCustomerID})
	if err != nil {
		t.Fatalf("ListOrders: %v", err)
	}
	if n := min(len(want), commerce.DefaultPageSize); len(list.GetOrders()) != n {
		t.Errorf("default page: got %d orders, want %d", len(list.GetOrders()), n)
	}
	if (list.GetNextPageToken() != "") != (len(want) > commerce.DefaultPageSize) {
		t.Errorf("next page token %q with %d orders in all", list.GetNextPageToken(), len(want))
	}
}

func TestVendorFailuresKeepTheirKind(t *testing.T) {
	t.Parallel()
	svc, sb := newService(t, func(c *commerce.Config) { c.Timeout = 150 * time.Millisecond })
	ctx := context.Background()
	id := dataset().Orders[0].ID

	sb.Faults().Set(faults.Settings{Latency: time.Second})
	start := time.Now()
	_, err := svc.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: id})
	if e := errs.As(err); e == nil || e.Kind != errs.DeadlineExceeded || e.Reason != "vendor_timeout" {
		t.Errorf("slow vendor: got %v, want vendor_timeout", err)
	}
	if took := time.Since(start); took > 600*time.Millisecond {
		t.Errorf("slow vendor: took %v, want about the 150ms timeout", took)
	}

	sb.Faults().Set(faults.Settings{ErrorRate: 1})
	_, err = svc.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: id})
	if e := errs.As(err); e == nil || e.Kind != errs.Unavailable || e.Reason != "vendor_unavailable" {
		t.Errorf("503: got %v, want vendor_unavailable", err)
	}
}

func TestBadTokenIsOurProblem(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, func(c *commerce.Config) { shopifyOf(c).AccessToken = "shpat_revoked" })
	err := svc.Ready(context.Background())
	if e := errs.As(err); e == nil || e.Kind != errs.Unavailable || e.Reason != "vendor_auth_failed" {
		t.Errorf("Ready with a revoked token: got %v, want vendor_auth_failed", err)
	}
}

// CreateFulfillment is implemented (connectortest FulfilmentsWithTracking); an empty request is
// refused field by field.
func TestCreateFulfillmentNeedsTrackingAndLines(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, nil)
	_, err := svc.CreateFulfillment(context.Background(), nil)
	if e := errs.As(err); e == nil || e.Kind != errs.Invalid || len(e.Fields) != 3 {
		t.Errorf("empty CreateFulfillment: got %v, want invalid order_id, tracking number and lines", err)
	}
}

func TestUnimplemented(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, nil)
	ctx := context.Background()
	calls := map[string]func() error{
		"AdjustInventory": func() error { _, err := svc.AdjustInventory(ctx, nil); return err },
	}
	for name, call := range calls {
		e := errs.As(call())
		if e == nil || e.Kind != errs.Unimplemented || e.Reason != "not_implemented" {
			t.Errorf("%s: got %v, want not_implemented", name, e)
		}
	}
}

// shopifyOf is the Shopify connection of c, to change in place.
func shopifyOf(c *commerce.Config) *commerce.ShopifyConfig {
	return c.Connection.(*commerce.ShopifyConfig)
}
