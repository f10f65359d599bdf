package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
)

// TestOutboxAtomicity is EV-1: producers commit, roll back and are killed mid-transaction while
// relays are killed at every crash point — cancelled, failing, or panicking mid-batch — and
// restarted. Afterwards every committed change's event has reached the consumer exactly once,
// and no event exists for a change that did not commit.
func TestOutboxAtomicity(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			testOutboxAtomicity(t, d)
		})
	}
}

// crashPanic is what a relay goroutine panics with to play a crash mid-batch.
type crashPanic struct{}

func testOutboxAtomicity(t *testing.T, d store.Dialect) {
	ctx := testCtx(t)
	e := newEnv(t, d, "ev1")
	e.exec(t, "CREATE TABLE ev1_orders (id TEXT PRIMARY KEY)")
	e.exec(t, "CREATE TABLE ev1_effects (event_id TEXT PRIMARY KEY, n INTEGER NOT NULL)")

	// The consumer counts every handler run per event; the inbox must keep every count at 1.
	_, cjs := e.nats.Connect(t)
	consumer, err := NewConsumer(e.db, cjs, ConsumerConfig{Name: "ev1-ledger", Stream: StreamName("ev1"),
		AckWait: 10 * time.Second, Logger: quiet, Backoff: Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}},
		HandlerFunc(func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
			_, err := tx.Exec(ctx, `INSERT INTO ev1_effects (event_id, n) VALUES ($1, 1)
				ON CONFLICT (event_id) DO UPDATE SET n = ev1_effects.n + 1`, ev.GetId())
			return err
		}))
	if err != nil {
		t.Fatal(err)
	}
	stopConsumer := run(t, consumer.Run)

	// Relays: one on SQLite, three sharing the work on PostgreSQL; each incarnation is killed
	// after a random lifetime, and at each crash point it may fail or panic.
	relays := 1
	if d == store.Postgres {
		relays = 3
	}
	outbox := NewOutbox(nil)
	var (
		incarnations, crashes, panics atomic.Int64
		published, brokerDups         atomic.Int64
		relayWG                       sync.WaitGroup
	)
	relaysCtx, stopRelays := context.WithCancel(ctx)
	for range relays {
		_, rjs := e.nats.Connect(t)
		relayWG.Go(func() {
			for relaysCtx.Err() == nil {
				incarnations.Add(1)
				r := NewRelay(e.db, rjs, outbox, RelayConfig{BatchSize: 50, PollInterval: 10 * time.Millisecond,
					RetryBackoff: 10 * time.Millisecond, Logger: quiet})
				r.hook = func(point string) error {
					switch x := rand.Float64(); {
					case x < 0.002:
						crashes.Add(1)
						return errCrash
					case x < 0.004:
						panics.Add(1)
						panic(crashPanic{})
					}
					return nil
				}
				life, kill := context.WithTimeout(relaysCtx, time.Duration(20+rand.IntN(400))*time.Millisecond)
				func() {
					defer func() {
						if p := recover(); p != nil {
							if _, ok := p.(crashPanic); !ok {
								panic(p)
							}
						}
					}()
					_ = r.Run(life)
				}()
				kill()
				s := r.Stats()
				published.Add(s.Published)
				brokerDups.Add(s.Duplicates)
			}
		})
	}

	// Producers: 20% of the transactions roll back after adding their event; 5% are killed
	// (context cancelled) at a random moment, committing or not.
	const producers, perProducer = 4, 300
	var attempted, rolledBack, killed atomic.Int64
	errRollback := errors.New("business rule said no")
	var prodWG sync.WaitGroup
	for p := range producers {
		prodWG.Go(func() {
			for i := range perProducer {
				id := fmt.Sprintf("order-%d-%04d", p, i)
				attempted.Add(1)
				txCtx, cancel := context.WithCancel(ctx)
				if rand.IntN(20) == 0 {
					time.AfterFunc(time.Duration(rand.IntN(2000))*time.Microsecond, cancel)
				}
				err := e.db.InTx(txCtx, func(tx *store.Tx) error {
					if _, err := tx.Exec(txCtx, "INSERT INTO ev1_orders (id) VALUES ($1)", id); err != nil {
						return err
					}
					if err := outbox.Add(txCtx, tx, event(id, "retailbridge.ev1.order.created.v1", "order/"+id)); err != nil {
						return err
					}
					if rand.IntN(5) == 0 {
						return errRollback
					}
					return nil
				})
				cancel()
				switch {
				case errors.Is(err, errRollback):
					rolledBack.Add(1)
				case err != nil && txCtx.Err() != nil:
					killed.Add(1)
				case err != nil:
					t.Errorf("producer transaction %s: %v", id, err)
				}
			}
		})
	}
	prodWG.Wait()

	waitFor(t, 30*time.Second, "the outbox to drain", func() bool {
		return e.count(t, "SELECT count(*) FROM rb_outbox WHERE published_at IS NULL") == 0
	})
	stopRelays()
	relayWG.Wait()
	committed := e.count(t, "SELECT count(*) FROM ev1_orders")
	waitFor(t, 30*time.Second, "the consumer to catch up", func() bool {
		return e.count(t, "SELECT count(*) FROM ev1_effects") >= committed && e.consumerIdle(t, "ev1-ledger")
	})
	stopConsumer()

	lost := e.count(t, "SELECT count(*) FROM ev1_orders o WHERE NOT EXISTS (SELECT 1 FROM ev1_effects f WHERE f.event_id = o.id)")
	phantom := e.count(t, "SELECT count(*) FROM ev1_effects f WHERE NOT EXISTS (SELECT 1 FROM ev1_orders o WHERE o.id = f.event_id)")
	duplicateEffects := e.count(t, "SELECT COALESCE(SUM(n - 1), 0) FROM ev1_effects")
	outboxOrphans := e.count(t, "SELECT count(*) FROM rb_outbox b WHERE NOT EXISTS (SELECT 1 FROM ev1_orders o WHERE o.id = b.event_id)")
	streamMsgs, _ := e.streamMsgs(t, StreamName("ev1"))
	cs := consumer.Stats()

	t.Logf("EV-1 %s: %d transactions: %d committed, %d rolled back, %d killed mid-transaction (%d of those committed anyway)",
		d, attempted.Load(), committed, rolledBack.Load(), killed.Load(),
		int64(committed)-(attempted.Load()-rolledBack.Load()-killed.Load()))
	t.Logf("EV-1 %s: %d relay(s), %d incarnations, %d injected failures, %d injected panics; relays marked %d rows, "+
		"%d republished copies dropped by the broker", d, relays, incarnations.Load(), crashes.Load(), panics.Load(),
		published.Load(), brokerDups.Load())
	t.Logf("EV-1 %s: stream holds %d messages; consumer handled %d, inbox duplicates %d", d, streamMsgs, cs.Handled, cs.Duplicates)
	t.Logf("EV-1 %s: lost = %d, phantom = %d, duplicate effects = %d", d, lost, phantom, duplicateEffects)

	if lost != 0 || phantom != 0 || duplicateEffects != 0 || outboxOrphans != 0 {
		t.Errorf("lost = %d, phantom = %d, duplicate effects = %d, outbox rows without their change = %d; want all 0",
			lost, phantom, duplicateEffects, outboxOrphans)
	}
	if int(streamMsgs) != committed {
		t.Errorf("stream holds %d messages for %d committed events; want one each (broker dedup)", streamMsgs, committed)
	}
	if committed < 700 || crashes.Load()+panics.Load() == 0 {
		t.Errorf("the run proved too little: %d committed events, %d injected crashes", committed, crashes.Load()+panics.Load())
	}
}

