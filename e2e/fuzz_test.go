package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// The HTTP surface under fuzzing: one target per audience drives the gateway in-process, with
// the real process and system services, sandboxes and Redis behind it, with requests built from
// the fuzz input (method, path under the audience's prefix, query, body, a header value and the
// kind of token). Whatever arrives, the answer is never a 500, a 4xx is always a problem
// document with a request id, a 400 that refuses input names the field, and nothing carries a
// parser's words. `go test` runs the committed seed corpus (testdata/fuzz/<target>); `go test
// -fuzz=FuzzStorefront -fuzztime=60s ./e2e/` searches further.

func FuzzStorefront(f *testing.F) { fuzzAudience(f, "storefront") }

func FuzzSupport(f *testing.F) { fuzzAudience(f, "support") }

func FuzzPartner(f *testing.F) { fuzzAudience(f, "partner") }

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead}

// fuzzContentTypes are what the header byte picks between: JSON, none, and not JSON.
var fuzzContentTypes = []string{"application/json", "", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded"}

func fuzzAudience(f *testing.F, aud string) {
	h := newIdentityStack(f)
	good := map[string]string{}
	switch aud {
	case "storefront":
		good[aud] = h.token(f, demo.DemoCustomerID)
	case "support":
		good[aud] = h.supportToken(f, "agent-fuzz", "support:read support:write refunds:override")
	case "partner":
		good[aud] = h.clientToken(f, h.newClient(f, "acme", "orders:read", "returns:write", "inventory:read"), "").AccessToken
	}
	order := h.Demo.Scenario(demo.ScenarioEligible)
	for _, s := range fuzzSeeds(order.ID, order.Lines[0].ID) {
		f.Add(s.method, s.path, s.query, []byte(s.body), s.header, s.token)
	}
	f.Fuzz(func(t *testing.T, method uint8, path, query string, body []byte, header string, token uint8) {
		target := "/v1/" + aud + "/" + path
		if query != "" {
			target += "?" + query
		}
		// What net/http's server would refuse before any handler runs is not the gateway's to
		// answer: a request line it cannot parse, a header value it cannot carry.
		u, err := url.ParseRequestURI(target)
		if err != nil || strings.ContainsAny(target, " \r\n") || !validHeaderValue(header) {
			t.Skip()
		}
		r := httptest.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], "/", bytes.NewReader(body))
		r.URL, r.RequestURI = u, target
		if ct := fuzzContentTypes[int(token/4)%len(fuzzContentTypes)]; ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if header != "" {
			r.Header.Set("Idempotency-Key", header)
		}
		switch token % 4 {
		case 1:
			r.Header.Set("Authorization", "Bearer "+good[aud])
		case 2:
			// A validly signed token whose subject is the fuzz input.
			if aud == "storefront" {
				r.Header.Set("Authorization", "Bearer "+h.token(t, header))
			}
		case 3:
			r.Header.Set("Authorization", "Bearer "+header)
		}
		w := httptest.NewRecorder()
		h.Gateway.ServeHTTP(w, r)
		checkFuzzAnswer(t, r, w)
	})
}

// validHeaderValue is RFC 9110's field-value: no control characters but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// checkFuzzAnswer holds the answer to the rules of the HTTP surface.
func checkFuzzAnswer(t *testing.T, r *http.Request, w *httptest.ResponseRecorder) {
	body := w.Body.String()
	where := r.Method + " " + r.RequestURI
	if w.Code >= 500 && !(w.Code == http.StatusServiceUnavailable || w.Code == http.StatusGatewayTimeout) {
		t.Fatalf("%s → %d: %s", where, w.Code, body)
	}
	for _, frag := range decoderFragments {
		if strings.Contains(body, frag) {
			t.Fatalf("%s → %d carries decoder text %q: %s", where, w.Code, frag, body)
		}
	}
	if w.Code < 400 || r.Method == http.MethodHead {
		return
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s → %d with Content-Type %q: %s", where, w.Code, ct, body)
	}
	var p struct {
		Reason    string `json:"reason"`
		RequestID string `json:"request_id"`
		Retryable bool   `json:"retryable"`
		Errors    []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Reason == "" || p.RequestID == "" {
		t.Fatalf("%s → %d is not a complete problem: %s", where, w.Code, body)
	}
	if w.Code >= 500 && (!p.Retryable || w.Header().Get("Retry-After") == "") {
		t.Fatalf("%s → %d is a dependency failure that does not say when to retry: %s", where, w.Code, body)
	}
	if w.Header().Get("Retry-After") != "" && !p.Retryable {
		t.Fatalf("%s → %d sends Retry-After with retryable:false: %s", where, w.Code, body)
	}
	if p.Reason == "invalid_request" && len(p.Errors) == 0 {
		t.Fatalf("%s → %d refuses input without naming a field: %s", where, w.Code, body)
	}
}

type fuzzSeed struct {
	method            uint8
	path, query, body string
	header            string
	token             uint8
}

// fuzzSeeds are the bad-input classes of issue 8 and a few good requests to mutate from; the
// committed corpus under testdata/fuzz holds them too, with whatever fuzzing found.
func fuzzSeeds(orderID, lineID string) []fuzzSeed {
	create := `{"order_id":"` + orderID + `","method":"RETURN_METHOD_MAIL","lines":[{"order_line_id":"` + lineID + `","quantity":1,"reason":"RETURN_REASON_DEFECTIVE"}]}`
	return []fuzzSeed{
		{0, "orders", "page_size=2", "", "", 1},
		{0, "orders", "page_size=abc", "", "", 1},
		{0, "orders/" + orderID, "", "", "", 1},
		{0, "orders/%FF", "", "", "", 1},
		{0, "returns", "order_id=%FF&page_size=0", "", "", 1},
		{0, "inventory/availability", "skus=A&skus=B", "", "", 1},
		{1, "returns/eligibility", "", `{"order_id":"` + orderID + `"}`, "", 1},
		{1, "returns/eligibility", "", `{"order_id":"1","lines":[{"order_line_id":"l","quantity":"1"}]}`, "", 1},
		{1, "returns/eligibility", "", `{"order_id":`, "", 1},
		{1, "returns", "", create + ` x`, "fuzz-key-1", 1},
		{1, "returns", "", strings.Replace(create, `"RETURN_METHOD_MAIL"`, "1", 1), "fuzz-key-2", 1},
		{1, "returns/r-1:cancel", "", `{"note":"x"}`, "fuzz-key-3", 1},
		{0, "orders", "", "", "kunde-\u00fc", 2},
		{0, "orders", "", "", "not.a.jwt", 3},
		{1, "returns/eligibility", "", `{"order_id":"1"}`, "", 1 + 4*3},
	}
}
