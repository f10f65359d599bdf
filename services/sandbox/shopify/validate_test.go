package shopify_test

import (
	"testing"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

// TestRefusesWhatShopifyRefuses sends documents Shopify's published schema refuses and expects
// Shopify's answer: 200, no data, an errors entry with graphql-ruby's code, and no cost charged.
func TestRefusesWhatShopifyRefuses(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	o := dataset().Scenario(demo.ScenarioEligible)
	order := "gid://shopify/Order/" + o.ID
	tests := []struct {
		name, version, query string
		vars                 map[string]any
		code, message        string
	}{
		{name: "UserError has no code (the connector's old RecordRefund)", version: "2026-07",
			query: `mutation RecordRefund($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) { refund { id } userErrors { code field message } } }`,
			vars: map[string]any{"key": "k", "input": map[string]any{"orderId": order}},
			code: "undefinedField", message: "Field 'code' doesn't exist on type 'UserError'"},
		{name: "unknown argument", version: "2026-07", query: `query { order(id: "` + order + `", name: "x") { id } }`,
			code: "argumentNotAccepted"},
		{name: "missing required argument", version: "2026-07", query: `query { order { id } }`,
			code: "missingRequiredArguments"},
		{name: "unknown type", version: "2026-04", query: `query($x: NoSuchInput!) { shop { id } }`,
			code: "undefinedType"},
		{name: "object without selection", version: "2026-10", query: `query { shop }`,
			code: "selectionMismatch"},
		{name: "unknown input field in variables", version: "2026-07",
			query: `mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) { refund { id } } }`,
			vars:  map[string]any{"key": "k", "input": map[string]any{"orderId": order, "notAField": 1}}},
		{name: "wrong enum value in variables", version: "2026-07",
			query: `mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) { refund { id } } }`,
			vars: map[string]any{"key": "k", "input": map[string]any{"orderId": order,
				"refundLineItems": []any{map[string]any{"lineItemId": "gid://shopify/LineItem/1", "quantity": 1, "restockType": "SOMETIMES"}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, s, tc.version, shopify.DefaultAccessToken, tc.query, tc.vars)
			if a.status != 200 || path(a.body, "data") != nil || path(a.body, "errors", 0, "message") == nil {
				t.Fatalf("got %d %s, want 200 with errors and no data", a.status, a.raw)
			}
			if got := path(a.body, "errors", 0, "extensions", "code"); tc.code != "" && got != tc.code {
				t.Errorf("extensions.code %v, want %s: %s", got, tc.code, a.raw)
			}
			if got := path(a.body, "errors", 0, "message"); tc.message != "" && got != tc.message {
				t.Errorf("message %q, want %q", got, tc.message)
			}
			if got := path(a.body, "extensions", "cost", "actualQueryCost"); got != 0.0 {
				t.Errorf("actualQueryCost %v, want 0", got)
			}
		})
	}
	if got := s.Stats().Mutations; got != 0 {
		t.Errorf("%d mutations ran, want 0", got)
	}
}

// TestSandboxGapIsNotAShopifyRefusal sends a document Shopify accepts but the sandbox's subset does
// not serve: the answer says so instead of passing for Shopify's refusal.
func TestSandboxGapIsNotAShopifyRefusal(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	a := call(t, s, "2026-07", shopify.DefaultAccessToken, `query { shop { id email } }`, nil)
	if path(a.body, "errors", 0, "extensions", "code") != "SANDBOX_UNSUPPORTED" {
		t.Errorf("got %s, want SANDBOX_UNSUPPORTED", a.raw)
	}
}
