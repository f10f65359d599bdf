package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// Handler handles one event. It runs inside tx, which also records the event in the consumer's
// inbox: everything it writes through tx commits with that record or not at all. Effects outside
// the database (a vendor call) must carry an idempotency key derived from the event id, because a
// transaction conflict or a crash before commit runs the handler again. Return an error for which
// store.IsRetryable is true (a retryable errs kind, or a database conflict such as a unique
// violation or a lost version check) to be retried later; any other error dead-letters the event.
// On SQLite the transaction holds the database's only writer connection, so keep slow calls short.
//
// A delivery whose handler runs no statement through tx (an event type it does not handle) has
// nothing to record: its transaction, inbox row included, is rolled back rather than committed,
// so that events a service ignores cost it no write. Such a handler is a function of the event
// alone, and a redelivery gets the same answer; outside effects still need the idempotency key.
type Handler interface {
	Handle(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
	return f(ctx, tx, ev)
}

// Backoff is a capped exponential retry delay with jitter.
type Backoff struct {
	// Initial is the delay after the first failed delivery. Default 1s.
	Initial time.Duration
	// Max caps the delay. Default 1m.
	Max time.Duration
}

// Delay returns the delay after the attempt-th failed delivery: Initial·2^(attempt-1) capped at
// Max, then drawn uniformly from its upper half so that failing messages spread out. A longer
// errs.Error RetryAfter (a vendor's Retry-After) wins.
func (b Backoff) Delay(attempt int, cause error) time.Duration {
	d := b.Max
	if shift := attempt - 1; shift < 30 {
		if e := b.Initial << max(shift, 0); e < d {
			d = e
		}
	}
	d = d/2 + rand.N(d/2+1)
	if e := errs.As(cause); e != nil && e.RetryAfter > d {
		d = e.RetryAfter
	}
	return d
}

// ConsumerConfig describes a durable consumer.
type ConsumerConfig struct {
	// Name is the durable consumer's name and the inbox key; letters, digits, '-' and '_'.
	Name string
	// Stream is the stream to consume, for example StreamName("returns").
	Stream string
	// Subjects filters the stream; empty means every subject.
	Subjects []string
	// MaxDeliver is the retry budget: deliveries, the first included, before a retryable
	// failure is dead-lettered. Default 5.
	MaxDeliver int
	// Backoff spaces retries. Default 1s doubling to 1m.
	Backoff Backoff
	// AckWait is how long JetStream waits for a verdict before redelivering; the consumer
	// extends it while a handler runs. Default 30s.
	AckWait time.Duration
	// Concurrency is how many events are handled at once. Order is not preserved. Default 4.
	Concurrency int
	// MaxAckPending caps unacknowledged deliveries, retries waiting for their delay included,
	// so it must comfortably exceed the number of events that may be failing at once. Default 1000.
	MaxAckPending int
	// Logger receives handling failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.Backoff.Initial <= 0 {
		c.Backoff.Initial = time.Second
	}
	if c.Backoff.Max < c.Backoff.Initial {
		c.Backoff.Max = max(time.Minute, c.Backoff.Initial)
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ConsumerStats count what a consumer did since it was created.
type ConsumerStats struct {
	// Handled is the number of events whose handler committed.
	Handled int64
	// Duplicates is the number of deliveries found in the inbox and acknowledged without
	// running the handler (redeliveries after a lost ack, replays of handled events).
	Duplicates int64
	// Retried is the number of failed deliveries scheduled for another attempt.
	Retried int64
	// DeadLettered is the number of events handed to the dead-letter stream.
	DeadLettered int64
	// Skipped is the number of replays addressed to another consumer.
	Skipped int64
}

// Consumer delivers a stream's events to a Handler exactly once per (consumer, event id), through
// a durable pull consumer and the inbox. A failing event never blocks the others: it waits for its
// retry (NakWithDelay) while the rest flow, and leaves for the dead-letter stream once it fails
// for good.
type Consumer struct {
	db  *store.DB
	js  jetstream.JetStream
	cfg ConsumerConfig
	h   Handler

	handled, duplicates, retried, deadLettered, skipped atomic.Int64

	// hook, when set (tests only), is called at the consumer's crash points: "committed" (after
	// the handler's transaction committed, before the ack). An error abandons the delivery
	// without a verdict, as a crash would.
	hook func(point string, ev *canonicalv1.Event) error
}

// NewConsumer checks cfg and returns a consumer; Run starts it.
func NewConsumer(db *store.DB, js jetstream.JetStream, cfg ConsumerConfig, h Handler) (*Consumer, error) {
	var bad []string
	if !validToken(cfg.Name) {
		bad = append(bad, fmt.Sprintf("name %q: use letters, digits, '-' and '_'", cfg.Name))
	}
	if cfg.Stream == "" {
		bad = append(bad, "stream: required")
	}
	for _, s := range cfg.Subjects {
		if s == "" {
			bad = append(bad, "subjects: empty subject")
		}
	}
	if h == nil {
		bad = append(bad, "handler: required")
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("events: consumer config: %v", bad)
	}
	return &Consumer{db: db, js: js, cfg: cfg.withDefaults(), h: h}, nil
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() ConsumerStats {
	return ConsumerStats{Handled: c.handled.Load(), Duplicates: c.duplicates.Load(), Retried: c.retried.Load(),
		DeadLettered: c.deadLettered.Load(), Skipped: c.skipped.Load()}
}

// Run creates or updates the durable consumer and handles events until ctx is done, then waits
// for the handlers in flight (their transactions are cancelled and their events redelivered) and
// returns nil.
func (c *Consumer) Run(ctx context.Context) error {
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.cfg.Stream, jetstream.ConsumerConfig{
		Durable:        c.cfg.Name,
		Description:    "Retailbridge consumer " + c.cfg.Name,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.cfg.AckWait,
		MaxDeliver:     -1, // the budget is enforced here, so that the last failure is dead-lettered, not dropped
		MaxAckPending:  c.cfg.MaxAckPending,
		FilterSubjects: c.cfg.Subjects,
	})
	if err != nil {
		return fmt.Errorf("events: consumer %s on %s: %w", c.cfg.Name, c.cfg.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * c.cfg.Concurrency))
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", c.cfg.Name, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range c.cfg.Concurrency {
		wg.Go(func() {
			for m := range work {
				c.handle(ctx, m)
			}
		})
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				it.Stop()
				return nil
			}
			c.cfg.Logger.WarnContext(ctx, "consumer fetch failed", "consumer", c.cfg.Name, "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case work <- m:
		case <-ctx.Done():
			return nil // m is redelivered after AckWait
		}
	}
}

