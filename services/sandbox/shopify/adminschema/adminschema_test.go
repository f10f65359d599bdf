package adminschema_test

import (
	"testing"

	"github.com/vektah/gqlparser/v2"

	"github.com/retailbridge/retailbridge/services/sandbox/shopify/adminschema"
)

func TestLoadEveryVersion(t *testing.T) {
	versions := adminschema.Versions()
	if len(versions) == 0 {
		t.Fatal("no vendored schema")
	}
	for _, v := range versions {
		s, err := adminschema.Load(v)
		if err != nil {
			t.Fatalf("Load(%s): %v", v, err)
		}
		// A few facts the SDL conversion must carry over from the introspection.
		if s.Query == nil || s.Query.Name != "QueryRoot" || s.Mutation == nil || s.Mutation.Name != "Mutation" {
			t.Errorf("%s: roots %v %v", v, s.Query, s.Mutation)
		}
		if s.Directives["idempotent"] == nil {
			t.Errorf("%s: no @idempotent directive", v)
		}
		if ue := s.Types["UserError"]; ue == nil || ue.Fields.ForName("code") != nil || ue.Fields.ForName("message") == nil {
			t.Errorf("%s: UserError is %v", v, ue)
		}
		t.Logf("%s: %d types", v, len(s.Types))
	}
}

func TestUnknownVersion(t *testing.T) {
	if _, err := adminschema.Load("2019-01"); err == nil {
		t.Fatal("Load(2019-01) gave no error")
	}
}

func TestValidationAndDeprecation(t *testing.T) {
	s, err := adminschema.Load("2026-07")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		query      string
		vars       map[string]any
		invalid    bool
		deprecated []string
	}{
		{name: "valid", query: `query { shop { id } }`},
		{name: "unknown field", query: `mutation($i: RefundInput!) { refundCreate(input: $i) { userErrors { code } } }`, invalid: true},
		{name: "deprecated field", query: `query { shop { fulfillmentOrders(first: 1) { nodes { id } } } }`,
			deprecated: []string{"Shop.fulfillmentOrders: Use `QueryRoot.fulfillmentOrders` instead."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(s, tc.query)
			if (len(errs) > 0) != tc.invalid {
				t.Fatalf("errors %v, want invalid=%v", errs, tc.invalid)
			}
			if tc.invalid {
				return
			}
			got, err := adminschema.Deprecated(s, doc, tc.vars)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.deprecated) || (len(got) > 0 && got[0] != tc.deprecated[0]) {
				t.Errorf("got %q, want %q", got, tc.deprecated)
			}
		})
	}
}
