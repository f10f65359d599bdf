// Package deliverytest checks that a webhook-receiving system API publishes each vendor delivery
// once for the vendor's whole retry horizon: copies arriving together and a resend after
// JetStream's duplicate window (shrunk for the test, so nobody waits minutes) leave one message.
package deliverytest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/events"
)

// Window is the duplicate window the checked stream is created with.
const Window = 250 * time.Millisecond

// probeSubject is where the window probe publishes; it is not an event and not counted.
func probeSubject(domain string) string { return events.SubjectPrefix + domain + ".window.probe" }

// CheckOnePublishPerDelivery creates domain's stream with a duplicate window of Window (call it
// before anything publishes to domain), then ingests one delivery ten times at once, waits until
// the broker has forgotten its message ids, and ingests it once more, as the vendor's late retry.
// ingest delivers the same vendor delivery each time (re-signed as the vendor would). It fails
// the test unless every copy is accepted and the events of the first copies are all the stream
// holds, and returns how many event messages that is.
func CheckOnePublishPerDelivery(t testing.TB, js jetstream.JetStream, domain string, ingest func(ctx context.Context) error) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := events.EnsureStream(ctx, js, domain, events.StreamOptions{Duplicates: Window}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := ingest(ctx); err != nil {
				t.Errorf("concurrent copy of a delivery: %v", err)
			}
		})
	}
	wg.Wait()
	first := eventMsgs(t, ctx, js, domain)
	if first == 0 {
		t.Fatal("the delivery published nothing")
	}
	waitOutWindow(t, ctx, js, domain)
	if err := ingest(ctx); err != nil {
		t.Fatalf("the vendor's retry after the duplicate window: %v", err)
	}
	if got := eventMsgs(t, ctx, js, domain); got != first {
		t.Errorf("event messages after a resend past the %v duplicate window = %d, want still %d", Window, got, first)
	}
	t.Logf("10 concurrent copies and 1 resend past the duplicate window → %d event message(s)", first)
	return first
}

// eventMsgs counts the stream's messages other than window probes.
func eventMsgs(t testing.TB, ctx context.Context, js jetstream.JetStream, domain string) int {
	t.Helper()
	s, err := js.Stream(ctx, events.StreamName(domain))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for subject, c := range info.State.Subjects {
		if subject != probeSubject(domain) {
			n += int(c)
		}
	}
	return n
}

// waitOutWindow polls until the broker stores a message id it saw a moment ago: the duplicate
// window has passed.
func waitOutWindow(t testing.TB, ctx context.Context, js jetstream.JetStream, domain string) {
	t.Helper()
	probe := func() bool {
		m := nats.NewMsg(probeSubject(domain))
		m.Header.Set(events.HeaderMsgID, "window-probe")
		ack, err := js.PublishMsg(ctx, m)
		return err == nil && !ack.Duplicate
	}
	if !probe() {
		t.Fatal("the window probe was not stored")
	}
	for !probe() {
		select {
		case <-ctx.Done():
			t.Fatal("the duplicate window never passed")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
