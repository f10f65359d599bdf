package events

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// vendor is an HTTP peer that counts the calls it receives per idempotency key.
type vendor struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newVendor(t *testing.T) *vendor {
	v := &vendor{calls: map[string]int{}}
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.calls[r.Header.Get("Idempotency-Key")]++
		v.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(v.Close)
	return v
}

func (v *vendor) call(ctx context.Context, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.URL+"/refunds", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Idempotency-Key", key)
	resp, err := v.Client().Do(req)
	if err != nil {
		return errs.Wrap(err, errs.Unavailable, "vendor_unreachable", "the vendor did not answer")
	}
	resp.Body.Close()
	return nil
}

func (v *vendor) snapshot() (keys, calls, maxPerKey int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, n := range v.calls {
		keys++
		calls += n
		maxPerKey = max(maxPerKey, n)
	}
	return keys, calls, maxPerKey
}

// TestConsumerCrashBeforeAck is EV-2: the consumer calls a vendor and records the effect, its
// transaction commits, and the process dies before the ack (its NATS connection is cut). Every
// event is redelivered to the next incarnation, which finds it in the inbox: the vendor sees one
// call per event.
func TestConsumerCrashBeforeAck(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			testConsumerCrashBeforeAck(t, d)
		})
	}
}

func testConsumerCrashBeforeAck(t *testing.T, d store.Dialect) {
	ctx := testCtx(t)
	e := newEnv(t, d, "ev2")
	e.exec(t, "CREATE TABLE ev2_refunds (event_id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
	v := newVendor(t)
	const events = 12
	var evs []*canonicalv1.Event
	for i := range events {
		evs = append(evs, event(fmt.Sprintf("refund-%02d", i), "retailbridge.ev2.refund.approved.v1", fmt.Sprintf("refund/%d", i)))
	}
	e.publish(t, ctx, evs...)

	handler := HandlerFunc(func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
		if err := v.call(ctx, ev.GetId()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ev2_refunds (event_id, n) VALUES ($1, 1)
			ON CONFLICT (event_id) DO UPDATE SET n = ev2_refunds.n + 1`, ev.GetId())
		return err
	})

	// Every event's first commit is followed by a crash: the incarnation's connection is cut
	// and it stops, leaving the delivery without an ack.
	var (
		mu        sync.Mutex
		crashedOn = map[string]bool{}
		total     ConsumerStats
	)
	incarnations := 0
	for {
		mu.Lock()
		healthy := len(crashedOn) == events
		mu.Unlock()
		incarnations++
		nc, js := e.nats.Connect(t)
		c, err := NewConsumer(e.db, js, ConsumerConfig{Name: "ev2-refunds", Stream: StreamName("ev2"),
			AckWait: 400 * time.Millisecond, Concurrency: 1, Logger: quiet}, handler)
		if err != nil {
			t.Fatal(err)
		}
		// Dying is instant: the connection is cut and the incarnation's context cancelled before
		// the hook returns, so it neither acks nor starts anything else.
		runCtx, die := context.WithCancel(ctx)
		crashed := make(chan struct{})
		c.hook = func(point string, ev *canonicalv1.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if crashedOn[ev.GetId()] {
				return nil
			}
			crashedOn[ev.GetId()] = true
			nc.Close()
			die()
			close(crashed)
			return errCrash
		}
		done := make(chan error, 1)
		go func() { done <- c.Run(runCtx) }()
		if healthy {
			// The last incarnation runs until everything is handled and acknowledged.
			waitFor(t, 20*time.Second, "every event acknowledged", func() bool {
				return e.count(t, "SELECT count(*) FROM ev2_refunds") == events && e.consumerIdle(t, "ev2-refunds")
			})
		} else {
			select {
			case <-crashed:
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery reached the incarnation within 10s")
			}
		}
		die()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		s := c.Stats()
		total.Handled += s.Handled
		total.Duplicates += s.Duplicates
		if healthy {
			break
		}
		if incarnations > 2*events {
			t.Fatalf("still crashing after %d incarnations", incarnations)
		}
	}

	keys, calls, maxPerKey := v.snapshot()
	dupEffects := e.count(t, "SELECT COALESCE(SUM(n - 1), 0) FROM ev2_refunds")
	t.Logf("EV-2 %s: %d events, %d crashes before ack over %d incarnations; redeliveries answered from the inbox: %d",
		d, events, len(crashedOn), incarnations, total.Duplicates)
	t.Logf("EV-2 %s: vendor saw %d calls for %d keys (max %d per key); duplicate vendor effects = %d, duplicate rows = %d",
		d, calls, keys, maxPerKey, calls-keys, dupEffects)
	if keys != events || calls != events || dupEffects != 0 {
		t.Errorf("vendor calls = %d for %d keys, duplicate effects = %d; want %d, %d, 0", calls, keys, dupEffects, events, events)
	}
	if total.Duplicates < events {
		t.Errorf("inbox hits = %d, want ≥ %d (every crashed delivery redelivered and skipped)", total.Duplicates, events)
	}
}

// TestPoisonMessage is EV-3: one event fails with a retryable error every time and another with
// a permanent one, ahead of healthy events on a consumer that handles one event at a time. The
// healthy events flow while the poison waits for its retries; after the budget it lands in the
// dead-letter stream with its error, kind, attempts and correlation id.
func TestPoisonMessage(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			testPoisonMessage(t, d)
		})
	}
}

func testPoisonMessage(t *testing.T, d store.Dialect) {
	ctx := testCtx(t)
	e := newEnv(t, d, "ev3")
	e.exec(t, "CREATE TABLE ev3_postings (event_id TEXT PRIMARY KEY)")
	const healthy = 30
	const typ = "retailbridge.ev3.credit_memo.requested.v1"

	var lastHealthy atomic.Int64 // unix nanos of the last healthy event handled
	// unix nanos of the first: head-of-line blocking would hold every healthy event until the
	// poison is given up. (All 30 finishing inside the poison's sub-second retry window is the
	// machine's speed, not the consumer's behaviour.)
	var firstHealthy atomic.Int64
	handler := HandlerFunc(func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
		switch ev.GetSubject() {
		case "memo/poison":
			return errs.E(errs.Unavailable, "erp_unavailable", "ERP answered 503")
		case "memo/broken":
			return errs.E(errs.Invalid, "gl_account_unknown", "GL account 4000-XX does not exist")
		}
		if _, err := tx.Exec(ctx, "INSERT INTO ev3_postings (event_id) VALUES ($1)", ev.GetId()); err != nil {
			return err
		}
		lastHealthy.Store(time.Now().UnixNano())
		firstHealthy.CompareAndSwap(0, time.Now().UnixNano())
		return nil
	})
	c, err := NewConsumer(e.db, e.js, ConsumerConfig{Name: "ev3-erp-posting", Stream: StreamName("ev3"),
		MaxDeliver: 3, Backoff: Backoff{Initial: 300 * time.Millisecond, Max: 600 * time.Millisecond},
		Concurrency: 1, Logger: quiet}, handler)
	if err != nil {
		t.Fatal(err)
	}

	e.publish(t, telemetry.WithCorrelationID(ctx, "corr-poison"), event("memo-poison", typ, "memo/poison"))
	e.publish(t, telemetry.WithCorrelationID(ctx, "corr-broken"), event("memo-broken", typ, "memo/broken"))
	var evs []*canonicalv1.Event
	for i := range healthy {
		evs = append(evs, event(fmt.Sprintf("memo-%02d", i), typ, fmt.Sprintf("memo/%d", i)))
	}
	e.publish(t, ctx, evs...)
	stop := run(t, c.Run)

	dls := NewDeadLetters(e.db, e.js, nil)
	var got []DeadLetter
	waitFor(t, 20*time.Second, "two dead letters", func() bool {
		got, err = dls.List(ctx, ListOptions{Consumer: "ev3-erp-posting"})
		return err == nil && len(got) == 2
	})
	waitFor(t, 10*time.Second, "healthy events", func() bool {
		return e.count(t, "SELECT count(*) FROM ev3_postings") == healthy && e.consumerIdle(t, "ev3-erp-posting")
	})
	stop()

	byEvent := map[string]DeadLetter{}
	for _, dl := range got {
		byEvent[dl.EventID] = dl
	}
	poison, broken := byEvent["memo-poison"], byEvent["memo-broken"]
	for _, tc := range []struct {
		dl                          DeadLetter
		attempts                    int
		kind, reason, errText, corr string
		retryable                   bool
	}{
		{poison, 3, "unavailable", "erp_unavailable", "ERP answered 503", "corr-poison", true},
		{broken, 1, "invalid", "gl_account_unknown", "GL account 4000-XX does not exist", "corr-broken", false},
	} {
		dl := tc.dl
		if dl.Attempts != tc.attempts || dl.Kind != tc.kind || dl.Reason != tc.reason || !strings.Contains(dl.Error, tc.errText) ||
			dl.CorrelationID != tc.corr || dl.Retryable != tc.retryable || dl.Consumer != "ev3-erp-posting" ||
			dl.Stream != StreamName("ev3") || dl.Subject != typ || dl.Event.GetCorrelationId() != tc.corr {
			t.Errorf("dead letter %+v;\nwant attempts %d, kind %s, reason %s, error ~%q, correlation %s, retryable %v, consumer, stream, subject and payload",
				dl, tc.attempts, tc.kind, tc.reason, tc.errText, tc.corr, tc.retryable)
		}
	}

	flowedWhileRetrying := time.Unix(0, firstHealthy.Load()).Before(poison.DeadAt)
	s := c.Stats()
	t.Logf("EV-3 %s: poison dead-lettered after %d attempts (%s: %q, correlation %s); permanent failure after %d",
		d, poison.Attempts, poison.Kind, poison.Error, poison.CorrelationID, broken.Attempts)
	t.Logf("EV-3 %s: %d healthy events handled, the last %v before the poison was given up; stats %+v",
		d, e.count(t, "SELECT count(*) FROM ev3_postings"), poison.DeadAt.Sub(time.Unix(0, lastHealthy.Load())).Round(time.Millisecond), s)
	if !flowedWhileRetrying {
		t.Error("healthy events finished only after the poison was dead-lettered: head-of-line blocking")
	}
	if s.Retried != 2 || s.DeadLettered != 2 || s.Handled != healthy {
		t.Errorf("stats %+v, want 2 retries, 2 dead letters, %d handled", s, healthy)
	}
	if n := e.count(t, "SELECT count(*) FROM rb_inbox WHERE event_id IN ('memo-poison', 'memo-broken')"); n != 0 {
		t.Errorf("dead-lettered events in the inbox = %d, want 0 (a replay must run them)", n)
	}
}
