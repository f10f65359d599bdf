package payments_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/deliverytest"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"github.com/retailbridge/retailbridge/services/system/payments"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/stripe"
)

const (
	eventType   = "retailbridge.payments.refund.updated.v1"
	eventSource = "retailbridge/system/payments/stripe" // the kind's source and the vendor (events.VendorSource)
)

// world is a Stripe sandbox whose webhooks reach the service through an endpoint that answers as
// the gateway does, and a JetStream server the service publishes to.
type world struct {
	sb       *stripesb.Sandbox
	svc      *payments.Service
	js       jetstream.JetStream
	ds       *demo.Dataset
	endpoint *httptest.Server
}

func newWorld(tb testing.TB, opts stripesb.Options) *world {
	tb.Helper()
	w := &world{ds: demo.Generate(7, now, 3, 12)}
	_, w.js = eventstest.Start(tb).Connect(tb)
	w.endpoint = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(w.ingestHTTP(r))
	}))
	tb.Cleanup(w.endpoint.Close)
	opts.WebhookURL = w.endpoint.URL
	if opts.Delivery.RetryBackoff == 0 {
		opts.Delivery.RetryBackoff = 10 * time.Millisecond
	}
	w.sb = stripesb.New(w.ds, opts)
	api := httptest.NewServer(w.sb)
	tb.Cleanup(func() {
		api.Close()
		w.sb.Close()
	})
	w.svc = newIngestService(tb, api.URL, w.js)
	return w
}

func newIngestService(tb testing.TB, baseURL string, js jetstream.JetStream) *payments.Service {
	tb.Helper()
	s, err := payments.New(validConfig(baseURL), payments.Deps{
		HTTPClient: telemetry.NewVendorClient("stripe", 5*time.Second, nil, nil), JetStream: js})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// ingestHTTP answers a webhook as the gateway does: 2xx once the events are published, 401 for
// a bad or stale signature, 503 when publishing failed, so that Stripe retries.
func (w *world) ingestHTTP(r *http.Request) int {
	body, _ := io.ReadAll(r.Body)
	h := map[string]string{}
	for k, v := range r.Header {
		h[k] = strings.Join(v, ",")
	}
	_, err := w.svc.IngestWebhook(r.Context(), &paymentsv1.IngestWebhookRequest{Headers: h, Body: body})
	if err == nil {
		return http.StatusOK
	}
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// refund creates a refund through the service, as the returns workflow does.
func (w *world) refund(tb testing.TB, returnID string, amount int64) (*canonicalv1.Refund, demo.Order) {
	tb.Helper()
	o := w.ds.Scenario(demo.ScenarioEligible)
	resp, err := w.svc.CreateRefund(ctxFor(tb, 5*time.Second), &paymentsv1.CreateRefundRequest{
		PaymentReference: stripesb.PaymentIntentID(o.ID), Amount: money.New(amount, "USD"),
		IdempotencyKey: "wf_" + returnID + "/refund", Metadata: map[string]string{"order_id": o.ID, "return_id": returnID},
	})
	if err != nil {
		tb.Fatalf("CreateRefund: %v", err)
	}
	return resp.GetRefund(), o
}

func (w *world) waitIdle(tb testing.TB) {
	tb.Helper()
	if err := w.sb.WaitIdle(ctxFor(tb, 15*time.Second)); err != nil {
		tb.Fatal(err)
	}
}

// stripeHeaders are the headers Stripe sends with body, signed with secrets at t.
func stripeHeaders(body []byte, t time.Time, secrets ...string) map[string]string {
	return map[string]string{
		"Content-Type":                  "application/json; charset=utf-8",
		stripesb.SignatureHeaderName:    stripesb.SignatureHeader(t, body, secrets...),
		"User-Agent":                    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
		"x-forwarded-for-in-lower-case": "10.0.0.1",
	}
}

func streamEvents(tb testing.TB, js jetstream.JetStream) []*canonicalv1.Event {
	tb.Helper()
	ctx := ctxFor(tb, 10*time.Second)
	st, err := js.Stream(ctx, events.StreamName(payments.StreamDomain))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var out []*canonicalv1.Event
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			tb.Fatalf("message %d: %v", seq, err)
		}
		ev, err := events.Decode(m.Data)
		if err != nil {
			tb.Fatal(err)
		}
		if got := m.Header.Get(events.HeaderMsgID); got != ev.GetId() || m.Subject != ev.GetType() {
			tb.Errorf("message %d: Nats-Msg-Id %q on %s; want the event id %q on its type", seq, got, m.Subject, ev.GetId())
		}
		out = append(out, ev)
	}
	return out
}

