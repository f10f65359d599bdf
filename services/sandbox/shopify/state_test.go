package shopify_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

const restartOrderQuery = `query($id: ID!) { order(id: $id) {
  displayFinancialStatus
  lineItems(first: 10) { nodes { id currentQuantity } }
  fulfillments { fulfillmentLineItems(first: 10) { nodes { id } } }
  refunds { id }
  returns(first: 5) { nodes { id status } }
} }`

const restartRefund = `mutation($input: RefundInput!, $key: String!) { refundCreate(input: $input) @idempotent(key: $key) {
  refund { id } userErrors { field message } } }`

const restartReturn = `mutation($input: ReturnInput!) { returnCreate(returnInput: $input) {
  return { id } userErrors { field message } } }`

// TestRestartKeepsTheShop restarts the shop on the same state directory: the return and refund
// a mutation made, the @idempotent key (a retry returns the first refund rather than refunding
// the unit again, the double refund D17 found) and the id counter survive.
func TestRestartKeepsTheShop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := dataset().Scenario(demo.ScenarioEligible)
	gid := "gid://shopify/Order/" + o.ID
	first, err := shopify.Open(dataset(), shopify.Options{Now: (&clock{t: now}).Now, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	before := call(t, first, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid})
	line := path(before.body, "data", "order", "lineItems", "nodes", 1, "id").(string)
	fli := path(before.body, "data", "order", "fulfillments", 0, "fulfillmentLineItems", "nodes", 1, "id")
	ret := call(t, first, "2026-07", shopify.DefaultAccessToken, restartReturn, map[string]any{"input": map[string]any{
		"orderId": gid, "returnLineItems": []any{map[string]any{"fulfillmentLineItemId": fli, "quantity": 1}}}})
	input := refundInput(o, line, 1, formatMinor(o.Lines[1].UnitPriceMinor))
	refund := call(t, first, "2026-07", shopify.DefaultAccessToken, restartRefund, map[string]any{"input": input, "key": "rb-rf-1"})
	refundID := path(refund.body, "data", "refundCreate", "refund", "id")
	if refundID == nil || path(ret.body, "data", "returnCreate", "return", "id") == nil {
		t.Fatalf("mutations before the restart: %s / %s", ret.raw, refund.raw)
	}
	kept := call(t, first, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid}).body

	second, err := shopify.Open(dataset(), shopify.Options{Now: (&clock{t: now}).Now, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	after := call(t, second, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid}).body
	if diff := cmp.Diff(kept["data"], after["data"]); diff != "" {
		t.Errorf("order after restart (-before +after):\n%s", diff)
	}
	again := call(t, second, "2026-07", shopify.DefaultAccessToken, restartRefund, map[string]any{"input": input, "key": "rb-rf-1"})
	if got := path(again.body, "data", "refundCreate", "refund", "id"); got != refundID {
		t.Errorf("retried refundCreate after restart: refund %v; want the first, %v (%s)", got, refundID, again.raw)
	}
	if n := len(path(call(t, second, "2026-07", shopify.DefaultAccessToken, restartOrderQuery, map[string]any{"id": gid}).body,
		"data", "order", "refunds").([]any)); n != len(path(kept, "data", "order", "refunds").([]any)) {
		t.Errorf("refunds after the retry: %d; want no new one", n)
	}
	other := call(t, second, "2026-07", shopify.DefaultAccessToken, restartRefund, map[string]any{
		"input": refundInput(o, path(after, "data", "order", "lineItems", "nodes", 0, "id").(string), 1, "1.00"), "key": "rb-rf-2"})
	if id := path(other.body, "data", "refundCreate", "refund", "id"); id == nil || id == refundID {
		t.Errorf("new refund after restart: %v; want a new id after %v (%s)", id, refundID, other.raw)
	}
}
