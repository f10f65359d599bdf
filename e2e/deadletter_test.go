package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// EV-3 and EV-4 on the return workflow: a poison warehouse event (a payload nobody can read)
// reaches the returns consumer, lands in the dead-letter stream with its error, attempts and
// correlation id while a healthy return keeps flowing to its refund; a dry-run replay changes
// nothing, a replay hands it to the consumer once more (and, still poison, it dead-letters
// again), and each replay leaves an audit record with the operator.
func TestPoisonEventGoesToTheDeadLetterStreamAndBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := newStackWith(t, func(o *stack.Options) {
		o.FastVendors, o.SandboxSettings = true, map[string]any{"warehouse": warehousesb.Outcomes{Resellable: 1}}
		o.Config.DataDir = dir
	})
	ctx := context.Background()
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	poison := &canonicalv1.Event{Id: "poison-1", Source: "test", Type: "retailbridge.wms.return.inspected.v1",
		Subject: "return/ret_doesnotmatter", CorrelationId: "corr-poison-1", Time: timestamppb.Now(),
		Data: &anypb.Any{TypeUrl: "type.googleapis.com/nobody.Knows", Value: []byte{1, 2, 3}}}
	if _, err := events.Publish(ctx, js, poison); err != nil {
		t.Fatal(err)
	}
	// A healthy return flows meanwhile.
	l := h.eligibleLines(t, 1)[0]
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, l.customer), createReturn(l.order, l.line, 1), "Idempotency-Key", "healthy-1")
	var r returnJSON
	resp.JSON(t, &r)

	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "returns.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dl := events.NewDeadLetters(db, js, nil)
	// Every consumer of the warehouse's events dead-letters the poison (the inventory ledger's
	// too); this test follows the returns workflow's.
	mine := events.ListOptions{Consumer: "returns-from-wms"}
	var letters []events.DeadLetter
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(letters) == 0; time.Sleep(100 * time.Millisecond) {
		if letters, err = dl.List(ctx, mine); err != nil {
			t.Fatal(err)
		}
	}
	if len(letters) != 1 || letters[0].EventID != "poison-1" || letters[0].CorrelationID != "corr-poison-1" || letters[0].Attempts < 1 || letters[0].Error == "" {
		t.Fatalf("dead letters %+v, want the poison with its error, attempts and correlation id", letters)
	}
	t.Logf("EV-3: dead letter %d: consumer %s, %d attempt(s), %s (%s)", letters[0].ID, letters[0].Consumer, letters[0].Attempts, letters[0].Reason, letters[0].Error)
	h.waitAny(t, h.supportToken(t, "ops", "support:read"), "/v1/support/returns/"+r.Return.ID, "refunded")

	if res, err := dl.Replay(ctx, letters[0].ID, true, "operator-ann"); err != nil || res.Outcome != events.OutcomeDryRun {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	time.Sleep(500 * time.Millisecond)
	if after, _ := dl.List(ctx, mine); len(after) != 1 {
		t.Errorf("a dry run changed the dead letters: %d", len(after))
	}
	if res, err := dl.Replay(ctx, letters[0].ID, false, "operator-ann"); err != nil || res.Outcome != events.OutcomePublished {
		t.Fatalf("replay: %+v %v", res, err)
	}
	var after []events.DeadLetter
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(after) < 2; time.Sleep(100 * time.Millisecond) {
		after, _ = dl.List(ctx, mine)
	}
	if len(after) != 2 {
		t.Errorf("after the replay: %d dead letters, want the poison handled once more and dead-lettered again", len(after))
	}
	shown, err := dl.Show(ctx, letters[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown.Replays) != 2 || shown.Replays[0].Operator != "operator-ann" || !shown.Replays[0].DryRun || shown.Replays[1].DryRun {
		t.Errorf("replay audit %+v, want a dry run and a replay by operator-ann", shown.Replays)
	}
}
