package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// A settlement run is a background job: reading a platform's payouts and an ERP's payments can
// take longer than any request may wait (under load it hit the gateway's deadline and answered
// 503), so a trigger records the run and answers at once, and the run works on the service's
// own context, recording how it ended (settlement_runs, migration 0017). One run per period
// (the UTC day) is running at a time: the row of the running run is the lease replicas contend
// for (a partial unique index), renewed while the run works; a run whose replica stopped is
// failed once its lease lapses, and the next trigger starts afresh. The scheduled runs take the
// same path as support's.

// Run states and origins.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"

	OriginOnDemand = "on_demand"
	OriginSchedule = "schedule"

	// DefaultRunLease is how long a run's lease lasts unrenewed; it is renewed every third of it.
	DefaultRunLease  = 2 * time.Minute
	maxRunMismatches = 500 // mismatches a run's resource lists
	maxRunReason     = 1000
	reasonLapsed     = "lease_lapsed: the replica running it stopped before it finished"
	reasonStopped    = "interrupted: the service stopped before the run finished"
)

// RunStatus is a recorded settlement run.
type RunStatus struct {
	ID, Period, Origin, State string
	Reason                    string // why a failed run failed
	Started, Finished         time.Time
	SettlementRun             // what it read and found (once finished)
}

// runJobs tracks the runs this replica works on.
type runJobs struct {
	mu   sync.Mutex
	base context.Context // the service's context: runs outlive the request that triggered them
	done map[string]chan struct{}
	wg   sync.WaitGroup
}

// Serve makes ctx the context runs work on (the service's, ended at shutdown) instead of
// context.Background.
func (s *Settler) Serve(ctx context.Context) {
	s.jobs.mu.Lock()
	s.jobs.base = ctx
	s.jobs.mu.Unlock()
}

// Trigger starts a run for the current period, unless one is running there (on any replica):
// then it returns that one, and started is false. It returns as soon as the run is recorded.
func (s *Settler) Trigger(ctx context.Context, origin string) (run RunStatus, started bool, err error) {
	now := s.now()
	run = RunStatus{ID: uuid.NewString(), Period: now.UTC().Format(time.DateOnly), Origin: origin, State: RunRunning, Started: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		started = false
		if _, err := tx.Exec(ctx, `UPDATE settlement_runs SET state = $1, reason = $2, finished_us = $3
			WHERE state = $4 AND lease_until_us < $3`, RunFailed, reasonLapsed, now.UnixMicro(), RunRunning); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO settlement_runs (run_id, period, origin, state, reason, owner, lease_until_us,
			started_us, finished_us, payouts, lines, new_mismatches) VALUES ($1, $2, $3, $4, '', $5, $6, $7, 0, 0, 0, 0)
			ON CONFLICT DO NOTHING`, run.ID, run.Period, origin, RunRunning, s.replica, now.Add(s.lease).UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			started = true
			return nil
		}
		run, err = scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM settlement_runs WHERE period = $1 AND state = $2`,
			run.Period, RunRunning))
		return err
	})
	if err != nil {
		return RunStatus{}, false, fmt.Errorf("settlement: recording the run: %w", err)
	}
	if started {
		s.start(run.ID)
	}
	return run, started, nil
}

// start works on the run in the background.
func (s *Settler) start(id string) {
	s.jobs.mu.Lock()
	base := s.jobs.base
	if base == nil {
		base = context.Background()
	}
	done := make(chan struct{})
	if s.jobs.done == nil {
		s.jobs.done = map[string]chan struct{}{}
	}
	s.jobs.done[id] = done
	s.jobs.wg.Add(1)
	s.jobs.mu.Unlock()
	go func() {
		defer s.jobs.wg.Done()
		defer func() {
			s.jobs.mu.Lock()
			delete(s.jobs.done, id)
			s.jobs.mu.Unlock()
			close(done)
		}()
		ctx, cancel := context.WithCancel(base)
		defer cancel()
		renewed := s.keepLease(ctx, id, cancel)
		res, err := s.settle(ctx, id)
		cancel()
		<-renewed
		if err != nil && base.Err() != nil {
			err = errors.New(reasonStopped)
		}
		s.finish(id, res, err)
	}()
}

