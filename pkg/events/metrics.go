package events

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// DepthCollector exports, at scrape time, how many dead letters each consumer has in the
// dead-letter stream (retailbridge_dlq_depth{consumer}). Consumer names are fixed by the code,
// so the label is bounded. DLQ-growth alerts are rules over this gauge.
type DepthCollector struct {
	js    jetstream.JetStream
	depth *prometheus.Desc
}

// NewDepthCollector returns the collector of js's dead-letter stream.
func NewDepthCollector(js jetstream.JetStream) *DepthCollector {
	return &DepthCollector{js: js, depth: prometheus.NewDesc("retailbridge_dlq_depth",
		"Dead letters held in the dead-letter stream, by consumer.", []string{"consumer"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *DepthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth }

// Collect implements prometheus.Collector. No stream yet means nothing was ever dead-lettered:
// no samples.
func (c *DepthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.js.Stream(ctx, DeadLetterStream)
	if err != nil {
		return
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(SubjectPrefix+deadLetterDomain+".>"))
	if err != nil {
		return
	}
	prefix := SubjectPrefix + deadLetterDomain + "."
	for subject, n := range info.State.Subjects {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), strings.TrimPrefix(subject, prefix))
	}
}

// ObserveReplays makes every replay (dry runs included) call f with the dead letter's consumer,
// the outcome and whether it was a dry run; for metrics.
func (d *DeadLetters) ObserveReplays(f func(consumer, outcome string, dryRun bool)) { d.observe = f }
