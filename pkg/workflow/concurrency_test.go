package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/events/eventstest"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
)

// raceData is the instance data of the race workflow: what its steps and signals did.
type raceData struct {
	Steps               []string
	Notes, Ticks, Pokes int
}

var raceSteps = []string{"s1", "s2", "s3", "s4", "s5", "s6"}

// raceDefinition chains six steps, each scheduling a timer due at once, then waits for "finish"
// and runs a last step. "note" (a fact from an event consumer), the timers and "poke" (a
// command) change the data in every state without moving the workflow. effects counts each
// step's side effects, the way a vendor would see them.
func raceDefinition(effects *sync.Map) *Definition {
	update := func(f func(*raceData)) SignalHandler {
		return func(_ context.Context, i Instance, _ []byte) (Result, error) {
			var d raceData
			if err := i.Decode(&d); err != nil {
				return Result{}, err
			}
			f(&d)
			return Result{Data: d}, nil
		}
	}
	step := func(name, next string, timer bool) Step {
		return Step{Name: name, Do: func(_ context.Context, r Run) (Result, error) {
			n, _ := effects.LoadOrStore(name, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			var d raceData
			if err := r.Decode(&d); err != nil {
				return Result{}, err
			}
			d.Steps = append(d.Steps, name)
			res := Result{Next: next, Data: d}
			if timer {
				res.Timers = []Timer{{Name: "tick_" + name, At: time.Now()}}
			}
			return res, nil
		}}
	}
	def := &Definition{
		Kind:  "race",
		Steps: map[string]Step{"final": step("final", "done", false)},
		Signals: map[string]map[string]SignalHandler{
			"*": {"note": update(func(d *raceData) { d.Notes++ }), "poke": update(func(d *raceData) { d.Pokes++ })},
			"waiting": {"finish": func(context.Context, Instance, []byte) (Result, error) {
				return Result{Next: "final"}, nil
			}},
		},
		Terminal:    map[string]bool{"done": true, "failed": true},
		Deferrable:  map[string]bool{"note": true, "finish": true},
		FailState:   "failed",
		MaxAttempts: 3,
		Backoff:     time.Millisecond,
	}
	for i, name := range raceSteps {
		next := "waiting"
		if i+1 < len(raceSteps) {
			next = raceSteps[i+1]
		}
		def.Steps[name] = step(name, next, true)
		def.Signals["*"]["tick_"+name] = update(func(d *raceData) { d.Ticks++ })
	}
	return def
}

// raceFigures are what TestConcurrentWritersOfOneWorkflow counts.
type raceFigures struct {
	deadLetters, failedSignals, busy int64
	effects                          map[string]int64
	data                             raceData
	historyEntries, historyMaxSeq    int
}

// A2: event consumers (two replicas), durable timers, direct commands and two runners all write
// to ONE workflow at once. Nothing may be dead-lettered or fail, every step runs exactly once,
// and every signal's effect is in the final data.
func TestConcurrentWritersOfOneWorkflow(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		const notes, pokes = 150, 30
		f := runRace(t, d, notes, pokes)
		t.Logf("%s: dead letters %d, failed signals %d, busy answers retried %d, step effects %v, notes %d/%d, pokes %d/%d, ticks %d/%d, history %d entries (max seq %d)",
			d, f.deadLetters, f.failedSignals, f.busy, f.effects, f.data.Notes, notes, f.data.Pokes, pokes, f.data.Ticks, len(raceSteps),
			f.historyEntries, f.historyMaxSeq)
		if f.deadLetters != 0 || f.failedSignals != 0 {
			t.Errorf("dead letters %d, failed signals %d; want 0 and 0", f.deadLetters, f.failedSignals)
		}
		for _, s := range append(raceSteps, "final") {
			if f.effects[s] != 1 {
				t.Errorf("step %s ran %d times, want exactly 1", s, f.effects[s])
			}
		}
		want := raceData{Steps: append(raceSteps, "final"), Notes: notes, Ticks: len(raceSteps), Pokes: pokes}
		if fmt.Sprint(f.data) != fmt.Sprint(want) {
			t.Errorf("final data %+v, want %+v (a lost step result or signal)", f.data, want)
		}
		if f.historyEntries != f.historyMaxSeq {
			t.Errorf("history has %d entries numbered up to %d, want them contiguous", f.historyEntries, f.historyMaxSeq)
		}
	})
}

