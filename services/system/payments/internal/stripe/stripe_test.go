package stripe_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"github.com/retailbridge/retailbridge/services/system/payments"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/stripe"
)

// stripeMockEnv names the stripe-mock URL that scripts/with-stripe-mock.sh exports.
const stripeMockEnv = "RB_TEST_STRIPE_MOCK_URL"

var now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func TestConformanceSandbox(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, newSandboxEnv)
}

// TestConformanceStripeMock runs the suite against stripe-mock, Stripe's own server for its
// OpenAPI specification: it refuses any path, parameter, encoding, key or API version the real
// API would refuse, but keeps no state, so the suite runs only its stateless scenarios there.
func TestConformanceStripeMock(t *testing.T) {
	t.Parallel()
	base := os.Getenv(stripeMockEnv)
	if base == "" {
		t.Fatal(stripeMockEnv + " is not set: run the tests through scripts/with-stripe-mock.sh, which installs " +
			"and starts stripe-mock (tests never skip a peer)")
	}
	connectortest.Run(t, func(tb testing.TB) *connectortest.Env {
		env := &connectortest.Env{Connect: func(tb testing.TB, o connectortest.Options) payments.Connector {
			key := "sk_test_conformance" // stripe-mock takes any well-formed test key
			if o.WrongSecret {
				key = "sk_live_conformance" // and refuses live ones
			}
			return connect(tb, base, key, 0, stripesb.DevWebhookSecret) // stripe-mock sends no webhooks
		}}
		for i := range connectortest.MinPayments {
			env.Payments = append(env.Payments, connectortest.Payment{
				Intent: fmt.Sprintf("pi_conformance%d", i), Charge: fmt.Sprintf("ch_conformance%d", i),
			})
		}
		return env
	})
}

