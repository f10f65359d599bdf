package console

import (
	"strings"
	"testing"
	"time"
)

// Charts are built as trusted HTML, so every string drawn in them must be escaped: a label
// from the metrics (a vendor or channel name) can never inject markup.
func TestChartsEscapeWhatTheyDraw(t *testing.T) {
	t.Parallel()
	evil := `<script>alert(1)</script>"`
	for name, svg := range map[string]string{
		"bars": string(barSVG(`x"y`, evil, []bar{{Label: evil, Value: 3, Text: evil}})),
		"line": string(lineSVG(`x"y`, evil, []time.Time{time.Now()}, []series{{Name: evil, Points: []float64{1}}})),
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
