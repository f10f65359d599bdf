package console

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The KPI page draws each business KPI by channel over time from the process services' stored
// records (kpisource.go, kpichart.go), so it tells the same story on every gateway replica and
// in every topology. Only the vendor counters below are this process's own: throttling and
// signature failures are counted where they happen and belong to Prometheus and Grafana.

// live is this process's vendor counters and dead-letter depth, read from its registry.
type live struct {
	DLQDepth      float64
	Throttled     map[string]float64 // by vendor
	BadSignatures map[string]float64 // by vendor
}

// sampler reads the live counters from a registry.
type sampler struct {
	g prometheus.Gatherer
}

func newSampler(g prometheus.Gatherer) *sampler { return &sampler{g: g} }

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// read gathers the registry.
func (s *sampler) read() live {
	out := live{Throttled: map[string]float64{}, BadSignatures: map[string]float64{}}
	mfs, err := s.g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "retailbridge_dlq_depth":
				out.DLQDepth += m.GetGauge().GetValue()
			case "retailbridge_vendor_throttled_total":
				out.Throttled[label(m, "vendor")] += m.GetCounter().GetValue()
			case "retailbridge_webhook_signature_failures_total":
				out.BadSignatures[label(m, "vendor")] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// chart is one rendered chart with its data as tables (for screen readers and exact values).
type chart struct {
	ID, Title, About string
	SVG              any
	// Rows are the totals over the window; Detail every non-empty bucket.
	Rows   []bar
	Detail []bar
}

type kpiData struct {
	W      kpiWindow
	Ranges []kpiRange
	Charts []chart
	Notes  []string
	// Live is this process's own counters (nil without a metrics registry).
	Live *chart
}

// kpis renders every KPI by channel over the chosen window (?range=24h, 7d, 30d, 90d).
func (c *Console) kpis(r *http.Request, _ *session) (string, any, error) {
	w := windowFor(r.URL.Query().Get("range"), c.deps.Now())
	pts, notes := c.kpiPoints(r, w)
	d := kpiData{W: w, Ranges: kpiRanges, Notes: notes}
	for _, def := range kpiDefs {
		d.Charts = append(d.Charts, kpiChart(def, w, pts))
	}
	if c.kpi != nil {
		now := c.kpi.read()
		ch := chart{ID: "vendors", Title: "This gateway process: vendor throttling, webhook signature failures, DLQ depth",
			About: "Counted by this process since it started; Grafana shows them across replicas."}
		ch.Rows = append(prefixed("throttled ", now.Throttled), prefixed("bad signature ", now.BadSignatures)...)
		ch.Rows = append(ch.Rows, bar{Label: "DLQ depth", Value: now.DLQDepth, Text: fmt.Sprintf("%.0f", now.DLQDepth)})
		ch.SVG = barSVG(ch.ID, ch.Title, ch.Rows)
		d.Live = &ch
	}
	return "kpis", d, nil
}
