package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"
)

var errNoRows = sql.ErrNoRows

// RunOnce fires due timers and runs every due step once; it reports how many it ran.
func (e *Engine) RunOnce(ctx context.Context) (int, error) {
	timerErr := e.fireTimers(ctx)
	due, err := e.due(ctx)
	if err != nil {
		return 0, errors.Join(timerErr, err)
	}
	// Steps of different workflows run side by side (each is one vendor call, mostly waiting);
	// each instance is claimed before its step runs, so no step runs twice.
	var n atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.opts.Workers)
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		id := d.id
		wg.Go(func() {
			defer func() { <-sem }()
			// The step's calls carry its lane to the vendors' governors.
			ran, err := e.runStep(governor.WithPriority(ctx, d.lane), id)
			if err != nil {
				e.opts.Logger.WarnContext(ctx, "workflow step failed to record", "workflow", id, "error", err.Error())
			}
			if ran {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return int(n.Load()), timerErr
}

// dueStep is an instance with a step (or a compensation) due, its lane, and the system its
// step calls ("" for a compensation or a state without a step).
type dueStep struct {
	id     string
	lane   Lane
	system string
}

func (e *Engine) due(ctx context.Context) ([]dueStep, error) {
	return e.dueLimit(ctx, e.opts.Batch, nil)
}

// dueLimit lists up to limit due instances, interactive lane first, longest due first within a
// lane, leaving out those whose state's step calls a system in skip (admission.go).
func (e *Engine) dueLimit(ctx context.Context, limit int, skip map[string]bool) ([]dueStep, error) {
	q := `SELECT id, lane, kind, state FROM rb_workflows WHERE next_run_at IS NOT NULL AND next_run_at <= $1`
	args := []any{e.now(), limit}
	if len(skip) > 0 {
		// In SQL rather than after the query: a backlog for a saturated vendor at the head of
		// the queue must not hide the steps behind it that other vendors can take.
		var states []any
		for kind, def := range e.defs {
			for state, step := range def.Steps {
				if skip[step.System] {
					states = append(states, kind+"/"+state)
				}
			}
		}
		if len(states) > 0 {
			q += ` AND kind || '/' || state NOT IN (` + store.Placeholders(3, len(states)) + `)`
			args = append(args, states...)
		}
	}
	rows, err := e.db.Query(ctx, q+` ORDER BY lane, next_run_at LIMIT $2`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var due []dueStep
	bulk := 0
	for rows.Next() {
		var d dueStep
		var lane int
		var kind, state string
		if err := rows.Scan(&d.id, &lane, &kind, &state); err != nil {
			return nil, err
		}
		d.system = e.stepSystem(kind, state)
		d.lane = Lane(lane)
		if d.lane != LaneInteractive {
			// A pass ends when its last step does: with at most one round of bulk steps in
			// it, interactive work that arrives meanwhile waits for one bulk step, not a batch.
			if bulk++; bulk > e.opts.Workers {
				break
			}
		}
		due = append(due, d)
	}
	return due, rows.Err()
}

// fireTimers turns due timers into signals, each once.
func (e *Engine) fireTimers(ctx context.Context) error {
	type due struct{ id, name string }
	var timers []due
	rows, err := e.db.Query(ctx, `SELECT workflow_id, name FROM rb_workflow_timers WHERE fired_at IS NULL AND due_at <= $1
		ORDER BY due_at LIMIT $2`, e.now(), e.opts.Batch)
	if err != nil {
		return err
	}
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.name); err != nil {
			rows.Close()
			return err
		}
		timers = append(timers, d)
	}
	rows.Close()
	var failed error
	for _, d := range timers {
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			// The workflow's row first, as every writer of a workflow takes it: taking the
			// timer's row first would deadlock with a transition replacing that timer.
			if _, err := e.lock(ctx, tx, d.id); err != nil {
				return err
			}
			r, err := tx.Exec(ctx, `UPDATE rb_workflow_timers SET fired_at = $1 WHERE workflow_id = $2 AND name = $3 AND fired_at IS NULL`,
				e.now(), d.id, d.name)
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n != 1 {
				return nil // another runner fired it
			}
			_, err = e.signal(ctx, tx, d.id, d.name, nil, true)
			return err
		})
		if err != nil {
			// The timer stays due and fires on a later pass; the others and the due steps go on.
			failed = errors.Join(failed, fmt.Errorf("timer %s of %s: %w", d.name, d.id, err))
		}
	}
	return failed
}

// claimed is an instance taken for one step by claimIn.
type claimed struct {
	inst    Instance
	def     *Definition
	step    Step
	attempt int
	ok      bool // false: not due, terminal, or another runner holds it
}

