package events

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// quiet discards the logs of components whose failures a test causes on purpose.
var quiet = slog.New(slog.DiscardHandler)

// errCrash is what crash hooks return to play a process dying at that point.
var errCrash = errors.New("simulated crash")

// env is one service's world: its database (with this package's tables), a JetStream server
// with the domain's stream and the dead-letter stream.
type env struct {
	db     *store.DB
	nats   *eventstest.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	domain string
}

func newEnv(t *testing.T, d store.Dialect, domain string) *env {
	t.Helper()
	ctx := testCtx(t)
	e := &env{db: storetest.Open(t, d, store.Options{}), nats: eventstest.Start(t), domain: domain}
	if err := Migrate(ctx, e.db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	e.nc, e.js = e.nats.Connect(t)
	if _, err := EnsureStream(ctx, e.js, domain, StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureDeadLetterStream(ctx, e.js, StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := e.db.Exec(testCtx(t), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(testCtx(t), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// publish records events through the outbox in one transaction and relays them.
func (e *env) publish(t testing.TB, ctx context.Context, evs ...*canonicalv1.Event) {
	t.Helper()
	outbox := NewOutbox(nil)
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		for _, ev := range evs {
			if err := outbox.Add(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("add events: %v", err)
	}
	n, err := NewRelay(e.db, e.js, outbox, RelayConfig{}).Drain(ctx)
	if err != nil || n != len(evs) {
		t.Fatalf("relay drained %d events, %v; want %d", n, err, len(evs))
	}
}

// consumerInfo returns the consumer's pending counts.
func (e *env) consumerIdle(t testing.TB, name string) bool {
	t.Helper()
	ctx := testCtx(t)
	c, err := e.js.Consumer(ctx, StreamName(e.domain), name)
	if err != nil {
		return false
	}
	info, err := c.Info(ctx)
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}

func (e *env) streamMsgs(t testing.TB, stream string) (msgs, lastSeq uint64) {
	t.Helper()
	s, err := e.js.Stream(testCtx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs, info.State.LastSeq
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, timeout, what, cond)
}

// run starts f in a goroutine until the returned stop is called (and at cleanup).
func run(t testing.TB, f func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func event(id, typ, subject string) *canonicalv1.Event {
	return &canonicalv1.Event{Id: id, Type: typ, Source: "retailbridge/test", Subject: subject}
}
