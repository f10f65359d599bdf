package stripe

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

func TestRefundControl(t *testing.T) {
	t.Parallel()
	sb, ds := newSandbox(t, Options{})
	o := ds.Scenario(demo.ScenarioEligible)
	id := call(t, sb, "POST", "/v1/refunds", refundForm(ChargeID(o.ID), "500"), key("rc1")).body["id"].(string)
	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"a succeeded refund fails later", refundControlPath + id, `{"status":"failed"}`, 200},
		{"failed is final", refundControlPath + id, `{"status":"succeeded"}`, 409},
		{"unknown status", refundControlPath + id, `{"status":"refunded"}`, 400},
		{"unknown refund", refundControlPath + "re_nope", `{"status":"failed"}`, 404},
		{"no id", refundControlPath, `{"status":"failed"}`, 404},
	} {
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body)))
		if w.Code != tc.want {
			t.Errorf("%s: %d %s; want %d", tc.name, w.Code, w.Body, tc.want)
		}
	}
	if r := call(t, sb, "GET", "/v1/refunds/"+id, nil, nil); r.body["status"] != StatusFailed {
		t.Errorf("refund after the control call = %s; want failed", r.raw)
	}
}
