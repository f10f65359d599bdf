// Package connectortest is the conformance suite every payments connector passes, in the manner
// of go-cloud's drivertest: the suite owns the scenarios and the expectations, a vendor package
// supplies a NewEnv function that boots or reaches a peer and connects to it.
//
// Peers differ in what they can show. A public stateless peer (stripe-mock) validates every
// request against the vendor's specification — paths, form encoding, authentication, API version
// — but answers from fixtures, so only request shapes and answer mapping are checked against it.
// A stateful sandbox also keeps refunds, enforces what is left to refund and replays idempotency
// keys, and one with fault knobs lets the suite cause lost answers, 5xx, 409 and timeouts. A peer
// that sends webhooks lets the suite check that refund status changes arrive as signed events
// the connector verifies and normalises.
package connectortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/system/payments"
)

// Env is one peer the suite runs against, with what it can do.
type Env struct {
	// Connect returns a connector to the peer.
	Connect func(tb testing.TB, o Options) payments.Connector
	// Payments are distinct captured USD payments with nothing refunded yet; the suite needs
	// MinPayments of them. A stateless peer may name any well-formed ids.
	Payments []Payment
	// Stateful says the peer keeps what it is sent: reads reflect earlier refunds, refunds above
	// what is left are refused, idempotency keys are replayed, metadata round-trips.
	Stateful bool
	// Sandbox is the peer's fault knobs and counters; nil when it has none.
	Sandbox Sandbox
	// Webhooks is what the peer's webhook endpoint received; nil when the peer sends none.
	Webhooks Webhooks
}

// Webhooks is a webhook endpoint the environment runs for the peer.
type Webhooks interface {
	// Received waits until at least n webhooks arrived and returns every one so far, in the
	// order the peer raised them, each exactly as first delivered.
	Received(tb testing.TB, n int) []Webhook
	// Sign is the signature header value the peer would send for body at t.
	Sign(body []byte, t time.Time) string
}

// Webhook is one delivery as the endpoint got it.
type Webhook struct {
	Header http.Header
	Body   []byte
}

// SignatureHeader is the header Stripe signs webhooks with.
const SignatureHeader = "Stripe-Signature"

// MinPayments is how many payments an Env must offer.
const MinPayments = 6

// Payment is a captured payment at the peer.
type Payment struct {
	// Intent is the payment intent and Charge its charge.
	Intent, Charge string
	// Captured is what was captured, in US cents (stateful peers only).
	Captured int64
}

// Options shape the connector a scenario asks for.
type Options struct {
	// WrongSecret makes the connector authenticate with a key the peer refuses.
	WrongSecret bool
	// WrongWebhookSecret makes the connector verify webhooks with a secret the peer does not sign
	// with.
	WrongWebhookSecret bool
}

// Sandbox is a stateful peer's fault knobs and counters.
type Sandbox interface {
	// SetLatency delays every answer (at the edge, before the API runs).
	SetLatency(d time.Duration)
	// SetDown makes the peer close connections without answering.
	SetDown(on bool)
	// SetErrorRate answers that fraction of requests with status at the edge, storing nothing.
	SetErrorRate(rate float64, status int)
	// SetLoseResponses drops that fraction of executed POSTs' answers after committing them.
	SetLoseResponses(rate float64)
	// SetProcessingDelay makes each POST take d, its idempotency key in flight meanwhile.
	SetProcessingDelay(d time.Duration)
	// SetServerErrorRate fails that fraction of refunds with a 500 that is stored under the key.
	SetServerErrorRate(rate float64)
	// SetNewRefundStatus sets the Stripe status new refunds start in (succeeded by default).
	SetNewRefundStatus(status string)
	// SetRefundStatus moves a refund to a Stripe status (pending, succeeded, failed, …).
	SetRefundStatus(gatewayRefundID, status string) error
	// Stats counts what the peer saw.
	Stats() Stats
}

// Stats is what a sandbox counted.
type Stats struct {
	// Requests is how many API requests arrived.
	Requests int64
	// RefundsCreated is how many refunds were created.
	RefundsCreated int64
	// Duplicates is how many refunds repeat an earlier one's payment, amount and metadata.
	Duplicates int64
	// Replayed is how many answers came from the idempotency store.
	Replayed int64
	// InFlightConflicts is how many requests were refused 409 while their key was in flight.
	InFlightConflicts int64
	// ResponsesLost is how many committed answers were dropped.
	ResponsesLost int64
}