func refundOf(tb testing.TB, ev *canonicalv1.Event) *canonicalv1.Refund {
	tb.Helper()
	msg, err := ev.GetData().UnmarshalNew()
	if err != nil {
		tb.Fatal(err)
	}
	r, ok := msg.(*canonicalv1.Refund)
	if !ok {
		tb.Fatalf("event %s carries %T; want a canonical Refund", ev.GetId(), msg)
	}
	return r
}

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// TestPendingRefundSettlesThroughWebhooks is the returns workflow's question answered end to end:
// a refund the gateway left pending later succeeds or fails, Stripe's sandbox announces it with
// signed webhooks it delivers itself (every one twice or three times), and the service turns each
// into one canonical refund event on JetStream with the refund's status and the workflow's ids.
func TestPendingRefundSettlesThroughWebhooks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, stripesb.Options{Delivery: stripesb.DeliverySettings{MinCopies: 2, MaxCopies: 3}, Seed: 3})
	w.sb.SetNewRefundStatus(stripesb.StatusPending)
	settles, o := w.refund(t, "ret_ok", 1000)
	fails, _ := w.refund(t, "ret_ko", 500)
	if settles.GetStatus() != canonicalv1.RefundStatus_REFUND_STATUS_PENDING {
		t.Fatalf("new refund %v; want PENDING", settles.GetStatus())
	}
	w.waitIdle(t)
	if err := w.sb.SetRefundStatus(settles.GetGatewayRefundId(), stripesb.StatusSucceeded); err != nil {
		t.Fatal(err)
	}
	if err := w.sb.SetRefundStatus(fails.GetGatewayRefundId(), stripesb.StatusFailed); err != nil {
		t.Fatal(err)
	}
	w.waitIdle(t)

	deliveries := w.sb.Webhooks()
	wantTopics := []string{stripesb.EventRefundCreated, stripesb.EventRefundCreated,
		stripesb.EventRefundUpdated, stripesb.EventRefundUpdated, stripesb.EventRefundFailed}
	var topics []string
	copies := 0
	for _, d := range deliveries {
		topics = append(topics, d.Topic)
		copies += d.Copies
		if d.Acknowledged != d.Copies || d.Copies < 2 {
			t.Errorf("webhook %s (%s): %d copies, %d acknowledged; want 2–3, all acknowledged", d.ID, d.Topic, d.Copies, d.Acknowledged)
		}
	}
	if diff := cmp.Diff(wantTopics, topics); diff != "" {
		t.Fatalf("webhooks mismatch (-want +got):\n%s", diff)
	}

	// One stored event per Stripe event, in the order the stream got them (copies race).
	byID := map[string]*canonicalv1.Event{}
	for _, ev := range streamEvents(t, w.js) {
		if byID[ev.GetId()] != nil {
			t.Errorf("event %s stored twice", ev.GetId())
		}
		byID[ev.GetId()] = ev
	}
	if len(byID) != len(deliveries) {
		t.Fatalf("stream holds %d events for %d webhooks (%d copies); want one each", len(byID), len(deliveries), copies)
	}
	want := map[string]struct {
		refund *canonicalv1.Refund
		status canonicalv1.RefundStatus
	}{
		deliveries[0].ID: {settles, canonicalv1.RefundStatus_REFUND_STATUS_PENDING},
		deliveries[1].ID: {fails, canonicalv1.RefundStatus_REFUND_STATUS_PENDING},
		deliveries[2].ID: {settles, canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED},
		deliveries[3].ID: {fails, canonicalv1.RefundStatus_REFUND_STATUS_FAILED},
		deliveries[4].ID: {fails, canonicalv1.RefundStatus_REFUND_STATUS_FAILED},
	}
	for _, d := range deliveries {
		// The event id derives from the Stripe event id alone, so every copy maps to it.
		ev := byID[stripe.EventID(d.ID, eventType)]
		if ev == nil {
			t.Errorf("no event for webhook %s (%s)", d.ID, d.Topic)
			continue
		}
		wr := want[d.ID]
		if ev.GetType() != eventType || ev.GetSource() != eventSource || ev.GetSubject() != "refund/"+wr.refund.GetGatewayRefundId() ||
			ev.GetSpecVersion() != 1 || ev.GetTime() == nil || ev.GetCorrelationId() != d.ID {
			t.Errorf("webhook %s: event %v; want a %s from %s on refund/%s", d.Topic, ev, eventType, eventSource, wr.refund.GetGatewayRefundId())
		}
		wantRefund := &canonicalv1.Refund{
			OrderId: o.ID, ReturnId: wr.refund.GetReturnId(), Amount: wr.refund.GetAmount(), Status: wr.status,
			PaymentReference: stripesb.PaymentIntentID(o.ID), GatewayRefundId: wr.refund.GetGatewayRefundId(),
			IdempotencyKey: wr.refund.GetIdempotencyKey(), CreatedAt: wr.refund.GetCreatedAt(),
		}
		if diff := cmp.Diff(wantRefund, refundOf(t, ev), protocmp.Transform()); diff != "" {
			t.Errorf("webhook %s (%s): refund mismatch (-want +got):\n%s", d.ID, d.Topic, diff)
		}
	}
	st := w.svc.PublishStats()
	if st.Published != int64(len(deliveries)) || st.Published+st.Duplicates+st.Repeats != int64(copies) {
		t.Errorf("publish stats %+v for %d copies of %d webhooks; want one stored per webhook, the rest duplicates",
			st, copies, len(deliveries))
	}
	t.Logf("%d webhooks, %d copies → %d events stored, %d dropped by the broker as duplicates, %d answered as repeats",
		len(deliveries), copies, st.Published, st.Duplicates, st.Repeats)
}

