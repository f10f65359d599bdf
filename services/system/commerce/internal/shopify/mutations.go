package shopify

// The documents behind the connector's writes. Shopify charges a mutation 10 points whatever it
// selects, so every mutation's static cost is exact.

// mutationCost is what Shopify charges one mutation field.
const mutationCost = 10

func costOf(points float64) func(map[string]any) float64 {
	return func(map[string]any) float64 { return points }
}

// returnSize is how much of an order's fulfilments and returns returnContextOp reads.
var returnSize = struct{ lines, returns, returnLines int }{lines: 25, returns: 10, returnLines: 10}

func returnContextVars(id string) map[string]any {
	return map[string]any{"id": "gid://shopify/Order/" + id, "lines": returnSize.lines,
		"returns": returnSize.returns, "returnLines": returnSize.returnLines}
}

// returnContextOp reads what CreateReturn needs: the fulfilment line items each order line
// shipped in, and the order's returns with their notes (where earlier attempts left their
// marker). Cost by Shopify's rules:
//
//	order 1 + fulfillments 1 + fulfillmentLineItems (2 + lines × (1 + lineItem 1))
//	+ returns 2 + returns × (1 + returnLineItems (2 + returnLines × (1 + fulfillmentLineItem 1)))
var returnContextOp = operation{
	name: "ReturnContext",
	cost: func(vars map[string]any) float64 {
		l, _ := vars["lines"].(int)
		r, _ := vars["returns"].(int)
		rl, _ := vars["returnLines"].(int)
		return float64(1 + 1 + (2 + 2*l) + 2 + r*(1+2+2*rl))
	},
	query: `query ReturnContext($id: ID!, $lines: Int!, $returns: Int!, $returnLines: Int!) {
  order(id: $id) {
    id
    fulfillments(first: 20) {
      status
      fulfillmentLineItems(first: $lines) {
        nodes { id quantity lineItem { id } }
        pageInfo { hasNextPage }
      }
    }
    returns(first: $returns) {
      nodes {
        id
        status
        returnLineItems(first: $returnLines) {
          nodes {
            quantity
            returnReasonNote
            ... on ReturnLineItem { fulfillmentLineItem { id } }
          }
          pageInfo { hasNextPage }
        }
      }
      pageInfo { hasNextPage }
    }
  }
}`,
}

var returnCreateOp = operation{
	name: "ReturnCreate",
	cost: costOf(mutationCost),
	query: `mutation ReturnCreate($input: ReturnInput!) {
  returnCreate(returnInput: $input) {
    return { id status }
    userErrors { code field message }
  }
}`,
}

var returnCloseOp = operation{
	name: "ReturnClose",
	cost: costOf(mutationCost),
	query: `mutation ReturnClose($id: ID!) {
  returnClose(id: $id) {
    return { id status }
    userErrors { code field message }
  }
}`,
}

// returnStatusOp reads a return's status (1 point).
var returnStatusOp = operation{
	name:  "ReturnStatus",
	cost:  costOf(1),
	query: `query ReturnStatus($id: ID!) { return(id: $id) { id status } }`,
}

// refundCreateOp records a refund. The @idempotent key makes a repeat return the first refund
// instead of creating another; Shopify requires it from API version 2026-04. Its userErrors are
// the generic UserError, which has no code (Shopify's schema, unlike ReturnUserError): an
// idempotency conflict arrives as a top-level error whose extensions.code names it.
var refundCreateOp = operation{
	name: "RecordRefund",
	cost: costOf(mutationCost),
	query: `mutation RecordRefund($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id }
    userErrors { field message }
  }
}`,
}
