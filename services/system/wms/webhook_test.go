package wms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/deliverytest"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	whsandbox "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/wms"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/warehouse"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// world is a warehouse sandbox whose webhooks reach the service through an endpoint that answers
// as the gateway does, and a JetStream server the service publishes to.
type world struct {
	sb       *whsandbox.Sandbox
	svc      *wms.Service
	js       jetstream.JetStream
	endpoint *httptest.Server
}

func newWorld(tb testing.TB, opts whsandbox.Options) *world {
	tb.Helper()
	w := &world{}
	_, w.js = eventstest.Start(tb).Connect(tb)
	w.endpoint = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(w.ingestHTTP(r))
	}))
	tb.Cleanup(w.endpoint.Close)
	opts.WebhookURL = w.endpoint.URL
	if opts.Delivery.RetryBackoff == 0 {
		opts.Delivery.RetryBackoff = 10 * time.Millisecond
	}
	var srv *httptest.Server
	w.sb, srv = newSandbox(tb, opts)
	w.svc = newService(tb, srv, w.js, nil)
	return w
}

// ingestHTTP answers a webhook as the gateway does: 2xx once the events are published, 401 for
// a bad or stale signature, 503 when publishing failed, so that the warehouse retries.
func (w *world) ingestHTTP(r *http.Request) int {
	body, _ := io.ReadAll(r.Body)
	h := map[string]string{}
	for k, v := range r.Header {
		h[k] = v[0]
	}
	_, err := w.svc.IngestWebhook(r.Context(), &wmsv1.IngestWebhookRequest{Headers: h, Body: body})
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

// headersOf are the headers the warehouse sends with d, signed with secret at t.
func headersOf(d whsandbox.Delivery, secret string, t time.Time) map[string]string {
	return map[string]string{
		"Content-Type":               "application/json",
		whsandbox.HeaderSignature:    whsandbox.Sign(secret, t, d.Body),
		whsandbox.HeaderDeliveryID:   d.ID,
		whsandbox.HeaderTopic:        d.Topic,
		"x-forwarded-for-lower-case": "10.0.0.1",
	}
}

func streamEvents(tb testing.TB, js jetstream.JetStream) []*canonicalv1.Event {
	tb.Helper()
	ctx := ctxFor(tb, 10*time.Second)
	st, err := js.Stream(ctx, events.StreamName(wms.StreamDomain))
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

func ctxFor(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func (w *world) expect(tb testing.TB, id string) string {
	tb.Helper()
	resp, err := w.svc.ExpectReturn(ctxFor(tb, 5*time.Second), &wmsv1.ExpectReturnRequest{
		Return: connectortest.SampleReturn(id), LocationId: whsandbox.DefaultLocations[0]})
	if err != nil {
		tb.Fatalf("ExpectReturn: %v", err)
	}
	return resp.GetReceiptId()
}

// SEC-3: tampered body, wrong secret, missing header, stale timestamp → 401 and nothing
// published; the genuine delivery and its repeats (retries re-signed later, too) → 2xx, the same
// event ids, one message.
func TestIngestWebhookAuthenticity(t *testing.T) {
	t.Parallel()
	w := newWorld(t, whsandbox.Options{Manual: true})
	w.sb.SetWebhookURL("") // the test delivers by hand
	rid := w.expect(t, "ret_sec3")
	if err := w.sb.Receive(rid); err != nil {
		t.Fatal(err)
	}
	d := w.sb.Webhooks()[0]
	now := time.Now()
	tampered := bytes.Replace(d.Body, []byte(`"ret_sec3"`), []byte(`"ret_evil"`), 1)
	noSig := headersOf(d, whsandbox.DevWebhookSecret, now)
	delete(noSig, whsandbox.HeaderSignature)

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
		{"tampered body", headersOf(d, whsandbox.DevWebhookSecret, now), tampered, "webhook_signature_invalid"},
		{"wrong secret", headersOf(d, "not-the-secret", now), d.Body, "webhook_signature_invalid"},
		{"missing signature", noSig, d.Body, "webhook_signature_invalid"},
		{"stale timestamp", headersOf(d, whsandbox.DevWebhookSecret, now.Add(-time.Hour)), d.Body, "webhook_timestamp_stale"},
	}
	for _, tc := range rejected {
		if code := post(tc.h, tc.body); code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d; want 401", tc.name, code)
		}
		_, err := w.svc.IngestWebhook(context.Background(), &wmsv1.IngestWebhookRequest{Headers: tc.h, Body: tc.body})
		connectortest.WantErr(t, err, errs.Unauthenticated, tc.reason)
	}
	if evs := streamEvents(t, w.js); len(evs) != 0 {
		t.Fatalf("stream holds %d events after rejected deliveries; want none", len(evs))
	}

	answers := make([]*wmsv1.IngestWebhookResponse, 6)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			resp, err := w.svc.IngestWebhook(context.Background(), &wmsv1.IngestWebhookRequest{
				Headers: headersOf(d, whsandbox.DevWebhookSecret, now), Body: d.Body})
			if err != nil {
				t.Errorf("genuine delivery: %v", err)
			}
			answers[i] = resp
		})
	}
	wg.Wait()
	// A retry a minute later carries a fresh signature over the same body.
	resp, err := w.svc.IngestWebhook(context.Background(), &wmsv1.IngestWebhookRequest{
		Headers: headersOf(d, whsandbox.DevWebhookSecret, now.Add(time.Minute)), Body: d.Body})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	answers[5] = resp
	if code := post(headersOf(d, whsandbox.DevWebhookSecret, now), d.Body); code != http.StatusOK {
		t.Errorf("genuine delivery over HTTP: %d; want 200", code)
	}
	want := &wmsv1.IngestWebhookResponse{DeliveryId: d.ID, EventIds: []string{warehouse.EventID(d.ID, warehouse.TypeReturnReceived)}}
	for i, a := range answers {
		if diff := cmp.Diff(want.String(), a.String()); diff != "" {
			t.Errorf("answer %d mismatch (-want +got):\n%s", i, diff)
		}
	}
	evs := streamEvents(t, w.js)
	if len(evs) != 1 || evs[0].GetId() != want.EventIds[0] {
		t.Fatalf("stream holds %v; want the one return.received event", evs)
	}
	st := w.svc.PublishStats()
	t.Logf("7 genuine deliveries: %d published, %d dropped by the broker as duplicates", st.Published, st.Duplicates)
}

