package console

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// kpiDef is one chart of the KPI page: which points it draws and how it measures them.
type kpiDef struct {
	ID, Title, About string
	Kpis             []string
	// Measure is mean (of durations), count, rate (ok / count) or replay (dead letters and
	// replays per consumer).
	Measure string
	// OK names what the point's ok counts, shown in the totals ("completed").
	OK string
	// BySource labels series with the process they come from (KPIs two services report).
	BySource bool
}

var kpiDefs = []kpiDef{
	{ID: "order-processing", Title: "Order processing latency by channel", Kpis: []string{"order_processing"}, Measure: "mean", OK: "completed",
		About: "Mean time from an order's arrival to its final state (completed, cancelled or failed), by the bucket it ended in."},
	{ID: "inventory-lag", Title: "Inventory update lag by cause", Kpis: []string{"inventory_update_lag"}, Measure: "mean",
		About: "Mean time from a stock movement at its source to the inventory ledger."},
	{ID: "authorisation", Title: "Return authorisation turnaround by channel", Kpis: []string{"return_authorisation"}, Measure: "mean",
		About: "Mean time from the return's request to its RMA in the ERP."},
	{ID: "refund-cycle", Title: "Refund cycle time by channel", Kpis: []string{"refund_cycle"}, Measure: "mean", OK: "refunded through the gateway",
		About: "Mean time from the return's request to the refund recorded everywhere."},
	{ID: "erp", Title: "ERP posting success rate by channel", Kpis: []string{"erp_postings"}, Measure: "rate", BySource: true,
		About: "Share of ERP posting calls (sales orders, shipments, invoices; RMAs, receipts, credit memos) that succeeded at their attempt."},
	{ID: "exceptions", Title: "Exception volume by channel", Kpis: []string{"exceptions"}, Measure: "count", BySource: true,
		About: "Orders entering an exception queue and returns entering a state for people."},
	{ID: "replays", Title: "Dead letters and replay rate", Kpis: []string{"dead_letters", "dlq_replays"}, Measure: "replay",
		About: "Dead letters arriving and real replays (dry runs excluded) per bucket; the table gives the replay rate per consumer."},
}

// agg sums points.
type agg struct {
	n, ok    int64
	sum, max float64
}

func (a *agg) add(p sourced) {
	a.n += p.GetCount()
	a.ok += p.GetOk()
	a.sum += p.GetSumSeconds()
	a.max = math.Max(a.max, p.GetMaxSeconds())
}

// seriesKey names the series a point belongs to in def's chart.
func (def kpiDef) seriesKey(p sourced) string {
	switch {
	case def.Measure == "replay":
		return map[string]string{"dead_letters": "dead letters", "dlq_replays": "replays"}[p.GetKpi()]
	case def.BySource:
		return p.Source + " " + p.GetChannel()
	}
	return p.GetChannel()
}

// value is what a bucket's aggregate plots as; NaN when nothing was observed (a gap, or zero
// for counts).
func (def kpiDef) value(a *agg) float64 {
	switch {
	case a == nil || a.n == 0:
		return math.NaN()
	case def.Measure == "mean":
		return a.sum / float64(a.n)
	case def.Measure == "rate":
		return 100 * float64(a.ok) / float64(a.n)
	}
	return float64(a.n)
}