// errBudgetSpent dead-letters an event that keeps coming back without a verdict: the consumer
// crashed or timed out on it every time, so the handler never even returned an error.
var errBudgetSpent = errs.E(errs.Internal, "delivery_budget_spent",
	"delivered again and again without a verdict: the consumer stopped or timed out on every attempt")

func (c *Consumer) handle(ctx context.Context, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		c.cfg.Logger.ErrorContext(ctx, "consumer got a message without JetStream metadata", "consumer", c.cfg.Name, "error", err)
		return
	}
	h := m.Headers()
	ctx = contextFor(ctx, h.Get(HeaderCorrelationID), h.Get(HeaderTraceparent))
	if to := h.Get(HeaderReplayFor); to != "" && to != c.cfg.Name {
		// A replay of another consumer's dead letter: this consumer handled the event already
		// (or will, from the original message).
		c.ack(ctx, m)
		c.skipped.Add(1)
		return
	}
	ev, err := Decode(m.Data())
	if err != nil {
		c.giveUp(ctx, m, md, nil, errs.Wrap(err, errs.Invalid, "event_undecodable", "the message is not an event envelope"))
		return
	}
	if telemetry.CorrelationID(ctx) == "" && ev.GetCorrelationId() != "" {
		ctx = telemetry.WithCorrelationID(ctx, ev.GetCorrelationId())
	}

	attempts := int(md.NumDelivered)
	stopBeat := c.keepAlive(m)
	dup, err := c.process(ctx, m, md, ev, attempts)
	stopBeat()
	switch {
	case err == nil:
		if c.hook != nil && c.hook("committed", ev) != nil {
			return
		}
		c.ack(ctx, m)
		if dup {
			c.duplicates.Add(1)
		} else {
			c.handled.Add(1)
		}
	case ctx.Err() != nil:
		_ = m.Nak() // stopping: let another replica take it now
	case store.IsRetryable(err) && attempts < c.cfg.MaxDeliver:
		delay := c.cfg.Backoff.Delay(attempts, err)
		c.cfg.Logger.InfoContext(ctx, "event failed; will retry", "consumer", c.cfg.Name, "event_id", ev.GetId(),
			"attempt", attempts, "retry_in", delay, "error", err)
		if nakErr := m.NakWithDelay(delay); nakErr != nil {
			c.cfg.Logger.WarnContext(ctx, "nak failed; redelivery after ack wait", "consumer", c.cfg.Name, "error", nakErr)
		}
		c.retried.Add(1)
	default:
		c.giveUp(ctx, m, md, ev, err)
	}
}

