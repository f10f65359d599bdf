package events

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// TestReplay is EV-4: an event dead-lettered by one of two consumers is dry-run replayed (nothing
// changes), replayed (the failing consumer handles it once; the other consumer is not touched),
// and replayed again (the inbox absorbs it). Each replay leaves one audit record with the
// operator, and the audit cannot be edited.
func TestReplay(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			testReplay(t, d)
		})
	}
}

func testReplay(t *testing.T, d store.Dialect) {
	ctx := testCtx(t)
	e := newEnv(t, d, "ev4")
	e.exec(t, "CREATE TABLE ev4_postings (event_id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
	e.exec(t, "CREATE TABLE ev4_notices (event_id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
	upsert := func(table string) HandlerFunc {
		return func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
			_, err := tx.Exec(ctx, `INSERT INTO `+table+` (event_id, n) VALUES ($1, 1)
				ON CONFLICT (event_id) DO UPDATE SET n = `+table+`.n + 1`, ev.GetId())
			return err
		}
	}

	var fixed atomic.Bool
	posting, err := NewConsumer(e.db, e.js, ConsumerConfig{Name: "ev4-erp-posting", Stream: StreamName("ev4"),
		Logger: quiet, MaxDeliver: 2, Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}},
		HandlerFunc(func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
			if !fixed.Load() {
				return errs.E(errs.FailedPrecondition, "gl_account_unmapped", "no GL account mapped for store 12")
			}
			return upsert("ev4_postings")(ctx, tx, ev)
		}))
	if err != nil {
		t.Fatal(err)
	}
	notifier, err := NewConsumer(e.db, e.js, ConsumerConfig{Name: "ev4-notifier", Stream: StreamName("ev4"), Logger: quiet},
		upsert("ev4_notices"))
	if err != nil {
		t.Fatal(err)
	}
	stopPosting, stopNotifier := run(t, posting.Run), run(t, notifier.Run)
	defer stopPosting()
	defer stopNotifier()

	e.publish(t, telemetry.WithCorrelationID(ctx, "corr-refund-77"),
		event("refund-77", "retailbridge.ev4.refund.settled.v1", "refund/77"))
	dls := NewDeadLetters(e.db, e.js, nil)
	var list []DeadLetter
	waitFor(t, 10*time.Second, "the dead letter and the notice", func() bool {
		list, err = dls.List(ctx, ListOptions{})
		return err == nil && len(list) == 1 && e.count(t, "SELECT count(*) FROM ev4_notices") == 1 &&
			e.consumerIdle(t, "ev4-erp-posting") && e.consumerIdle(t, "ev4-notifier")
	})
	id := list[0].ID
	fixed.Store(true) // the operator fixed the GL mapping

	type state struct {
		streamMsgs, streamLast, dlqMsgs uint64
		postings, notices               int
		posting, notifier               ConsumerStats
	}
	snapshot := func() state {
		var s state
		s.streamMsgs, s.streamLast = e.streamMsgs(t, StreamName("ev4"))
		s.dlqMsgs, _ = e.streamMsgs(t, DeadLetterStream)
		s.postings = e.count(t, "SELECT COALESCE(SUM(n), 0) FROM ev4_postings")
		s.notices = e.count(t, "SELECT COALESCE(SUM(n), 0) FROM ev4_notices")
		s.posting, s.notifier = posting.Stats(), notifier.Stats()
		return s
	}

	// Dry run: reports what would happen, changes nothing.
	before := snapshot()
	res, err := dls.Replay(ctx, id, true, "alice@retailer.example")
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if res.Outcome != OutcomeDryRun || res.Attempt != 1 || res.Subject != "retailbridge.ev4.refund.settled.v1" ||
		res.Stream != StreamName("ev4") || res.MsgID == "" {
		t.Errorf("dry run result %+v", res)
	}
	time.Sleep(300 * time.Millisecond) // time for anything published to be consumed
	if after := snapshot(); after != before {
		t.Errorf("dry run changed state:\nbefore %+v\nafter  %+v", before, after)
	}

	// Replay: the failing consumer handles the event once; the other consumer skips it.
	res, err = dls.Replay(ctx, id, false, "alice@retailer.example")
	if err != nil || res.Outcome != OutcomePublished || res.Attempt != 1 {
		t.Fatalf("replay = %+v, %v; want published attempt 1", res, err)
	}
	waitFor(t, 10*time.Second, "the replay to be handled", func() bool {
		return e.count(t, "SELECT count(*) FROM ev4_postings") == 1 && e.consumerIdle(t, "ev4-erp-posting") && e.consumerIdle(t, "ev4-notifier")
	})
	audit := func() (dry, real int) {
		return e.count(t, "SELECT count(*) FROM rb_dlq_replays WHERE dead_letter_id = $1 AND dry_run = $2", int64(id), true),
			e.count(t, "SELECT count(*) FROM rb_dlq_replays WHERE dead_letter_id = $1 AND dry_run = $2 AND operator = $3 AND outcome = $4",
				int64(id), false, "alice@retailer.example", OutcomePublished)
	}
	if dry, real := audit(); dry != 1 || real != 1 {
		t.Errorf("audit after a dry run and a replay: %d dry-run and %d replay records by alice, want 1 and 1", dry, real)
	}

	// Replaying again is absorbed by the inbox.
	res2, err := dls.Replay(ctx, id, false, "bob@retailer.example")
	if err != nil || res2.Outcome != OutcomePublished || res2.Attempt != 2 || res2.MsgID == res.MsgID {
		t.Fatalf("second replay = %+v, %v; want published attempt 2 with a fresh message id", res2, err)
	}
	waitFor(t, 10*time.Second, "the second replay to be absorbed", func() bool {
		return posting.Stats().Duplicates == 1 && e.consumerIdle(t, "ev4-erp-posting")
	})
	postings := e.count(t, "SELECT COALESCE(SUM(n), 0) FROM ev4_postings")
	notices := e.count(t, "SELECT COALESCE(SUM(n), 0) FROM ev4_notices")
	if postings != 1 || notices != 1 {
		t.Errorf("postings = %d, notices = %d after two replays; want 1 and 1", postings, notices)
	}

	shown, err := dls.Show(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown.Replays) != 3 || shown.Replays[0].Operator != "alice@retailer.example" || !shown.Replays[0].DryRun ||
		shown.Replays[2].Operator != "bob@retailer.example" || shown.Replays[2].Attempt != 2 || shown.Replays[2].MsgID != res2.MsgID ||
		shown.Replays[1].CorrelationID != "corr-refund-77" || shown.Replays[1].EventID != "refund-77" ||
		shown.Replays[1].Consumer != "ev4-erp-posting" || shown.Replays[1].At.IsZero() {
		t.Errorf("replay trail %+v", shown.Replays)
	}
	if shown.EventJSON() == "" {
		t.Error("EventJSON() is empty")
	}

	// The audit is append-only.
	for _, stmt := range []string{"UPDATE rb_dlq_replays SET operator = 'mallory'", "DELETE FROM rb_dlq_replays"} {
		if _, err := e.db.Exec(ctx, stmt); err == nil {
			t.Errorf("%s succeeded on the append-only audit", stmt)
		}
	}
	if _, err := dls.Replay(ctx, id, false, " "); errs.KindOf(err) != errs.Invalid {
		t.Errorf("replay without an operator: %v, want invalid", err)
	}
	if _, err := dls.Replay(ctx, id+1000, true, "alice@retailer.example"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("replay of a missing dead letter: %v, want not found", err)
	}
	t.Logf("EV-4 %s: dry run changed nothing; replay #1 handled once (postings = %d), replay #2 absorbed by the inbox "+
		"(duplicates = %d), notifier skipped %d replays; audit: %d records, operator on each",
		d, postings, posting.Stats().Duplicates, notifier.Stats().Skipped, len(shown.Replays))
}

