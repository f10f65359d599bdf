package gateway

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
)

// The served document decides what a request may hold; these are the refusals the issue named
// (and their kin), each naming its field in plain words.
func TestRequestsAreCheckedAgainstTheDocument(t *testing.T) {
	t.Parallel()
	c, err := newContract(context.Background(), apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	const eligibility = "/v1/storefront/returns/eligibility"
	tests := []struct {
		name, method, target, body string
		want                       []string // fields named, in order; none = accepted
	}{
		{"eligibility, whole order", "POST", eligibility, `{"order_id":"5100001"}`, nil},
		{"eligibility, some lines", "POST", eligibility, `{"order_id":"5100001","lines":[{"order_line_id":"l1","quantity":1}]}`, nil},
		{"empty eligibility body", "POST", eligibility, ``, []string{"body"}},
		{"empty eligibility object", "POST", eligibility, `{}`, []string{"order_id"}},
		{"unknown field", "POST", eligibility, `{"order_id":"1","colour":"red"}`, []string{"colour"}},
		{"string for a number", "POST", eligibility, `{"order_id":"1","lines":[{"order_line_id":"l1","quantity":"1"}]}`, []string{"lines[0].quantity"}},
		{"content after the value", "POST", eligibility, `{"order_id":"1"} x`, []string{"body"}},
		{"two values", "POST", eligibility, `{"order_id":"1"}{}`, []string{"body"}},
		{"repeated member", "POST", eligibility, `{"order_id":"1","order_id":"2"}`, []string{"order_id"}},
		{"invalid UTF-8", "POST", eligibility, "{\"order_id\":\"\xff\"}", []string{"body"}},
		{"truncated", "POST", eligibility, `{"order_id":`, []string{"order_id"}},
		{"enum as a number", "POST", "/v1/storefront/returns",
			`{"order_id":"1","method":1,"lines":[{"order_line_id":"l1","quantity":1,"reason":"RETURN_REASON_DEFECTIVE"}]}`, []string{"method"}},
		{"missing lines", "POST", "/v1/storefront/returns", `{"order_id":"1","method":"RETURN_METHOD_MAIL"}`, []string{"lines"}},
		{"amount chosen by the caller", "POST", "/v1/storefront/returns",
			`{"order_id":"1","method":"RETURN_METHOD_MAIL","lines":[{"order_line_id":"l1","quantity":1,"reason":"RETURN_REASON_DEFECTIVE","refund_amount":{"currency_code":"USD","amount_minor":"1"}}]}`,
			[]string{"lines[0].refund_amount"}},
		{"page_size too large", "GET", "/v1/storefront/orders?page_size=1000", ``, []string{"page_size"}},
		{"page_size not a number", "GET", "/v1/storefront/orders?page_size=abc", ``, []string{"page_size"}},
		{"unknown query parameter", "GET", "/v1/storefront/orders?colour=red", ``, []string{"colour"}},
		{"support listing without a customer", "GET", "/v1/support/orders", ``, []string{"customer_id"}},
		{"availability without skus", "GET", "/v1/partner/inventory/availability", ``, []string{"skus"}},
		{"too many skus", "GET", "/v1/partner/inventory/availability?" + strings.Repeat("skus=A&", 101), ``, []string{"skus"}},
		{"null for a list", "POST", eligibility, `{"order_id":"1","lines":null}`, []string{"lines"}},
		{"number for a 64-bit integer", "POST", "/v1/support/returns/r1:override-refund", `{"amount":{"currency_code":"USD","amount_minor":5}}`, []string{"amount.amount_minor"}},
		{"a body without a media type", "POST", eligibility + "#no-type", `{"order_id":"1"}`, nil},
		{"availability", "GET", "/v1/partner/inventory/availability?skus=A&skus=B", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, noType := strings.CutSuffix(tt.target, "#no-type")
			r := httptest.NewRequest(tt.method, target, strings.NewReader(tt.body))
			if !noType {
				r.Header.Set("Content-Type", "application/json")
			}
			r.Header.Set("Idempotency-Key", "k")
			route, params, err := c.router.FindRoute(r)
			if err != nil {
				t.Fatal(err)
			}
			bad := c.check(r, route, params)
			var got []string
			for _, v := range bad {
				t.Logf("%s: %s", v.Field, v.Description)
				got = append(got, v.Field)
				for _, f := range decoderText {
					if strings.Contains(v.Description, f) {
						t.Errorf("description %q carries decoder text", v.Description)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields named (-want +got):\n%s\n%+v", diff, bad)
			}
		})
	}
}

// The cost validation adds to the eligibility hot path (PF-1), per request.
func BenchmarkContractCheckEligibility(b *testing.B) {
	c, err := newContract(context.Background(), apidocs.OpenAPI)
	if err != nil {
		b.Fatal(err)
	}
	body := `{"order_id":"5100001","lines":[{"order_line_id":"510000101","quantity":1}]}`
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/storefront/returns/eligibility", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		route, params, err := c.router.FindRoute(r)
		if err != nil {
			b.Fatal(err)
		}
		if bad := c.check(r, route, params); len(bad) > 0 {
			b.Fatal(bad)
		}
	}
}
