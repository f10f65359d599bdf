package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
)

// vendor records calls by idempotency key, the way a vendor honouring keys does: a repeated key
// has no second effect.
type vendor struct {
	mu      sync.Mutex
	calls   map[string]int // by key: every call, including repeats
	effects map[string]int // by step: effects actually made
	undone  map[string]int
}

func newVendor() *vendor {
	return &vendor{calls: map[string]int{}, effects: map[string]int{}, undone: map[string]int{}}
}

func (v *vendor) do(step, key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls[key]++
	if v.calls[key] == 1 {
		v.effects[step]++
	}
}

func (v *vendor) undo(step string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.undone[step]++
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// definition is a small return-like workflow: three calls, a wait for a signal with a timer,
// then a final call. crash names a step after whose vendor call the runner dies.
func definition(v *vendor, crash *crashPoint, fail string) *Definition {
	call := func(name, next string, compensable bool) Step {
		s := Step{Name: name, System: "vendor", Do: func(ctx context.Context, r Run) (Result, error) {
			if name == fail {
				return Result{}, errs.E(errs.FailedPrecondition, "refused", name+" refused")
			}
			v.do(name, r.Key)
			if crash.take(name) {
				runtime.Goexit() // the process dies after the call, before recording it
			}
			res := Result{Next: next}
			if next == "awaiting_parcel" {
				res.Timers = []Timer{{Name: "parcel_overdue", At: r.UpdatedAt.Add(48 * time.Hour)}}
			}
			return res, nil
		}}
		if compensable {
			s.Compensate = func(ctx context.Context, r Run) error { v.undo(name); return nil }
		}
		return s
	}
	return &Definition{
		Kind: "test",
		Steps: map[string]Step{
			"authorizing": call("authorize", "labelling", true),
			"labelling":   call("label", "notifying", true),
			"notifying":   call("notify", "awaiting_parcel", false),
			"refunding":   call("refund", "done", false),
		},
		Signals: map[string]map[string]SignalHandler{
			"awaiting_parcel": {
				"parcel_received": func(context.Context, Instance, []byte) (Result, error) {
					return Result{Next: "refunding", CancelTimers: []string{"parcel_overdue"}}, nil
				},
				"parcel_overdue": func(context.Context, Instance, []byte) (Result, error) {
					return Result{Next: "expired", Compensate: true}, nil
				},
			},
			"*": {
				"cancel": func(context.Context, Instance, []byte) (Result, error) {
					return Result{Next: "cancelled", Compensate: true}, nil
				},
			},
			// A late fact about a finished workflow: only a terminal state's own handlers apply.
			"done": {
				"refund_reversed": func(context.Context, Instance, []byte) (Result, error) {
					return Result{Next: "failed", Note: "refund reversed after the workflow ended"}, nil
				},
				// A fact a finished workflow records (an ERP's status), which may arrive early.
				"ledger_status": func(context.Context, Instance, []byte) (Result, error) {
					return Result{Note: "ledger status recorded"}, nil
				},
			},
		},
		Terminal:    map[string]bool{"done": true, "cancelled": true, "expired": true, "failed": true},
		Deferrable:  map[string]bool{"parcel_received": true, "ledger_status": true},
		FailState:   "failed",
		MaxAttempts: 3,
		Backoff:     time.Millisecond,
	}
}

// A fact kept while the workflow was busy, which only its terminal state takes, is applied when
// the workflow ends there (a terminal state takes the signals it names itself, kept or not),
// not discarded; kept signals the terminal state does not name are dropped.
func TestKeptSignalReachesTheTerminalStateThatNamesIt(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		h.start(t, "wf-late")
		if h.signal(t, "wf-late", "ledger_status") {
			t.Error("ledger_status applied while authorizing")
		}
		h.runUntilQuiet(t)
		if !h.signal(t, "wf-late", "parcel_received") {
			t.Fatal("parcel_received not applied while awaiting the parcel")
		}
		h.runUntilQuiet(t)
		inst, hist := h.state(t, "wf-late")
		if inst.State != "done" {
			t.Fatalf("state %s, want done", inst.State)
		}
		applied := 0
		for _, en := range hist {
			if en.Description == "ledger_status (kept from earlier)" {
				applied++
			}
		}
		if applied != 1 {
			t.Errorf("the kept ledger_status was applied %d times in the terminal state, want 1: %+v", applied, hist)
		}
	})
}

// crashPoint names the step after whose call the runner dies, once.
type crashPoint struct {
	mu    sync.Mutex
	step  string
	fired bool
}

func (c *crashPoint) take(step string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.step == step {
		c.step, c.fired = "", true
		return true
	}
	return false
}

// crashed reports (once) whether the crash point fired since the last call.
func (c *crashPoint) crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.fired
	c.fired = false
	return f
}

func (v *vendor) count(m map[string]int, k string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return m[k]
}

type harness struct {
	db     *store.DB
	clock  *clock
	vendor *vendor
	crash  crashPoint
	fail   string
	pivots map[string]bool
}

