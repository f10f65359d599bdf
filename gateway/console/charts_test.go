package console

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Charts are built as trusted HTML, so every string drawn in them must be escaped: a label
// from the metrics (a vendor or channel name) can never inject markup.
func TestChartsEscapeWhatTheyDraw(t *testing.T) {
	t.Parallel()
	evil := `<script>alert(1)</script>"`
	for name, svg := range map[string]string{
		"bars": string(barSVG(`x"y`, evil, []bar{{Label: evil, Value: 3, Text: evil}})),
		"time": string(timeSVG(`x"y`, evil, []time.Time{time.Now()}, windowFor("24h", time.Now()), []series{{Name: evil, Points: []float64{1}}},
			func(float64) string { return evil }, false)),
	} {
		if strings.Contains(svg, "<script>") || strings.Contains(svg, `x"y`) {
			t.Errorf("%s chart does not escape: %s", name, svg)
		}
		if !strings.Contains(svg, "&lt;script&gt;") {
			t.Errorf("%s chart lost the label: %s", name, svg)
		}
	}
}

// The bars are proportional to the values, and an empty chart says so.
func TestBarChart(t *testing.T) {
	t.Parallel()
	svg := string(barSVG("c", "t", []bar{{Label: "a", Value: 1, Text: "1"}, {Label: "b", Value: 2, Text: "2"}}))
	if strings.Count(svg, "<rect") != 2 || !strings.Contains(svg, `width="220.0"`) || !strings.Contains(svg, `width="110.0"`) {
		t.Errorf("bars not proportional: %s", svg)
	}
	if empty := string(barSVG("c", "t", nil)); !strings.Contains(empty, "No data yet") {
		t.Errorf("empty chart: %s", empty)
	}
}

// The KPI charts turn the services' points into the right figures: means, success rates and
// replay rates per series over the window, a value per non-empty bucket, and a dot per value.
func TestKPIChartFigures(t *testing.T) {
	t.Parallel()
	w := windowFor("24h", time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC))
	at := func(h int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 6, 1, h, 0, 0, 0, time.UTC))
	}
	pts := []sourced{
		{&canonicalv1.KpiPoint{Kpi: "order_processing", BucketStart: at(10), Channel: "web", Count: 2, SumSeconds: 7200, MaxSeconds: 5400, Ok: 1}, "orders"},
		{&canonicalv1.KpiPoint{Kpi: "order_processing", BucketStart: at(12), Channel: "web", Count: 1, SumSeconds: 600, MaxSeconds: 600, Ok: 1}, "orders"},
		{&canonicalv1.KpiPoint{Kpi: "erp_postings", BucketStart: at(10), Channel: "web", Count: 4, Ok: 3}, "orders"},
		{&canonicalv1.KpiPoint{Kpi: "erp_postings", BucketStart: at(11), Channel: "mail", Count: 1}, "returns"},
		{&canonicalv1.KpiPoint{Kpi: "dead_letters", BucketStart: at(10), Channel: "returns-from-wms", Count: 2}, "dead letters"},
		{&canonicalv1.KpiPoint{Kpi: "dlq_replays", BucketStart: at(11), Channel: "returns-from-wms", Count: 1, Ok: 1}, "dead letters"},
	}
	want := map[string][]string{
		"order-processing": {"web: mean 43m20s, max 1h30m0s over 3; 2 completed"},
		"erp":              {"orders web: 75.0% of 4 succeeded", "returns mail: 0.0% of 1 succeeded"},
		"replays":          {"returns-from-wms: 2 dead letters, 1 replays (replay rate 50%)"},
		"refund-cycle":     nil,
	}
	for _, def := range kpiDefs {
		ch := kpiChart(def, w, pts)
		var got []string
		for _, r := range ch.Rows {
			got = append(got, r.Label+": "+r.Text)
		}
		if wnt, ok := want[def.ID]; ok {
			if diff := cmp.Diff(wnt, got); diff != "" {
				t.Errorf("%s totals (-want +got):\n%s", def.ID, diff)
			}
		}
		if def.ID == "order-processing" {
			if n := len(ch.Detail); n != 2 || ch.Detail[0].Text != "mean 1h0m0s, max 1h30m0s over 2; 1 completed" {
				t.Errorf("order buckets: %+v", ch.Detail)
			}
			if svg := string(ch.SVG.(template.HTML)); strings.Count(svg, "<circle") != 2 || strings.Count(svg, "<polyline") != 0 {
				t.Errorf("two separate hours should draw two dots and no line: %s", svg)
			}
		}
	}
	if n := len(w.buckets()); n != 24 {
		t.Errorf("24 hours drawn in %d buckets", n)
	}
}
