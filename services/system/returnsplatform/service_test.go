package returnsplatform_test

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
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	loopsandbox "github.com/retailbridge/retailbridge/services/sandbox/loop"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform/internal/connectortest"
)

func validConfig(baseURL string) returnsplatform.Config {
	return returnsplatform.Config{
		Connection: &returnsplatform.LoopConfig{
			BaseURL: baseURL, APIKey: loopsandbox.DevAPIKey, WebhookSecret: loopsandbox.DevWebhookSecret,
		},
	}
}

// newService connects a service to sb through the kind of HTTP client production uses.
func newService(tb testing.TB, srv *httptest.Server, js jetstream.JetStream, mutate func(*returnsplatform.Config)) *returnsplatform.Service {
	tb.Helper()
	cfg := validConfig(srv.URL)
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := returnsplatform.New(cfg, returnsplatform.Deps{
		HTTPClient: telemetry.NewVendorClient("loop", 5*time.Second, nil, nil), JetStream: js,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// newSandbox starts a Loop sandbox in manual mode, its webhooks going nowhere yet.
func newSandbox(tb testing.TB, opts loopsandbox.Options) (*loopsandbox.Sandbox, *httptest.Server) {
	tb.Helper()
	sb := loopsandbox.New(opts)
	srv := httptest.NewServer(sb)
	tb.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	return sb, srv
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*returnsplatform.Config)
		fields []string
	}{
		{"valid", func(*returnsplatform.Config) {}, nil},
		{"valid with defaults left empty", func(c *returnsplatform.Config) { loopOf(c).BaseURL = "" }, nil},
		{"no vendor connection", func(c *returnsplatform.Config) { c.Connection = nil }, []string{"connection"}},
		{"everything wrong at once", func(c *returnsplatform.Config) {
			c.Timeout = -time.Second
			c.Connection = &returnsplatform.LoopConfig{BaseURL: "ftp://x", APIKey: " "}
		}, []string{"timeout", "loop.api_key", "loop.webhook_secret", "loop.base_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig("https://api.loopreturns.com")
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
	_, err := returnsplatform.New(validConfig(""), returnsplatform.Deps{})
	if errs.KindOf(err) != errs.Invalid {
		t.Errorf("New without an HTTP client: %v; want an Invalid error", err)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	t.Parallel()
	cfg := validConfig("")
	loopOf(&cfg).PreviousWebhookSecret = "previous-secret-value"
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "loop", cfg.Connection)
	for _, out := range []string{logged.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg.Connection)} {
		for _, secret := range []string{loopsandbox.DevAPIKey, loopsandbox.DevWebhookSecret, "previous-secret-value"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q leaks %q", out, secret)
			}
		}
	}
}

func TestRPCs(t *testing.T) {
	t.Parallel()
	sb, srv := newSandbox(t, loopsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	ctx := context.Background()
	ret := connectortest.SampleReturn("ret_rpc")

	created, err := s.CreateReturn(ctx, &returnsplatformv1.CreateReturnRequest{Return: ret, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("CreateReturn: %v", err)
	}
	id := created.GetPlatformReturnId()
	label, err := s.CreateLabel(ctx, &returnsplatformv1.CreateLabelRequest{PlatformReturnId: id, IdempotencyKey: "k2"})
	if err != nil {
		t.Fatalf("CreateLabel: %v", err)
	}
	got, err := s.GetReturn(ctx, &returnsplatformv1.GetReturnRequest{PlatformReturnId: id})
	if err != nil {
		t.Fatalf("GetReturn: %v", err)
	}
	if got.GetState() != "open" || got.GetShipment().GetTrackingNumber() != label.GetTrackingNumber() ||
		got.GetShipment().GetStatus() != canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED {
		t.Errorf("GetReturn = %v; want open with the label's parcel", got)
	}
	if _, err := s.VoidLabel(ctx, &returnsplatformv1.VoidLabelRequest{LabelId: label.GetLabelId()}); err != nil {
		t.Errorf("VoidLabel: %v", err)
	}
	if _, err := s.CloseReturn(ctx, &returnsplatformv1.CloseReturnRequest{PlatformReturnId: id}); err != nil {
		t.Errorf("CloseReturn: %v", err)
	}
	if st, _ := sb.Return(id); st.State != loopsandbox.StateClosed || st.LabelStatus != loopsandbox.LabelCancelled {
		t.Errorf("sandbox return %+v; want closed with the label voided", st)
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

func TestRPCValidation(t *testing.T) {
	t.Parallel()
	sb, srv := newSandbox(t, loopsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	ctx := context.Background()
	long := strings.Repeat("k", 256)
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"create: nothing", func() error {
			_, err := s.CreateReturn(ctx, &returnsplatformv1.CreateReturnRequest{})
			return err
		}, []string{"return", "idempotency_key"}},
		{"create: bad return", func() error {
			_, err := s.CreateReturn(ctx, &returnsplatformv1.CreateReturnRequest{IdempotencyKey: long, Return: &canonicalv1.Return{
				Lines:       []*canonicalv1.ReturnLine{{Quantity: 0}},
				RefundTotal: &canonicalv1.Money{AmountMinor: 1},
			}})
			return err
		}, []string{"return.id", "return.order_id", "return.lines[0].sku", "return.lines[0].quantity",
			"return.refund_total.currency_code", "idempotency_key"}},
		{"create: no lines", func() error {
			_, err := s.CreateReturn(ctx, &returnsplatformv1.CreateReturnRequest{IdempotencyKey: "k",
				Return: &canonicalv1.Return{Id: "r", OrderId: "o"}})
			return err
		}, []string{"return.lines"}},
		{"get", func() error { _, err := s.GetReturn(ctx, &returnsplatformv1.GetReturnRequest{}); return err },
			[]string{"platform_return_id"}},
		{"label", func() error { _, err := s.CreateLabel(ctx, &returnsplatformv1.CreateLabelRequest{}); return err },
			[]string{"platform_return_id", "idempotency_key"}},
		{"void", func() error { _, err := s.VoidLabel(ctx, &returnsplatformv1.VoidLabelRequest{}); return err },
			[]string{"label_id"}},
		{"close", func() error {
			_, err := s.CloseReturn(ctx, &returnsplatformv1.CloseReturnRequest{PlatformReturnId: long})
			return err
		}, []string{"platform_return_id"}},
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

func TestVendorErrorsPassThrough(t *testing.T) {
	t.Parallel()
	_, srv := newSandbox(t, loopsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	_, err := s.GetReturn(context.Background(), &returnsplatformv1.GetReturnRequest{PlatformReturnId: "404"})
	connectortest.WantErr(t, err, errs.NotFound, "return_not_found")
	bad := newService(t, srv, nil, func(c *returnsplatform.Config) { loopOf(c).APIKey = "wrong" })
	connectortest.WantErr(t, bad.Ready(context.Background()), errs.Unavailable, "vendor_auth_failed")
	slow := newService(t, srv, nil, func(c *returnsplatform.Config) { c.Timeout = time.Nanosecond })
	_, err = slow.GetReturn(context.Background(), &returnsplatformv1.GetReturnRequest{PlatformReturnId: "1"})
	connectortest.WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
}

// loopOf is the Loop connection of c, to change in place.
func loopOf(c *returnsplatform.Config) *returnsplatform.LoopConfig {
	return c.Connection.(*returnsplatform.LoopConfig)
}