// admitFunc says whether a step calling system may start now (admission.go); nil admits all.
type admitFunc func(system string) bool

// claim takes an instance for one step in a transaction of its own; see claimIn.
func (e *Engine) claim(ctx context.Context, id string, admit admitFunc) (claimed, error) {
	var c claimed
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		c, err = e.claimIn(ctx, tx, id, admit)
		return err
	})
	return c, err
}

// claimIn takes an instance for one step inside tx: bumps its version and pushes next_run_at
// out by the lease, so other runners skip it and a crashed runner's claim expires. It registers
// the step (and so its compensation) before any call is made. A step whose system admit refuses
// is left due, unclaimed, for the dispatcher to start once the system can take it.
func (e *Engine) claimIn(ctx context.Context, tx *store.Tx, id string, admit admitFunc) (claimed, error) {
	var c claimed
	inst, err := e.lock(ctx, tx, id)
	if err != nil {
		return c, err
	}
	def := e.defs[inst.Kind]
	if def == nil || inst.Terminal {
		return c, nil
	}
	if admit != nil && !admit(e.stepSystem(inst.Kind, inst.State)) {
		return c, nil
	}
	now := e.now()
	lease := now.Add(e.opts.Lease)
	r, err := tx.Exec(ctx, `UPDATE rb_workflows SET version = version + 1, next_run_at = $1, claimed_until = $1 WHERE id = $2
		AND version = $3 AND next_run_at IS NOT NULL AND next_run_at <= $4`, lease, id, inst.Version, now)
	if err != nil {
		return c, err
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return c, nil
	}
	inst.Version++
	inst.claimedUntil = lease
	c = claimed{inst: inst, def: def, ok: true}
	if inst.State == "compensating" {
		return c, nil
	}
	step, ok := def.Steps[inst.State]
	if !ok {
		return c, nil
	}
	if step.Name == "" {
		step.Name = inst.State
	}
	c.step = step
	key := Key(id, step.Name)
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM rb_workflow_steps WHERE workflow_id = $1`, id).Scan(&seq); err != nil {
		return c, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO rb_workflow_steps (workflow_id, step, status, idempotency_key, compensable, attempts, seq, started_at)
		VALUES ($1, $2, 'started', $3, $4, 1, $5, $6)
		ON CONFLICT (workflow_id, step) DO UPDATE SET attempts = rb_workflow_steps.attempts + 1, status = 'started'`,
		id, step.Name, key, step.Compensate != nil, seq, now)
	if err != nil {
		return c, err
	}
	err = tx.QueryRow(ctx, `SELECT attempts FROM rb_workflow_steps WHERE workflow_id = $1 AND step = $2`, id, step.Name).Scan(&c.attempt)
	return c, err
}

// runStep runs the step of a due instance (or its pending compensations).
func (e *Engine) runStep(ctx context.Context, id string) (bool, error) {
	c, err := e.claim(ctx, id, nil)
	if err != nil || !c.ok {
		return false, err
	}
	_, err = e.execute(ctx, c, nil)
	return c.step.Do != nil || c.inst.State == "compensating", err
}

// runSteps runs a due instance's steps one after another for as long as each leads straight to
// another active state whose system admit lets in: the transaction that records a step also
// claims the next one, so a workflow moving through active states costs one commit per step,
// not two.
func (e *Engine) runSteps(ctx context.Context, id string, admit admitFunc) (int, error) {
	c, err := e.claim(ctx, id, admit)
	ran := 0
	for err == nil && c.ok && ctx.Err() == nil {
		if c.step.Do == nil && c.inst.State != "compensating" {
			break
		}
		ran++
		c, err = e.execute(ctx, c, admit)
	}
	if err == nil && c.ok && ctx.Err() != nil {
		e.release(c)
	}
	return ran, err
}

