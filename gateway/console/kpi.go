package console

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// snapshot is the business KPIs at one moment, read from the process's metrics registry.
type snapshot struct {
	At time.Time
	// Refund and Auth are observation counts and sums (seconds) by channel.
	RefundN, RefundSum map[string]float64
	AuthN, AuthSum     map[string]float64
	// OrderN and OrderSum are order processing latency counts and sums by "channel outcome".
	OrderN, OrderSum map[string]float64
	// RefundBuckets are cumulative refund-cycle bucket counts by upper bound, all channels.
	RefundBuckets map[float64]float64
	ERP           map[string]float64 // by outcome
	Exceptions    map[string]float64 // by channel
	Replays       map[string]float64 // by outcome, real replays only
	DLQDepth      float64
	// LagN and LagSum are inventory movement lag counts and sums by cause.
	LagN, LagSum  map[string]float64
	Throttled     map[string]float64 // by vendor
	BadSignatures map[string]float64 // by vendor
}

// historyLen is how many samples the KPI page keeps (a window of historyLen × SampleEvery).
const historyLen = 120

// sampler keeps a window of snapshots for the KPI page's charts over time.
type sampler struct {
	g   prometheus.Gatherer
	now func() time.Time

	mu      sync.Mutex
	history []snapshot
}

func newSampler(g prometheus.Gatherer, now func() time.Time) *sampler {
	return &sampler{g: g, now: now}
}

// sample reads the registry now and appends to the window.
func (s *sampler) sample() snapshot {
	snap := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history = append(s.history, snap)
	if len(s.history) > historyLen {
		s.history = s.history[len(s.history)-historyLen:]
	}
	return snap
}

func (s *sampler) window() []snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// read gathers the registry into a snapshot.
func (s *sampler) read() snapshot {
	snap := snapshot{At: s.now(), RefundN: map[string]float64{}, RefundSum: map[string]float64{}, AuthN: map[string]float64{}, OrderN: map[string]float64{}, OrderSum: map[string]float64{},
		AuthSum: map[string]float64{}, RefundBuckets: map[float64]float64{}, ERP: map[string]float64{}, Exceptions: map[string]float64{},
		Replays: map[string]float64{}, Throttled: map[string]float64{}, BadSignatures: map[string]float64{},
		LagN: map[string]float64{}, LagSum: map[string]float64{}}
	mfs, err := s.g.Gather()
	if err != nil {
		return snap
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s.add(&snap, mf.GetName(), m)
		}
	}
	return snap
}

func (s *sampler) add(snap *snapshot, name string, m *dto.Metric) {
	switch name {
	case "retailbridge_refund_cycle_seconds":
		h := m.GetHistogram()
		snap.RefundN[label(m, "channel")] += float64(h.GetSampleCount())
		snap.RefundSum[label(m, "channel")] += h.GetSampleSum()
		for _, b := range h.GetBucket() {
			snap.RefundBuckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	case "retailbridge_return_authorisation_seconds":
		if label(m, "outcome") == "authorised" {
			snap.AuthN[label(m, "channel")] += float64(m.GetHistogram().GetSampleCount())
			snap.AuthSum[label(m, "channel")] += m.GetHistogram().GetSampleSum()
		}
	case "retailbridge_order_processing_seconds":
		k := label(m, "channel") + " " + label(m, "outcome")
		snap.OrderN[k] += float64(m.GetHistogram().GetSampleCount())
		snap.OrderSum[k] += m.GetHistogram().GetSampleSum()
	case "retailbridge_erp_postings_total":
		snap.ERP[label(m, "outcome")] += m.GetCounter().GetValue()
	case "retailbridge_exceptions_total":
		snap.Exceptions[label(m, "channel")] += m.GetCounter().GetValue()
	case "retailbridge_dlq_replays_total":
		if label(m, "dry_run") == "false" {
			snap.Replays[label(m, "outcome")] += m.GetCounter().GetValue()
		}
	case "retailbridge_inventory_movement_lag_seconds":
		snap.LagN[label(m, "cause")] += float64(m.GetHistogram().GetSampleCount())
		snap.LagSum[label(m, "cause")] += m.GetHistogram().GetSampleSum()
	case "retailbridge_dlq_depth":
		snap.DLQDepth += m.GetGauge().GetValue()
	case "retailbridge_vendor_throttled_total":
		snap.Throttled[label(m, "vendor")] += m.GetCounter().GetValue()
	case "retailbridge_webhook_signature_failures_total":
		snap.BadSignatures[label(m, "vendor")] += m.GetCounter().GetValue()
	}
}

// chart is one rendered chart with its data as a table (for screen readers and exact values).
type chart struct {
	ID, Title, About string
	SVG              any
	Rows             []bar
}

type kpiData struct {
	Enabled bool
	At      time.Time
	Charts  []chart
	Samples int
}

// kpis renders the KPI charts from a fresh sample and the window kept so far.
func (c *Console) kpis(_ *http.Request, _ *session) (string, any, error) {
	if c.kpi == nil {
		return "kpis", kpiData{}, nil
	}
	now := c.kpi.sample()
	hist := c.kpi.window()
	return "kpis", kpiData{Enabled: true, At: now.At, Charts: charts(now, hist), Samples: len(hist)}, nil
}