// NewEnv returns a fresh peer environment for one scenario.
type NewEnv func(tb testing.TB) *Env

// Run runs every scenario the environments from newEnv can support.
func Run(t *testing.T, newEnv NewEnv) {
	probe := newEnv(t)
	if len(probe.Payments) < MinPayments {
		t.Fatalf("the environment offers %d payments; the suite needs %d", len(probe.Payments), MinPayments)
	}
	scenario := func(name string, need func(*Env) bool, f func(t *testing.T, env *Env)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if need != nil && !need(probe) {
				// Not a skip of something that should run: the peer cannot show it by design.
				t.Logf("not applicable: the peer is %s", describe(probe))
				return
			}
			f(t, newEnv(t))
		})
	}
	stateful := func(e *Env) bool { return e.Stateful }
	sandbox := func(e *Env) bool { return e.Stateful && e.Sandbox != nil }
	webhooks := func(e *Env) bool { return e.Stateful && e.Sandbox != nil && e.Webhooks != nil }

	scenario("RefundPaymentIntent", nil, testRefundPaymentIntent)
	scenario("RefundCharge", nil, testRefundCharge)
	scenario("GetRefund", nil, testGetRefund)
	scenario("GetPayment", nil, testGetPayment)
	scenario("WrongSecret", nil, testWrongSecret)
	scenario("Ready", nil, testReady)

	scenario("ReplaySameKey", stateful, testReplaySameKey)
	scenario("KeyReusedWithOtherAmount", stateful, testKeyReused)
	scenario("RefundLimits", stateful, testRefundLimits)
	scenario("NotFound", stateful, testNotFound)
	scenario("CurrencyMismatch", stateful, testCurrencyMismatch)

	scenario("StatusLifecycle", sandbox, testStatusLifecycle)
	scenario("LostResponses", sandbox, testLostResponses)
	scenario("EdgeErrors", sandbox, testEdgeErrors)
	scenario("StoredServerError", sandbox, testStoredServerError)
	scenario("ConcurrentSameKey", sandbox, testConcurrentSameKey)
	scenario("Deadline", sandbox, testDeadline)
	scenario("Down", sandbox, testDown)
	scenario("RateLimited", sandbox, testRateLimited)

	scenario("Webhooks", webhooks, testWebhooks)
	scenario("WebhookAuthenticity", webhooks, testWebhookAuthenticity)
}

func describe(e *Env) string {
	switch {
	case !e.Stateful:
		return "stateless (answers from fixtures) and sends no webhooks"
	case e.Sandbox == nil:
		return "stateful without fault knobs"
	case e.Webhooks == nil:
		return "a sandbox that sends no webhooks"
	}
	return "a sandbox"
}

// Key returns a fresh idempotency key for tb.
func Key(tb testing.TB) string {
	return fmt.Sprintf("rb-conformance-%s-%s", strings.ReplaceAll(tb.Name(), "/", "-"), rand.Text()[:10])
}

// refundRequest is a refund of amount cents of ref, with metadata naming a return and an order.
func refundRequest(tb testing.TB, ref string, amount int64) *paymentsv1.CreateRefundRequest {
	return &paymentsv1.CreateRefundRequest{
		PaymentReference: ref,
		Amount:           money.New(amount, "USD"),
		IdempotencyKey:   Key(tb),
		Metadata:         map[string]string{"order_id": "5100042", "return_id": "ret_42", "refund_id": "rf_42"},
	}
}

func testRefundPaymentIntent(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	p := env.Payments[0]
	req := refundRequest(t, p.Intent, 500)
	r := createRefund(t, c, req)
	checkRefund(t, env, r, req)
	if r.GetPaymentReference() != p.Intent {
		t.Errorf("payment reference = %q; want the intent %q", r.GetPaymentReference(), p.Intent)
	}
}

func testRefundCharge(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	p := env.Payments[0]
	req := refundRequest(t, p.Charge, 700)
	r := createRefund(t, c, req)
	checkRefund(t, env, r, req)
	if ref := r.GetPaymentReference(); ref != p.Intent && ref != p.Charge {
		t.Errorf("payment reference = %q; want the intent %q or the charge %q", ref, p.Intent, p.Charge)
	}
}

