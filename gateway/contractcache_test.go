package gateway

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
)

// A request the document allowed before is allowed again without the schema walk, and nothing
// else changes: every request answers as a fresh check does (the same fields named, or none),
// whatever was remembered before it, and its body is still there for the handler.
func TestRememberedChecksAnswerAsFreshOnes(t *testing.T) {
	t.Parallel()
	c, err := newContract(context.Background(), apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *contract {
		f, err := newContract(context.Background(), apidocs.OpenAPI)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}()
	const eligibility = "/v1/storefront/returns/eligibility"
	reqs := []struct{ method, target, body, ctype string }{
		{"POST", eligibility, `{"order_id":"5100001"}`, "application/json"},
		{"POST", eligibility, `{"order_id":"5100001","colour":"red"}`, "application/json"},
		{"POST", eligibility, `{"order_id":"5100001"}`, "text/plain"},
		{"POST", eligibility, `{"order_id":5100001}`, "application/json"},
		{"GET", "/v1/storefront/orders?page_size=10", ``, ""},
		{"GET", "/v1/storefront/orders?page_size=1000", ``, ""},
		{"GET", "/v1/storefront/orders?page_size=abc", ``, ""},
		{"GET", "/v1/partner/inventory/availability?skus=A&skus=B", ``, ""},
		{"GET", "/v1/partner/inventory/availability", ``, ""},
	}
	check := func(c *contract, method, target, body, ctype string) ([]string, string) {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		route, params, err := c.router.FindRoute(r)
		if err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, v := range c.check(r, route, params) {
			fields = append(fields, v.Field+": "+v.Description)
		}
		rest, _ := io.ReadAll(r.Body)
		return fields, string(rest)
	}
	for round := range 3 { // rounds 2 and 3 meet what round 1 remembered
		for _, q := range reqs {
			got, body := check(c, q.method, q.target, q.body, q.ctype)
			fresh.passed = passedChecks{} // always a fresh check
			want, _ := check(fresh, q.method, q.target, q.body, q.ctype)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round %d, %s %s %s: (-fresh +remembered)\n%s", round, q.method, q.target, q.body, diff)
			}
			if body != q.body {
				t.Errorf("round %d, %s %s: the handler would read %q, want %q", round, q.method, q.target, body, q.body)
			}
		}
	}
	if n := len(c.passed.seen); n != 3 {
		t.Errorf("%d allowed requests remembered, want 3 (the three the document allows)", n)
	}
}
