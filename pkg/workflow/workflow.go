// Package workflow runs durable, crash-safe workflows over pkg/store and pkg/events: state
// machines whose active states run one step each — usually one vendor call — and whose waiting
// states move on signals (events from other systems, operator actions, durable timers).
//
// Guarantees, whatever crashes, retries and replicas do:
//
//   - A step's idempotency key is derived from (workflow id, step name) alone, so a step re-run
//     after a crash or a retry carries the same key downstream and the vendor deduplicates it.
//   - A step's compensation is registered (recorded) before its call is made, so a crash right
//     after the call still leaves the compensation on record.
//   - A transition, its history entry, its timers and its outbox events commit together; an
//     instance is claimed with an optimistic version check and a lease, so two runners never run
//     the same step at once and a crashed runner's claim expires.
//   - A permanent failure (or an exhausted retry budget) compensates every completed
//     compensable step once, newest first, then ends in the definition's failure state: nothing
//     is left silently half-done.
//   - Timers live in the database and fire once, as signals, after any restart.
//   - A signal the current state does not expect (a late or duplicate webhook) is recorded in the
//     history and changes nothing.
package workflow

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the workflow tables in db.
func Migrate(ctx context.Context, db *store.DB) error {
	return db.Migrate(ctx, "workflow", migrations)
}

// Instance is one workflow's persisted state.
type Instance struct {
	ID         string
	Kind       string
	State      string
	Data       json.RawMessage
	Version    int64
	Terminal   bool
	Attempts   int
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StateSince time.Time

	// claimedUntil is when the current step's claim expires; zero when no step is claimed.
	claimedUntil time.Time
}

// Decode unmarshals the instance data into v.
func (i Instance) Decode(v any) error { return json.Unmarshal(i.Data, v) }

// Entry is one line of an instance's history: a transition, a vendor call and its outcome, a
// signal, a retry or a compensation.
type Entry struct {
	At            time.Time
	State         string
	Kind          string // "started", "transition", "call", "retry", "signal", "ignored", "compensation", "failed", "timer"
	Description   string
	System        string
	CorrelationID string
	Outcome       string
	// Actor is who caused the entry: a verified principal for manual actions, empty for the system.
	Actor string
}

// Timer asks for signal Name at At.
type Timer struct {
	Name string
	At   time.Time
}

// Result is what a step or a signal handler decides.
type Result struct {
	// Next is the state to enter; empty stays in the current state.
	Next string
	// Data replaces the instance data when non-nil (marshalled as JSON).
	Data any
	// Events are published through the outbox with the transition.
	Events []*canonicalv1.Event
	// Note describes the transition in the history.
	Note string
	// Timers are scheduled with the transition (a timer with the same name is replaced).
	Timers []Timer
	// CancelTimers removes pending timers by name.
	CancelTimers []string
	// Compensate runs every registered compensation, newest first, before entering Next
	// (which must be terminal).
	Compensate bool
}

// Run is what a step sees.
type Run struct {
	Instance
	// Key is the step's idempotency key: the same for every attempt of this step.
	Key string
	// Attempt counts this step's attempts, from 1.
	Attempt int
}

// Step is the work of an active state.
type Step struct {
	// Name identifies the step; it derives the idempotency key. Defaults to the state's name.
	Name string
	// System is the backend the step calls, for the timeline.
	System string
	// Do performs the step and decides the next state. Errors classified retryable
	// (errs.IsRetryable) are retried with backoff; others fail the workflow.
	Do func(ctx context.Context, r Run) (Result, error)
	// Compensate undoes the step after a later permanent failure or a cancellation. It must be
	// idempotent; it receives the step's key.
	Compensate func(ctx context.Context, r Run) error
}

// SignalHandler decides what a signal means in a state. It must not call vendors: it runs inside
// the caller's transaction.
type SignalHandler func(ctx context.Context, i Instance, payload []byte) (Result, error)