func runRace(t *testing.T, d store.Dialect, notes, pokes int) raceFigures {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	url := storetest.URL(t, d)
	_, js := eventstest.Start(t).Connect(t)
	for _, err := range []error{
		events.Migrate(ctx, storetest.OpenURL(t, url, store.Options{})), Migrate(ctx, storetest.OpenURL(t, url, store.Options{})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := events.EnsureDeadLetterStream(ctx, js, events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	effects := &sync.Map{}
	// Two replicas of a service: each its own database handle, engine, runner and consumer.
	var engines []*Engine
	var consumers []*events.Consumer
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait() }()
	for range 2 {
		db := storetest.OpenURL(t, url, store.Options{})
		e := New(db, events.NewOutbox(nil), Options{Poll: 5 * time.Millisecond, Lease: time.Minute}, raceDefinition(effects))
		c, err := events.NewConsumer(db, js, events.ConsumerConfig{Name: "race-notes", Stream: events.StreamName("race"),
			Concurrency: 4, Backoff: events.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
			Logger: slog.New(slog.DiscardHandler)}, events.HandlerFunc(func(ctx context.Context, tx *store.Tx, ev *canonicalv1.Event) error {
			_, err := e.Signal(ctx, tx, ev.GetSubject(), "note", nil)
			return err
		}))
		if err != nil {
			t.Fatal(err)
		}
		engines, consumers = append(engines, e), append(consumers, c)
	}
	if err := engines[0].db.InTx(ctx, func(tx *store.Tx) error {
		return engines[0].Start(ctx, tx, "race", "wf-1", raceSteps[0], raceData{}, "race")
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := events.EnsureStream(ctx, js, "race", events.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range engines {
		wg.Go(func() { _ = engines[i].Run(runCtx) })
		wg.Go(func() { _ = consumers[i].Run(runCtx) })
	}
	var f raceFigures
	var sigs sync.WaitGroup
	sigs.Go(func() {
		for i := range notes {
			ev := &canonicalv1.Event{Id: fmt.Sprintf("note-%d", i), Type: "retailbridge.race.note.v1", Source: "test", Subject: "wf-1"}
			if _, err := events.Publish(ctx, js, ev); err != nil {
				t.Errorf("publish: %v", err)
			}
		}
	})
	for i := range pokes {
		sigs.Go(func() { signalUntilDone(ctx, engines[i%2], "poke", &f) })
	}
	sigs.Wait()
	waitUntil(t, ctx, "every note handled and every timer fired", func() bool {
		var fired int
		_ = engines[0].db.QueryRow(ctx, `SELECT COUNT(*) FROM rb_workflow_timers WHERE fired_at IS NOT NULL`).Scan(&fired)
		c0, c1 := consumers[0].Stats(), consumers[1].Stats()
		return c0.Handled+c1.Handled+c0.DeadLettered+c1.DeadLettered == int64(notes) && fired == len(raceSteps)
	})
	signalUntilDone(ctx, engines[0], "finish", &f)
	waitUntil(t, ctx, "the workflow done", func() bool {
		inst, _, err := engines[0].Get(ctx, "wf-1")
		return err == nil && inst.Terminal
	})
	return f.collect(t, ctx, engines[0], consumers, effects)
}

// signalUntilDone delivers a signal in its own transaction, as an RPC would, retrying what the
// engine says to retry (a running step's "workflow_busy"); anything else counts as failed.
func signalUntilDone(ctx context.Context, e *Engine, name string, f *raceFigures) {
	for ctx.Err() == nil {
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			_, err := e.Signal(ctx, tx, "wf-1", name, nil)
			return err
		})
		if err == nil {
			return
		}
		if !errs.IsRetryable(err) {
			atomic.AddInt64(&f.failedSignals, 1)
			return
		}
		atomic.AddInt64(&f.busy, 1)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (f raceFigures) collect(t *testing.T, ctx context.Context, e *Engine, consumers []*events.Consumer, effects *sync.Map) raceFigures {
	t.Helper()
	for _, c := range consumers {
		f.deadLetters += c.Stats().DeadLettered
	}
	f.effects = map[string]int64{}
	effects.Range(func(k, v any) bool { f.effects[k.(string)] = v.(*atomic.Int64).Load(); return true })
	inst, _, err := e.Get(ctx, "wf-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(inst.Data, &f.data); err != nil {
		t.Fatal(err)
	}
	if err := e.db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM rb_workflow_history WHERE workflow_id = $1`,
		"wf-1").Scan(&f.historyEntries, &f.historyMaxSeq); err != nil {
		t.Fatal(err)
	}
	return f
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// While a step runs, a fact that would keep the state is kept and applied right after the step's
// result, a command that would keep it is told to retry, and the step runs once.
func TestSignalsWhileAStepRuns(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db := storetest.Open(t, d, store.Options{})
		if err := Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		if err := events.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		effects := &sync.Map{}
		def := raceDefinition(effects)
		entered, release := make(chan struct{}), make(chan struct{})
		inner := def.Steps["s1"].Do
		def.Steps["s1"] = Step{Name: "s1", Do: func(ctx context.Context, r Run) (Result, error) {
			close(entered)
			<-release
			return inner(ctx, r)
		}}
		e := New(db, events.NewOutbox(nil), Options{Lease: time.Minute}, def)
		signal := func(name string) (bool, error) {
			var applied bool
			err := db.InTx(ctx, func(tx *store.Tx) error {
				var err error
				applied, err = e.Signal(ctx, tx, "wf-1", name, nil)
				return err
			})
			return applied, err
		}
		if err := db.InTx(ctx, func(tx *store.Tx) error { return e.Start(ctx, tx, "race", "wf-1", "s1", raceData{}, "") }); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := e.RunOnce(ctx); done <- err }()
		<-entered
		if applied, err := signal("note"); err != nil || applied {
			t.Errorf("note while s1 runs: applied %v, %v; want kept", applied, err)
		}
		_, err := signal("poke")
		if e := errs.As(err); e == nil || e.Reason != "workflow_busy" || !e.Retryable {
			t.Errorf("poke while s1 runs: %v; want a retryable workflow_busy", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		inst, _, err := e.Get(ctx, "wf-1")
		if err != nil {
			t.Fatal(err)
		}
		var got raceData
		if err := inst.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if inst.State != "s2" || got.Notes != 1 || got.Pokes != 0 || fmt.Sprint(got.Steps) != "[s1]" {
			t.Errorf("after s1: state %s, data %+v; want s2 with s1's result and the kept note", inst.State, got)
		}
		if n, _ := effects.Load("s1"); n.(*atomic.Int64).Load() != 1 {
			t.Errorf("s1 ran %d times, want 1", n.(*atomic.Int64).Load())
		}
	})
}