// checkRefund checks what every peer must get right about a new refund.
func checkRefund(tb testing.TB, env *Env, r *canonicalv1.Refund, req *paymentsv1.CreateRefundRequest) {
	tb.Helper()
	if !strings.HasPrefix(r.GetGatewayRefundId(), "re_") {
		tb.Errorf("gateway refund id = %q; want a Stripe refund id (re_…)", r.GetGatewayRefundId())
	}
	if diff := cmp.Diff(req.GetAmount(), r.GetAmount(), protocmp.Transform()); diff != "" {
		tb.Errorf("amount mismatch (-want +got):\n%s", diff)
	}
	if r.GetStatus() != canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED {
		tb.Errorf("status = %v; want SUCCEEDED", r.GetStatus())
	}
	if r.GetIdempotencyKey() != req.GetIdempotencyKey() {
		tb.Errorf("idempotency key = %q; want %q", r.GetIdempotencyKey(), req.GetIdempotencyKey())
	}
	if r.GetCreatedAt().AsTime().Unix() <= 0 {
		tb.Errorf("created at = %v; want a time", r.GetCreatedAt())
	}
	if env.Stateful {
		md := req.GetMetadata()
		if r.GetOrderId() != md["order_id"] || r.GetReturnId() != md["return_id"] || r.GetId() != md["refund_id"] {
			tb.Errorf("ids = order %q, return %q, refund %q; want them from metadata %v",
				r.GetOrderId(), r.GetReturnId(), r.GetId(), md)
		}
	}
}

func testGetRefund(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	created := createRefund(t, c, refundRequest(t, env.Payments[1].Intent, 300))
	got, err := c.GetRefund(ctxFor(t, 10*time.Second), created.GetGatewayRefundId())
	if err != nil {
		t.Fatalf("GetRefund(%s): %v", created.GetGatewayRefundId(), err)
	}
	if !env.Stateful {
		if got.GetGatewayRefundId() != created.GetGatewayRefundId() {
			t.Errorf("gateway refund id = %q; want %q", got.GetGatewayRefundId(), created.GetGatewayRefundId())
		}
		if got.GetAmount().GetCurrencyCode() != "USD" || got.GetStatus() == canonicalv1.RefundStatus_REFUND_STATUS_UNSPECIFIED {
			t.Errorf("refund = %v; want a USD refund with a known status", got)
		}
		return
	}
	if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
		t.Errorf("GetRefund mismatch with what CreateRefund returned (-want +got):\n%s", diff)
	}
}

func testGetPayment(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	p := env.Payments[2]
	for _, ref := range []string{p.Intent, p.Charge} {
		got := getPayment(t, c, ref)
		if got.GetCaptured().GetCurrencyCode() != "USD" || got.GetRefunded().GetCurrencyCode() != "USD" {
			t.Errorf("GetPayment(%s) = %v; want USD amounts", ref, got)
		}
		if env.Stateful {
			want := &paymentsv1.GetPaymentResponse{Captured: money.New(p.Captured, "USD"), Refunded: money.Zero("USD")}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("GetPayment(%s) mismatch (-want +got):\n%s", ref, diff)
			}
		}
	}
	if !env.Stateful {
		return
	}
	createRefund(t, c, refundRequest(t, p.Intent, 250))
	createRefund(t, c, refundRequest(t, p.Charge, 150))
	for _, ref := range []string{p.Intent, p.Charge} {
		want := &paymentsv1.GetPaymentResponse{Captured: money.New(p.Captured, "USD"), Refunded: money.New(400, "USD")}
		if diff := cmp.Diff(want, getPayment(t, c, ref), protocmp.Transform()); diff != "" {
			t.Errorf("GetPayment(%s) after refunds of 250 and 150 mismatch (-want +got):\n%s", ref, diff)
		}
	}
}

func testWrongSecret(t *testing.T, env *Env) {
	c := env.Connect(t, Options{WrongSecret: true})
	p := env.Payments[0]
	_, err := c.CreateRefund(ctxFor(t, 5*time.Second), refundRequest(t, p.Intent, 100))
	WantErr(t, err, errs.Unavailable, "vendor_auth_failed")
	_, err = c.GetRefund(ctxFor(t, 5*time.Second), "re_conformance")
	WantErr(t, err, errs.Unavailable, "vendor_auth_failed")
	_, err = c.GetPayment(ctxFor(t, 5*time.Second), p.Intent)
	WantErr(t, err, errs.Unavailable, "vendor_auth_failed")
	WantErr(t, c.Ready(ctxFor(t, 5*time.Second)), errs.Unavailable, "vendor_auth_failed")
	if e := errs.As(err); e != nil && e.Retryable {
		t.Errorf("a refused key is retryable; want not: repeating cannot help until the key is fixed")
	}
}