// Definition is a workflow kind.
type Definition struct {
	Kind string
	// Steps maps active states to their step.
	Steps map[string]Step
	// Signals maps a state, then a signal name, to its handler. The state "*" applies in every
	// non-terminal state that has no handler of its own. A terminal state takes only the signals
	// it names (a late fact may reopen a finished workflow, for example into a state for people).
	Signals map[string]map[string]SignalHandler
	// Terminal lists the terminal states.
	Terminal map[string]bool
	// Deferrable lists the signals (facts reported by other systems) that are kept when they
	// arrive while a step is still running, and applied once a state expects them. Commands
	// (a cancellation, an approval) are never deferred: their caller is told they do not apply.
	Deferrable map[string]bool
	// FailState is entered after a permanent failure (once compensations ran).
	FailState string
	// Pivots names the steps (Step.Name) after whose completion the workflow only goes forward (a saga's pivot:
	// money moved, say). A permanent failure after a pivot enters FailState without compensating
	// anything, for people to finish: undoing the steps before it would contradict what happened.
	Pivots map[string]bool
	// MaxAttempts bounds a step's attempts before it counts as failed (default 8).
	MaxAttempts int
	// Backoff is the first retry delay (default 1 s), doubled per attempt up to MaxBackoff
	// (default 5 min), with jitter. A longer errs RetryAfter wins.
	Backoff, MaxBackoff time.Duration
	// RedriveInBulk moves an instance to the bulk lane when a step is refused because its
	// system is unavailable (lane.go): the backlog an outage parks drains behind new
	// customer-facing work.
	RedriveInBulk bool
}

// Options tune an Engine.
type Options struct {
	// Lease is how long a claimed step may run before another runner may take it (default 2 min).
	Lease time.Duration
	// Poll is how often the runner looks for due work (default 200 ms).
	Poll time.Duration
	// Batch is how many due instances one pass claims (default 32).
	Batch int
	// Workers is how many steps of different workflows run at once (default 8; 32 with
	// Admission, which bounds each system's share).
	Workers int
	// Admission names the guard in front of each system the steps call (admission.go): a step
	// starts only while its system can take it, and waits in the queue, holding no worker,
	// while the system is saturated. Nil starts a step whenever a worker is free.
	Admission Admission
	Now       func() time.Time
	Logger    *slog.Logger
	// Observer hears committed transitions and step outcomes (business metrics); nil hears
	// nothing. It runs after the commit, so it never counts a change that rolled back.
	Observer Observer
}

// Observer hears what a workflow did, after it committed. Its methods must not block.
type Observer interface {
	// Transition is called once per committed state change.
	Transition(Transition)
	// StepOutcome is called once per committed step attempt.
	StepOutcome(StepOutcome)
}

// Transition is one committed state change of an instance.
type Transition struct {
	// Instance is the instance before the change (its State is From); Data is the new data.
	Instance Instance
	To       string
	At       time.Time
}

// StepOutcome is one committed step attempt: Outcome is "ok", "retry" or "failed".
type StepOutcome struct {
	Instance Instance
	Step     string
	System   string
	Outcome  string
}

// Engine runs workflows of the registered definitions.
type Engine struct {
	db     *store.DB
	outbox *events.Outbox
	defs   map[string]*Definition
	opts   Options
	wake   chan struct{}

	// dispatched, when set (tests only, before Run), hears each instance handed to a worker, in
	// the order the dispatcher decided: the workers then race to their calls.
	dispatched func(id string)
}