func newHarness(t testing.TB, d store.Dialect) *harness {
	t.Helper()
	db := storetest.Open(t, d, store.Options{})
	ctx := context.Background()
	if err := events.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	return &harness{db: db, clock: &clock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}, vendor: newVendor()}
}

// engine is a fresh engine, as after a process restart.
func (h *harness) engine() *Engine {
	def := definition(h.vendor, &h.crash, h.fail)
	def.Pivots = h.pivots
	return New(h.db, events.NewOutbox(h.clock.now), Options{Now: h.clock.now, Lease: time.Minute}, def)
}

func (h *harness) start(t testing.TB, id string) {
	t.Helper()
	e := h.engine()
	if err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
		return e.Start(context.Background(), tx, "test", id, "authorizing", map[string]string{"order": "1"}, "requested")
	}); err != nil {
		t.Fatal(err)
	}
}

// runUntilQuiet runs passes in a goroutine (a step may Goexit it, like a crash) until nothing
// is due. A pass that died is followed by a restart after its lease ran out.
func (h *harness) runUntilQuiet(t testing.TB) {
	t.Helper()
	for range 50 {
		done := make(chan int, 1)
		exited := make(chan struct{})
		e := h.engine()
		go func() {
			defer close(exited) // runs on Goexit too
			n, err := e.RunOnce(context.Background())
			if err != nil {
				t.Error(err)
			}
			done <- n
		}()
		<-exited
		if h.crash.crashed() {
			// A runner died mid-step: restart once its lease has run out.
			h.clock.add(2 * time.Minute)
			continue
		}
		select {
		case n := <-done:
			if n == 0 {
				return
			}
		default:
			h.clock.add(2 * time.Minute)
		}
	}
	t.Fatal("workflow never quiesced")
}

func (h *harness) signal(t testing.TB, id, name string) bool {
	t.Helper()
	var applied bool
	e := h.engine()
	if err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		applied, err = e.Signal(context.Background(), tx, id, name, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return applied
}

func (h *harness) state(t testing.TB, id string) (Instance, []Entry) {
	t.Helper()
	inst, hist, err := h.engine().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inst, hist
}

func forEachDialect(t *testing.T, f func(t *testing.T, d store.Dialect)) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// EV-5: a crash after every step's vendor call; each restart resumes with the same key.
func TestCrashAtEveryStepBoundaryResumes(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, crashAt := range []string{"", "authorize", "label", "notify", "refund"} {
			h := newHarness(t, d)
			id := "wf-crash-" + crashAt
			h.crash.step = crashAt
			h.start(t, id)
			h.runUntilQuiet(t)
			if inst, _ := h.state(t, id); inst.State != "awaiting_parcel" {
				t.Fatalf("crash at %q: state %s, want awaiting_parcel", crashAt, inst.State)
			}
			h.signal(t, id, "parcel_received")
			h.runUntilQuiet(t)
			inst, hist := h.state(t, id)
			if inst.State != "done" || !inst.Terminal {
				t.Fatalf("crash at %q: state %s, want done", crashAt, inst.State)
			}
			for _, step := range []string{"authorize", "label", "notify", "refund"} {
				if got := h.vendor.count(h.vendor.effects, step); got != 1 {
					t.Errorf("crash at %q: %s had %d effects, want 1", crashAt, step, got)
				}
				key := Key(id, step)
				want := 1
				if step == crashAt {
					want = 2 // the call before the crash and the resumed one, same key
				}
				if got := h.vendor.count(h.vendor.calls, key); got != want {
					t.Errorf("crash at %q: %s called %d times with key %s, want %d", crashAt, step, got, key, want)
				}
			}
			if len(hist) == 0 {
				t.Error("no history")
			}
		}
	})
}

// EV-6: a permanent failure compensates completed steps newest first, once, and ends in the
// failure state.
func TestPermanentFailureCompensatesInReverse(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		h.fail = "notify"
		h.start(t, "wf-fail")
		h.runUntilQuiet(t)
		inst, hist := h.state(t, "wf-fail")
		if inst.State != "failed" || !inst.Terminal {
			t.Fatalf("state %s, want failed", inst.State)
		}
		if h.vendor.count(h.vendor.undone, "authorize") != 1 || h.vendor.count(h.vendor.undone, "label") != 1 {
			t.Errorf("compensations authorize=%d label=%d, want once each", h.vendor.count(h.vendor.undone, "authorize"), h.vendor.count(h.vendor.undone, "label"))
		}
		var order []string
		for _, en := range hist {
			if en.Kind == "compensation" {
				order = append(order, en.Description)
			}
		}
		if fmt.Sprint(order) != "[compensated label compensated authorize]" {
			t.Errorf("compensation order %v, want label then authorize", order)
		}
		h.runUntilQuiet(t)
		if h.vendor.count(h.vendor.undone, "authorize") != 1 || h.vendor.count(h.vendor.undone, "label") != 1 {
			t.Errorf("compensations ran again: %d/%d", h.vendor.count(h.vendor.undone, "authorize"), h.vendor.count(h.vendor.undone, "label"))
		}
	})
}

