package orders

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// The order processing latency is observed once, on entering a final state, labelled with the
// order's channel from a closed set (unknown sources count as "other").
func TestOrderKPIsObserveFinalStates(t *testing.T) {
	metrics := telemetry.NewMetrics()
	m := metrics.Business
	k := orderKPIs{m: m}
	inst := func(source string) workflow.Instance {
		o, err := protojson.Marshal(&canonicalv1.Order{Id: "o1", Source: source})
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(orderData{Order: string(o)})
		if err != nil {
			t.Fatal(err)
		}
		return workflow.Instance{State: StateCapturing, Data: data, CreatedAt: time.Unix(0, 0)}
	}
	k.Transition(workflow.Transition{Instance: inst("web"), To: StateCompleted, At: time.Unix(90, 0)})
	k.Transition(workflow.Transition{Instance: inst("partner-42"), To: StateCancelled, At: time.Unix(30, 0)})
	k.Transition(workflow.Transition{Instance: inst("web"), To: StateInvoicing, At: time.Unix(60, 0)})
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "retailbridge_order_processing_seconds" {
			n = len(mf.GetMetric())
		}
	}
	if n != 2 {
		t.Errorf("%d series, want 2 (web completed, other cancelled)", n)
	}
	for _, c := range []struct {
		channel, outcome string
		sum              float64
	}{{"web", StateCompleted, 90}, {"other", StateCancelled, 30}} {
		var d dto.Metric
		if err := m.OrderProcessing.WithLabelValues(c.channel, c.outcome).(prometheus.Histogram).Write(&d); err != nil {
			t.Fatal(err)
		}
		if d.GetHistogram().GetSampleCount() != 1 || d.GetHistogram().GetSampleSum() != c.sum {
			t.Errorf("%s %s: %d observations summing %v s, want 1 of %v s", c.channel, c.outcome,
				d.GetHistogram().GetSampleCount(), d.GetHistogram().GetSampleSum(), c.sum)
		}
	}
}