// SEC-3 for Stripe: tampered body, wrong secret, missing or malformed header, stale or future
// timestamp → 401 and nothing published; the genuine delivery and its repeats (a retry re-signed
// later, too) → 2xx, the same event ids, one stored message.
func TestIngestWebhookAuthenticity(t *testing.T) {
	t.Parallel()
	w := newWorld(t, stripesb.Options{})
	// The test delivers by hand: the sandbox's own delivery goes to a sink that accepts anything.
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(sink.Close)
	w.sb.SetWebhookURL(sink.URL)
	r, _ := w.refund(t, "ret_sec3", 700)
	w.waitIdle(t)
	d := w.sb.Webhooks()[0]
	ts := time.Now()
	tampered := bytes.Replace(d.Body, []byte(`"ret_sec3"`), []byte(`"ret_evil"`), 1)
	if bytes.Equal(tampered, d.Body) {
		t.Fatal("could not tamper with the body")
	}
	noSig := stripeHeaders(d.Body, ts, stripesb.DevWebhookSecret)
	delete(noSig, stripesb.SignatureHeaderName)
	malformed := stripeHeaders(d.Body, ts, stripesb.DevWebhookSecret)
	malformed[stripesb.SignatureHeaderName] = "v1=" + stripesb.ComputeSignature(ts, d.Body, stripesb.DevWebhookSecret)

	post := func(h map[string]string, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, w.endpoint.URL, bytes.NewReader(body))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	rejected := []struct {
		name   string
		h      map[string]string
		body   []byte
		reason string
	}{
		{"tampered body", stripeHeaders(d.Body, ts, stripesb.DevWebhookSecret), tampered, "webhook_signature_invalid"},
		{"wrong secret", stripeHeaders(d.Body, ts, "whsec_not_the_secret"), d.Body, "webhook_signature_invalid"},
		{"missing signature", noSig, d.Body, "webhook_signature_invalid"},
		{"malformed signature", malformed, d.Body, "webhook_signature_invalid"},
		{"stale timestamp", stripeHeaders(d.Body, ts.Add(-time.Hour), stripesb.DevWebhookSecret), d.Body, "webhook_timestamp_stale"},
	}
	for _, tc := range rejected {
		if code := post(tc.h, tc.body); code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d; want 401", tc.name, code)
		}
		_, err := w.svc.IngestWebhook(context.Background(), &paymentsv1.IngestWebhookRequest{Headers: tc.h, Body: tc.body})
		connectortest.WantErr(t, err, errs.Unauthenticated, tc.reason)
	}
	if evs := streamEvents(t, w.js); len(evs) != 0 {
		t.Fatalf("stream holds %d events after rejected deliveries; want none", len(evs))
	}

	answers := make([]*paymentsv1.IngestWebhookResponse, 7)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			resp, err := w.svc.IngestWebhook(context.Background(), &paymentsv1.IngestWebhookRequest{
				Headers: stripeHeaders(d.Body, ts, stripesb.DevWebhookSecret), Body: d.Body})
			if err != nil {
				t.Errorf("genuine delivery: %v", err)
			}
			answers[i] = resp
		})
	}
	wg.Wait()
	// A retry a minute later carries a fresh signature over the same body; one during a secret
	// roll carries two.
	for i, h := range []map[string]string{
		stripeHeaders(d.Body, ts.Add(time.Minute), stripesb.DevWebhookSecret),
		stripeHeaders(d.Body, ts, "whsec_next", stripesb.DevWebhookSecret),
	} {
		resp, err := w.svc.IngestWebhook(context.Background(), &paymentsv1.IngestWebhookRequest{Headers: h, Body: d.Body})
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		answers[5+i] = resp
	}
	if code := post(stripeHeaders(d.Body, ts, stripesb.DevWebhookSecret), d.Body); code != http.StatusOK {
		t.Errorf("genuine delivery over HTTP: %d; want 200", code)
	}
	evs := streamEvents(t, w.js)
	if len(evs) != 1 || evs[0].GetSubject() != "refund/"+r.GetGatewayRefundId() || evs[0].GetId() != stripe.EventID(d.ID, eventType) {
		t.Fatalf("stream holds %v; want the one refund event", evs)
	}
	want := &paymentsv1.IngestWebhookResponse{DeliveryId: d.ID, EventIds: []string{evs[0].GetId()}}
	for i, a := range answers {
		if diff := cmp.Diff(want, a, protocmp.Transform()); diff != "" {
			t.Errorf("answer %d mismatch (-want +got):\n%s", i, diff)
		}
	}
	if got := evs[0].GetCorrelationId(); got != d.ID {
		t.Errorf("correlation id %q; want the delivery id %q when the caller has none", got, d.ID)
	}
	if st := w.svc.PublishStats(); st.Published != 1 || st.Duplicates+st.Repeats != 7 {
		t.Errorf("publish stats %+v; want 1 stored and 7 duplicates dropped by the broker or answered as repeats", st)
	}
}

