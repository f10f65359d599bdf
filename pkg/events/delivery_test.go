package events

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// parseAs is a vendor parser that trusts its input: the delivery id is the X-Delivery header and
// the delivery reports one fact of typ, its event id derived from the delivery id.
func parseAs(typ string) Parser {
	return func(h http.Header, _ []byte) (string, []*canonicalv1.Event, error) {
		id := h.Get("X-Delivery")
		return id, []*canonicalv1.Event{event("ev-"+id, typ, "thing/1")}, nil
	}
}

// subjectMsgs counts the messages a stream holds on subject.
func subjectMsgs(t testing.TB, js jetstream.JetStream, stream, subject string) uint64 {
	t.Helper()
	s, err := js.Stream(testCtx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(testCtx(t), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

// waitOutDuplicateWindow polls until the broker has forgotten a message id published now, which
// is when the stream's duplicate window has passed.
func waitOutDuplicateWindow(t testing.TB, js jetstream.JetStream, subject string) {
	t.Helper()
	probe := func() bool {
		m := nats.NewMsg(subject)
		m.Header.Set(HeaderMsgID, "window-probe")
		ack, err := js.PublishMsg(testCtx(t), m)
		return err == nil && !ack.Duplicate
	}
	if !probe() {
		t.Fatal("the probe was not stored")
	}
	waitFor(t, 20*time.Second, "the duplicate window to pass", probe)
}

// C15: a vendor's retry after JetStream's duplicate window is answered, not published again;
// concurrent copies leave one message.
func TestDeliveriesRememberForTheVendorsHorizon(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	_, js := eventstest.Start(t).Connect(t)
	if _, err := EnsureStream(ctx, js, "wh", StreamOptions{Duplicates: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	const typ = "retailbridge.wh.thing.v1"
	d := NewDeliveries("acme", js, 5*time.Second, nil, quiet)
	ingest := func(id string) (Delivery, error) {
		return d.Ingest(ctx, map[string]string{"X-Delivery": id}, []byte("{}"), parseAs(typ))
	}
	if got, err := ingest("d-1"); err != nil || got.Repeat {
		t.Fatalf("first delivery: %+v, %v", got, err)
	}
	waitOutDuplicateWindow(t, js, "retailbridge.wh.probe")
	got, err := ingest("d-1")
	if err != nil || !got.Repeat || len(got.EventIDs) != 1 || got.EventIDs[0] != "ev-d-1" {
		t.Fatalf("resent delivery: %+v, %v; want a repeat answering ev-d-1", got, err)
	}
	if n := subjectMsgs(t, js, StreamName("wh"), typ); n != 1 {
		t.Errorf("messages after a resend past the window = %d, want 1", n)
	}
	// The premise: past the window the broker alone would have stored the event again.
	if res, err := Publish(ctx, js, event("ev-d-1", typ, "thing/1")); err != nil || res.Stored != 1 {
		t.Fatalf("direct publish past the window: %+v, %v; want it stored (the window did pass)", res, err)
	}

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := ingest("d-2"); err != nil {
				t.Errorf("concurrent copy: %v", err)
			}
		})
	}
	wg.Wait()
	if n := subjectMsgs(t, js, StreamName("wh"), typ); n != 3 {
		t.Errorf("messages after 20 concurrent copies of d-2 = %d, want 3 (d-1, its direct republish, one d-2)", n)
	}
	if st := d.Stats(); st.Published != 2 || st.Repeats+st.Duplicates != 20 {
		t.Errorf("stats %+v: want 2 published and the 20 other copies answered as repeats or broker duplicates", st)
	}
}

// A delivery whose events were not published is not remembered: the vendor's retry publishes.
func TestDeliveriesForgetWhatWasNotPublished(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	_, js := eventstest.Start(t).Connect(t)
	// A full stream that refuses new messages makes publishing fail for real.
	full, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: StreamName("full"), Subjects: []string{DomainSubjects("full")},
		MaxMsgs: 1, Discard: jetstream.DiscardNew, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "retailbridge.full.filler", nil); err != nil {
		t.Fatal(err)
	}
	d := NewDeliveries("acme", js, 5*time.Second, nil, quiet)
	in := map[string]string{"X-Delivery": "d-9"}
	if _, err := d.Ingest(ctx, in, nil, parseAs("retailbridge.full.thing.v1")); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("ingest into a full stream: %v, want unavailable", err)
	}
	if seen, err := NewDeliveryMemory(js).Seen(ctx, "acme", "d-9"); err != nil || seen {
		t.Fatalf("after a failed publish: seen %v, %v; want not remembered", seen, err)
	}
	if err := full.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := d.Ingest(ctx, in, nil, parseAs("retailbridge.full.thing.v1"))
	if err != nil || got.Repeat || d.Stats().Published != 1 {
		t.Fatalf("the vendor's retry: %+v, %v, stats %+v; want it published", got, err, d.Stats())
	}
}

// Each vendor's bucket keeps ids for that vendor's horizon, replicated like the streams, and an
// existing bucket is only ever raised.
func TestDeliveryMemoryHorizons(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	_, js := eventstest.Start(t).Connect(t)
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: DeliveryBucket("short"), TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: DeliveryBucket("forever")}); err != nil {
		t.Fatal(err)
	}
	cfg := WithDeliveryHorizons(WithStreamDefaults(js, StreamOptions{Replicas: 1}),
		map[string]time.Duration{"shopify": 72 * time.Hour, "short": 48 * time.Hour, "forever": 48 * time.Hour})
	m := NewDeliveryMemory(cfg)
	for vendor, want := range map[string]time.Duration{"shopify": 72 * time.Hour, "short": 48 * time.Hour, "forever": 0,
		"other": DefaultDeliveryHorizon} {
		if err := m.Remember(ctx, vendor, "x"); err != nil {
			t.Fatalf("%s: %v", vendor, err)
		}
		if got := streamConfig(t, js, "KV_"+DeliveryBucket(vendor)).MaxAge; got != want {
			t.Errorf("%s bucket keeps ids for %v, want %v", vendor, got, want)
		}
	}
	if seen, err := m.Seen(ctx, "shopify", "x"); err != nil || !seen {
		t.Errorf("shopify x: seen %v, %v; want remembered", seen, err)
	}
	if seen, err := m.Seen(ctx, "shopify", "y"); err != nil || seen {
		t.Errorf("shopify y: seen %v, %v; want not", seen, err)
	}
}