// release gives back a step claimed but not run because the runner is stopping, so that the
// next runner takes it at once instead of after the lease. Failing that, the lease expires.
func (e *Engine) release(c claimed) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := e.lock(ctx, tx, c.inst.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE rb_workflows SET next_run_at = $1, claimed_until = NULL WHERE id = $2 AND version = $3`,
			e.now(), c.inst.ID, c.inst.Version)
		return err
	})
}

// execute runs a claimed step and records its outcome; with chain set, the recording
// transaction also claims the instance's next step when it is due at once and chain admits its
// system, and returns it.
func (e *Engine) execute(ctx context.Context, c claimed, chain admitFunc) (claimed, error) {
	if c.inst.State == "compensating" {
		return claimed{}, e.compensate(ctx, c.def, c.inst)
	}
	if c.step.Do == nil {
		return claimed{}, nil
	}
	step := c.step
	run := Run{Instance: c.inst, Key: Key(c.inst.ID, step.Name), Attempt: c.attempt}
	res, callErr := e.call(ctx, step, run)
	if err := ctx.Err(); err != nil {
		// The runner is stopping: what the call answered may be that, not the vendor's verdict.
		// The step runs again, with the same key, once its lease expires.
		return claimed{}, err
	}
	// The call happened: its result must be recorded, or the step runs again after the lease.
	// A conflict with a concurrent writer of this workflow is retried, not given up.
	var next claimed
	err := e.retryConflicts(ctx, func() error {
		return e.db.InTx(ctx, func(tx *store.Tx) error {
			next = claimed{}
			if err := e.record(ctx, tx, c.def, c.inst, step, run, res, callErr); err != nil || chain == nil {
				return err
			}
			var err error
			next, err = e.claimIn(ctx, tx, c.inst.ID, chain)
			return err
		})
	})
	return next, err
}

// retryConflicts runs f again while it fails with a retryable conflict (store.IsRetryable, which
// InTx does not retry by itself: a unique violation, a lost version check), with backoff.
func (e *Engine) retryConflicts(ctx context.Context, f func() error) error {
	delay := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !store.IsRetryable(err) || attempt >= 20 || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// record commits a step's outcome: its result, a retry or a permanent failure.
func (e *Engine) record(ctx context.Context, tx *store.Tx, def *Definition, inst Instance, step Step, run Run, res Result, callErr error) error {
	id, attempt := inst.ID, run.Attempt
	cur, err := e.lock(ctx, tx, id)
	if err != nil {
		return err
	}
	if cur.Version != inst.Version {
		return nil // a signal (a cancellation, say) changed the instance meanwhile; it decides
	}
	outcome := "ok"
	if callErr != nil {
		outcome = errs.FromError(callErr).Reason
	}
	e.observeStep(tx, inst, step, callErr, attempt < def.MaxAttempts)
	if err := e.history(ctx, tx, id, Entry{State: inst.State, Kind: "call", System: step.System,
		Description: fmt.Sprintf("%s (attempt %d, key %s)", step.Name, attempt, run.Key), Outcome: outcome}); err != nil {
		return err
	}
	if callErr == nil {
		if _, err := tx.Exec(ctx, `UPDATE rb_workflow_steps SET status = 'done', finished_at = $1, last_error = ''
			WHERE workflow_id = $2 AND step = $3`, e.now(), id, step.Name); err != nil {
			return err
		}
		return e.apply(ctx, tx, def, cur, res, step.System)
	}
	msg := errs.FromError(callErr).Error()
	if _, err := tx.Exec(ctx, `UPDATE rb_workflow_steps SET last_error = $1 WHERE workflow_id = $2 AND step = $3`, msg, id, step.Name); err != nil {
		return err
	}
	if store.IsRetryable(callErr) && attempt < def.MaxAttempts {
		delay := def.backoff(attempt, callErr)
		_, err := tx.Exec(ctx, `UPDATE rb_workflows SET next_run_at = $1, attempts = $2, last_error = $3, version = version + 1,
			updated_at = $4, claimed_until = NULL WHERE id = $5`, e.now().Add(delay), attempt, msg, e.now(), id)
		if err != nil {
			return err
		}
		if err := e.history(ctx, tx, id, Entry{State: inst.State, Kind: "retry", System: step.System,
			Description: fmt.Sprintf("%s retries in %s", step.Name, delay.Round(time.Millisecond)), Outcome: outcome}); err != nil {
			return err
		}
		if err := e.redriveLane(ctx, tx, def, id, callErr); err != nil {
			return err
		}
		// Signals kept while the step ran apply now that it waits.
		return e.applyPending(ctx, tx, def, id)
	}
	if err := e.history(ctx, tx, id, Entry{State: inst.State, Kind: "failed", System: step.System,
		Description: fmt.Sprintf("%s failed permanently: %s", step.Name, msg), Outcome: outcome}); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE rb_workflows SET last_error = $1 WHERE id = $2`, msg, id); err != nil {
		return err
	}
	cur.LastError = msg
	if pivot, err := e.pivotDone(ctx, tx, def, id); err != nil {
		return err
	} else if pivot != "" {
		return e.apply(ctx, tx, def, cur, Result{Next: def.FailState,
			Note: step.Name + " failed after " + pivot + ", which cannot be undone: nothing compensated; " + msg}, step.System)
	}
	return e.apply(ctx, tx, def, cur, Result{Next: def.FailState, Compensate: true, Note: step.Name + " failed: " + msg}, step.System)
}

