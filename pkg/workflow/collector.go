package workflow

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// Collector exports, at scrape time, how many instances of one kind wait in each non-terminal
// state and how long the oldest has been there. SLA and stuck-workflow alerts are rules over
// these two gauges; the labels are the kind and the state (a closed set per definition).
type Collector struct {
	db      *store.DB
	kind    string
	now     func() time.Time
	open    *prometheus.Desc
	oldest  *prometheus.Desc
	timeout time.Duration
}

// NewCollector returns the collector of kind's instances in db; now is the clock.
func NewCollector(db *store.DB, kind string, now func() time.Time) *Collector {
	if now == nil {
		now = time.Now
	}
	return &Collector{db: db, kind: kind, now: now, timeout: 2 * time.Second,
		open: prometheus.NewDesc("retailbridge_workflows_open", "Non-terminal workflow instances by kind and state.",
			[]string{"kind", "state"}, nil),
		oldest: prometheus.NewDesc("retailbridge_workflow_oldest_seconds", "Age in its state of the oldest instance by kind and state.",
			[]string{"kind", "state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.open; ch <- c.oldest }

// Collect implements prometheus.Collector. A database that cannot answer within the timeout
// yields no samples (the scrape still succeeds; an absent series is what alerts see).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	rows, err := c.db.Query(ctx, `SELECT state, state_since FROM rb_workflows WHERE kind = $1 AND terminal = $2`, c.kind, false)
	if err != nil {
		return
	}
	defer rows.Close()
	count, oldest := map[string]int{}, map[string]time.Time{}
	for rows.Next() {
		var state string
		var since time.Time
		if rows.Scan(&state, &since) != nil {
			return
		}
		count[state]++
		if o, ok := oldest[state]; !ok || since.Before(o) {
			oldest[state] = since
		}
	}
	if rows.Err() != nil {
		return
	}
	now := c.now()
	for state, n := range count {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(n), c.kind, state)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, now.Sub(oldest[state]).Seconds(), c.kind, state)
	}
}