// EV-7: a durable timer fires once after a restart, and a late signal afterwards changes nothing.
func TestTimersSurviveRestartAndFireOnce(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		h.start(t, "wf-timer")
		h.runUntilQuiet(t)
		h.clock.add(47 * time.Hour)
		h.runUntilQuiet(t) // new engine, timer not due yet
		if inst, _ := h.state(t, "wf-timer"); inst.State != "awaiting_parcel" {
			t.Fatalf("state %s before the timer, want awaiting_parcel", inst.State)
		}
		h.clock.add(2 * time.Hour)
		h.runUntilQuiet(t)
		h.runUntilQuiet(t)
		inst, hist := h.state(t, "wf-timer")
		if inst.State != "expired" {
			t.Fatalf("state %s after the timer, want expired", inst.State)
		}
		fired := 0
		for _, en := range hist {
			if en.Kind == "signal" && en.Description == "parcel_overdue" {
				fired++
			}
		}
		if fired != 1 {
			t.Errorf("timer fired %d times, want 1", fired)
		}
		if h.vendor.count(h.vendor.undone, "label") != 1 || h.vendor.count(h.vendor.undone, "authorize") != 1 {
			t.Errorf("expiry compensations %d/%d", h.vendor.count(h.vendor.undone, "authorize"), h.vendor.count(h.vendor.undone, "label"))
		}
		if h.signal(t, "wf-timer", "parcel_received") {
			t.Error("a late signal was applied to a terminal workflow")
		}
	})
}

// A signal that overtakes the step it answers is kept and applied when the workflow gets there;
// a duplicate of a handled signal, or one a waiting state does not expect, changes nothing.
func TestEarlyDuplicateAndUnexpectedSignals(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		h.start(t, "wf-sig")
		if h.signal(t, "wf-sig", "parcel_received") {
			t.Error("parcel_received applied while authorizing")
		}
		h.runUntilQuiet(t)
		inst, hist := h.state(t, "wf-sig")
		if inst.State != "done" || h.vendor.count(h.vendor.effects, "refund") != 1 {
			t.Fatalf("state %s, refunds %d; want the kept parcel_received applied on arrival, then done",
				inst.State, h.vendor.count(h.vendor.effects, "refund"))
		}
		kept := false
		for _, en := range hist {
			kept = kept || en.Description == "parcel_received (kept from earlier)"
		}
		if !kept {
			t.Errorf("history does not show the kept signal: %+v", hist)
		}
		if h.signal(t, "wf-sig", "parcel_received") {
			t.Error("duplicate parcel_received applied to a finished workflow")
		}
		if h.signal(t, "wf-sig", "cancel") {
			t.Error(`the "*" cancel applied to a finished workflow`)
		}
		if !h.signal(t, "wf-sig", "refund_reversed") {
			t.Error("a terminal state's own handler was not applied")
		}
		if inst, _ := h.state(t, "wf-sig"); inst.State != "failed" || !inst.Terminal {
			t.Errorf("after refund_reversed: %s, want failed", inst.State)
		}

		w := newHarness(t, d)
		w.start(t, "wf-wait")
		w.runUntilQuiet(t) // awaiting_parcel: a waiting state
		if w.signal(t, "wf-wait", "cancel_unknown") {
			t.Error("an unknown signal was applied")
		}
		if !w.signal(t, "wf-wait", "parcel_received") || w.signal(t, "wf-wait", "parcel_received") {
			t.Error("want the first parcel_received applied and its duplicate not")
		}
	})
}

// A permanent failure after a pivot step compensates nothing: what came before the pivot stands,
// and the workflow waits in the failure state for people.
func TestNoCompensationAfterAPivot(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		h.fail, h.pivots = "notify", map[string]bool{"label": true}
		h.start(t, "wf-pivot")
		h.runUntilQuiet(t)
		inst, hist := h.state(t, "wf-pivot")
		if inst.State != "failed" || !inst.Terminal {
			t.Fatalf("state %s, want failed", inst.State)
		}
		if n := h.vendor.count(h.vendor.undone, "authorize") + h.vendor.count(h.vendor.undone, "label"); n != 0 {
			t.Errorf("%d compensations after the pivot, want none", n)
		}
		if !strings.Contains(fmt.Sprint(hist), "failed after label, which cannot be undone") {
			t.Errorf("history does not say why nothing was compensated: %+v", hist)
		}
	})
}

// Cancellation from any active state compensates and ends cancelled.
func TestCancelCompensates(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		h.start(t, "wf-cancel")
		h.runUntilQuiet(t)
		if !h.signal(t, "wf-cancel", "cancel") {
			t.Fatal("cancel not applied")
		}
		h.runUntilQuiet(t)
		inst, _ := h.state(t, "wf-cancel")
		if inst.State != "cancelled" || h.vendor.count(h.vendor.undone, "label") != 1 || h.vendor.count(h.vendor.undone, "authorize") != 1 {
			t.Errorf("state %s, compensations %d/%d", inst.State, h.vendor.count(h.vendor.undone, "authorize"), h.vendor.count(h.vendor.undone, "label"))
		}
		var data map[string]string
		if err := json.Unmarshal(inst.Data, &data); err != nil || data["order"] != "1" {
			t.Errorf("data %s lost", inst.Data)
		}
	})
}
