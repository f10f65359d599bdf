package events

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// RelayConfig tunes a Relay. The zero value is usable.
type RelayConfig struct {
	// BatchSize is how many rows one pass claims and publishes together. Default 100.
	BatchSize int
	// PollInterval is how often the relay looks for rows when no commit woke it (events added
	// by other processes, rows waiting for a retry). Default 500ms.
	PollInterval time.Duration
	// PublishTimeout bounds the wait for a batch's acknowledgements. Default 10s.
	PublishTimeout time.Duration
	// RetryBackoff is the delay before a row whose publish failed is tried again; it doubles per
	// failure up to 64×. Default 1s.
	RetryBackoff time.Duration
	// Retention is how long published rows are kept before Run prunes them. Default 24h;
	// negative keeps them forever.
	Retention time.Duration
	// MarkDelay is how long Run may keep the marks of acknowledged rows in memory to write many
	// in one transaction (SQLite only; see Relay). Default 100ms; negative marks every pass.
	MarkDelay time.Duration
	// Logger receives publish failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c RelayConfig) withDefaults() RelayConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 10 * time.Second
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = time.Second
	}
	if c.Retention == 0 {
		c.Retention = 24 * time.Hour
	}
	if c.MarkDelay == 0 {
		c.MarkDelay = 100 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// RelayStats count what a relay did since it was created.
type RelayStats struct {
	// Published is the number of rows marked published.
	Published int64
	// Duplicates is how many of those JetStream acknowledged as duplicates: copies republished
	// after a relay crashed between publishing and marking.
	Duplicates int64
	// Failed is the number of publish attempts that failed and were scheduled for a retry.
	Failed int64
}

// Relay publishes committed outbox rows to JetStream and marks them published once JetStream has
// acknowledged them (stored, with file storage and sync: always, on disk).
//
// On PostgreSQL a pass claims rows with SELECT … FOR UPDATE SKIP LOCKED and holds the row locks
// until the marks commit, so any number of relays (replicas) share the work and a relay that dies
// releases its rows with its connection. On SQLite run one relay per database: a pass reads
// without locking, publishes, then marks in a short write transaction, so producers are never
// blocked behind a publish. Either way a crash between publish and mark only republishes, and the
// broker drops the copies (Nats-Msg-Id = event id). Events are published roughly in commit order;
// consumers must not rely on a global order.
//
// On SQLite, Run also batches the marks: a busy service commits events a few at a time, and a
// mark transaction per pass would cost one write per handful of events. Run keeps the sequence
// numbers of acknowledged rows in memory (its own claims skip them) and marks them together
// once BatchSize have gathered or the oldest has waited MarkDelay, and before it returns. A
// crash loses at most those marks: the rows are published again and the broker drops the copies
// within its duplicate window (minutes; MarkDelay is a fraction of a second).
type Relay struct {
	db     *store.DB
	js     jetstream.JetStream
	outbox *Outbox
	cfg    RelayConfig

	// unmarked are the rows acknowledged but not yet marked (Run on SQLite only), since
	// unmarkedSince; only Run's goroutine touches them.
	unmarked      map[int64]publishResult
	unmarkedSince time.Time

	published, duplicates, failed atomic.Int64

	// hook, when set (tests only), is called at the relay's crash points: "claimed", "publish"
	// (before each message), "acked" and "marked". An error aborts the pass as a crash would.
	hook func(point string) error
}

// NewRelay returns a relay for db's outbox. outbox may be nil; when given, its commits wake the
// relay instead of waiting for the next poll.
func NewRelay(db *store.DB, js jetstream.JetStream, outbox *Outbox, cfg RelayConfig) *Relay {
	return &Relay{db: db, js: js, outbox: outbox, cfg: cfg.withDefaults()}
}

// Stats returns the relay's counters.
func (r *Relay) Stats() RelayStats {
	return RelayStats{Published: r.published.Load(), Duplicates: r.duplicates.Load(), Failed: r.failed.Load()}
}

// Run publishes until ctx is done, then returns nil.
func (r *Relay) Run(ctx context.Context) error {
	var wake <-chan struct{}
	if r.outbox != nil {
		wake = r.outbox.wake
	}
	ticker := time.NewTicker(r.cfg.PollInterval)
	defer ticker.Stop()
	if r.db.Dialect() == store.SQLite && r.cfg.MarkDelay > 0 {
		r.unmarked = map[int64]publishResult{}
		defer r.flushOnStop()
	}
	var lastPrune time.Time
	for {
		if _, err := r.drain(ctx, r.unmarked != nil); err != nil && ctx.Err() == nil {
			r.cfg.Logger.WarnContext(ctx, "outbox relay pass failed", "error", err)
		}
		flushIn := r.flushDue(ctx)
		if now := r.cfg.Now(); r.cfg.Retention > 0 && now.Sub(lastPrune) >= time.Hour {
			lastPrune = now
			if _, err := r.Prune(ctx, now.Add(-r.cfg.Retention)); err != nil && ctx.Err() == nil {
				r.cfg.Logger.WarnContext(ctx, "outbox prune failed", "error", err)
			}
		}
		var flush <-chan time.Time
		var flushTimer *time.Timer
		if flushIn > 0 {
			flushTimer = time.NewTimer(flushIn)
			flush = flushTimer.C
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-ticker.C:
		case <-flush:
		}
		if flushTimer != nil {
			flushTimer.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// Drain publishes passes until no row is due and returns how many rows it marked published.
func (r *Relay) Drain(ctx context.Context) (int, error) { return r.drain(ctx, false) }

// drain runs passes until no row is due; with deferMarks the acknowledged rows join unmarked
// instead of being marked by each pass.
func (r *Relay) drain(ctx context.Context, deferMarks bool) (int, error) {
	total := 0
	for {
		claimed, marked, err := r.pass(ctx, deferMarks)
		total += marked
		if err != nil || claimed < r.cfg.BatchSize {
			return total, err
		}
	}
}

// flushDue marks the unmarked rows when BatchSize have gathered or the oldest has waited
// MarkDelay, and otherwise returns how long until it has (zero: nothing is waiting).
func (r *Relay) flushDue(ctx context.Context) time.Duration {
	if len(r.unmarked) == 0 {
		return 0
	}
	// Wall time, not cfg.Now: the delay batches writes; it is no business time.
	if wait := r.cfg.MarkDelay - time.Since(r.unmarkedSince); wait > 0 && len(r.unmarked) < r.cfg.BatchSize {
		return wait
	}
	if err := r.flush(ctx); err != nil {
		if ctx.Err() == nil {
			r.cfg.Logger.WarnContext(ctx, "outbox marks failed; will retry", "rows", len(r.unmarked), "error", err)
		}
		return r.cfg.MarkDelay
	}
	return 0
}

// flush marks every unmarked row published in one transaction.
func (r *Relay) flush(ctx context.Context) error {
	results := make([]publishResult, 0, len(r.unmarked))
	for _, res := range r.unmarked {
		results = append(results, res)
	}
	if err := r.db.InTx(ctx, func(tx *store.Tx) error { return r.mark(ctx, tx, results) }); err != nil {
		return err
	}
	r.count(results)
	clear(r.unmarked)
	return nil
}

// flushOnStop marks what Run still holds as it returns, so that a clean stop republishes
// nothing; failing that, the rows are published again by the next relay.
func (r *Relay) flushOnStop() {
	if len(r.unmarked) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.flush(ctx)
}

// Prune deletes rows published before t and returns how many it deleted.
func (r *Relay) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := r.db.Exec(ctx, `DELETE FROM rb_outbox WHERE published_at IS NOT NULL AND published_at < $1`, before.UTC())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type outboxRow struct {
	seq                                                 int64
	eventID, subject, eventType, correlationID, tracePt string
	payload                                             []byte
	attempts                                            int
}

type publishResult struct {
	row outboxRow
	ack *jetstream.PubAck
	err error
}

type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pass claims, publishes and marks one batch. It returns the rows claimed and marked. With
// deferMarks (SQLite, Run) the acknowledged rows join unmarked; only failures are marked (with
// their retry time) at once.
func (r *Relay) pass(ctx context.Context, deferMarks bool) (claimed, marked int, err error) {
	if r.db.Dialect() == store.Postgres {
		var results []publishResult
		err = r.db.InTx(ctx, func(tx *store.Tx) error {
			rows, err := r.claim(ctx, tx, " FOR UPDATE SKIP LOCKED", nil)
			claimed = len(rows)
			if err != nil || len(rows) == 0 {
				return err
			}
			if results, err = r.publish(ctx, rows); err != nil {
				return err
			}
			return r.mark(ctx, tx, results)
		})
		if err != nil {
			return claimed, 0, err
		}
		return claimed, r.count(results), nil
	}

	var held map[int64]publishResult
	if deferMarks {
		held = r.unmarked
	}
	rows, err := r.claim(ctx, r.db, "", held)
	if err != nil || len(rows) == 0 {
		return len(rows), 0, err
	}
	results, err := r.publish(ctx, rows)
	if err != nil {
		return len(rows), 0, err
	}
	toMark := results
	if deferMarks {
		toMark = toMark[:0:0]
		for _, res := range results {
			if res.ack == nil {
				toMark = append(toMark, res)
				continue
			}
			if len(r.unmarked) == 0 {
				r.unmarkedSince = time.Now()
			}
			r.unmarked[res.row.seq] = res
		}
		if len(toMark) == 0 {
			return len(rows), 0, nil
		}
	}
	if err := r.db.InTx(ctx, func(tx *store.Tx) error { return r.mark(ctx, tx, toMark) }); err != nil {
		return len(rows), 0, err
	}
	return len(rows), r.count(toMark), nil
}

// claim reads the next rows to publish, leaving out those in held (published, mark pending).
func (r *Relay) claim(ctx context.Context, q querier, lock string, held map[int64]publishResult) ([]outboxRow, error) {
	// Rows published but not yet marked (unmarked) are still in the table as unpublished: ask
	// for that many more and leave them out.
	rows, err := q.Query(ctx, `SELECT seq, event_id, subject, event_type, correlation_id, traceparent, payload, attempts
		FROM rb_outbox WHERE published_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
		ORDER BY seq LIMIT $2`+lock, r.cfg.Now().UTC(), r.cfg.BatchSize+len(held))
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var o outboxRow
		if err := rows.Scan(&o.seq, &o.eventID, &o.subject, &o.eventType, &o.correlationID, &o.tracePt,
			&o.payload, &o.attempts); err != nil {
			return nil, err
		}
		if _, ok := held[o.seq]; ok || len(out) == r.cfg.BatchSize {
			continue
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) > 0 {
		if err := r.at("claimed"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// publish sends the batch asynchronously and collects every acknowledgement. An error means the
// pass must stop without marking anything.
func (r *Relay) publish(ctx context.Context, rows []outboxRow) ([]publishResult, error) {
	results := make([]publishResult, len(rows))
	futures := make([]jetstream.PubAckFuture, len(rows))
	for i, row := range rows {
		results[i].row = row
		if err := r.at("publish"); err != nil {
			return nil, err
		}
		m := newMsg(row.subject, row.payload, row.eventID, row.eventType, row.correlationID, row.tracePt)
		f, err := r.js.PublishMsgAsync(m)
		if err != nil {
			results[i].err = err
			continue
		}
		futures[i] = f
	}
	wait, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			results[i].ack = ack
		case err := <-f.Err():
			results[i].err = err
		case <-wait.Done():
			results[i].err = fmt.Errorf("no acknowledgement within %v", r.cfg.PublishTimeout)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.at("acked"); err != nil {
		return nil, err
	}
	return results, nil
}

func (r *Relay) mark(ctx context.Context, tx *store.Tx, results []publishResult) error {
	now := r.cfg.Now().UTC()
	var acked []any
	for _, res := range results {
		if res.ack != nil {
			acked = append(acked, res.row.seq)
			continue
		}
		shift := min(res.row.attempts, 6)
		next := now.Add(r.cfg.RetryBackoff << shift)
		if _, err := tx.Exec(ctx, `UPDATE rb_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2
			WHERE seq = $3`, truncate(res.err.Error(), 1024), next, res.row.seq); err != nil {
			return err
		}
	}
	for start := 0; start < len(acked); start += 500 {
		chunk := acked[start:min(start+500, len(acked))]
		args := append([]any{now}, chunk...)
		if _, err := tx.Exec(ctx, `UPDATE rb_outbox SET published_at = $1 WHERE seq IN (`+
			store.Placeholders(2, len(chunk))+`)`, args...); err != nil {
			return err
		}
	}
	return r.at("marked")
}

// count updates the stats after a pass committed and returns the rows marked published.
func (r *Relay) count(results []publishResult) int {
	marked := 0
	for _, res := range results {
		switch {
		case res.ack == nil:
			r.failed.Add(1)
			r.cfg.Logger.Warn("outbox publish failed; will retry", "event_id", res.row.eventID,
				"subject", res.row.subject, "attempts", res.row.attempts+1, "error", res.err)
		case res.ack.Duplicate:
			r.duplicates.Add(1)
			marked++
		default:
			marked++
		}
	}
	r.published.Add(int64(marked))
	return marked
}

func (r *Relay) at(point string) error {
	if r.hook == nil {
		return nil
	}
	return r.hook(point)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
