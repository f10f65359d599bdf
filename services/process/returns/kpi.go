package returns

import (
	"encoding/json"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// kpis turns the return workflow's committed transitions and step outcomes into the business
// KPIs (pkg/telemetry Business). The channel label is the return method (mail, in_store): the
// way the parcel comes back, a closed set, unlike the tenant or the customer.
type kpis struct{ m *telemetry.Business }

// erpDocuments names what each ERP-bound step posts.
var erpDocuments = map[string]string{
	StateRequested:      "return_authorisation",
	StateDispositioning: "inventory_adjustment",
	StateReceivingERP:   "item_receipt",
	StateCrediting:      "credit_memo",
}

func channelOf(inst workflow.Instance) string {
	var d struct {
		Method string `json:"method"`
	}
	_ = json.Unmarshal(inst.Data, &d)
	switch d.Method {
	case "mail", "in_store":
		return d.Method
	}
	return "unknown"
}

// Transition records the authorisation turnaround (leaving "requested"), the refund cycle
// (reaching "refunded") and every entry into a state for people.
func (k kpis) Transition(t workflow.Transition) {
	ch, from, since := channelOf(t.Instance), t.Instance.State, t.At.Sub(t.Instance.CreatedAt).Seconds()
	switch {
	case from == StateRequested && t.To == StateRegistering:
		k.m.ReturnAuthorisation.WithLabelValues(ch, "authorised").Observe(since)
	case from == StateRequested && (t.To == StateFailed || t.To == "compensating"):
		k.m.ReturnAuthorisation.WithLabelValues(ch, "failed").Observe(since)
	}
	switch t.To {
	case StateRefunded:
		outcome := "refunded"
		var d returnData
		if json.Unmarshal(t.Instance.Data, &d) == nil && d.SettledOutside {
			outcome = "settled_outside"
		}
		k.m.RefundCycle.WithLabelValues(ch, outcome).Observe(since)
	case StateException, StateFailed:
		k.m.Exceptions.WithLabelValues(ch, t.To).Inc()
	}
}

// StepOutcome counts ERP postings and failed step attempts.
func (k kpis) StepOutcome(o workflow.StepOutcome) {
	if doc, ok := erpDocuments[o.Step]; ok && o.System == "erp" {
		k.m.ERPPostings.WithLabelValues(doc, o.Outcome).Inc()
	}
	if o.Outcome != "ok" {
		k.m.StepFailures.WithLabelValues(Kind, o.Step, o.Outcome).Inc()
	}
}

// observer is the workflow observer for deps' metrics (nil without metrics); it also registers
// the open-returns collector, once per registry.
func observer(deps Deps) workflow.Observer {
	if deps.Metrics == nil {
		return nil
	}
	err := deps.Metrics.Registry.Register(workflow.NewCollector(deps.DB, Kind, deps.Now))
	if err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		deps.Logger.Warn("open-returns metrics not registered", "error", err.Error())
	}
	return kpis{m: deps.Metrics.Business}
}
