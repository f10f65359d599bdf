package workflow

import (
	"context"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// Run chains a workflow's active states: recording a step claims the next in the same
// transaction, so three steps in a row cost one claim and three records. A runner that dies
// after a chained step's call leaves the claim to expire, and the step runs again with the same
// key: the vendor makes each effect once (EV-5 on the chained path).
func TestRunChainsStepsAndResumesAfterACrash(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		h.crash.step = "label" // dies after labelling's call, which the authorize record claimed
		def := definition(h.vendor, &h.crash, "")
		e := New(h.db, events.NewOutbox(h.clock.now), Options{Now: h.clock.now, Lease: time.Minute, Poll: 5 * time.Millisecond}, def)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = e.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		tx0, _ := h.db.Commits()
		h.start(t, "wf-chain")
		testkit.Eventually(t, time.Minute, "the runner died after labelling's call", h.crash.crashed)
		// The claim the dead worker held expires with the lease; the dispatcher takes it again.
		h.clock.add(2 * time.Minute)
		stateIs := func(want string) func() bool {
			return func() bool { inst, _ := h.state(t, "wf-chain"); return inst.State == want }
		}
		testkit.Eventually(t, time.Minute, "awaiting_parcel", stateIs("awaiting_parcel"))
		// start, claim authorize, record authorize + claim label, (crash), claim label again,
		// record label + claim notify, record notify: 6 write transactions.
		if txs, _ := h.db.Commits(); txs-tx0 != 6 {
			t.Errorf("%d write transactions from start to awaiting_parcel, want 6 (one per step, plus the start and two claims)", txs-tx0)
		}
		h.signal(t, "wf-chain", "parcel_received")
		e.Wake()
		testkit.Eventually(t, time.Minute, "done", stateIs("done"))
		for _, step := range []string{"authorize", "label", "notify", "refund"} {
			if n := h.vendor.count(h.vendor.effects, step); n != 1 {
				t.Errorf("%s: %d effects at the vendor, want 1", step, n)
			}
		}
		if n := h.vendor.count(h.vendor.calls, Key("wf-chain", "label")); n != 2 {
			t.Errorf("label called %d times with its key, want 2 (the call before the crash and the rerun)", n)
		}
	})
}