// observeStep tells the observer, once tx commits, how a step attempt ended.
func (e *Engine) observeStep(tx *store.Tx, inst Instance, step Step, callErr error, budgetLeft bool) {
	if e.opts.Observer == nil {
		return
	}
	o := StepOutcome{Instance: inst, Step: step.Name, System: step.System, Outcome: "ok"}
	switch {
	case callErr == nil:
	case store.IsRetryable(callErr) && budgetLeft:
		o.Outcome = "retry"
	default:
		o.Outcome = "failed"
	}
	tx.AfterCommit(func() { e.opts.Observer.StepOutcome(o) })
}

// pivotDone names a pivot step the instance has completed, or "".
func (e *Engine) pivotDone(ctx context.Context, tx *store.Tx, def *Definition, id string) (string, error) {
	if len(def.Pivots) == 0 {
		return "", nil
	}
	rows, err := tx.Query(ctx, `SELECT step FROM rb_workflow_steps WHERE workflow_id = $1 AND status = 'done' ORDER BY seq`, id)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", err
		}
		if def.Pivots[name] {
			return name, nil
		}
	}
	return "", rows.Err()
}

// call runs a step's Do, turning a panic into a permanent failure.
func (e *Engine) call(ctx context.Context, step Step, run Run) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.E(errs.Internal, "step_panicked", fmt.Sprint(p))
		}
	}()
	return step.Do(ctx, run)
}

// compensate undoes completed compensable steps, newest first, each once; then enters the
// target terminal state. A compensation that fails retryably is retried later; one that fails
// permanently is recorded and skipped, and the workflow still ends (in the failure state) so
// an operator sees it.
func (e *Engine) compensate(ctx context.Context, def *Definition, inst Instance) error {
	type pending struct {
		name string
		key  string
	}
	var steps []pending
	rows, err := e.db.Query(ctx, `SELECT step, idempotency_key FROM rb_workflow_steps WHERE workflow_id = $1
		AND compensable AND status IN ('done', 'started') ORDER BY seq DESC`, inst.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.name, &p.key); err != nil {
			rows.Close()
			return err
		}
		steps = append(steps, p)
	}
	rows.Close()
	var target string
	if err := e.db.QueryRow(ctx, `SELECT compensating FROM rb_workflows WHERE id = $1`, inst.ID).Scan(&target); err != nil {
		return err
	}
	for _, p := range steps {
		step := stepNamed(def, p.name)
		if step.Compensate == nil {
			continue
		}
		cerr := e.callCompensation(ctx, step, Run{Instance: inst, Key: p.key})
		if cerr != nil && store.IsRetryable(cerr) {
			return e.db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := e.lock(ctx, tx, inst.ID); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `UPDATE rb_workflows SET next_run_at = $1, last_error = $2, claimed_until = NULL WHERE id = $3`,
					e.now().Add(def.backoff(2, cerr)), cerr.Error(), inst.ID)
				if err != nil {
					return err
				}
				return e.history(ctx, tx, inst.ID, Entry{State: "compensating", Kind: "retry", System: step.System,
					Description: "compensation of " + p.name + " retries", Outcome: errs.FromError(cerr).Reason})
			})
		}
		status, outcome := "compensated", "ok"
		if cerr != nil {
			status, outcome = "compensation_failed", errs.FromError(cerr).Reason
			target = def.FailState
		}
		err := e.retryConflicts(ctx, func() error {
			return e.db.InTx(ctx, func(tx *store.Tx) error {
				if _, err := e.lock(ctx, tx, inst.ID); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE rb_workflow_steps SET status = $1 WHERE workflow_id = $2 AND step = $3`, status, inst.ID, p.name); err != nil {
					return err
				}
				return e.history(ctx, tx, inst.ID, Entry{State: "compensating", Kind: "compensation", System: step.System,
					Description: "compensated " + p.name, Outcome: outcome})
			})
		})
		if err != nil {
			return err
		}
	}
	return e.retryConflicts(ctx, func() error {
		return e.db.InTx(ctx, func(tx *store.Tx) error {
			cur, err := e.lock(ctx, tx, inst.ID)
			if err != nil {
				return err
			}
			return e.apply(ctx, tx, def, cur, Result{Next: target, Note: "compensations done"}, "")
		})
	})
}

func (e *Engine) callCompensation(ctx context.Context, step Step, run Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.E(errs.Internal, "compensation_panicked", fmt.Sprint(p))
		}
	}()
	return step.Compensate(ctx, run)
}

func stepNamed(def *Definition, name string) Step {
	for state, s := range def.Steps {
		if s.Name == name || (s.Name == "" && state == name) {
			if s.Name == "" {
				s.Name = state
			}
			return s
		}
	}
	return Step{}
}

// ErrNotFound reports whether err means the workflow does not exist.
func ErrNotFound(err error) bool {
	return errs.KindOf(err) == errs.NotFound || errors.Is(err, errNoRows)
}