// New returns an engine over db, publishing events through outbox.
func New(db *store.DB, outbox *events.Outbox, opts Options, defs ...*Definition) *Engine {
	if opts.Lease == 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Poll == 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.Batch == 0 {
		opts.Batch = 32
	}
	if opts.Workers == 0 {
		// With admission a worker never waits in front of a saturated vendor, so more of them
		// keep every vendor busy; without it, more would pile up behind the slowest one.
		opts.Workers = 8
		if opts.Admission != nil {
			opts.Workers = 32
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{db: db, outbox: outbox, defs: map[string]*Definition{}, opts: opts, wake: make(chan struct{}, 1)}
	for _, d := range defs {
		if d.MaxAttempts == 0 {
			d.MaxAttempts = 8
		}
		if d.Backoff == 0 {
			d.Backoff = time.Second
		}
		if d.MaxBackoff == 0 {
			d.MaxBackoff = 5 * time.Minute
		}
		e.defs[d.Kind] = d
	}
	return e
}

// Key is the idempotency key of a step of a workflow: stable across attempts, crashes and
// replicas, at most 64 characters.
func Key(workflowID, step string) string {
	sum := sha256.Sum256([]byte(workflowID + "\x00" + step))
	return "rb-" + hex.EncodeToString(sum[:])[:48]
}

func (e *Engine) now() time.Time { return e.opts.Now().UTC() }

// Start creates a workflow instance in tx, in state, with data; an active state runs at once.
// A second Start with the same id fails with errs.AlreadyExists.
func (e *Engine) Start(ctx context.Context, tx *store.Tx, kind, id, state string, data any, note string) error {
	def, ok := e.defs[kind]
	if !ok {
		return fmt.Errorf("workflow: unknown kind %q", kind)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now := e.now()
	var next any
	if _, active := def.Steps[state]; active {
		next = now
	}
	_, err = tx.Exec(ctx, `INSERT INTO rb_workflows (id, kind, state, data, version, terminal, next_run_at,
		created_at, updated_at, state_since) VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7, $7)`,
		id, kind, state, string(raw), def.Terminal[state], next, now)
	if store.IsUniqueViolation(err) {
		return errs.Wrap(err, errs.AlreadyExists, "workflow_exists", "a workflow with this id exists")
	}
	if err != nil {
		return err
	}
	if err := e.history(ctx, tx, id, Entry{State: state, Kind: "started", Description: note}); err != nil {
		return err
	}
	if lane := startLane(ctx); lane != LaneInteractive {
		if err := e.setLane(ctx, tx, id, lane); err != nil {
			return err
		}
	}
	tx.AfterCommit(e.Wake)
	return nil
}

// Wake makes the runner look for due work now.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Get reads an instance and its history, oldest first.
func (e *Engine) Get(ctx context.Context, id string) (Instance, []Entry, error) {
	var inst Instance
	var hist []Entry
	err := e.db.InTxWith(ctx, store.TxOptions{ReadOnly: true}, func(tx *store.Tx) error {
		var err error
		if inst, err = e.load(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT at, state, kind, description, system, correlation_id, outcome, actor
			FROM rb_workflow_history WHERE workflow_id = $1 ORDER BY seq`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var en Entry
			if err := rows.Scan(&en.At, &en.State, &en.Kind, &en.Description, &en.System, &en.CorrelationID, &en.Outcome, &en.Actor); err != nil {
				return err
			}
			hist = append(hist, en)
		}
		return rows.Err()
	})
	return inst, hist, err
}

func (e *Engine) load(ctx context.Context, tx *store.Tx, id string) (Instance, error) {
	return e.loadRow(ctx, tx, id, "")
}

// lock reads an instance and holds its row until tx ends. Every transaction that writes to a
// workflow (its row, history, steps, pending signals, timers) locks it first, so concurrent
// writers of one workflow — consumers delivering signals, timers, runners recording steps — queue
// on the row instead of colliding: the MAX(seq)+1 numbering of history, steps and pending
// signals is safe, and the version a writer read stays current until it commits. SQLite has
// one writer at a time and no FOR UPDATE; its transactions begin IMMEDIATE instead.
func (e *Engine) lock(ctx context.Context, tx *store.Tx, id string) (Instance, error) {
	suffix := ""
	if tx.Dialect() == store.Postgres {
		suffix = " FOR UPDATE"
	}
	return e.loadRow(ctx, tx, id, suffix)
}

func (e *Engine) loadRow(ctx context.Context, tx *store.Tx, id, suffix string) (Instance, error) {
	var i Instance
	var data string
	var claimed sql.NullTime
	err := tx.QueryRow(ctx, `SELECT id, kind, state, data, version, terminal, attempts, last_error, created_at,
		updated_at, state_since, claimed_until FROM rb_workflows WHERE id = $1`+suffix, id).Scan(&i.ID, &i.Kind, &i.State, &data, &i.Version,
		&i.Terminal, &i.Attempts, &i.LastError, &i.CreatedAt, &i.UpdatedAt, &i.StateSince, &claimed)
	if errors.Is(err, errNoRows) {
		return i, errs.E(errs.NotFound, "workflow_not_found", "no such workflow")
	}
	i.Data = json.RawMessage(data)
	if claimed.Valid {
		i.claimedUntil = claimed.Time
	}
	return i, err
}

// running reports whether a runner holds i's step now.
func (e *Engine) running(i Instance) bool {
	return !i.claimedUntil.IsZero() && i.claimedUntil.After(e.now())
}

// history appends an entry; seq is the next number for the instance.
func (e *Engine) history(ctx context.Context, tx *store.Tx, id string, en Entry) error {
	if en.At.IsZero() {
		en.At = e.now()
	}
	if en.CorrelationID == "" {
		en.CorrelationID = telemetry.CorrelationID(ctx)
	}
	if en.Actor == "" {
		en.Actor = actorFrom(ctx)
	}
	_, err := tx.Exec(ctx, `INSERT INTO rb_workflow_history (workflow_id, seq, at, state, kind, description, system,
		correlation_id, outcome, actor) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM rb_workflow_history WHERE workflow_id = $1),
		$2, $3, $4, $5, $6, $7, $8, $9)`, id, en.At, en.State, en.Kind, en.Description, en.System, en.CorrelationID, en.Outcome, en.Actor)
	return err
}

type actorKey struct{}

// WithActor returns ctx naming who acts (for the history of manual actions such as a cancellation
// or an override).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// Signal delivers a named signal to an instance inside the caller's transaction (typically an
// event consumer's, together with its inbox row). It reports whether the current state handled
// it; an unexpected signal is recorded and ignored.
//
// While a runner holds the instance's step, a fact or a timer whose handler would keep the state
// is kept (like a deferrable signal) and applied once the step's result is recorded, so neither
// overwrites the other and the step is not run again; a command that would keep the state fails
// with a retryable errs.Conflict "workflow_busy" instead. A decision that leaves the state (a
// cancellation) applies at once, and the step's result is then discarded.
func (e *Engine) Signal(ctx context.Context, tx *store.Tx, id, name string, payload []byte) (bool, error) {
	applied, err := e.signal(ctx, tx, id, name, payload, false)
	if lane, asked := laneAsked(ctx); asked && applied && err == nil {
		err = e.setLane(ctx, tx, id, lane) // what the signal set off runs in the lane its sender asked for
	}
	return applied, err
}

func (e *Engine) signal(ctx context.Context, tx *store.Tx, id, name string, payload []byte, timer bool) (bool, error) {
	inst, err := e.lock(ctx, tx, id)
	if err != nil {
		return false, err
	}
	def := e.defs[inst.Kind]
	h := def.Signals[inst.State][name]
	if h == nil && !inst.Terminal {
		h = def.Signals["*"][name]
	}
	stepActive := def.Steps[inst.State].Do != nil || inst.State == "compensating"
	if h == nil && !inst.Terminal && def.Deferrable[name] && stepActive {
		// A step is running: the world may be ahead of the workflow (a webhook overtaking the
		// commit of the call that caused it). Keep the signal for the next state that expects it.
		return false, e.keep(ctx, tx, inst, name, payload)
	}
	// A terminal state takes only the signals it names itself: late facts that reopen a finished
	// workflow (a refund the payment gateway fails after the return closed). "*" never applies.
	if h == nil {
		return false, e.history(ctx, tx, id, Entry{State: inst.State, Kind: "ignored",
			Description: fmt.Sprintf("signal %s is not expected in state %s", name, inst.State)})
	}
	res, err := h(ctx, inst, payload)
	if err != nil {
		return false, err
	}
	if e.running(inst) && !res.Compensate && (res.Next == "" || res.Next == inst.State) {
		if !timer && !def.Deferrable[name] {
			return false, errs.E(errs.Conflict, "workflow_busy", "a step of this workflow is running; try again shortly").
				WithRetryAfter(time.Second)
		}
		return false, e.keep(ctx, tx, inst, name, payload)
	}
	if err := e.history(ctx, tx, id, Entry{State: inst.State, Kind: "signal", Description: name}); err != nil {
		return false, err
	}
	return true, e.apply(ctx, tx, def, inst, res, "")
}

// keep keeps a signal until the workflow is in a state that takes it with no step running.
func (e *Engine) keep(ctx context.Context, tx *store.Tx, inst Instance, name string, payload []byte) error {
	if _, err := tx.Exec(ctx, `INSERT INTO rb_workflow_pending (workflow_id, seq, name, payload, at)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM rb_workflow_pending WHERE workflow_id = $1), $2, $3, $4)`,
		inst.ID, name, string(payload), e.now()); err != nil {
		return err
	}
	return e.history(ctx, tx, inst.ID, Entry{State: inst.State, Kind: "deferred",
		Description: fmt.Sprintf("signal %s kept until a state expects it", name)})
}

// apply commits a decision: compensation mode, transition, data, events, timers, history. The
// version check makes a concurrent change fail instead of being overwritten.
func (e *Engine) apply(ctx context.Context, tx *store.Tx, def *Definition, inst Instance, res Result, system string) error {
	now := e.now()
	next := res.Next
	if next == "" {
		next = inst.State
	}
	data := string(inst.Data)
	if res.Data != nil {
		raw, err := json.Marshal(res.Data)
		if err != nil {
			return err
		}
		data = string(raw)
	}
	compensating := ""
	var nextRun any
	if res.Compensate {
		compensating, nextRun = next, now
		next = "compensating"
	} else if _, active := def.Steps[next]; active {
		nextRun = now
	}
	since := inst.StateSince
	if next != inst.State {
		since = now
	}
	r, err := tx.Exec(ctx, `UPDATE rb_workflows SET state = $1, data = $2, version = version + 1, terminal = $3,
		compensating = $4, next_run_at = $5, attempts = 0, last_error = '', updated_at = $6, state_since = $7,
		claimed_until = NULL WHERE id = $8 AND version = $9`,
		next, data, def.Terminal[next], compensating, nextRun, now, since, inst.ID, inst.Version)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return errs.E(errs.Conflict, "workflow_changed", "the workflow changed concurrently; retry")
	}
	if next != inst.State && e.opts.Observer != nil {
		t := Transition{Instance: inst, To: next, At: now}
		t.Instance.Data = json.RawMessage(data)
		tx.AfterCommit(func() { e.opts.Observer.Transition(t) })
	}
	if next != inst.State {
		desc := res.Note
		if desc == "" {
			desc = inst.State + " → " + next
		}
		if err := e.history(ctx, tx, inst.ID, Entry{State: next, Kind: "transition", Description: desc, System: system}); err != nil {
			return err
		}
	} else if res.Note != "" {
		// A decision that keeps the state (a reminder, an override) is history too.
		if err := e.history(ctx, tx, inst.ID, Entry{State: next, Kind: "note", Description: res.Note, System: system}); err != nil {
			return err
		}
	}
	for _, name := range res.CancelTimers {
		if _, err := tx.Exec(ctx, `DELETE FROM rb_workflow_timers WHERE workflow_id = $1 AND name = $2 AND fired_at IS NULL`, inst.ID, name); err != nil {
			return err
		}
	}
	for _, t := range res.Timers {
		if _, err := tx.Exec(ctx, `DELETE FROM rb_workflow_timers WHERE workflow_id = $1 AND name = $2`, inst.ID, t.Name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rb_workflow_timers (workflow_id, name, due_at) VALUES ($1, $2, $3)`, inst.ID, t.Name, t.At.UTC()); err != nil {
			return err
		}
	}
	for _, ev := range res.Events {
		if err := e.outbox.Add(ctx, tx, ev); err != nil {
			return err
		}
	}
	if nextRun != nil {
		tx.AfterCommit(e.Wake)
	}
	if next != inst.State {
		return e.applyPending(ctx, tx, def, inst.ID)
	}
	return nil
}

