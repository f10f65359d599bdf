package events

import (
	"context"
	"fmt"
	"testing"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
)

// Events a consumer's handler ignores (it returns Ignore) cost no write: their
// transactions roll back, inbox row included. Events it handles commit with their inbox row as
// before, and a redelivery of one (the same event id published again) is still absorbed by the
// inbox, without a commit.
func TestIgnoredEventsCostNoWrite(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			e := newEnv(t, d, "ign")
			e.exec(t, "CREATE TABLE ign_handled (event_id TEXT PRIMARY KEY)")
			const kept, ignored = 4, 6
			var evs []*canonicalv1.Event
			for i := range kept + ignored {
				typ := "retailbridge.ign.kept.v1"
				if i >= kept {
					typ = "retailbridge.ign.other.v1"
				}
				evs = append(evs, event(fmt.Sprintf("ign-%02d", i), typ, fmt.Sprintf("thing/%d", i)))
			}
			e.publish(t, ctx, evs...)
			handler := HandlerFunc(func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
				if ev.GetType() != "retailbridge.ign.kept.v1" {
					return Ignore
				}
				_, err := tx.Exec(ctx, `INSERT INTO ign_handled (event_id) VALUES ($1)`, ev.GetId())
				return err
			})
			c, err := NewConsumer(e.db, e.js, ConsumerConfig{Name: "ign", Stream: StreamName("ign"), Logger: quiet}, handler)
			if err != nil {
				t.Fatal(err)
			}
			tx0, _ := e.db.Commits()
			run(t, c.Run)
			waitFor(t, 20*time.Second, "every event acknowledged", func() bool { return c.Stats().Handled == kept+ignored })
			if txs, _ := e.db.Commits(); txs-tx0 != kept {
				t.Errorf("%d write transactions for %d handled and %d ignored events, want %d", txs-tx0, kept, ignored, kept)
			}
			if n := e.count(t, "SELECT count(*) FROM rb_inbox WHERE consumer = 'ign'"); n != kept {
				t.Errorf("%d inbox rows, want %d (the handled events only)", n, kept)
			}
			// The same handled events published again (a republish after a lost mark): the inbox
			// absorbs them without a commit.
			tx1, _ := e.db.Commits()
			again := make([]*canonicalv1.Event, kept)
			for i := range again {
				again[i] = event(fmt.Sprintf("ign-%02d", i), "retailbridge.ign.kept.v1", fmt.Sprintf("thing/%d", i))
			}
			e.publishCopies(t, ctx, again...)
			waitFor(t, 20*time.Second, "the copies absorbed", func() bool { return c.Stats().Duplicates == kept })
			if txs, _ := e.db.Commits(); txs != tx1 {
				t.Errorf("%d write transactions for %d duplicates, want none", txs-tx1, kept)
			}
			if n := e.count(t, "SELECT count(*) FROM ign_handled"); n != kept {
				t.Errorf("%d handled rows, want %d", n, kept)
			}
		})
	}
}

// publishCopies publishes evs straight to the stream under fresh message ids, as a relay that
// lost its marks would republish them after the broker's duplicate window.
func (e *env) publishCopies(t testing.TB, ctx context.Context, evs ...*canonicalv1.Event) {
	t.Helper()
	for _, ev := range evs {
		payload, err := Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.js.PublishMsg(ctx, newMsg(ev.GetType(), payload, "copy-"+ev.GetId(), ev.GetType(), "", "")); err != nil {
			t.Fatal(err)
		}
	}
}
