package orders

import (
	"encoding/json"

	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// orderKPIs turns the order workflow's committed transitions into the order processing latency
// (pkg/telemetry Business.OrderProcessing): the time from an order's arrival to its final state.
type orderKPIs struct{ m *telemetry.Business }

// orderChannels are the sales channels the latency is labelled with; any other source counts
// as "other", so a partner naming new sources cannot grow the series.
var orderChannels = map[string]bool{"web": true, "pos": true, "iphone": true, "android": true, "edi": true}

// orderChannelOf is the order's sales channel, from the order the workflow holds.
func orderChannelOf(inst workflow.Instance) string {
	var d orderData
	if json.Unmarshal(inst.Data, &d) != nil {
		return "other"
	}
	o, err := d.order()
	if err != nil || !orderChannels[o.GetSource()] {
		return "other"
	}
	return o.GetSource()
}

// Transition observes the latency when an order reaches a final state: completed (invoiced and
// captured), cancelled, or failed_needs_attention.
func (k orderKPIs) Transition(t workflow.Transition) {
	switch t.To {
	case StateCompleted, StateCancelled, StateFailed:
		k.m.OrderProcessing.WithLabelValues(orderChannelOf(t.Instance), t.To).Observe(t.At.Sub(t.Instance.CreatedAt).Seconds())
	}
}

// StepOutcome counts failed step attempts of the order workflow.
func (k orderKPIs) StepOutcome(o workflow.StepOutcome) {
	if o.Outcome != "ok" {
		k.m.StepFailures.WithLabelValues(WorkflowKind, o.Step, o.Outcome).Inc()
	}
}