func testReady(t *testing.T, env *Env) {
	if err := env.Connect(t, Options{}).Ready(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("Ready: %v; want nil", err)
	}
}

func testReplaySameKey(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	req := refundRequest(t, env.Payments[0].Intent, 400)
	first := createRefund(t, c, req)
	again := createRefund(t, c, req)
	if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
		t.Errorf("the same key's second answer differs from the first (-first +second):\n%s", diff)
	}
	got := getPayment(t, c, env.Payments[0].Intent).GetRefunded().GetAmountMinor()
	if got != 400 {
		t.Errorf("refunded = %d after the same refund twice with one key; want 400", got)
	}
	if env.Sandbox != nil {
		if st := env.Sandbox.Stats(); st.RefundsCreated != 1 || st.Replayed != 1 {
			t.Errorf("sandbox created %d refunds and replayed %d answers; want 1 and 1", st.RefundsCreated, st.Replayed)
		}
	}
}

func testKeyReused(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	req := refundRequest(t, env.Payments[0].Intent, 400)
	first := createRefund(t, c, req)
	other := refundRequest(t, env.Payments[0].Intent, 401)
	other.IdempotencyKey = req.GetIdempotencyKey()
	_, err := c.CreateRefund(ctxFor(t, 5*time.Second), other)
	if e := WantErr(t, err, errs.FailedPrecondition, "idempotency_key_reused"); e != nil && e.Retryable {
		t.Errorf("a reused key is retryable; want not")
	}
	got, err := c.GetRefund(ctxFor(t, 5*time.Second), first.GetGatewayRefundId())
	if err != nil {
		t.Fatalf("GetRefund: %v", err)
	}
	if diff := cmp.Diff(first, got, protocmp.Transform()); diff != "" {
		t.Errorf("the original refund changed (-want +got):\n%s", diff)
	}
}

func testRefundLimits(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	p := env.Payments[3]
	_, err := c.CreateRefund(ctxFor(t, 5*time.Second), refundRequest(t, p.Intent, p.Captured+1))
	WantErr(t, err, errs.FailedPrecondition, "refund_exceeds_refundable")
	createRefund(t, c, refundRequest(t, p.Intent, p.Captured-100))
	_, err = c.CreateRefund(ctxFor(t, 5*time.Second), refundRequest(t, p.Charge, 101))
	WantErr(t, err, errs.FailedPrecondition, "refund_exceeds_refundable")
	createRefund(t, c, refundRequest(t, p.Charge, 100))
	_, err = c.CreateRefund(ctxFor(t, 5*time.Second), refundRequest(t, p.Intent, 1))
	if e := WantErr(t, err, errs.FailedPrecondition, "payment_already_refunded"); e != nil && e.Retryable {
		t.Errorf("refunding a refunded payment is retryable; want not")
	}
	want := &paymentsv1.GetPaymentResponse{Captured: money.New(p.Captured, "USD"), Refunded: money.New(p.Captured, "USD")}
	if diff := cmp.Diff(want, getPayment(t, c, p.Intent), protocmp.Transform()); diff != "" {
		t.Errorf("GetPayment mismatch (-want +got):\n%s", diff)
	}
}

func testNotFound(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	_, err := c.CreateRefund(ctxFor(t, 5*time.Second), refundRequest(t, "pi_nosuchintent", 100))
	WantErr(t, err, errs.NotFound, "payment_not_found")
	_, err = c.CreateRefund(ctxFor(t, 5*time.Second), refundRequest(t, "ch_nosuchcharge", 100))
	WantErr(t, err, errs.NotFound, "payment_not_found")
	_, err = c.GetPayment(ctxFor(t, 5*time.Second), "pi_nosuchintent")
	WantErr(t, err, errs.NotFound, "payment_not_found")
	_, err = c.GetPayment(ctxFor(t, 5*time.Second), "ch_nosuchcharge")
	WantErr(t, err, errs.NotFound, "payment_not_found")
	_, err = c.GetRefund(ctxFor(t, 5*time.Second), "re_nosuchrefund")
	WantErr(t, err, errs.NotFound, "refund_not_found")
}

