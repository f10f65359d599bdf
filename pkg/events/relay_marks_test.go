package events

import (
	"fmt"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// On SQLite, Run marks acknowledged rows in batches: events committed one per transaction are
// published each once (a row waiting for its mark is not claimed again), the marks take a
// transaction per BatchSize rows rather than one per pass, and stopping marks what is left.
func TestRelayBatchesItsMarks(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	e := newEnv(t, store.SQLite, "marks")
	o := NewOutbox(nil)
	const batch, events = 10, 25
	// A mark delay longer than the test: only a full batch, or stopping, marks.
	r := NewRelay(e.db, e.js, o, RelayConfig{BatchSize: batch, MarkDelay: time.Hour, Logger: quiet})
	stop := run(t, r.Run)
	tx0, _ := e.db.Commits()
	for i := range events {
		if err := e.db.InTx(ctx, func(tx *store.Tx) error {
			return o.Add(ctx, tx, event(fmt.Sprintf("mark-%02d", i), "retailbridge.marks.thing.happened.v1", ""))
		}); err != nil {
			t.Fatal(err)
		}
		// Wait for each event to reach the stream: one pass per event, the worst case for marks.
		waitFor(t, 10*time.Second, "event published", func() bool { msgs, _ := e.streamMsgs(t, StreamName("marks")); return msgs == uint64(i+1) })
	}
	if n := e.count(t, "SELECT count(*) FROM rb_outbox WHERE published_at IS NULL"); n < events%batch {
		t.Errorf("%d rows unmarked before the stop, want at least %d (the last partial batch waits)", n, events%batch)
	}
	stop()
	if n := e.count(t, "SELECT count(*) FROM rb_outbox WHERE published_at IS NULL"); n != 0 {
		t.Errorf("%d rows unmarked after the stop, want 0", n)
	}
	txs, _ := e.db.Commits()
	if marks := int(txs-tx0) - events; marks > events/batch+1 {
		t.Errorf("%d mark transactions for %d events in %d passes, want at most %d (one per batch of %d, and the stop)",
			marks, events, events, events/batch+1, batch)
	}
	if s := r.Stats(); s.Published != events || s.Duplicates != 0 {
		t.Errorf("stats %+v, want %d published and no duplicate (no row published twice)", s, events)
	}
	if msgs, _ := e.streamMsgs(t, StreamName("marks")); msgs != events {
		t.Errorf("stream holds %d messages, want %d", msgs, events)
	}
}
