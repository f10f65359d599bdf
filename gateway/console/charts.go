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

func human(seconds float64) string {
	return (time.Duration(seconds * float64(time.Second))).Round(time.Millisecond).String()
}

func countBars(m map[string]float64) []bar {
	var out []bar
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, bar{Label: k, Value: m[k], Text: fmt.Sprintf("%.0f", m[k])})
	}
	return out
}

func prefixed(p string, m map[string]float64) []bar {
	bs := countBars(m)
	for i := range bs {
		bs[i].Label = p + bs[i].Label
	}
	return bs
}