// keepLease renews the run's lease every third of it until ctx ends; a lease another replica
// took over (it lapsed, say through a long pause) cancels the run. The channel closes when it
// stops.
func (s *Settler) keepLease(ctx context.Context, id string, lost context.CancelFunc) <-chan struct{} {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(s.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			res, err := s.db.Exec(ctx, `UPDATE settlement_runs SET lease_until_us = $1 WHERE run_id = $2 AND owner = $3 AND state = $4`,
				s.now().Add(s.lease).UnixMicro(), id, s.replica, RunRunning)
			if err == nil {
				if n, _ := res.RowsAffected(); n == 0 {
					lost()
					return
				}
			}
		}
	}()
	return stopped
}

// finish records how the run ended, with its cause when it failed. It writes on a context of
// its own: the run's may have ended, and the outcome must still be kept.
func (s *Settler) finish(id string, res SettlementRun, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state, reason := RunSucceeded, ""
	if cause != nil {
		state, reason = RunFailed, cause.Error()
		if len(reason) > maxRunReason {
			reason = reason[:maxRunReason]
		}
	}
	_, err := s.db.Exec(ctx, `UPDATE settlement_runs SET state = $1, reason = $2, finished_us = $3, payouts = $4, lines = $5,
		new_mismatches = $6 WHERE run_id = $7 AND owner = $8 AND state = $9`,
		state, reason, s.now().UnixMicro(), res.Payouts, res.Lines, res.NewMismatches, id, s.replica, RunRunning)
	if err != nil {
		// The lease lapses and the next trigger fails the run as lease_lapsed.
		s.log.Warn("settlement: recording how a run ended", "run", id, "state", state, "err", err)
	}
}

// wait blocks until the run this replica works on has finished, or ctx ends.
func (s *Settler) wait(ctx context.Context, id string) {
	s.jobs.mu.Lock()
	done := s.jobs.done[id]
	s.jobs.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

const runColumns = `run_id, period, origin, state, reason, started_us, finished_us, payouts, lines, new_mismatches`

func scanRun(row interface{ Scan(...any) error }) (RunStatus, error) {
	var r RunStatus
	var started, finished int64
	err := row.Scan(&r.ID, &r.Period, &r.Origin, &r.State, &r.Reason, &started, &finished, &r.Payouts, &r.Lines, &r.NewMismatches)
	r.Started = time.UnixMicro(started).UTC()
	if finished != 0 {
		r.Finished = time.UnixMicro(finished).UTC()
	}
	return r, err
}

// GetRun reads a run and the mismatches it found (at most maxRunMismatches, oldest first).
func (s *Settler) GetRun(ctx context.Context, id string) (RunStatus, []Mismatch, error) {
	run, err := scanRun(s.db.QueryRow(ctx, `SELECT `+runColumns+` FROM settlement_runs WHERE run_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return run, nil, errs.E(errs.NotFound, "settlement_run_not_found", "no settlement run has this id")
	}
	if err != nil {
		return run, nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT kind, subject, payout_id, detail, found_us FROM settlement_mismatches
		WHERE run_id = $1 ORDER BY found_us, kind, subject LIMIT $2`, id, maxRunMismatches)
	if err != nil {
		return run, nil, err
	}
	defer rows.Close()
	var ms []Mismatch
	for rows.Next() {
		var m Mismatch
		var us int64
		if err := rows.Scan(&m.Kind, &m.Subject, &m.PayoutID, &m.Detail, &us); err != nil {
			return run, nil, err
		}
		m.Found = time.UnixMicro(us).UTC()
		ms = append(ms, m)
	}
	return run, ms, rows.Err()
}