func TestIngestWebhookWithoutJetStream(t *testing.T) {
	t.Parallel()
	sb, srv := newSandbox(t, whsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	resp, err := s.ExpectReturn(context.Background(), &wmsv1.ExpectReturnRequest{
		Return: connectortest.SampleReturn("ret_1"), LocationId: whsandbox.DefaultLocations[0]})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Receive(resp.GetReceiptId()); err != nil {
		t.Fatal(err)
	}
	d := sb.Webhooks()[0]
	_, err = s.IngestWebhook(context.Background(), &wmsv1.IngestWebhookRequest{
		Headers: headersOf(d, whsandbox.DevWebhookSecret, time.Now()), Body: d.Body})
	connectortest.WantErr(t, err, errs.Unavailable, "events_unavailable")
}

func TestIngestWebhookOtherDeliveries(t *testing.T) {
	t.Parallel()
	w := newWorld(t, whsandbox.Options{Manual: true})
	ingest := func(body []byte) (*wmsv1.IngestWebhookResponse, error) {
		return w.svc.IngestWebhook(context.Background(), &wmsv1.IngestWebhookRequest{
			Headers: map[string]string{whsandbox.HeaderSignature: whsandbox.Sign(whsandbox.DevWebhookSecret, time.Now(), body)},
			Body:    body})
	}
	resp, err := ingest([]byte(`{"id":"dlv_1","topic":"catalog.updated","data":{}}`))
	if err != nil || !resp.GetIgnored() || resp.GetDeliveryId() != "dlv_1" {
		t.Errorf("ignored topic: %v, %v; want ignored with its delivery id", resp, err)
	}
	_, err = ingest([]byte(`{"id":`))
	connectortest.WantErr(t, err, errs.Invalid, "webhook_payload_invalid")
	_, err = ingest(bytes.Repeat([]byte(" "), wms.MaxWebhookBytes+1))
	connectortest.WantErr(t, err, errs.Invalid, "webhook_too_large")
	if evs := streamEvents(t, w.js); len(evs) != 0 {
		t.Errorf("stream holds %d events; want none", len(evs))
	}
}

var conditionOf = map[string]canonicalv1.ItemCondition{
	whsandbox.ConditionResellable:     canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE,
	whsandbox.ConditionDamaged:        canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED,
	whsandbox.ConditionWrongOrMissing: canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING,
}

// FM-1 end to end: the warehouse auto-progresses returns and orders while delivering every
// webhook 2–5 times, some late, in any order; a consumer with an inbox sees each event once, and
// each inspected event carries the conditions the seeded rules chose.
func TestAutoProgressWithDuplicateDeliveries(t *testing.T) {
	t.Parallel()
	const step = 15 * time.Millisecond
	w := newWorld(t, whsandbox.Options{
		Delays: whsandbox.Delays{Receive: step, Inspect: step, Acknowledge: step, Ship: step},
		Delivery: whsandbox.DeliverySettings{MinCopies: 2, MaxCopies: 5, LateRate: 0.3, LateBy: 150 * time.Millisecond,
			Reorder: 30 * time.Millisecond},
		Outcomes: whsandbox.Outcomes{Resellable: 0.5, Damaged: 0.3, WrongOrMissing: 0.2},
		Seed:     5,
	})
	if _, err := events.EnsureStream(ctxFor(t, 5*time.Second), w.js, wms.StreamDomain,
		events.StreamOptions{Duplicates: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	effects := runConsumer(t, w.js)

	const returns, orders = 4, 2
	receipts := map[string]string{} // receipt id → reference
	for i := range returns {
		ref := fmt.Sprint("ret_auto_", i)
		receipts[w.expect(t, ref)] = ref
	}
	for i := range orders {
		if _, err := w.svc.CreateShippingOrder(ctxFor(t, 5*time.Second), &wmsv1.CreateShippingOrderRequest{
			Shipment: connectortest.SampleShipment(fmt.Sprint("shp_auto_", i), whsandbox.DefaultLocations[1], "APP-000")}); err != nil {
			t.Fatal(err)
		}
	}
	const wantEvents = returns*2 + orders*2
	waitFor(t, func() bool { return effects.distinct() == wantEvents })
	if err := w.sb.WaitIdle(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let any straggling copy reach the consumer

	got := effects.snapshot()
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s handled %d times; want once", id, n)
		}
	}
	inspected := 0
	for _, ev := range streamEvents(t, w.js) {
		if ev.GetType() != warehouse.TypeReturnInspected {
			continue
		}
		inspected++
		msg, err := ev.GetData().UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		r := msg.(*canonicalv1.Return)
		for i, l := range r.GetLines() {
			if want := conditionOf[w.sb.OutcomeFor(r.GetId(), i+1)]; l.GetCondition() != want {
				t.Errorf("%s line %d: condition %v; want the rules' %v", r.GetId(), i+1, l.GetCondition(), want)
			}
		}
	}
	var copies, attempts int
	for _, d := range w.sb.Webhooks() {
		copies += d.Copies
		attempts += d.Attempts
		if d.Acknowledged != d.Copies || d.Copies < 2 {
			t.Errorf("webhook %s: %d copies, %d acknowledged; want 2–5, all acknowledged", d.ID, d.Copies, d.Acknowledged)
		}
	}
	st := w.svc.PublishStats()
	t.Logf("FM-1: %d webhooks, %d copies (%d HTTP attempts) → %d events published, %d dropped by the broker; "+
		"%d distinct events handled, effects per event = 1", len(w.sb.Webhooks()), copies, attempts, st.Published, st.Duplicates, len(got))
	if len(got) != wantEvents || inspected == 0 {
		t.Errorf("consumer handled %d distinct events (%d inspections in the stream); want %d", len(got), inspected, wantEvents)
	}
}

type effectLog struct {
	mu   sync.Mutex
	runs map[string]int
}

func (e *effectLog) distinct() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.runs)
}

