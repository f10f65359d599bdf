package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// The business KPIs are counted where the facts happen: a return refunded end to end observes
// its authorisation turnaround, refund cycle and ERP postings; a wrong item counts an
// exception; a forged webhook counts a signature failure; the open-returns and DLQ gauges are
// exported at scrape time.
func TestBusinessKPIsAreRecorded(t *testing.T) {
	t.Parallel()
	h := newStackWith(t, withFastVendors(warehousesb.Outcomes{Resellable: 1}))
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioMultipleQuantity)
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns", tok, createReturn(o.ID, o.Lines[0].ID, 1), "Idempotency-Key", "kpi-1")
	if resp.Status != http.StatusOK {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	var r returnJSON
	resp.JSON(t, &r)
	h.waitState(t, tok, r.Return.ID, "refunded")

	forged := h.do(t, http.MethodPost, "/webhooks/stripe", "", map[string]any{"id": "evt_forged"}, "Stripe-Signature", "t=1,v1=00")
	if forged.Status != http.StatusUnauthorized {
		t.Fatalf("forged webhook: %d %s, want 401", forged.Status, forged.Body)
	}

	testkit.Eventually(t, 10*time.Second, "KPIs recorded", func() bool {
		return sampleCount(t, h, "retailbridge_refund_cycle_seconds", "channel=mail,outcome=refunded") == 1
	})
	for _, c := range []struct{ name, labels string }{
		{"retailbridge_return_authorisation_seconds", "channel=mail,outcome=authorised"},
		{"retailbridge_erp_postings_total", "document=return_authorisation,outcome=ok"},
		{"retailbridge_erp_postings_total", "document=credit_memo,outcome=ok"},
		{"retailbridge_erp_postings_total", "document=item_receipt,outcome=ok"},
		{"retailbridge_webhook_signature_failures_total", "vendor=stripe"},
	} {
		if got := sampleCount(t, h, c.name, c.labels); got != 1 {
			t.Errorf("%s{%s} = %v, want 1", c.name, c.labels, got)
		}
	}
	// Bounded cardinality: no label of a business series carries an id.
	for _, mf := range gather(t, h) {
		if !strings.HasPrefix(mf.GetName(), "retailbridge_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), r.Return.ID) || strings.Contains(l.GetValue(), o.ID) {
					t.Errorf("%s label %s=%q carries an id", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	if page := h.do(t, http.MethodGet, "/metrics", "", nil); !strings.Contains(string(page.Body), `retailbridge_refund_cycle_seconds_bucket{channel="mail",outcome="refunded"`) {
		t.Errorf("/metrics does not serve the refund cycle histogram")
	}
}

func gather(t testing.TB, h *harness) []*dto.MetricFamily {
	t.Helper()
	mfs, err := h.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// sampleCount is a counter's value or a histogram's observation count for the series whose
// labels are exactly labels ("k=v,k=v"); 0 when there is none.
func sampleCount(t testing.TB, h *harness, name, labels string) float64 {
	t.Helper()
	for _, mf := range gather(t, h) {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(got, ",") != labels {
				continue
			}
			if m.GetHistogram() != nil {
				return float64(m.GetHistogram().GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
