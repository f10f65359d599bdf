package workflow

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// laneRig is a one-step workflow that records the order its instances' steps ran in and the
// lane each step's calls carried; a step of an instance in down fails as an outage does.
type laneRig struct {
	mu    sync.Mutex
	ran   []string
	lanes map[string]governor.Priority
	down  map[string]bool
}

func (r *laneRig) definition() *Definition {
	return &Definition{
		Kind: "lanes",
		Steps: map[string]Step{"booking": {Name: "book", Do: func(ctx context.Context, run Run) (Result, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.down[run.ID] {
				return Result{}, errs.E(errs.Unavailable, "circuit_open", "the ERP is in maintenance")
			}
			r.ran = append(r.ran, run.ID)
			r.lanes[run.ID] = governor.PriorityOf(ctx)
			return Result{Next: "booked"}, nil
		}}},
		Signals: map[string]map[string]SignalHandler{"*": {"nudge": func(context.Context, Instance, []byte) (Result, error) {
			return Result{Note: "nudged"}, nil
		}}},
		Terminal:      map[string]bool{"booked": true, "failed": true},
		FailState:     "failed",
		RedriveInBulk: true,
	}
}

func TestInteractiveWorkRunsAheadOfABulkBacklog(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		rig := &laneRig{lanes: map[string]governor.Priority{}, down: map[string]bool{}}
		// One step at a time, four per pass: the backlog needs many passes.
		e := New(h.db, events.NewOutbox(h.clock.now), Options{Now: h.clock.now, Batch: 4, Workers: 1}, rig.definition())
		ctx := context.Background()
		start := func(ctx context.Context, id string) {
			t.Helper()
			if err := h.db.InTx(ctx, func(tx *store.Tx) error { return e.Start(ctx, tx, "lanes", id, "booking", struct{}{}, "") }); err != nil {
				t.Fatal(err)
			}
		}
		// A backfill's work is bulk whether it asks for the lane or only runs as bulk work.
		for i := range 10 {
			start(WithLane(ctx, LaneBulk), fmt.Sprintf("bulk-%02d", i))
		}
		for i := range 10 {
			start(governor.WithPriority(ctx, governor.Bulk), fmt.Sprintf("repair-%02d", i))
		}
		h.clock.add(1) // the customer's order comes after the whole backlog
		start(ctx, "customer")
		if _, err := e.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rig.ran) == 0 || rig.ran[0] != "customer" {
			t.Fatalf("first pass ran %v; want the customer's order first", rig.ran)
		}
		for id, lane := range rig.lanes {
			if want := map[bool]governor.Priority{true: governor.Interactive, false: governor.Bulk}[id == "customer"]; lane != want {
				t.Errorf("step of %s carried lane %d to its vendors; want %d", id, lane, want)
			}
		}
	})
}

func TestOutagesRedriveInBulkAndCustomersLiftTheirWork(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		rig := &laneRig{lanes: map[string]governor.Priority{}, down: map[string]bool{"parked": true}}
		e := New(h.db, events.NewOutbox(h.clock.now), Options{Now: h.clock.now}, rig.definition())
		ctx := context.Background()
		if err := h.db.InTx(ctx, func(tx *store.Tx) error { return e.Start(ctx, tx, "lanes", "parked", "booking", struct{}{}, "") }); err != nil {
			t.Fatal(err)
		}
		if _, err := e.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if lane, err := e.Lane(ctx, "parked"); err != nil || lane != LaneBulk {
			t.Fatalf("lane after an outage refused the step: %d, %v; want bulk", lane, err)
		}
		// A signal without a lane leaves it; one sent for a customer lifts it.
		for _, c := range []struct {
			ctx  context.Context
			want Lane
		}{{ctx, LaneBulk}, {WithLane(ctx, LaneInteractive), LaneInteractive}} {
			if err := h.db.InTx(ctx, func(tx *store.Tx) error {
				_, err := e.Signal(c.ctx, tx, "parked", "nudge", nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if lane, err := e.Lane(ctx, "parked"); err != nil || lane != c.want {
				t.Errorf("lane after a signal: %d, %v; want %d", lane, err, c.want)
			}
		}
	})
}
