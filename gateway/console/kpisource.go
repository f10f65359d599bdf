package console

import (
	"context"
	"net/http"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/events"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// kpiRange is one window the KPI page offers, with the bucket width it is drawn in.
type kpiRange struct {
	Key, Label string
	Span       time.Duration
	Interval   canonicalv1.KpiInterval
}

var kpiRanges = []kpiRange{
	{"24h", "Last 24 hours, by hour", 24 * time.Hour, canonicalv1.KpiInterval_KPI_INTERVAL_HOUR},
	{"7d", "Last 7 days, by hour", 7 * 24 * time.Hour, canonicalv1.KpiInterval_KPI_INTERVAL_HOUR},
	{"30d", "Last 30 days, by day", 30 * 24 * time.Hour, canonicalv1.KpiInterval_KPI_INTERVAL_DAY},
	{"90d", "Last 90 days, by day", 90 * 24 * time.Hour, canonicalv1.KpiInterval_KPI_INTERVAL_DAY},
}

// kpiWindow is the page's window: buckets of Width from Since to Until (exclusive), the last
// holding now.
type kpiWindow struct {
	Range        kpiRange
	Since, Until time.Time
	Width        time.Duration
}

func windowFor(key string, now time.Time) kpiWindow {
	r := kpiRanges[1]
	for _, c := range kpiRanges {
		if c.Key == key {
			r = c
		}
	}
	w := kpiWindow{Range: r, Width: time.Hour}
	if r.Interval == canonicalv1.KpiInterval_KPI_INTERVAL_DAY {
		w.Width = 24 * time.Hour
	}
	w.Until = now.UTC().Truncate(w.Width).Add(w.Width)
	w.Since = w.Until.Add(-r.Span)
	return w
}

// buckets are the starts of every bucket of the window.
func (w kpiWindow) buckets() []time.Time {
	var out []time.Time
	for t := w.Since; t.Before(w.Until); t = t.Add(w.Width) {
		out = append(out, t)
	}
	return out
}

// sourced is a KPI point with the process that computed it.
type sourced struct {
	*canonicalv1.KpiPoint
	Source string // orders, returns, inventory, dead letters
}

// kpiPoints gathers the KPI points of the window from every process service's stored records
// and the dead letters' replay audit. A source that fails is named in the notes; the others
// still draw.
func (c *Console) kpiPoints(r *http.Request, w kpiWindow) ([]sourced, []string) {
	ctx := r.Context()
	since, until := timestamppb.New(w.Since), timestamppb.New(w.Until)
	var out []sourced
	var notes []string
	add := func(source string, ps []*canonicalv1.KpiPoint, err error) {
		if err != nil {
			notes = append(notes, "The "+source+" figures could not be read: "+err.Error())
		}
		for _, p := range ps {
			out = append(out, sourced{p, source})
		}
	}
	if c.deps.OrderInsight != nil {
		resp, err := c.deps.OrderInsight.GetOrderKpis(ctx, &ordersv1.GetOrderKpisRequest{Since: since, Until: until, Interval: w.Range.Interval})
		add("orders", resp.GetPoints(), err)
	}
	if c.deps.ReturnInsight != nil {
		resp, err := c.deps.ReturnInsight.GetReturnKpis(ctx, &returnsv1.GetReturnKpisRequest{Since: since, Until: until, Interval: w.Range.Interval})
		add("returns", resp.GetPoints(), err)
	}
	if c.deps.InventoryInsight != nil {
		resp, err := c.deps.InventoryInsight.GetInventoryKpis(ctx, &inventoryv1.GetInventoryKpisRequest{Since: since, Until: until, Interval: w.Range.Interval})
		add("inventory", resp.GetPoints(), err)
	}
	if c.deps.DeadLetters != nil {
		ps, err := c.deadLetterPoints(ctx, w)
		add("dead letters", ps, err)
	}
	return out, notes
}

// maxKPILetters bounds the dead letters one KPI window reads (each is one read of the stream).
const maxKPILetters = 10_000

// deadLetterPoints counts, per bucket and consumer, the dead letters that arrived and the real
// replays made (ok: published, or already published), from the stream and the replay audit.
func (c *Console) deadLetterPoints(ctx context.Context, w kpiWindow) ([]*canonicalv1.KpiPoint, error) {
	// From the window's start (not the stream's oldest letter), at most maxKPILetters of them.
	letters, err := c.deps.DeadLetters.List(ctx, events.ListOptions{Since: w.Since, Limit: maxKPILetters})
	if err != nil {
		return nil, err
	}
	replays, err := c.deps.DeadLetters.ReplaysBetween(ctx, w.Since, w.Until, 100_000)
	if err != nil {
		return nil, err
	}
	acc := map[[3]string]*canonicalv1.KpiPoint{}
	count := func(kpi string, at time.Time, consumer string, ok bool) {
		if at.Before(w.Since) || !at.Before(w.Until) {
			return
		}
		b := at.UTC().Truncate(w.Width)
		k := [3]string{kpi, b.Format(time.RFC3339), consumer}
		if acc[k] == nil {
			acc[k] = &canonicalv1.KpiPoint{Kpi: kpi, BucketStart: timestamppb.New(b), Channel: consumer}
		}
		acc[k].Count++
		if ok {
			acc[k].Ok++
		}
	}
	for _, d := range letters {
		count("dead_letters", d.DeadAt, d.Consumer, false)
	}
	for _, rp := range replays {
		if !rp.DryRun {
			count("dlq_replays", rp.At, rp.Consumer, rp.Outcome == events.OutcomePublished || rp.Outcome == events.OutcomeDuplicate)
		}
	}
	out := make([]*canonicalv1.KpiPoint, 0, len(acc))
	for _, p := range acc {
		out = append(out, p)
	}
	return out, nil
}