// TestRelayRetriesFailedPublish publishes to a subject no stream captures yet: the row stays
// unpublished with its error and a retry time, and goes out once the stream exists.
func TestRelayRetriesFailedPublish(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			e := newEnv(t, d, "ev1")
			o := NewOutbox(nil)
			err := e.db.InTx(ctx, func(tx *store.Tx) error {
				return o.Add(ctx, tx, event("late-1", "retailbridge.late.thing.happened.v1", ""))
			})
			if err != nil {
				t.Fatal(err)
			}
			r := NewRelay(e.db, e.js, o, RelayConfig{RetryBackoff: 50 * time.Millisecond, PublishTimeout: 2 * time.Second, Logger: quiet})
			if n, err := r.Drain(ctx); err != nil || n != 0 {
				t.Fatalf("Drain without a stream = %d, %v; want 0, nil", n, err)
			}
			var attempts int
			var lastError string
			if err := e.db.QueryRow(ctx, "SELECT attempts, last_error FROM rb_outbox WHERE event_id = $1", "late-1").
				Scan(&attempts, &lastError); err != nil {
				t.Fatal(err)
			}
			if attempts != 1 || lastError == "" || r.Stats().Failed != 1 {
				t.Errorf("after a failed publish: attempts = %d, last_error = %q, stats %+v; want 1, an error, 1 failure",
					attempts, lastError, r.Stats())
			}
			if n, err := r.Drain(ctx); err != nil || n != 0 {
				t.Errorf("Drain before the retry time = %d, %v; want 0 (backing off)", n, err)
			}
			if _, err := EnsureStream(ctx, e.js, "late", StreamOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the retry to publish", func() bool {
				n, err := r.Drain(ctx)
				return err == nil && n == 1
			})
			if msgs, _ := e.streamMsgs(t, StreamName("late")); msgs != 1 {
				t.Errorf("stream holds %d messages, want 1", msgs)
			}
		})
	}
}