func (e *effectLog) snapshot() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.runs))
	for k, v := range e.runs {
		out[k] = v
	}
	return out
}

// runConsumer runs an events.Consumer with an SQLite inbox over the stream; each handler run is
// one business effect.
func runConsumer(tb testing.TB, js jetstream.JetStream) *effectLog {
	tb.Helper()
	db := storetest.Open(tb, store.SQLite, store.Options{})
	if err := events.Migrate(ctxFor(tb, 10*time.Second), db); err != nil {
		tb.Fatal(err)
	}
	log := &effectLog{runs: map[string]int{}}
	c, err := events.NewConsumer(db, js, events.ConsumerConfig{
		Name: "fm1-probe", Stream: events.StreamName(wms.StreamDomain), Logger: slog.New(slog.DiscardHandler),
	}, events.HandlerFunc(func(_ context.Context, _ *store.Tx, ev *canonicalv1.Event) error {
		log.mu.Lock()
		log.runs[ev.GetId()]++
		log.mu.Unlock()
		return nil
	}))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return log
}

func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	testkit.Eventually(tb, 15*time.Second, "the condition", cond)
}

// C15: the warehouse's copies of one delivery, together and after JetStream's duplicate window,
// publish its event once.
func TestWebhookPublishedOnceForTheRetryHorizon(t *testing.T) {
	t.Parallel()
	w := newWorld(t, whsandbox.Options{Manual: true})
	w.sb.SetWebhookURL("") // the test delivers by hand
	if err := w.sb.Receive(w.expect(t, "ret_c15")); err != nil {
		t.Fatal(err)
	}
	d := w.sb.Webhooks()[0]
	n := deliverytest.CheckOnePublishPerDelivery(t, w.js, wms.StreamDomain, func(ctx context.Context) error {
		_, err := w.svc.IngestWebhook(ctx, &wmsv1.IngestWebhookRequest{
			Headers: headersOf(d, whsandbox.DevWebhookSecret, time.Now()), Body: d.Body})
		return err
	})
	if n != 1 {
		t.Errorf("event messages = %d, want the one return.received", n)
	}
}