// format writes a plotted value in the chart's unit.
func (def kpiDef) format(v float64) string {
	switch def.Measure {
	case "mean":
		return human(v)
	case "rate":
		return fmt.Sprintf("%.1f%%", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// kpiChart draws def over the window: a line per series across every bucket, the totals per
// series, and every non-empty bucket in a table (exact values for people and screen readers).
func kpiChart(def kpiDef, w kpiWindow, pts []sourced) chart {
	byBucket := map[string]map[time.Time]*agg{}
	totals := map[string]*agg{}
	for _, p := range pts {
		if !slices.Contains(def.Kpis, p.GetKpi()) {
			continue
		}
		k, b := def.seriesKey(p), p.GetBucketStart().AsTime().UTC()
		if byBucket[k] == nil {
			byBucket[k], totals[k] = map[time.Time]*agg{}, &agg{}
		}
		if byBucket[k][b] == nil {
			byBucket[k][b] = &agg{}
		}
		byBucket[k][b].add(p)
		totals[k].add(p)
	}
	buckets := w.buckets()
	ch := chart{ID: def.ID, Title: def.Title, About: def.About}
	var ss []series
	for _, k := range slices.Sorted(maps.Keys(byBucket)) {
		s := series{Name: k}
		for _, b := range buckets {
			v := def.value(byBucket[k][b])
			s.Points = append(s.Points, v)
			if a := byBucket[k][b]; a != nil && a.n > 0 {
				ch.Detail = append(ch.Detail, bar{Label: bucketLabel(b, w) + " · " + k, Value: v, Text: def.total(a)})
			}
		}
		ss = append(ss, s)
		ch.Rows = append(ch.Rows, bar{Label: k, Value: def.value(totals[k]), Text: def.total(totals[k])})
	}
	if def.Measure == "replay" {
		ch.Rows = replayRows(pts)
	}
	counts := def.Measure == "count" || def.Measure == "replay"
	ch.SVG = timeSVG(def.ID, def.Title, buckets, w, ss, def.format, counts)
	return ch
}

// total describes an aggregate in words.
func (def kpiDef) total(a *agg) string {
	switch def.Measure {
	case "mean":
		s := fmt.Sprintf("mean %s, max %s over %d", human(a.sum/float64(a.n)), human(a.max), a.n)
		if def.OK != "" {
			s += fmt.Sprintf("; %d %s", a.ok, def.OK)
		}
		return s
	case "rate":
		return fmt.Sprintf("%.1f%% of %d succeeded", 100*float64(a.ok)/float64(a.n), a.n)
	}
	return fmt.Sprintf("%d", a.n)
}

// replayRows are the dead letters, replays and replay rate per consumer over the window.
func replayRows(pts []sourced) []bar {
	dead, replayed := map[string]int64{}, map[string]int64{}
	for _, p := range pts {
		switch p.GetKpi() {
		case "dead_letters":
			dead[p.GetChannel()] += p.GetCount()
		case "dlq_replays":
			replayed[p.GetChannel()] += p.GetCount()
		}
	}
	consumers := map[string]bool{}
	for c := range dead {
		consumers[c] = true
	}
	for c := range replayed {
		consumers[c] = true
	}
	var rows []bar
	for _, c := range slices.Sorted(maps.Keys(consumers)) {
		text := fmt.Sprintf("%d dead letters, %d replays", dead[c], replayed[c])
		if dead[c] > 0 {
			text += fmt.Sprintf(" (replay rate %.0f%%)", 100*float64(replayed[c])/float64(dead[c]))
		}
		rows = append(rows, bar{Label: c, Value: float64(replayed[c]), Text: text})
	}
	return rows
}

func bucketLabel(b time.Time, w kpiWindow) string {
	if w.Width >= 24*time.Hour {
		return b.Format("Jan 2")
	}
	return b.Format("Jan 2 15:04")
}

// timeSVG draws series over the window's buckets, server-side: a line per series through the
// buckets that have a value (a gap where none was observed; zero for counts when zeroGaps), a
// dot on each observed value, the axis bounds and a legend. Every interpolated string is escaped.
func timeSVG(id, title string, buckets []time.Time, w kpiWindow, ss []series, format func(float64) string, zeroGaps bool) template.HTML {
	const width, h, padL, padR = 580, 180, 70, 10
	rows := (len(ss) + 2) / 3
	maxV := 0.0
	for _, s := range ss {
		for _, p := range s.Points {
			if !math.IsNaN(p) {
				maxV = math.Max(maxV, p)
			}
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	x := func(i int) float64 {
		if len(buckets) < 2 {
			return padL
		}
		return padL + float64(i)/float64(len(buckets)-1)*float64(width-padL-padR)
	}
	y := func(v float64) float64 { return float64(h) - v/maxV*float64(h-20) }
	var sb strings.Builder
	total := h + 36 + rows*18
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="%s-t %s-d" viewBox="0 0 %d %d" width="%d" height="%d">`,
		esc(id), esc(id), width, total, width, total)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title><desc id="%s-d">%d series over %d buckets; the tables below list the values.</desc>`,
		esc(id), esc(title), esc(id), len(ss), len(buckets))
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"></line>`, padL, h, width-padR, h)
	fmt.Fprintf(&sb, `<text x="0" y="14" fill="#222" font-size="12">%s</text><text x="0" y="%d" fill="#222" font-size="12">0</text>`, esc(format(maxV)), h)
	if len(buckets) > 0 {
		fmt.Fprintf(&sb, `<text x="%d" y="%d" fill="#222" font-size="12">%s</text><text x="%d" y="%d" fill="#222" font-size="12" text-anchor="end">%s</text>`,
			padL, h+14, esc(bucketLabel(buckets[0], w)), width-padR, h+14, esc(bucketLabel(buckets[len(buckets)-1], w)))
	}
	if len(ss) == 0 {
		fmt.Fprintf(&sb, `<text x="%d" y="%d" fill="#333">No data in this window</text>`, padL+10, h/2)
	}
	for i, s := range ss {
		color := palette[i%len(palette)]
		var seg []string
		flush := func() {
			if len(seg) > 1 {
				fmt.Fprintf(&sb, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"></polyline>`, color, strings.Join(seg, " "))
			}
			seg = seg[:0]
		}
		for j, p := range s.Points {
			switch {
			case math.IsNaN(p) && zeroGaps:
				seg = append(seg, fmt.Sprintf("%.1f,%.1f", x(j), y(0)))
			case math.IsNaN(p):
				flush()
			default:
				seg = append(seg, fmt.Sprintf("%.1f,%.1f", x(j), y(p)))
				fmt.Fprintf(&sb, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"></circle>`, x(j), y(p), color)
			}
		}
		flush()
		lx, ly := padL+(i%3)*170, h+30+(i/3)*18
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="12" height="12" fill="%s"></rect><text x="%d" y="%d" fill="#222" font-size="12">%s</text>`,
			lx, ly-10, color, lx+16, ly, esc(s.Name))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every interpolated string above is escaped
}