func TestIngestWebhookWithoutJetStream(t *testing.T) {
	t.Parallel()
	_, sb, _ := newTestService(t, nil)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	s := newIngestService(t, srv.URL, nil)
	body := []byte(`{"id":"evt_1","object":"event","type":"refund.updated","created":1773480413,"data":{"object":` +
		`{"id":"re_1","object":"refund","amount":100,"currency":"usd","status":"succeeded","payment_intent":"pi_1","metadata":{}}}}`)
	_, err := s.IngestWebhook(context.Background(), &paymentsv1.IngestWebhookRequest{
		Headers: stripeHeaders(body, time.Now(), stripesb.DevWebhookSecret), Body: body})
	connectortest.WantErr(t, err, errs.Unavailable, "events_unavailable")
	// The signature is still checked first: a forged delivery learns nothing about publishing.
	_, err = s.IngestWebhook(context.Background(), &paymentsv1.IngestWebhookRequest{
		Headers: stripeHeaders(body, time.Now(), "whsec_forged"), Body: body})
	connectortest.WantErr(t, err, errs.Unauthenticated, "webhook_signature_invalid")
}

func TestIngestWebhookOtherDeliveries(t *testing.T) {
	t.Parallel()
	_, js := eventstest.Start(t).Connect(t)
	_, sb, _ := newTestService(t, nil)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	s := newIngestService(t, srv.URL, js)
	ingest := func(body []byte) (*paymentsv1.IngestWebhookResponse, error) {
		return s.IngestWebhook(context.Background(), &paymentsv1.IngestWebhookRequest{
			Headers: stripeHeaders(body, time.Now(), stripesb.DevWebhookSecret), Body: body})
	}
	charge, _ := json.Marshal(map[string]any{"id": "evt_ch", "object": "event", "type": "charge.refunded", "created": 1,
		"data": map[string]any{"object": map[string]any{"id": "ch_1", "object": "charge"}}})
	resp, err := ingest(charge)
	if err != nil || !resp.GetIgnored() || resp.GetDeliveryId() != "evt_ch" || len(resp.GetEventIds()) != 0 {
		t.Errorf("ignored type: %v, %v; want ignored with its delivery id", resp, err)
	}
	_, err = ingest([]byte(`{"id":`))
	connectortest.WantErr(t, err, errs.Invalid, "webhook_payload_invalid")
	_, err = ingest(bytes.Repeat([]byte(" "), payments.MaxWebhookBytes+1))
	connectortest.WantErr(t, err, errs.Invalid, "webhook_too_large")
	if evs := streamEvents(t, js); len(evs) != 0 {
		t.Errorf("stream holds %d events; want none", len(evs))
	}
}

// C15: Stripe's copies of one event, together and after JetStream's duplicate window (Stripe
// retries for up to three days), publish it once.
func TestWebhookPublishedOnceForTheRetryHorizon(t *testing.T) {
	t.Parallel()
	w := newWorld(t, stripesb.Options{})
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(sink.Close)
	w.sb.SetWebhookURL(sink.URL) // the test delivers by hand
	w.refund(t, "ret_c15", 700)
	w.waitIdle(t)
	d := w.sb.Webhooks()[0]
	n := deliverytest.CheckOnePublishPerDelivery(t, w.js, payments.StreamDomain, func(ctx context.Context) error {
		_, err := w.svc.IngestWebhook(ctx, &paymentsv1.IngestWebhookRequest{
			Headers: stripeHeaders(d.Body, time.Now(), stripesb.DevWebhookSecret), Body: d.Body})
		return err
	})
	if n != 1 {
		t.Errorf("event messages = %d, want the one refund update", n)
	}
}