func testCurrencyMismatch(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	req := refundRequest(t, env.Payments[0].Intent, 100)
	req.Amount = money.New(100, "EUR")
	_, err := c.CreateRefund(ctxFor(t, 5*time.Second), req)
	e := WantErr(t, err, errs.Invalid, "vendor_rejected_request")
	if e != nil && (len(e.Fields) != 1 || e.Fields[0].Field != "amount.currency_code") {
		t.Errorf("fields = %v; want amount.currency_code", e.Fields)
	}
	if got := getPayment(t, c, env.Payments[0].Intent).GetRefunded().GetAmountMinor(); got != 0 {
		t.Errorf("refunded = %d after a refused refund; want 0", got)
	}
}

func testStatusLifecycle(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	p := env.Payments[4]
	env.Sandbox.SetNewRefundStatus("pending")
	r := createRefund(t, c, refundRequest(t, p.Intent, 1000))
	if r.GetStatus() != canonicalv1.RefundStatus_REFUND_STATUS_PENDING {
		t.Errorf("new refund status = %v; want PENDING", r.GetStatus())
	}
	id := r.GetGatewayRefundId()
	for _, s := range []struct {
		status   string
		want     canonicalv1.RefundStatus
		refunded int64
	}{
		{"requires_action", canonicalv1.RefundStatus_REFUND_STATUS_REQUIRES_ACTION, 1000},
		{"succeeded", canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED, 1000},
		{"failed", canonicalv1.RefundStatus_REFUND_STATUS_FAILED, 0}, // a failed refund gives the money back
	} {
		if err := env.Sandbox.SetRefundStatus(id, s.status); err != nil {
			t.Fatalf("SetRefundStatus(%s): %v", s.status, err)
		}
		got, err := c.GetRefund(ctxFor(t, 5*time.Second), id)
		if err != nil {
			t.Fatalf("GetRefund: %v", err)
		}
		if got.GetStatus() != s.want {
			t.Errorf("after %s: status = %v; want %v", s.status, got.GetStatus(), s.want)
		}
		if refunded := getPayment(t, c, p.Intent).GetRefunded().GetAmountMinor(); refunded != s.refunded {
			t.Errorf("after %s: refunded = %d; want %d", s.status, refunded, s.refunded)
		}
	}

	canceled := createRefund(t, c, refundRequest(t, p.Intent, 700))
	if err := env.Sandbox.SetRefundStatus(canceled.GetGatewayRefundId(), "canceled"); err != nil {
		t.Fatalf("cancel a pending refund: %v", err)
	}
	got, err := c.GetRefund(ctxFor(t, 5*time.Second), canceled.GetGatewayRefundId())
	if err != nil {
		t.Fatalf("GetRefund: %v", err)
	}
	if got.GetStatus() != canonicalv1.RefundStatus_REFUND_STATUS_CANCELED {
		t.Errorf("status = %v; want CANCELED", got.GetStatus())
	}
	if refunded := getPayment(t, c, p.Intent).GetRefunded().GetAmountMinor(); refunded != 0 {
		t.Errorf("refunded = %d after a failed and a canceled refund; want 0", refunded)
	}
}

func testLostResponses(t *testing.T, env *Env) {
	const n = 40
	c := env.Connect(t, Options{})
	env.Sandbox.SetLoseResponses(0.5)
	refunds := createConcurrently(t, c, env.Payments[5].Intent, n, 10)
	env.Sandbox.SetLoseResponses(0)
	st := env.Sandbox.Stats()
	t.Logf("%d refunds, %d answers lost after commit, %d replayed", n, st.ResponsesLost, st.Replayed)
	if st.RefundsCreated != n || st.Duplicates != 0 || distinct(refunds) != n {
		t.Errorf("sandbox created %d refunds (%d duplicates), callers saw %d distinct; want %d, 0, %d",
			st.RefundsCreated, st.Duplicates, distinct(refunds), n, n)
	}
	if st.ResponsesLost == 0 {
		t.Errorf("no answers were lost; the scenario proved nothing")
	}
	if got := getPayment(t, c, env.Payments[5].Intent).GetRefunded().GetAmountMinor(); got != n*10 {
		t.Errorf("refunded = %d; want %d", got, n*10)
	}
}

