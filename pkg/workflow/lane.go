package workflow

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// Lane is the priority an instance's steps run in. It is the governor's notion of a lane: a step
// runs with its instance's lane on its context, so the lane reaches the vendor's governor across
// gRPC, and the runner takes due interactive work before due bulk work. Two places order work,
// and both honour the lane: the runner's queue of due steps, and each vendor's concurrency and
// rate budget.
type Lane = governor.Priority

// The lanes.
const (
	// LaneInteractive is customer-facing work: a new storefront order, a customer's
	// cancellation, a support agent's release.
	LaneInteractive = governor.Interactive
	// LaneBulk is work no customer waits on: backfills, repairs, re-drives after an outage,
	// bulk releases.
	LaneBulk = governor.Bulk
)

type laneKey struct{}

// WithLane returns ctx asking for lane: a workflow started with it runs in lane, and a signal
// delivered with it that the workflow takes moves the workflow to lane (a customer's
// cancellation of a backfilled order runs its compensations as interactive work). The context's
// own outbound calls are marked with the lane too.
func WithLane(ctx context.Context, lane Lane) context.Context {
	return governor.WithPriority(context.WithValue(ctx, laneKey{}, lane), lane)
}

// laneAsked returns the lane ctx asks for explicitly.
func laneAsked(ctx context.Context) (Lane, bool) {
	l, ok := ctx.Value(laneKey{}).(Lane)
	return l, ok
}

// startLane is the lane of a workflow started with ctx: the one asked for, or the lane of the
// work that starts it (a bulk caller's work is bulk).
func startLane(ctx context.Context) Lane {
	if l, ok := laneAsked(ctx); ok {
		return l
	}
	return governor.PriorityOf(ctx)
}

// setLane moves an instance to lane in tx (the caller holds, or takes here, the row).
func (e *Engine) setLane(ctx context.Context, tx *store.Tx, id string, lane Lane) error {
	_, err := tx.Exec(ctx, `UPDATE rb_workflows SET lane = $1 WHERE id = $2 AND lane <> $1`, int(lane), id)
	return err
}

// SetLane moves an instance to lane in tx: an operator's re-drive of a backlog as bulk, or a
// customer's request lifting a bulk order to interactive.
func (e *Engine) SetLane(ctx context.Context, tx *store.Tx, id string, lane Lane) error {
	if _, err := e.lock(ctx, tx, id); err != nil {
		return err
	}
	return e.setLane(ctx, tx, id, lane)
}

// Lane reads an instance's lane.
func (e *Engine) Lane(ctx context.Context, id string) (Lane, error) {
	var l int
	err := e.db.QueryRow(ctx, `SELECT lane FROM rb_workflows WHERE id = $1`, id).Scan(&l)
	if ErrNotFound(err) {
		return 0, errs.E(errs.NotFound, "workflow_not_found", "no such workflow")
	}
	return Lane(l), err
}

// redriveLane moves an instance whose step was refused because its system is unavailable (an
// outage, a maintenance window, an open breaker) to the bulk lane when its definition asks for
// it: once the system is back, the parked backlog drains behind customer-facing work that
// arrives meanwhile instead of in front of it.
func (e *Engine) redriveLane(ctx context.Context, tx *store.Tx, def *Definition, id string, callErr error) error {
	if !def.RedriveInBulk || errs.KindOf(callErr) != errs.Unavailable {
		return nil
	}
	return e.setLane(ctx, tx, id, LaneBulk)
}
