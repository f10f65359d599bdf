package gateway

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retailbridge/retailbridge/gateway/apidocs"
)

func findRefOp(t testing.TB, page refPage, method, path string) (string, refOp) {
	t.Helper()
	for _, tag := range page.Tags {
		for _, op := range tag.Ops {
			if op.Method == method && op.Path == path {
				return tag.Name, op
			}
		}
	}
	t.Fatalf("the reference lacks %s %s", method, path)
	return "", refOp{}
}

func TestReferenceFromServedDocument(t *testing.T) {
	t.Parallel()
	page, err := referenceModel(apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, tag := range page.Tags {
		tags = append(tags, tag.Name)
	}
	if want := []string{"Storefront", "Customer service", "Partner", "Identity", "Operations", "Webhooks"}; !cmp.Equal(tags, want) {
		t.Errorf("tags = %q, want %q", tags, want)
	}
	for _, tc := range []struct {
		name, method, path, tag string
		security                []refSecurity
		idempotent              bool
	}{
		{"partner creates a return", "POST", "/v1/partner/returns", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"returns:write"}}}, true},
		{"partner eligibility changes nothing", "POST", "/v1/partner/returns/eligibility", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"returns:read"}}}, false},
		{"partner cancels", "POST", "/v1/partner/returns/{return_id}:cancel", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"returns:write"}}}, true},
		{"partner stock", "GET", "/v1/partner/inventory/positions", "Partner",
			[]refSecurity{{Scheme: "partner", Scopes: []string{"inventory:read"}}}, false},
		{"storefront orders", "GET", "/v1/storefront/orders", "Storefront",
			[]refSecurity{{Scheme: "storefront"}}, false},
		{"support overrides a refund", "POST", "/v1/support/returns/{return_id}:override-refund", "Customer service",
			[]refSecurity{{Scheme: "support", Scopes: []string{"refunds:override"}}}, true},
		{"operators read the audit log", "GET", "/v1/operations/audit", "Operations",
			[]refSecurity{{Scheme: "support", Scopes: []string{"operator"}}}, false},
		{"token endpoint", "POST", "/oauth/token", "Identity",
			[]refSecurity{{Scheme: "partnerClient"}, {}}, false},
		{"webhooks are signed, not authorised", "POST", "/webhooks/{vendor}", "Webhooks", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag, op := findRefOp(t, page, tc.method, tc.path)
			if tag != tc.tag {
				t.Errorf("tag = %q, want %q", tag, tc.tag)
			}
			if diff := cmp.Diff(tc.security, op.Security, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("security (-want +got):\n%s", diff)
			}
			if op.Idempotent != tc.idempotent {
				t.Errorf("idempotent = %v, want %v", op.Idempotent, tc.idempotent)
			}
		})
	}
}

func TestReferencePageRenders(t *testing.T) {
	t.Parallel()
	b, err := buildReference(apidocs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		"<h2>Storefront</h2>", "<h2>Customer service</h2>", "<h2>Partner</h2>", "<h2>Identity</h2>", "<h2>Operations</h2>",
		"<code>/v1/storefront/returns/eligibility</code>", "CreateReturn starts the return-to-refund workflow",
		"<code>partner</code> with scope <code>returns:write</code>", "Idempotency-Key required.", "<code>/oauth/token</code>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestReferenceModel(t *testing.T) {
	t.Parallel()
	const doc = `{"openapi":"3.1.0","info":{"title":"T","version":"v1","description":"One **two** ` + "`three`" + `.\n\nFour."},
	"tags":[{"name":"A"}],
	"components":{"parameters":{"Key":{"name":"Idempotency-Key","in":"header","required":true,"schema":{"type":"string"}}}},
	"paths":{"/x":{"parameters":[],"post":{"tags":["A"],"summary":"S","parameters":[{"$ref":"#/components/parameters/Key"},
	  {"name":"n","in":"query","schema":{"type":["integer","null"]}},{"name":"l","in":"query","schema":{"type":"array","items":{"type":"string"}}}],
	  "security":[{"s":["a","b"]}]},
	  "get":{"summary":"untagged"}}}}`
	page, err := referenceModel([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := refPage{Title: "T", Version: "v1",
		Intro: []refText{{{Text: "One "}, {Text: "two", Strong: true}, {Text: " "}, {Text: "three", Code: true}, {Text: "."}}, {{Text: "Four."}}},
		Tags: []refTag{
			{Name: "A", Ops: []refOp{{Method: "POST", Path: "/x", Summary: "S", Idempotent: true,
				Security: []refSecurity{{Scheme: "s", Scopes: []string{"a", "b"}}},
				Params: []refParam{{Name: "Idempotency-Key", In: "header", Type: "string", Required: true},
					{Name: "n", In: "query", Type: "integer | null"}, {Name: "l", In: "query", Type: "string[]"}}}}},
			{Name: "Other", Ops: []refOp{{Method: "GET", Path: "/x", Summary: "untagged"}}},
		}}
	if diff := cmp.Diff(want, page, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("model (-want +got):\n%s", diff)
	}

	broken := strings.Replace(doc, "#/components/parameters/Key", "#/components/parameters/Missing", 1)
	if _, err := referenceModel([]byte(broken)); err == nil {
		t.Error("an unresolvable parameter reference was accepted")
	}
}
