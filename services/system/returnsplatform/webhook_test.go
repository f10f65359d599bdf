package returnsplatform_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
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
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	loopsandbox "github.com/retailbridge/retailbridge/services/sandbox/loop"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform/internal/loop"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// world is a Loop sandbox whose webhooks reach the service through an endpoint that answers as
// the gateway does, and a JetStream server the service publishes to.
type world struct {
	sb       *loopsandbox.Sandbox
	svc      *returnsplatform.Service
	js       jetstream.JetStream
	endpoint *httptest.Server
}

func newWorld(tb testing.TB, opts loopsandbox.Options) *world {
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
// a bad signature, 503 when publishing failed, so that Loop retries.
func (w *world) ingestHTTP(r *http.Request) int {
	body, _ := io.ReadAll(r.Body)
	_, err := w.svc.IngestWebhook(r.Context(), &returnsplatformv1.IngestWebhookRequest{Headers: flatten(r.Header), Body: body})
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

func flatten(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, v := range h {
		m[k] = v[0]
	}
	return m
}

// headersOf are the headers the sandbox sends with d, signed with secret.
func headersOf(d loopsandbox.Delivery, secret string) map[string]string {
	return map[string]string{
		"Content-Type":                  "application/json",
		loopsandbox.HeaderSignature:     loopsandbox.Sign(secret, d.Body),
		loopsandbox.HeaderWebhookID:     d.ID,
		loopsandbox.HeaderTopic:         loopsandbox.TopicReturn,
		loopsandbox.HeaderTrigger:       d.Trigger,
		"X-Unrelated-Header-In-Lowcase": "x",
	}
}

// streamEvents reads every message of the returns platform stream, checking that each carries
// Nats-Msg-Id = its event id.
func streamEvents(tb testing.TB, js jetstream.JetStream) []*canonicalv1.Event {
	tb.Helper()
	ctx := ctxFor(tb, 10*time.Second)
	st, err := js.Stream(ctx, events.StreamName(returnsplatform.StreamDomain))
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

func (w *world) createReturn(tb testing.TB, id string) string {
	tb.Helper()
	resp, err := w.svc.CreateReturn(ctxFor(tb, 5*time.Second), &returnsplatformv1.CreateReturnRequest{
		Return: connectortest.SampleReturn(id), IdempotencyKey: "create-" + id})
	if err != nil {
		tb.Fatalf("CreateReturn: %v", err)
	}
	return resp.GetPlatformReturnId()
}

func (w *world) waitIdle(tb testing.TB) {
	tb.Helper()
	if err := w.sb.WaitIdle(ctxFor(tb, 20*time.Second)); err != nil {
		tb.Fatalf("sandbox webhooks still in flight: %v", err)
	}
}

// SEC-3: tampered body, wrong secret, missing or foreign signature → 401 and nothing published;
// the genuine delivery and its repeats → 2xx, the same event ids, one message per event.
func TestIngestWebhookAuthenticity(t *testing.T) {
	t.Parallel()
	w := newWorld(t, loopsandbox.Options{Manual: true})
	w.sb.SetWebhookURL("") // the test delivers by hand
	w.createReturn(t, "ret_sec3")
	d := w.sb.Webhooks()[0]
	tampered := bytes.Replace(d.Body, []byte(`"ret_sec3"`), []byte(`"ret_evil"`), 1)
	other := w.sb.Webhooks()[0]
	other.Body = []byte(`{"topic":"return","trigger":"return.closed","id":1}`)

	noSig := headersOf(d, loopsandbox.DevWebhookSecret)
	delete(noSig, loopsandbox.HeaderSignature)
	foreign := headersOf(d, loopsandbox.DevWebhookSecret)
	foreign[loopsandbox.HeaderSignature] = loopsandbox.Sign(loopsandbox.DevWebhookSecret, other.Body)
	lower := map[string]string{}
	for k, v := range headersOf(d, loopsandbox.DevWebhookSecret) {
		lower[string(bytes.ToLower([]byte(k)))] = v
	}

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
		name string
		h    map[string]string
		body []byte
	}{
		{"tampered body", headersOf(d, loopsandbox.DevWebhookSecret), tampered},
		{"wrong secret", headersOf(d, "not-the-secret"), d.Body},
		{"missing signature", noSig, d.Body},
		{"signature of another body", foreign, d.Body},
	}
	for _, tc := range rejected {
		if code := post(tc.h, tc.body); code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d; want 401", tc.name, code)
		}
		_, err := w.svc.IngestWebhook(context.Background(), &returnsplatformv1.IngestWebhookRequest{Headers: tc.h, Body: tc.body})
		connectortest.WantErr(t, err, errs.Unauthenticated, "webhook_signature_invalid")
	}
	if evs := streamEvents(t, w.js); len(evs) != 0 {
		t.Fatalf("stream holds %d events after rejected deliveries; want none", len(evs))
	}

	// The genuine delivery, five times at once and twice more later (header names in any case).
	var wg sync.WaitGroup
	answers := make([]*returnsplatformv1.IngestWebhookResponse, 7)
	for i := range 5 {
		wg.Go(func() {
			resp, err := w.svc.IngestWebhook(context.Background(), &returnsplatformv1.IngestWebhookRequest{
				Headers: headersOf(d, loopsandbox.DevWebhookSecret), Body: d.Body})
			if err != nil {
				t.Errorf("genuine delivery: %v", err)
			}
			answers[i] = resp
		})
	}
	wg.Wait()
	for i := 5; i < 7; i++ {
		resp, err := w.svc.IngestWebhook(context.Background(), &returnsplatformv1.IngestWebhookRequest{Headers: lower, Body: d.Body})
		if err != nil {
			t.Fatalf("late repeat: %v", err)
		}
		answers[i] = resp
	}
	if code := post(headersOf(d, loopsandbox.DevWebhookSecret), d.Body); code != http.StatusOK {
		t.Errorf("genuine delivery over HTTP: %d; want 200", code)
	}
	want := &returnsplatformv1.IngestWebhookResponse{DeliveryId: d.ID,
		EventIds: []string{loop.EventID(d.ID, loop.TypeReturnCreated)}}
	for i, a := range answers {
		if diff := cmp.Diff(want.String(), a.String()); diff != "" {
			t.Errorf("answer %d mismatch (-want +got):\n%s", i, diff)
		}
	}
	evs := streamEvents(t, w.js)
	if len(evs) != 1 || evs[0].GetId() != want.EventIds[0] || evs[0].GetType() != loop.TypeReturnCreated {
		t.Fatalf("stream holds %v; want the one return.created event", evs)
	}
	st := w.svc.PublishStats()
	t.Logf("8 genuine deliveries: %d published, %d dropped by the broker as duplicates, %d answered as already published",
		st.Published, st.Duplicates, st.Repeats)
	if st.Published != 1 || st.Duplicates+st.Repeats != 7 {
		t.Errorf("publish stats %+v; want 1 published, 7 duplicates or repeats", st)
	}
}

func TestIngestWebhookWithoutJetStream(t *testing.T) {
	t.Parallel()
	sb, srv := newSandbox(t, loopsandbox.Options{Manual: true})
	s := newService(t, srv, nil, nil)
	if _, err := s.CreateReturn(context.Background(), &returnsplatformv1.CreateReturnRequest{
		Return: connectortest.SampleReturn("ret_1"), IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	d := sb.Webhooks()[0]
	_, err := s.IngestWebhook(context.Background(), &returnsplatformv1.IngestWebhookRequest{
		Headers: headersOf(d, loopsandbox.DevWebhookSecret), Body: d.Body})
	connectortest.WantErr(t, err, errs.Unavailable, "events_unavailable")
	// The signature is still checked first.
	_, err = s.IngestWebhook(context.Background(), &returnsplatformv1.IngestWebhookRequest{Body: d.Body})
	connectortest.WantErr(t, err, errs.Unauthenticated, "webhook_signature_invalid")
}

func TestIngestWebhookOtherDeliveries(t *testing.T) {
	t.Parallel()
	w := newWorld(t, loopsandbox.Options{Manual: true})
	ingest := func(body []byte) (*returnsplatformv1.IngestWebhookResponse, error) {
		return w.svc.IngestWebhook(context.Background(), &returnsplatformv1.IngestWebhookRequest{
			Headers: map[string]string{loopsandbox.HeaderSignature: loopsandbox.Sign(loopsandbox.DevWebhookSecret, body)},
			Body:    body})
	}
	resp, err := ingest([]byte(`{"topic":"restock","trigger":"restock.requested","webhook_id":"whk_1"}`))
	if err != nil || !resp.GetIgnored() || resp.GetDeliveryId() != "whk_1" || len(resp.GetEventIds()) != 0 {
		t.Errorf("ignored topic: %v, %v; want ignored with its delivery id", resp, err)
	}
	_, err = ingest([]byte(`{"topic":"return",`))
	connectortest.WantErr(t, err, errs.Invalid, "webhook_payload_invalid")
	_, err = ingest(bytes.Repeat([]byte(" "), returnsplatform.MaxWebhookBytes+1))
	connectortest.WantErr(t, err, errs.Invalid, "webhook_too_large")
	if evs := streamEvents(t, w.js); len(evs) != 0 {
		t.Errorf("stream holds %d events; want none", len(evs))
	}
}

// typeOf is the return event type a trigger becomes.
func typeOf(trigger string) string {
	return map[string]string{
		loopsandbox.TriggerReturnCreated: loop.TypeReturnCreated,
		loopsandbox.TriggerReturnUpdated: loop.TypeReturnUpdated,
		loopsandbox.TriggerReturnClosed:  loop.TypeReturnClosed,
	}[trigger]
}

// FM-1 end to end: the sandbox auto-progresses a return while delivering every webhook 2–5 times,
// some late, in any order; a consumer with an inbox sees each event once.
func TestAutoProgressWithDuplicateDeliveries(t *testing.T) {
	t.Parallel()
	const step = 15 * time.Millisecond
	w := newWorld(t, loopsandbox.Options{
		Delays: loopsandbox.Delays{PreTransit: step, InTransit: step, OutForDelivery: step, Delivered: step},
		Delivery: loopsandbox.DeliverySettings{MinCopies: 2, MaxCopies: 5, LateRate: 0.3, LateBy: 150 * time.Millisecond,
			Reorder: 30 * time.Millisecond},
		Seed: 11,
	})
	// A short duplicate window, so that late copies outlive it and reach the stream again: the
	// consumer's inbox must absorb those.
	if _, err := events.EnsureStream(ctxFor(t, 5*time.Second), w.js, returnsplatform.StreamDomain,
		events.StreamOptions{Duplicates: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	effects := runConsumer(t, w.js)

	const returns = 3
	ids := make([]string, returns)
	for i := range ids {
		ids[i] = w.createReturn(t, "ret_auto_"+string(rune('a'+i)))
		if _, err := w.svc.CreateLabel(ctxFor(t, 5*time.Second), &returnsplatformv1.CreateLabelRequest{
			PlatformReturnId: ids[i], IdempotencyKey: "label-" + ids[i]}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for st, _ := w.sb.Return(id); st.LabelStatus != loopsandbox.LabelDelivered; st, _ = w.sb.Return(id) {
			if time.Now().After(deadline) {
				t.Fatalf("return %s: label %q after 10s; want delivered", id, st.LabelStatus)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := w.svc.CloseReturn(ctxFor(t, 5*time.Second), &returnsplatformv1.CloseReturnRequest{PlatformReturnId: id}); err != nil {
			t.Fatal(err)
		}
	}
	w.waitIdle(t)

	// Every webhook: created, label, four moves, closed; each acknowledged once per copy.
	hooks := w.sb.Webhooks()
	var copies, attempts int
	wantIDs := map[string]bool{}
	for _, d := range hooks {
		copies += d.Copies
		attempts += d.Attempts
		if d.Acknowledged != d.Copies || d.Copies < 2 || d.Copies > 5 {
			t.Errorf("webhook %s: %d copies, %d acknowledged; want 2–5, all acknowledged", d.ID, d.Copies, d.Acknowledged)
		}
		wantIDs[loop.EventID(d.ID, typeOf(d.Trigger))] = true
	}
	if len(hooks) != returns*7 {
		t.Fatalf("sandbox raised %d webhooks; want %d", len(hooks), returns*7)
	}
	// Plus one parcel event per distinct carrier status: label created, in transit, out for
	// delivery, delivered.
	const wantEvents = returns * (7 + 4)

	waitFor(t, func() bool { return effects.distinct() == wantEvents })
	time.Sleep(100 * time.Millisecond) // let any straggling copy arrive
	inStream := streamEvents(t, w.js)
	got := effects.snapshot()
	for id := range wantIDs {
		if got[id] != 1 {
			t.Errorf("return event %s handled %d times; want 1", id, got[id])
		}
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s handled %d times; want once", id, n)
		}
	}
	st := w.svc.PublishStats()
	t.Logf("FM-1: %d webhooks, %d copies (%d HTTP attempts) → %d stream messages (%d dropped by the broker), "+
		"%d distinct events, effects per event = 1", len(hooks), copies, attempts, len(inStream), st.Duplicates, len(got))
	if len(got) != wantEvents {
		t.Errorf("consumer handled %d distinct events; want %d", len(got), wantEvents)
	}
}

// effectLog counts handler runs per event id.
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
		Name: "fm1-probe", Stream: events.StreamName(returnsplatform.StreamDomain),
		Logger: slog.New(slog.DiscardHandler),
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

// Dropped webhooks are recovered by redelivery (Loop's "resend", or a reconciliation pass), and a
// redelivery of one that did arrive changes nothing.
func TestDroppedThenRedelivered(t *testing.T) {
	t.Parallel()
	w := newWorld(t, loopsandbox.Options{Manual: true, Delivery: loopsandbox.DeliverySettings{DropRate: 1}})
	id := w.createReturn(t, "ret_drop")
	if _, err := w.svc.CreateLabel(ctxFor(t, 5*time.Second), &returnsplatformv1.CreateLabelRequest{
		PlatformReturnId: id, IdempotencyKey: "label"}); err != nil {
		t.Fatal(err)
	}
	w.waitIdle(t)
	if evs := streamEvents(t, w.js); len(evs) != 0 {
		t.Fatalf("stream holds %d events; want none, every webhook dropped", len(evs))
	}
	for round := range 2 {
		for _, d := range w.sb.Webhooks() {
			if err := w.sb.Redeliver(d.ID); err != nil {
				t.Fatal(err)
			}
		}
		w.waitIdle(t)
		var types []string
		for _, ev := range streamEvents(t, w.js) {
			types = append(types, ev.GetType())
		}
		slices.Sort(types)
		want := []string{loop.TypeParcelLabelCreated, loop.TypeReturnCreated, loop.TypeReturnUpdated}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("round %d: stream mismatch (-want +got):\n%s", round, diff)
		}
	}
}

// With JetStream gone, a delivery fails as unavailable, so the gateway answers 503 and Loop
// retries it later; nothing is acknowledged that was not stored.
func TestIngestWebhookBrokerDown(t *testing.T) {
	t.Parallel()
	nats := eventstest.Start(t)
	_, js := nats.Connect(t)
	sb, srv := newSandbox(t, loopsandbox.Options{Manual: true})
	s := newService(t, srv, js, func(c *returnsplatform.Config) { c.Timeout = 2 * time.Second })
	ctx := context.Background()
	created, err := s.CreateReturn(ctx, &returnsplatformv1.CreateReturnRequest{
		Return: connectortest.SampleReturn("ret_down"), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseReturn(ctx, &returnsplatformv1.CloseReturnRequest{PlatformReturnId: created.GetPlatformReturnId()}); err != nil {
		t.Fatal(err)
	}
	hooks := sb.Webhooks()
	ingest := func(d loopsandbox.Delivery) error {
		_, err := s.IngestWebhook(ctx, &returnsplatformv1.IngestWebhookRequest{
			Headers: headersOf(d, loopsandbox.DevWebhookSecret), Body: d.Body})
		return err
	}
	if err := ingest(hooks[0]); err != nil {
		t.Fatalf("with the broker up: %v", err)
	}
	nats.Shutdown()
	nats.WaitForShutdown()
	// The delivery memory lives on the bus too: it is the first to find it gone.
	e := connectortest.WantErr(t, ingest(hooks[1]), errs.Unavailable, "webhook_dedup_unavailable")
	if e != nil && !e.Retryable {
		t.Errorf("publish failure is not retryable; want retryable")
	}
}

// C15: Loop's copies of one delivery, together and after JetStream's duplicate window, publish
// its event once.
func TestWebhookPublishedOnceForTheRetryHorizon(t *testing.T) {
	t.Parallel()
	w := newWorld(t, loopsandbox.Options{Manual: true})
	w.sb.SetWebhookURL("") // the test delivers by hand
	w.createReturn(t, "ret_c15")
	d := w.sb.Webhooks()[0]
	n := deliverytest.CheckOnePublishPerDelivery(t, w.js, returnsplatform.StreamDomain, func(ctx context.Context) error {
		_, err := w.svc.IngestWebhook(ctx, &returnsplatformv1.IngestWebhookRequest{
			Headers: headersOf(d, loopsandbox.DevWebhookSecret), Body: d.Body})
		return err
	})
	if n != 1 {
		t.Errorf("event messages = %d, want the one return.created", n)
	}
}