// applyPending delivers, oldest first, the kept signals the workflow's current state takes; a
// terminal state takes only those it names itself (as Signal does) and discards what is left. A
// signal that moves the workflow on ends this round: apply calls applyPending again for the new
// state.
func (e *Engine) applyPending(ctx context.Context, tx *store.Tx, def *Definition, id string) error {
	for {
		cur, err := e.load(ctx, tx, id) // the caller holds the row lock
		if err != nil {
			return err
		}
		seq, name, payload, h, err := e.nextPending(ctx, tx, def, cur)
		if err != nil {
			return err
		}
		if h == nil {
			if cur.Terminal {
				_, err = tx.Exec(ctx, `DELETE FROM rb_workflow_pending WHERE workflow_id = $1`, id)
			}
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rb_workflow_pending WHERE workflow_id = $1 AND seq = $2`, id, seq); err != nil {
			return err
		}
		res, err := h(ctx, cur, []byte(payload))
		if err != nil {
			return err
		}
		if err := e.history(ctx, tx, id, Entry{State: cur.State, Kind: "signal", Description: name + " (kept from earlier)"}); err != nil {
			return err
		}
		if err := e.apply(ctx, tx, def, cur, res, ""); err != nil {
			return err
		}
		if res.Compensate || (res.Next != "" && res.Next != cur.State) {
			return nil
		}
	}
}

// nextPending returns the oldest kept signal cur's state takes, with its handler ("*" applies
// to active states only); h is nil when there is none.
func (e *Engine) nextPending(ctx context.Context, tx *store.Tx, def *Definition, cur Instance) (seq int64, name, payload string, h SignalHandler, err error) {
	rows, err := tx.Query(ctx, `SELECT seq, name, payload FROM rb_workflow_pending WHERE workflow_id = $1 ORDER BY seq`, cur.ID)
	if err != nil {
		return 0, "", "", nil, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&seq, &name, &payload); err != nil {
			return 0, "", "", nil, err
		}
		if h = def.Signals[cur.State][name]; h == nil && !cur.Terminal {
			h = def.Signals["*"][name]
		}
		if h != nil {
			return seq, name, payload, h, nil
		}
	}
	return 0, "", "", nil, rows.Err()
}

// backoff is the delay before attempt+1 of a step.
func (d *Definition) backoff(attempt int, err error) time.Duration {
	delay := d.Backoff
	for i := 1; i < attempt && delay < d.MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, d.MaxBackoff)
	delay = delay/2 + rand.N(delay/2+1)
	if e := errs.As(err); e != nil && e.RetryAfter > delay {
		delay = e.RetryAfter
	}
	return delay
}
