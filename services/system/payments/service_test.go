package payments_test

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
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"github.com/retailbridge/retailbridge/services/system/payments"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/connectortest"
)

var now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func validConfig(baseURL string) payments.Config {
	return payments.Config{
		Connection: &payments.StripeConfig{BaseURL: baseURL, SecretKey: stripesb.DevSecretKey,
			WebhookSecrets: []string{stripesb.DevWebhookSecret}},
	}
}

// newTestService serves the demo orders' payments from a Stripe sandbox and connects through the
// same kind of HTTP client production uses.
func newTestService(tb testing.TB, mutate func(*payments.Config)) (*payments.Service, *stripesb.Sandbox, *demo.Dataset) {
	tb.Helper()
	ds := demo.Generate(7, now, 3, 12)
	sb := stripesb.New(ds, stripesb.Options{})
	srv := httptest.NewServer(sb)
	tb.Cleanup(srv.Close)
	cfg := validConfig(srv.URL)
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := payments.New(cfg, payments.Deps{HTTPClient: telemetry.NewVendorClient("stripe", 5*time.Second, nil, nil)})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s, sb, ds
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*payments.Config)
		fields []string
	}{
		{"valid", func(*payments.Config) {}, nil},
		{"valid with defaults left empty", func(c *payments.Config) { stripeOf(c).BaseURL = "" }, nil},
		{"restricted key", func(c *payments.Config) { stripeOf(c).SecretKey = "rk_live_abc" }, nil},
		{"no vendor connection", func(c *payments.Config) { c.Connection = nil }, []string{"connection"}},
		{"publishable key", func(c *payments.Config) { stripeOf(c).SecretKey = "pk_live_abc" }, []string{"stripe.secret_key"}},
		{"two webhook secrets while rolling", func(c *payments.Config) {
			stripeOf(c).WebhookSecrets = []string{"whsec_new", "whsec_old"}
		}, nil},
		{"no webhook secret", func(c *payments.Config) { stripeOf(c).WebhookSecrets = nil }, []string{"stripe.webhook_secrets"}},
		{"an empty webhook secret", func(c *payments.Config) {
			stripeOf(c).WebhookSecrets = []string{"whsec_new", " "}
		}, []string{"stripe.webhook_secrets"}},
		{"everything wrong at once", func(c *payments.Config) {
			c.Timeout = -time.Second
			c.Connection = &payments.StripeConfig{BaseURL: "api.stripe.com", MaxConcurrency: -1, SignatureTolerance: -time.Second}
		}, []string{"timeout", "stripe.secret_key", "stripe.base_url", "stripe.max_concurrency", "stripe.webhook_secrets",
			"stripe.signature_tolerance"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig("https://api.stripe.com")
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
	_, err := payments.New(validConfig(""), payments.Deps{})
	if errs.KindOf(err) != errs.Invalid {
		t.Errorf("New without an HTTP client: %v; want an Invalid error", err)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	t.Parallel()
	cfg := validConfig("")
	stripeOf(&cfg).SecretKey = "sk_live_51HxTopSecretValue"
	stripeOf(&cfg).WebhookSecrets = []string{"whsec_TopSecretNew", "whsec_TopSecretOld"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "stripe", cfg.Connection)
	for _, out := range []string{logged.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg.Connection)} {
		if strings.Contains(out, "TopSecret") {
			t.Errorf("%q leaks a secret", out)
		}
		if !strings.Contains(out, "sk_live_***") || !strings.Contains(out, "whsec_***,whsec_***") {
			t.Errorf("%q does not say which kind of key and how many webhook secrets are configured", out)
		}
	}
}

func TestRefundRoundTrip(t *testing.T) {
	t.Parallel()
	s, _, ds := newTestService(t, nil)
	o := ds.Scenario(demo.ScenarioEligible)
	ctx := context.Background()
	req := &paymentsv1.CreateRefundRequest{
		PaymentReference: stripesb.PaymentIntentID(o.ID),
		Amount:           money.New(1000, "USD"),
		IdempotencyKey:   "wf_ret_1/refund",
		Metadata:         map[string]string{"order_id": o.ID, "return_id": "ret_1"},
	}
	created, err := s.CreateRefund(ctx, req)
	if err != nil {
		t.Fatalf("CreateRefund: %v", err)
	}
	r := created.GetRefund()
	want := &canonicalv1.Refund{
		OrderId: o.ID, ReturnId: "ret_1", Amount: money.New(1000, "USD"),
		Status: canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED, PaymentReference: stripesb.PaymentIntentID(o.ID),
		GatewayRefundId: r.GetGatewayRefundId(), IdempotencyKey: "wf_ret_1/refund", CreatedAt: r.GetCreatedAt(),
	}
	if diff := cmp.Diff(want, r, protocmp.Transform()); diff != "" {
		t.Errorf("CreateRefund mismatch (-want +got):\n%s", diff)
	}
	again, err := s.CreateRefund(ctx, req)
	if err != nil {
		t.Fatalf("CreateRefund again: %v", err)
	}
	if diff := cmp.Diff(created, again, protocmp.Transform()); diff != "" {
		t.Errorf("the same key gave another answer (-first +second):\n%s", diff)
	}
	got, err := s.GetRefund(ctx, &paymentsv1.GetRefundRequest{GatewayRefundId: r.GetGatewayRefundId()})
	if err != nil {
		t.Fatalf("GetRefund: %v", err)
	}
	if diff := cmp.Diff(r, got.GetRefund(), protocmp.Transform()); diff != "" {
		t.Errorf("GetRefund mismatch (-want +got):\n%s", diff)
	}
	pay, err := s.GetPayment(ctx, &paymentsv1.GetPaymentRequest{PaymentReference: stripesb.ChargeID(o.ID)})
	if err != nil {
		t.Fatalf("GetPayment: %v", err)
	}
	wantPay := &paymentsv1.GetPaymentResponse{Captured: money.New(o.TotalMinor(), "USD"), Refunded: money.New(1000, "USD")}
	if diff := cmp.Diff(wantPay, pay, protocmp.Transform()); diff != "" {
		t.Errorf("GetPayment mismatch (-want +got):\n%s", diff)
	}
}

func TestSeededRefundsShow(t *testing.T) {
	t.Parallel()
	s, _, ds := newTestService(t, nil)
	o := ds.Scenario(demo.ScenarioPartialRefund)
	pay, err := s.GetPayment(context.Background(), &paymentsv1.GetPaymentRequest{PaymentReference: stripesb.PaymentIntentID(o.ID)})
	if err != nil {
		t.Fatalf("GetPayment: %v", err)
	}
	l := o.Lines[0]
	want := &paymentsv1.GetPaymentResponse{Captured: money.New(o.TotalMinor(), "USD"), Refunded: money.New(int64(l.Refunded)*l.UnitPriceMinor, "USD")}
	if diff := cmp.Diff(want, pay, protocmp.Transform()); diff != "" {
		t.Errorf("GetPayment of the partially refunded order mismatch (-want +got):\n%s", diff)
	}
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	s, sb, _ := newTestService(t, nil)
	ok := func() *paymentsv1.CreateRefundRequest {
		return &paymentsv1.CreateRefundRequest{PaymentReference: "pi_1", Amount: money.New(100, "USD"), IdempotencyKey: "k"}
	}
	tooMany := map[string]string{}
	for i := range payments.MaxMetadataKeys + 1 {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"empty refund", func() error {
			_, err := s.CreateRefund(context.Background(), &paymentsv1.CreateRefundRequest{})
			return err
		}, []string{"payment_reference", "amount", "idempotency_key"}},
		{"bad amount and reference", func() error {
			r := ok()
			r.PaymentReference, r.Amount = "cus_1", &canonicalv1.Money{AmountMinor: -5, CurrencyCode: "usd"}
			_, err := s.CreateRefund(context.Background(), r)
			return err
		}, []string{"payment_reference", "amount.amount_minor", "amount.currency_code"}},
		{"key too long", func() error {
			r := ok()
			r.IdempotencyKey = strings.Repeat("k", payments.MaxIdempotencyKeyLen+1)
			_, err := s.CreateRefund(context.Background(), r)
			return err
		}, []string{"idempotency_key"}},
		{"key with a newline", func() error {
			r := ok()
			r.IdempotencyKey = "k\r\nX-Evil: 1"
			_, err := s.CreateRefund(context.Background(), r)
			return err
		}, []string{"idempotency_key"}},
		{"key with a trailing space", func() error {
			r := ok()
			r.IdempotencyKey = "k "
			_, err := s.CreateRefund(context.Background(), r)
			return err
		}, []string{"idempotency_key"}},
		{"bad metadata", func() error {
			r := ok()
			r.Metadata = map[string]string{"idempotency_key": "x", strings.Repeat("m", 41): "v", "a[b]": "v", "long": strings.Repeat("v", 501)}
			_, err := s.CreateRefund(context.Background(), r)
			return err
		}, []string{"metadata[a[b]]", "metadata[idempotency_key]", "metadata[long]", "metadata[" + strings.Repeat("m", 41) + "]"}},
		{"too much metadata", func() error {
			r := ok()
			r.Metadata = tooMany
			_, err := s.CreateRefund(context.Background(), r)
			return err
		}, []string{"metadata"}},
		{"refund id missing", func() error {
			_, err := s.GetRefund(context.Background(), &paymentsv1.GetRefundRequest{})
			return err
		}, []string{"gateway_refund_id"}},
		{"refund id not a refund", func() error {
			_, err := s.GetRefund(context.Background(), &paymentsv1.GetRefundRequest{GatewayRefundId: "pi_1"})
			return err
		}, []string{"gateway_refund_id"}},
		{"refund id with a path", func() error {
			_, err := s.GetRefund(context.Background(), &paymentsv1.GetRefundRequest{GatewayRefundId: "re_1/../../v1/balance"})
			return err
		}, []string{"gateway_refund_id"}},
		{"payment reference missing", func() error {
			_, err := s.GetPayment(context.Background(), &paymentsv1.GetPaymentRequest{})
			return err
		}, []string{"payment_reference"}},
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

func TestVendorFailures(t *testing.T) {
	t.Parallel()
	refund := func(ds *demo.Dataset, key string) *paymentsv1.CreateRefundRequest {
		return &paymentsv1.CreateRefundRequest{
			PaymentReference: stripesb.PaymentIntentID(ds.Orders[0].ID), Amount: money.New(100, "USD"), IdempotencyKey: key,
		}
	}
	t.Run("configured timeout", func(t *testing.T) {
		t.Parallel()
		s, sb, ds := newTestService(t, func(c *payments.Config) { c.Timeout = 100 * time.Millisecond })
		sb.Faults().Set(faults.Settings{Latency: 2 * time.Second})
		began := time.Now()
		_, err := s.CreateRefund(context.Background(), refund(ds, "timeout"))
		connectortest.WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout")
		if took := time.Since(began); took > time.Second {
			t.Errorf("CreateRefund took %v; want about the 100ms timeout", took)
		}
	})
	t.Run("gateway down", func(t *testing.T) {
		t.Parallel()
		s, sb, ds := newTestService(t, func(c *payments.Config) { c.Timeout = 300 * time.Millisecond })
		sb.Faults().Set(faults.Settings{Down: true})
		_, err := s.CreateRefund(context.Background(), refund(ds, "down"))
		connectortest.WantErr(t, err, errs.Unavailable, "vendor_unavailable")
	})
	t.Run("answer lost, then found by the same key", func(t *testing.T) {
		t.Parallel()
		s, sb, ds := newTestService(t, func(c *payments.Config) { c.Timeout = 300 * time.Millisecond })
		sb.SetLoseResponses(1)
		_, err := s.CreateRefund(context.Background(), refund(ds, "lost"))
		e := connectortest.WantErr(t, err, errs.Unavailable, "vendor_unavailable")
		if e != nil && !e.Retryable {
			t.Errorf("an unknown outcome is not retryable; want retryable with the same key")
		}
		sb.SetLoseResponses(0)
		r, err := s.CreateRefund(context.Background(), refund(ds, "lost"))
		if err != nil {
			t.Fatalf("CreateRefund with the same key later: %v", err)
		}
		st := sb.Stats()
		if st.RefundsCreated != 1 || st.ResponsesLost < 2 {
			t.Errorf("sandbox created %d refunds and lost %d answers; want 1 refund, answers lost on every retry",
				st.RefundsCreated, st.ResponsesLost)
		}
		if r.GetRefund().GetAmount().GetAmountMinor() != 100 {
			t.Errorf("refund = %v; want the first one's 100", r.GetRefund())
		}
	})
	t.Run("ready", func(t *testing.T) {
		t.Parallel()
		s, sb, _ := newTestService(t, func(c *payments.Config) { c.Timeout = 300 * time.Millisecond })
		if err := s.Ready(context.Background()); err != nil {
			t.Errorf("Ready: %v; want nil", err)
		}
		sb.Faults().Set(faults.Settings{ErrorRate: 1, ErrorStatus: 502})
		connectortest.WantErr(t, s.Ready(context.Background()), errs.Unavailable, "vendor_unavailable")
	})
}

// stripeOf is the Stripe connection of c, to change in place.
func stripeOf(c *payments.Config) *payments.StripeConfig {
	return c.Connection.(*payments.StripeConfig)
}