// TestStripeMockIsStrict shows that the stripe-mock the suite ran against refuses what Stripe
// refuses — another API version, unknown parameters, malformed values, missing or live keys — so
// its accepting the connector's requests means something.
func TestStripeMockIsStrict(t *testing.T) {
	t.Parallel()
	base := os.Getenv(stripeMockEnv)
	if base == "" {
		t.Fatal(stripeMockEnv + " is not set: run the tests through scripts/with-stripe-mock.sh")
	}
	ok := "amount=500&currency=usd&metadata%5Breturn_id%5D=ret_1&payment_intent=pi_strict&reason=requested_by_customer"
	tests := []struct {
		name, auth, version, body string
		want                      int
	}{
		{"a well-formed refund", "Bearer sk_test_strict", stripe.APIVersion, ok, http.StatusOK},
		{"another API version", "Bearer sk_test_strict", "2020-08-27", ok, http.StatusBadRequest},
		{"unknown parameter", "Bearer sk_test_strict", stripe.APIVersion, ok + "&refund_everything=true", http.StatusBadRequest},
		{"amount not an integer", "Bearer sk_test_strict", stripe.APIVersion, "amount=5.00&payment_intent=pi_strict", http.StatusBadRequest},
		{"unknown reason", "Bearer sk_test_strict", stripe.APIVersion, "payment_intent=pi_strict&reason=because", http.StatusBadRequest},
		{"no key", "", stripe.APIVersion, ok, http.StatusUnauthorized},
		{"live key", "Bearer sk_live_strict", stripe.APIVersion, ok, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodPost, base+"/v1/refunds", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Stripe-Version", tt.version)
			req.Header.Set("Idempotency-Key", "strict-"+tt.name)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d (%s); want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
}

// webhookSecret signs the sandbox's webhooks in the conformance suite.
const webhookSecret = "whsec_conformance"

// newSandboxEnv boots a Stripe sandbox over the demo orders, its webhooks sent to an endpoint
// that records them.
func newSandboxEnv(tb testing.TB) *connectortest.Env {
	ds := demo.Generate(7, now, 3, 24)
	rcv := &receiver{got: map[string]connectortest.Webhook{}}
	rcv.srv = httptest.NewServer(rcv)
	sb := stripesb.New(ds, stripesb.Options{WebhookURL: rcv.srv.URL, WebhookSecrets: []string{webhookSecret},
		Delivery: stripesb.DeliverySettings{RetryBackoff: 10 * time.Millisecond}})
	rcv.sb = sb
	srv := httptest.NewServer(sb)
	tb.Cleanup(func() {
		srv.Close()
		sb.Close()
		rcv.srv.Close()
	})
	env := &connectortest.Env{
		Stateful: true,
		Sandbox:  sandboxKnobs{sb},
		Webhooks: rcv,
		Connect: func(tb testing.TB, o connectortest.Options) payments.Connector {
			key, secret := sb.SecretKey(), webhookSecret
			if o.WrongSecret {
				key = "sk_test_not_the_sandbox_key"
			}
			if o.WrongWebhookSecret {
				secret = "whsec_not_the_sandbox_secret"
			}
			return connect(tb, srv.URL, key, 0, secret)
		},
	}
	for _, o := range ds.Orders {
		if refunded(o) == 0 && o.TotalMinor() >= 3000 {
			env.Payments = append(env.Payments, connectortest.Payment{
				Intent: stripesb.PaymentIntentID(o.ID), Charge: stripesb.ChargeID(o.ID), Captured: o.TotalMinor(),
			})
		}
	}
	return env
}

func refunded(o demo.Order) int64 {
	var n int64
	for _, l := range o.Lines {
		n += int64(l.Refunded) * l.UnitPriceMinor
	}
	return n
}

// receiver is the webhook endpoint of a sandbox environment: it keeps the first copy of each
// event, exactly as delivered.
type receiver struct {
	srv *httptest.Server
	sb  *stripesb.Sandbox

	mu  sync.Mutex
	got map[string]connectortest.Webhook // by event id
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var ev struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &ev) != nil || ev.ID == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if _, ok := r.got[ev.ID]; !ok {
		r.got[ev.ID] = connectortest.Webhook{Header: req.Header.Clone(), Body: body}
	}
	r.mu.Unlock()
}

func (r *receiver) Received(tb testing.TB, n int) []connectortest.Webhook {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		raised := r.sb.Webhooks()
		r.mu.Lock()
		var out []connectortest.Webhook
		for _, d := range raised {
			w, ok := r.got[d.ID]
			if !ok {
				break // keep the raised order: wait for the missing one
			}
			out = append(out, w)
		}
		r.mu.Unlock()
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *receiver) Sign(body []byte, t time.Time) string {
	return stripesb.SignatureHeader(t, body, webhookSecret)
}

// connect returns a connector to base through the kind of HTTP client production uses.
func connect(tb testing.TB, base, key string, maxConcurrency int, webhookSecrets ...string) *stripe.Client {
	tb.Helper()
	c, err := stripe.New(stripe.Config{BaseURL: base, SecretKey: key, MaxConcurrency: maxConcurrency, WebhookSecrets: webhookSecrets},
		telemetry.NewVendorClient("stripe", 5*time.Second, nil, nil), nil, nil)
	if err != nil {
		tb.Fatalf("stripe.New: %v", err)
	}
	return c
}

// sandboxKnobs adapts the sandbox to the suite's knobs.
type sandboxKnobs struct{ sb *stripesb.Sandbox }

func (k sandboxKnobs) edit(f func(*faults.Settings)) {
	s := k.sb.Faults().Get()
	f(&s)
	k.sb.Faults().Set(s)
}

func (k sandboxKnobs) SetLatency(d time.Duration) { k.edit(func(s *faults.Settings) { s.Latency = d }) }
func (k sandboxKnobs) SetDown(on bool)            { k.edit(func(s *faults.Settings) { s.Down = on }) }
func (k sandboxKnobs) SetErrorRate(rate float64, status int) {
	k.edit(func(s *faults.Settings) { s.ErrorRate, s.ErrorStatus = rate, status })
}
func (k sandboxKnobs) SetLoseResponses(rate float64)      { k.sb.SetLoseResponses(rate) }
func (k sandboxKnobs) SetProcessingDelay(d time.Duration) { k.sb.SetProcessingDelay(d) }
func (k sandboxKnobs) SetServerErrorRate(rate float64)    { k.sb.SetServerErrorRate(rate) }
func (k sandboxKnobs) SetNewRefundStatus(status string)   { k.sb.SetNewRefundStatus(status) }
func (k sandboxKnobs) SetRefundStatus(id, status string) error {
	return k.sb.SetRefundStatus(id, status)
}

func (k sandboxKnobs) Stats() connectortest.Stats {
	st := k.sb.Stats()
	return connectortest.Stats{
		Requests: st.Requests, RefundsCreated: st.RefundsCreated, Duplicates: st.Duplicates,
		Replayed: st.Replayed, InFlightConflicts: st.InFlightConflicts, ResponsesLost: st.ResponsesLost,
	}
}
