package shopify_test

import (
	"testing"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

// TestReturnReasonLibrary looks reasons up by handle, creates a return line with
// returnReasonDefinitionId and reads the definition back (and the legacy enum through the
// deprecated field); an id outside the library is a NOT_FOUND user error.
func TestReturnReasonLibrary(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t, shopify.Options{})
	a := call(t, s, "2026-07", shopify.DefaultAccessToken,
		`query($h: [String!]) { returnReasonDefinitions(first: 5, handles: $h) { nodes { id handle deleted } } }`,
		map[string]any{"h": []string{"defective", "no-such-handle"}})
	nodes, _ := path(a.body, "data", "returnReasonDefinitions", "nodes").([]any)
	if len(nodes) != 1 || path(nodes[0], "handle") != "defective" {
		t.Fatalf("returnReasonDefinitions by handle: %s", a.raw)
	}
	reasonID := path(nodes[0], "id")

	o := dataset().Scenario(demo.ScenarioMultipleQuantity)
	fli := path(orderState(t, s, o.ID), "fulfillments", 0, "fulfillmentLineItems", "nodes", 0, "id")
	create := func(reason any) answer {
		return call(t, s, "2026-07", shopify.DefaultAccessToken, returnCreate, map[string]any{"input": map[string]any{
			"orderId": "gid://shopify/Order/" + o.ID, "returnLineItems": []any{map[string]any{
				"fulfillmentLineItemId": fli, "quantity": 1, "returnReasonDefinitionId": reason}}}})
	}
	if a := create("gid://shopify/ReturnReasonDefinition/999"); path(a.body, "data", "returnCreate", "userErrors", 0, "code") != "NOT_FOUND" {
		t.Errorf("unknown reason definition: %s", a.raw)
	}
	a = create(reasonID)
	id := path(a.body, "data", "returnCreate", "return", "id")
	if id == nil {
		t.Fatalf("returnCreate: %s", a.raw)
	}
	a = call(t, s, "2026-07", shopify.DefaultAccessToken, `query($id: ID!) { return(id: $id) { returnLineItems(first: 1) { nodes {
  ... on ReturnLineItem { returnReason returnReasonDefinition { handle } } } } } }`, map[string]any{"id": id})
	line := path(a.body, "data", "return", "returnLineItems", "nodes", 0)
	if path(line, "returnReasonDefinition", "handle") != "defective" || path(line, "returnReason") != "DEFECTIVE" {
		t.Errorf("line read back: %s", a.raw)
	}
}