// TestRepublishAfterDuplicateWindow crashes a relay between publish and mark and restarts it
// only after the stream's duplicate window: the broker stores the copy, and the consumer's inbox
// is what keeps the effect single.
func TestRepublishAfterDuplicateWindow(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			e := newEnv(t, d, "ev1")
			const window = 200 * time.Millisecond
			if _, err := EnsureStream(ctx, e.js, "short", StreamOptions{Duplicates: window}); err != nil {
				t.Fatal(err)
			}
			e.exec(t, "CREATE TABLE short_effects (event_id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
			o := NewOutbox(nil)
			if err := e.db.InTx(ctx, func(tx *store.Tx) error {
				return o.Add(ctx, tx, event("short-1", "retailbridge.short.thing.happened.v1", ""))
			}); err != nil {
				t.Fatal(err)
			}
			crashing := NewRelay(e.db, e.js, o, RelayConfig{Logger: quiet})
			crashing.hook = func(point string) error {
				if point == "acked" {
					return errCrash
				}
				return nil
			}
			if _, err := crashing.Drain(ctx); !errors.Is(err, errCrash) {
				t.Fatalf("crashing relay: %v", err)
			}
			time.Sleep(2 * window)
			if n, err := NewRelay(e.db, e.js, o, RelayConfig{Logger: quiet}).Drain(ctx); err != nil || n != 1 {
				t.Fatalf("restarted relay marked %d, %v; want 1", n, err)
			}
			if msgs, _ := e.streamMsgs(t, StreamName("short")); msgs != 2 {
				t.Fatalf("stream holds %d copies, want 2 (the window had passed)", msgs)
			}
			c, err := NewConsumer(e.db, e.js, ConsumerConfig{Name: "short-ledger", Stream: StreamName("short"), Logger: quiet},
				HandlerFunc(func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
					_, err := tx.Exec(ctx, `INSERT INTO short_effects (event_id, n) VALUES ($1, 1)
						ON CONFLICT (event_id) DO UPDATE SET n = short_effects.n + 1`, ev.GetId())
					return err
				}))
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, c.Run)
			waitFor(t, 10*time.Second, "both copies consumed", func() bool { return c.Stats().Handled+c.Stats().Duplicates == 2 })
			stop()
			if n := e.count(t, "SELECT n FROM short_effects WHERE event_id = 'short-1'"); n != 1 || c.Stats().Duplicates != 1 {
				t.Errorf("effects = %d, inbox duplicates = %d; want 1 and 1", n, c.Stats().Duplicates)
			}
		})
	}
}