// errNothingToRecord rolls back a delivery's transaction that wrote nothing worth a commit: a
// duplicate, or an event its handler ignored.
var errNothingToRecord = errors.New("events: nothing to record")

// Ignore is what a handler returns for an event that means nothing to it (a type it does not
// wait for, a record that is not its own): the delivery is acknowledged and nothing is written,
// not even the inbox row, so an ignored event costs no write transaction. Only the handler can
// say so: one that ran no statement may still have had an effect outside the database (a vendor
// call, a cache dropped), which the inbox row is what keeps from happening twice.
var Ignore = errors.New("events: event ignored")

// process runs the inbox insert and the handler in one transaction; dup reports an inbox hit.
func (c *Consumer) process(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata, ev *canonicalv1.Event, attempts int) (dup bool, err error) {
	err = c.db.InTx(ctx, func(tx *store.Tx) error {
		dup = false
		res, err := tx.Exec(ctx, `INSERT INTO rb_inbox (consumer, event_id, subject, stream_seq, processed_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			c.cfg.Name, ev.GetId(), m.Subject(), int64(md.Sequence.Stream), c.cfg.Now().UTC())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			dup = true
			return errNothingToRecord
		}
		if attempts > 2*c.cfg.MaxDeliver {
			return errBudgetSpent
		}
		if err := c.call(ctx, tx, ev); err != nil {
			if errors.Is(err, Ignore) {
				return errNothingToRecord
			}
			return err
		}
		return nil
	})
	if errors.Is(err, errNothingToRecord) {
		err = nil
	}
	return dup, err
}

// call runs the handler, turning a panic into a non-retryable error.
func (c *Consumer) call(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.E(errs.Internal, "handler_panic", fmt.Sprintf("handler panicked: %v", p))
		}
	}()
	return c.h.Handle(ctx, tx, ev)
}

// keepAlive tells JetStream the delivery is in progress until stop is called, so a slow handler
// is not redelivered to another replica while it still runs.
func (c *Consumer) keepAlive(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(c.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = m.InProgress()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

func (c *Consumer) ack(ctx context.Context, m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		// The inbox turns the redelivery into a no-op.
		c.cfg.Logger.WarnContext(ctx, "ack failed; the event will be redelivered and skipped", "consumer", c.cfg.Name, "error", err)
	}
}

// giveUp moves the event to the dead-letter stream and terminates its delivery; if the dead-letter
// stream cannot take it, the delivery is retried later instead, so nothing is dropped.
func (c *Consumer) giveUp(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata, ev *canonicalv1.Event, cause error) {
	if err := c.deadLetter(ctx, m, md, ev, cause); err != nil {
		c.cfg.Logger.ErrorContext(ctx, "dead-lettering failed; will retry", "consumer", c.cfg.Name,
			"stream_seq", md.Sequence.Stream, "error", err, "cause", cause)
		_ = m.NakWithDelay(c.cfg.Backoff.Max)
		return
	}
	c.cfg.Logger.WarnContext(ctx, "event dead-lettered", "consumer", c.cfg.Name, "event_id", ev.GetId(),
		"attempts", md.NumDelivered, "kind", errs.KindOf(cause).String(), "error", cause)
	if err := m.TermWithReason("dead-lettered"); err != nil {
		c.cfg.Logger.WarnContext(ctx, "term failed; the dead letter is deduplicated on redelivery", "consumer", c.cfg.Name, "error", err)
	}
	c.deadLettered.Add(1)
}
