package workflow

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/retailbridge/retailbridge/pkg/governor"
)

// dispatcher keeps the runner's workers busy whenever work is due. A pass fires the due timers,
// then hands due instances to free workers; it runs again as soon as a worker frees, a commit
// makes work due (Wake), or the earliest known due time (a retry's backoff, a timer) arrives,
// and at the latest after Poll (work made due by another process). Nothing waits for a whole
// batch to finish: the vendor behind a governor sees a new call as soon as a slot can take it.
type dispatcher struct {
	e     *Engine
	freed chan struct{}

	mu       sync.Mutex
	inflight map[string]bool // instances a worker holds (claiming, running or recording)
	systems  map[string]int  // steps running per system (admission.go)
	wg       sync.WaitGroup
}

// Run executes due steps and fires due timers until ctx ends, then waits for the steps in
// flight (their transactions see ctx cancelled; an unrecorded step runs again after its lease).
func (e *Engine) Run(ctx context.Context) error {
	d := &dispatcher{e: e, freed: make(chan struct{}, 1), inflight: map[string]bool{}, systems: map[string]int{}}
	defer d.wg.Wait()
	for {
		wait := d.pass(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-e.wake:
		case <-d.freed:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass fires due timers, starts due steps on the free workers and returns how long to wait
// before looking again when nothing wakes the dispatcher earlier.
func (d *dispatcher) pass(ctx context.Context) time.Duration {
	e := d.e
	if err := e.fireTimers(ctx); err != nil && ctx.Err() == nil {
		e.opts.Logger.WarnContext(ctx, "workflow timers failed", "error", err.Error())
	}
	d.mu.Lock()
	busy := len(d.inflight)
	saturated := d.saturatedLocked()
	d.mu.Unlock()
	free := e.opts.Workers - busy
	if free > 0 && ctx.Err() == nil {
		// Ask for as many more as are in flight: those come back too until they commit. Steps
		// for a saturated system stay queued (admission.go).
		due, err := e.dueLimit(ctx, free+busy, saturated)
		if err != nil && ctx.Err() == nil {
			e.opts.Logger.WarnContext(ctx, "workflow pass failed", "error", err.Error())
		}
		for _, s := range due {
			if free == 0 {
				break
			}
			if d.start(ctx, s) {
				free--
			}
		}
	}
	if free == 0 {
		// Every worker is busy: the next to free one wakes the dispatcher.
		return e.opts.Poll
	}
	return d.untilNextDue(ctx)
}

// start hands a due instance to a worker unless one holds it already or its step's system can
// take no further step now. The steps' calls carry the instance's lane to the vendors' governors.
func (d *dispatcher) start(ctx context.Context, s dueStep) bool {
	id := s.id
	d.mu.Lock()
	if d.inflight[id] || !d.admitsLocked(s.system) {
		d.mu.Unlock()
		return false
	}
	d.inflight[id] = true
	d.acquireLocked(s.system)
	if d.e.dispatched != nil {
		d.e.dispatched(id)
	}
	d.mu.Unlock()
	t := &ticket{d: d, system: s.system}
	d.wg.Go(func() {
		defer d.done(id, t)
		if _, err := d.e.runSteps(governor.WithPriority(ctx, s.lane), id, t.admit); err != nil && ctx.Err() == nil {
			d.e.opts.Logger.WarnContext(ctx, "workflow step failed to record", "workflow", id, "error", err.Error())
		}
	})
	return true
}

func (d *dispatcher) done(id string, t *ticket) {
	d.mu.Lock()
	delete(d.inflight, id)
	d.releaseLocked(t.system)
	d.mu.Unlock()
	select {
	case d.freed <- struct{}{}:
	default:
	}
}

// untilNextDue is the time to the earliest step or timer not yet due, at most Poll and at
// least a millisecond.
func (d *dispatcher) untilNextDue(ctx context.Context) time.Duration {
	e := d.e
	wait := e.opts.Poll
	now := e.now()
	for _, q := range []string{
		// ORDER BY … LIMIT 1 rather than MIN(): the column keeps its declared type, which is how
		// the SQLite driver knows to return a time.
		`SELECT next_run_at FROM rb_workflows WHERE next_run_at IS NOT NULL AND next_run_at > $1 ORDER BY next_run_at LIMIT 1`,
		`SELECT due_at FROM rb_workflow_timers WHERE fired_at IS NULL AND due_at > $1 ORDER BY due_at LIMIT 1`,
	} {
		var next sql.NullTime
		if err := e.db.QueryRow(ctx, q, now).Scan(&next); err == nil && next.Valid {
			wait = min(wait, next.Time.Sub(now))
		}
	}
	return max(wait, time.Millisecond)
}
