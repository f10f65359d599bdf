package workflow

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// recorder is an Observer that keeps what it heard.
type recorder struct {
	mu          sync.Mutex
	transitions []string
	steps       []string
}

func (r *recorder) Transition(t Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transitions = append(r.transitions, t.Instance.State+">"+t.To)
}

func (r *recorder) StepOutcome(o StepOutcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps = append(r.steps, o.Step+":"+o.Outcome)
}

// The observer hears each committed transition and step attempt once, and the collector
// exports how many instances wait in each state and for how long the oldest has.
func TestObserverAndCollector(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		rec := &recorder{}
		engine := func() *Engine {
			return New(h.db, events.NewOutbox(h.clock.now), Options{Now: h.clock.now, Lease: time.Minute, Observer: rec},
				definition(h.vendor, &h.crash, h.fail))
		}
		for _, id := range []string{"wf-1", "wf-2"} {
			h.start(t, id)
			h.clock.add(time.Hour)
		}
		for {
			n, err := engine().RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		h.clock.add(30 * time.Minute)
		rec.mu.Lock()
		got := append([]string(nil), rec.transitions...)
		steps := len(rec.steps)
		rec.mu.Unlock()
		counts := map[string]int{}
		for _, tr := range got {
			counts[tr]++
		}
		want := map[string]int{"authorizing>labelling": 2, "labelling>notifying": 2, "notifying>awaiting_parcel": 2}
		if diff := cmp.Diff(want, counts); diff != "" {
			t.Errorf("transitions heard (-want +got):\n%s", diff)
		}
		if steps != 6 {
			t.Errorf("step outcomes heard: %d, want 6", steps)
		}
		gauges := collect(t, NewCollector(h.db, "test", h.clock.now))
		// wf-1 and wf-2 both reached awaiting_parcel in the same pass, 30 minutes ago.
		wantGauges := map[string]float64{
			"retailbridge_workflows_open{test,awaiting_parcel}":          2,
			"retailbridge_workflow_oldest_seconds{test,awaiting_parcel}": 1800,
		}
		if diff := cmp.Diff(wantGauges, gauges); diff != "" {
			t.Errorf("collected (-want +got):\n%s", diff)
		}
	})
}

// collect returns a collector's samples as "name{label values}" → value.
func collect(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	c.Collect(ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		var vals []string
		for _, l := range pb.GetLabel() {
			vals = append(vals, l.GetValue())
		}
		name := m.Desc().String()
		name = name[strings.Index(name, `fqName: "`)+9:]
		name = name[:strings.Index(name, `"`)]
		out[name+"{"+strings.Join(vals, ",")+"}"] = pb.GetGauge().GetValue()
	}
	return out
}