func testEdgeErrors(t *testing.T, env *Env) {
	const n = 30
	c := env.Connect(t, Options{})
	env.Sandbox.SetErrorRate(0.5, http.StatusServiceUnavailable)
	refunds := createConcurrently(t, c, env.Payments[5].Intent, n, 10)
	env.Sandbox.SetErrorRate(0, 0)
	st := env.Sandbox.Stats()
	if st.RefundsCreated != n || st.Duplicates != 0 || distinct(refunds) != n {
		t.Errorf("sandbox created %d refunds (%d duplicates), callers saw %d distinct; want %d, 0, %d",
			st.RefundsCreated, st.Duplicates, distinct(refunds), n, n)
	}
	if st.Requests <= n {
		t.Errorf("sandbox saw %d requests for %d refunds; want retries after the 503s", st.Requests, n)
	}
}

func testStoredServerError(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	req := refundRequest(t, env.Payments[0].Intent, 100)
	env.Sandbox.SetServerErrorRate(1)
	_, err := c.CreateRefund(ctxFor(t, 5*time.Second), req)
	if e := WantErr(t, err, errs.Unavailable, "vendor_outcome_unknown"); e != nil && e.Retryable {
		t.Errorf("a replayed 500 is retryable; want not: the same key replays it for 24 hours")
	}
	if st := env.Sandbox.Stats(); st.Requests != 2 || st.Replayed != 1 {
		t.Errorf("sandbox saw %d requests, replayed %d; want the 500, then one retry answered by its replay",
			st.Requests, st.Replayed)
	}
	env.Sandbox.SetServerErrorRate(0)
	_, err = c.CreateRefund(ctxFor(t, 5*time.Second), req)
	WantErr(t, err, errs.Unavailable, "vendor_outcome_unknown")
	req.IdempotencyKey = Key(t)
	createRefund(t, c, req)
	if st := env.Sandbox.Stats(); st.RefundsCreated != 1 {
		t.Errorf("sandbox created %d refunds; want 1, under the new key", st.RefundsCreated)
	}
}

func testConcurrentSameKey(t *testing.T, env *Env) {
	const callers = 5
	c := env.Connect(t, Options{})
	env.Sandbox.SetProcessingDelay(300 * time.Millisecond)
	req := refundRequest(t, env.Payments[0].Intent, 100)
	ids := make([]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			r, err := c.CreateRefund(ctxFor(t, 10*time.Second), req)
			if err != nil {
				t.Errorf("caller %d: CreateRefund: %v", i, err)
				return
			}
			ids[i] = r.GetGatewayRefundId()
		})
	}
	wg.Wait()
	st := env.Sandbox.Stats()
	t.Logf("%d callers with one key: %d refund created, %d answers 409 while in flight, %d replayed",
		callers, st.RefundsCreated, st.InFlightConflicts, st.Replayed)
	if st.RefundsCreated != 1 || distinct(ids) != 1 {
		t.Errorf("sandbox created %d refunds; callers saw %d distinct ids; want 1 and 1", st.RefundsCreated, distinct(ids))
	}
	if st.InFlightConflicts == 0 {
		t.Errorf("no request met the key in flight; the scenario proved nothing")
	}
}

func testDeadline(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	env.Sandbox.SetLatency(3 * time.Second)
	const deadline = 150 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	began := time.Now()
	_, err := c.CreateRefund(ctx, refundRequest(t, env.Payments[0].Intent, 100))
	took := time.Since(began)
	if e := WantErr(t, err, errs.DeadlineExceeded, "vendor_timeout"); e != nil && !e.Retryable {
		t.Errorf("a timed-out refund is not retryable; want retryable, with the same key")
	}
	if took > deadline+time.Second {
		t.Errorf("CreateRefund returned after %v; want soon after the %v deadline", took, deadline)
	}
}

func testDown(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	env.Sandbox.SetDown(true)
	_, err := c.CreateRefund(ctxFor(t, 500*time.Millisecond), refundRequest(t, env.Payments[0].Intent, 100))
	if e := WantErr(t, err, errs.Unavailable, "vendor_unavailable"); e != nil && !e.Retryable {
		t.Errorf("an unreachable gateway is not retryable; want retryable")
	}
	if st := env.Sandbox.Stats(); st.Requests < 2 {
		t.Errorf("sandbox saw %d requests; want retries with the same key within the deadline", st.Requests)
	}
}