// A listing since a time starts at the first dead letter stored at or after it, however many
// older ones the stream holds: a KPI window counts its own letters, not the stream's oldest.
func TestListSince(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := eventstest.Start(t)
	_, js := srv.Connect(t)
	if _, err := EnsureDeadLetterStream(ctx, js, StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(consumer string, n int) {
		for range n {
			if _, err := js.Publish(ctx, DeadLetterSubject(consumer), []byte("{}")); err != nil {
				t.Fatal(err)
			}
		}
	}
	dls := NewDeadLetters(nil, js, nil)
	before := time.Now()
	put("old", 37)
	mark := time.Now()
	put("new", 5)
	put("other", 2)
	after := time.Now().Add(time.Second)
	for _, tc := range []struct {
		name  string
		opts  ListOptions
		want  int
		first uint64 // the first letter's id (its stream sequence)
	}{
		{"since before everything", ListOptions{Since: before, Limit: 1000}, 44, 1},
		{"since the mark", ListOptions{Since: mark, Limit: 1000}, 7, 38},
		{"one consumer since the mark", ListOptions{Since: mark, Consumer: "other", Limit: 1000}, 2, 43},
		{"since after everything", ListOptions{Since: after, Limit: 1000}, 0, 0},
	} {
		got, err := dls.List(ctx, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.want || (tc.want > 0 && got[0].ID != tc.first) {
			first := uint64(0)
			if len(got) > 0 {
				first = got[0].ID
			}
			t.Errorf("%s: %d letters from id %d, want %d from id %d", tc.name, len(got), first, tc.want, tc.first)
		}
	}
}
