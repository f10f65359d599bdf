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

// bar is one labelled value of a chart.
type bar struct {
	Label string
	Value float64
	Text  string
}

// palette passes WCAG AA contrast (≥ 3:1 for graphics) on white.
var palette = []string{"#1f5fa8", "#b3451b", "#2e7d32", "#6a3d9a", "#8a6d00"}

func esc(s string) string { return template.HTMLEscapeString(s) }

// barSVG draws horizontal bars, server-side; the <title> and <desc> name the chart for
// assistive technology, and the page shows the same data as a table.
func barSVG(id, title string, bars []bar) template.HTML {
	const w, rowH, labelW = 560, 28, 150
	h := max(len(bars), 1)*rowH + 10
	maxV := 0.0
	for _, b := range bars {
		maxV = math.Max(maxV, b.Value)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="%s-t %s-d" viewBox="0 0 %d %d" width="%d" height="%d">`,
		esc(id), esc(id), w, h, w, h)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title><desc id="%s-d">%d values; the table below lists them.</desc>`, esc(id), esc(title), esc(id), len(bars))
	if len(bars) == 0 {
		fmt.Fprintf(&sb, `<text x="10" y="20" fill="#333">No data yet</text>`)
	}
	for i, b := range bars {
		y := 5 + i*rowH
		bw := 0.0
		if maxV > 0 {
			bw = b.Value / maxV * float64(w-labelW-190)
		}
		fmt.Fprintf(&sb, `<text x="0" y="%d" fill="#222" font-size="13">%s</text>`, y+17, esc(b.Label))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="20" fill="%s"></rect>`, labelW, y+3, math.Max(bw, 1), palette[i%len(palette)])
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" fill="#222" font-size="13">%s</text>`, float64(labelW)+math.Max(bw, 1)+6, y+17, esc(b.Text))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every interpolated string above is escaped
}

// series is a line over time.
type series struct {
	Name   string
	Points []float64
}

// lineSVG draws series over the sample window.
func lineSVG(id, title string, at []time.Time, ss []series) template.HTML {
	const w, h, pad = 560, 200, 30
	maxV := 1.0
	for _, s := range ss {
		for _, p := range s.Points {
			maxV = math.Max(maxV, p)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="%s-t %s-d" viewBox="0 0 %d %d" width="%d" height="%d">`,
		esc(id), esc(id), w, h+40, w, h+40)
	fmt.Fprintf(&sb, `<title id="%s-t">%s</title><desc id="%s-d">%d samples; the table below lists the totals.</desc>`, esc(id), esc(title), esc(id), len(at))
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555"></line>`, pad, h, w-10, h)
	fmt.Fprintf(&sb, `<text x="0" y="14" fill="#222" font-size="12">%.0f</text><text x="0" y="%d" fill="#222" font-size="12">0</text>`, maxV, h)
	for i, s := range ss {
		var pts []string
		for j, p := range s.Points {
			x := float64(pad)
			if len(s.Points) > 1 {
				x += float64(j) / float64(len(s.Points)-1) * float64(w-pad-10)
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, float64(h)-p/maxV*float64(h-20)))
		}
		color := palette[i%len(palette)]
		fmt.Fprintf(&sb, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"></polyline>`, color, strings.Join(pts, " "))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="12" height="12" fill="%s"></rect><text x="%d" y="%d" fill="#222" font-size="12">%s</text>`,
			pad+i*180, h+16, color, pad+i*180+16, h+27, esc(s.Name))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every interpolated string above is escaped
}

func human(seconds float64) string {
	return (time.Duration(seconds * float64(time.Second))).Round(time.Millisecond).String()
}

// meanBars are the mean of sum/n by key.
func meanBars(n, sum map[string]float64) []bar {
	var out []bar
	for _, k := range slices.Sorted(maps.Keys(n)) {
		if n[k] > 0 {
			m := sum[k] / n[k]
			out = append(out, bar{Label: k, Value: m, Text: fmt.Sprintf("mean %s over %.0f", human(m), n[k])})
		}
	}
	return out
}

func countBars(m map[string]float64) []bar {
	var out []bar
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, bar{Label: k, Value: m[k], Text: fmt.Sprintf("%.0f", m[k])})
	}
	return out
}

// charts are the KPI page's charts.
func charts(now snapshot, hist []snapshot) []chart {
	erp := countBars(now.ERP)
	total := now.ERP["ok"] + now.ERP["retry"] + now.ERP["failed"]
	erpAbout := "No ERP postings yet."
	if total > 0 {
		erpAbout = fmt.Sprintf("Success rate %.1f%% of %.0f postings.", 100*now.ERP["ok"]/total, total)
	}
	replays := countBars(now.Replays)
	replays = append(replays, bar{Label: "DLQ depth", Value: now.DLQDepth, Text: fmt.Sprintf("%.0f", now.DLQDepth)})
	out := []chart{
		{ID: "refund-cycle", Title: "Refund cycle time by channel", About: "From the return's request to the refund recorded everywhere.", Rows: meanBars(now.RefundN, now.RefundSum)},
		{ID: "authorisation", Title: "Return authorisation turnaround by channel", About: "From the request to the RMA in the ERP.", Rows: meanBars(now.AuthN, now.AuthSum)},
		{ID: "order-processing", Title: "Order processing latency by channel and outcome", About: "From the order's arrival to completed (invoiced and captured), cancelled or failed.", Rows: meanBars(now.OrderN, now.OrderSum)},
		{ID: "inventory-lag", Title: "Inventory update lag by cause", About: "From a stock movement at its source to the ledger.", Rows: meanBars(now.LagN, now.LagSum)},
		{ID: "erp", Title: "ERP postings by outcome", About: erpAbout, Rows: erp},
		{ID: "exceptions", Title: "Exceptions by channel", About: "Returns that entered a state for people.", Rows: countBars(now.Exceptions)},
		{ID: "replays", Title: "Dead-letter replays by outcome, and DLQ depth", About: "Real replays (dry runs excluded).", Rows: replays},
		{ID: "vendors", Title: "Vendor throttling and webhook signature failures", Rows: append(prefixed("throttled ", now.Throttled), prefixed("bad signature ", now.BadSignatures)...)},
	}
	for i := range out {
		out[i].SVG = barSVG(out[i].ID, out[i].Title, out[i].Rows)
	}
	over := chart{ID: "over-time", Title: "Over time: refunds completed, exceptions and ERP posting failures (cumulative)",
		About: fmt.Sprintf("%d samples.", len(hist))}
	var at []time.Time
	ss := []series{{Name: "refunds completed"}, {Name: "exceptions"}, {Name: "ERP retries and failures"}}
	for _, h := range hist {
		at = append(at, h.At)
		ss[0].Points = append(ss[0].Points, sum(h.RefundN))
		ss[1].Points = append(ss[1].Points, sum(h.Exceptions))
		ss[2].Points = append(ss[2].Points, h.ERP["retry"]+h.ERP["failed"])
	}
	over.SVG = lineSVG(over.ID, over.Title, at, ss)
	for _, s := range ss {
		v := 0.0
		if len(s.Points) > 0 {
			v = s.Points[len(s.Points)-1]
		}
		over.Rows = append(over.Rows, bar{Label: s.Name, Value: v, Text: fmt.Sprintf("%.0f", v)})
	}
	return append(out, over)
}

func prefixed(p string, m map[string]float64) []bar {
	bs := countBars(m)
	for i := range bs {
		bs[i].Label = p + bs[i].Label
	}
	return bs
}

func sum(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}