func testRateLimited(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	env.Sandbox.SetErrorRate(1, http.StatusTooManyRequests)
	_, err := c.CreateRefund(ctxFor(t, 500*time.Millisecond), refundRequest(t, env.Payments[0].Intent, 100))
	if e := WantErr(t, err, errs.ResourceExhausted, "vendor_rate_limited"); e != nil && !e.Retryable {
		t.Errorf("a rate-limited refund is not retryable; want retryable")
	}
	env.Sandbox.SetErrorRate(0.5, http.StatusTooManyRequests)
	createRefund(t, c, refundRequest(t, env.Payments[0].Intent, 100))
}

// createConcurrently makes n refunds of amount cents of ref, each with its own key, from 8
// goroutines, failing tb for any error.
func createConcurrently(tb testing.TB, c payments.Connector, ref string, n int, amount int64) []string {
	tb.Helper()
	ids := make([]string, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				req := refundRequest(tb, ref, amount)
				req.Metadata["refund_id"] = fmt.Sprintf("rf_%d", i)
				r, err := c.CreateRefund(ctxFor(tb, 20*time.Second), req)
				if err != nil {
					tb.Errorf("refund %d: %v", i, err)
					continue
				}
				ids[i] = r.GetGatewayRefundId()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return ids
}

func distinct(ids []string) int {
	seen := map[string]bool{}
	for _, id := range ids {
		if id != "" {
			seen[id] = true
		}
	}
	return len(seen)
}

// WantErr fails tb unless err is an *errs.Error of kind and reason, and returns it.
func WantErr(tb testing.TB, err error, kind errs.Kind, reason string) *errs.Error {
	tb.Helper()
	e := errs.As(err)
	if e == nil {
		tb.Errorf("got error %v; want *errs.Error %s/%s", err, kind, reason)
		return nil
	}
	if e.Kind != kind || e.Reason != reason {
		tb.Errorf("got %s/%s (%v); want %s/%s", e.Kind, e.Reason, err, kind, reason)
	}
	return e
}

func createRefund(tb testing.TB, c payments.Connector, req *paymentsv1.CreateRefundRequest) *canonicalv1.Refund {
	tb.Helper()
	r, err := c.CreateRefund(ctxFor(tb, 10*time.Second), req)
	if err != nil {
		tb.Fatalf("CreateRefund(%s, %d): %v", req.GetPaymentReference(), req.GetAmount().GetAmountMinor(), err)
	}
	return r
}

func getPayment(tb testing.TB, c payments.Connector, ref string) *paymentsv1.GetPaymentResponse {
	tb.Helper()
	p, err := c.GetPayment(ctxFor(tb, 10*time.Second), ref)
	if err != nil {
		tb.Fatalf("GetPayment(%s): %v", ref, err)
	}
	return p
}

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// refundEventType is the one canonical event refund webhooks become.
var refundEventType = events.TypeName(canonicalv1.EventType_EVENT_TYPE_PAYMENTS_REFUND_UPDATED)

// testWebhooks follows a refund through its lifecycle: every status change the peer announces
// becomes one canonical refund event, deterministic for its delivery, with the refund as the
// gateway reports it then.
func testWebhooks(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	p := env.Payments[4]
	env.Sandbox.SetNewRefundStatus("pending")
	req := refundRequest(t, p.Intent, 1000)
	r := createRefund(t, c, req)
	id := r.GetGatewayRefundId()
	for _, status := range []string{"succeeded", "failed"} {
		if err := env.Sandbox.SetRefundStatus(id, status); err != nil {
			t.Fatalf("SetRefundStatus(%s): %v", status, err)
		}
	}
	// created (pending), updated (succeeded), updated (failed), failed (failed).
	want := []canonicalv1.RefundStatus{
		canonicalv1.RefundStatus_REFUND_STATUS_PENDING, canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED,
		canonicalv1.RefundStatus_REFUND_STATUS_FAILED, canonicalv1.RefundStatus_REFUND_STATUS_FAILED,
	}
	hooks := env.Webhooks.Received(t, len(want))
	if len(hooks) != len(want) {
		t.Fatalf("got %d webhooks; want %d", len(hooks), len(want))
	}
	seen := map[string]bool{}
	for i, h := range hooks {
		deliveryID, evs, err := c.ParseWebhook(h.Header, h.Body)
		if err != nil {
			t.Fatalf("webhook %d: %v", i, err)
		}
		if len(evs) != 1 {
			t.Fatalf("webhook %d: %d events; want 1", i, len(evs))
		}
		ev := evs[0]
		if ev.GetType() != refundEventType || ev.GetId() == "" || seen[ev.GetId()] || seen[deliveryID] || deliveryID == "" ||
			ev.GetSource() == "" || ev.GetTime() == nil || ev.GetSpecVersion() != 1 || ev.GetSubject() != "refund/"+id {
			t.Errorf("webhook %d: delivery %q, event %v; want a new %s event on refund/%s with source, time and spec version",
				i, deliveryID, ev, refundEventType, id)
		}
		seen[ev.GetId()], seen[deliveryID] = true, true
		msg, err := ev.GetData().UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := msg.(*canonicalv1.Refund)
		if !ok {
			t.Fatalf("webhook %d: data is %T; want a canonical Refund", i, msg)
		}
		wantRefund := proto.CloneOf(r)
		wantRefund.Status = want[i]
		if diff := cmp.Diff(wantRefund, got, protocmp.Transform()); diff != "" {
			t.Errorf("webhook %d: refund mismatch with what CreateRefund returned, status aside (-want +got):\n%s", i, diff)
		}
		again, evs2, err := c.ParseWebhook(h.Header.Clone(), bytes.Clone(h.Body))
		if err != nil || again != deliveryID {
			t.Fatalf("webhook %d reparsed: %q, %v; want %q", i, again, err, deliveryID)
		}
		if diff := cmp.Diff(evs, evs2, protocmp.Transform()); diff != "" {
			t.Errorf("webhook %d reparsed events differ (-first +second):\n%s", i, diff)
		}
	}
}

// testWebhookAuthenticity: only a delivery signed by the peer, over these exact bytes, recently,
// is accepted.
func testWebhookAuthenticity(t *testing.T, env *Env) {
	c := env.Connect(t, Options{})
	wrongSecret := env.Connect(t, Options{WrongWebhookSecret: true})
	createRefund(t, c, refundRequest(t, env.Payments[1].Intent, 300))
	h := env.Webhooks.Received(t, 1)[0]
	if _, _, err := c.ParseWebhook(h.Header, h.Body); err != nil {
		t.Fatalf("genuine webhook: %v", err)
	}
	with := func(value string) http.Header {
		hh := h.Header.Clone()
		if value == "" {
			hh.Del(SignatureHeader)
		} else {
			hh.Set(SignatureHeader, value)
		}
		return hh
	}
	tampered := bytes.Replace(h.Body, []byte(`"ret_42"`), []byte(`"ret_evil"`), 1)
	if bytes.Equal(tampered, h.Body) {
		t.Fatal("could not tamper with the body")
	}
	now := time.Now()
	cases := []struct {
		name   string
		conn   payments.Connector
		h      http.Header
		body   []byte
		reason string
	}{
		{"tampered body", c, h.Header, tampered, "webhook_signature_invalid"},
		{"wrong secret", wrongSecret, h.Header, h.Body, "webhook_signature_invalid"},
		{"missing signature", c, with(""), h.Body, "webhook_signature_invalid"},
		{"malformed signature", c, with("garbage"), h.Body, "webhook_signature_invalid"},
		{"signature of the tampered body, old timestamp", c, with(env.Webhooks.Sign(tampered, now.Add(-time.Hour))), h.Body, "webhook_signature_invalid"},
		{"stale timestamp", c, with(env.Webhooks.Sign(h.Body, now.Add(-10*time.Minute))), h.Body, "webhook_timestamp_stale"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, evs, err := tc.conn.ParseWebhook(tc.h, tc.body)
			WantErr(t, err, errs.Unauthenticated, tc.reason)
			if len(evs) != 0 {
				t.Errorf("got %d events from a rejected webhook; want none", len(evs))
			}
		})
	}
	if _, _, err := c.ParseWebhook(with(env.Webhooks.Sign(h.Body, now.Add(-time.Minute))), h.Body); err != nil {
		t.Errorf("re-signed a minute ago: %v; want accepted within the tolerance", err)
	}
	// Stripe's libraries bound only a signature's age: a clock behind Stripe's must not refuse.
	if _, _, err := c.ParseWebhook(with(env.Webhooks.Sign(h.Body, now.Add(10*time.Minute))), h.Body); err != nil {
		t.Errorf("signed ten minutes ahead of our clock: %v; want accepted, as Stripe's libraries do", err)
	}
}
