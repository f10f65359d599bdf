package shopify

import (
	"fmt"
	"slices"
)

// operations are every document the connector sends. A test validates each against Shopify's
// published Admin schema, and finds every operation literal in the package's source in this
// list, so a document cannot reach Shopify unchecked.
var operations = []operation{getOrderOp, listOrdersOp, listOrderChangesOp, readyOp, returnContextOp, returnCreateOp,
	returnCloseOp, returnStatusOp, refundCreateOp, returnReasonsOp, fulfillmentContextOp, fulfillmentCreateOp,
	inventoryLevelOp, inventorySetOp, bulkRunOp, bulkNodeOp, bulkRunningOp, variantsOp}

// operation is one GraphQL document the connector sends, with its static cost: the points
// Shopify will ask for it (requestedQueryCost), computed by Shopify's rules — objects 1,
// connections 2 + first × node, scalars 0. The budget uses it until Shopify has told us the real
// figure; a test keeps each constant equal to what the sandbox computes.
type operation struct {
	name  string
	query string
	cost  func(vars map[string]any) float64
}

// key identifies the operation's cost class: the same document with the same page sizes.
func (op operation) key(vars map[string]any) string {
	names := make([]string, 0, len(vars))
	for name, v := range vars {
		if _, ok := v.(int); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	k := op.name
	for _, name := range names {
		k += fmt.Sprintf("/%s=%d", name, vars[name])
	}
	return k
}

// orderSize is how much of an order one read fetches. Shopify charges connections by their page
// size, not by what they return, so most orders are read with regularOrder and only one that
// does not fit is read again with largeOrder. An order larger still is refused
// (vendor_order_too_large) rather than returned incomplete.
type orderSize struct {
	lines       int // line items, and the line items of each fulfilment and refund
	returns     int
	returnLines int // line items of each return
}

var (
	regularOrder = orderSize{lines: 25, returns: 5, returnLines: 10}
	largeOrder   = orderSize{lines: 90, returns: 5, returnLines: 20}
)

// Lists that are not connections (fulfillments, refunds) cost the same whatever their length.
const (
	maxFulfillments = 20
	maxRefunds      = 20
)

func (s orderSize) vars(id string) map[string]any {
	return map[string]any{"id": "gid://shopify/Order/" + id, "lines": s.lines, "returns": s.returns, "returnLines": s.returnLines}
}

// cost is getOrderOp's requestedQueryCost for s, by Shopify's rules:
//
//	order 1 + customer 1 + defaultEmailAddress 1 + totalPriceSet 2 + shippingAddress 1 = 6
//	+ lineItems 2 + lines × (line 1 + discountedUnitPriceSet 2)
//	+ fulfillments 1 + fulfillmentLineItems (2 + lines × (1 + lineItem 1))
//	+ fulfillmentOrders 2 + 5 × (1 + deliveryMethod 1 + assignedLocation 1 + location 1) = 22
//	+ transactions 1 (a list of objects with scalar fields)
//	+ refunds 1 + refundLineItems (2 + lines × 2)
//	+ returns 2 + returns × (1 + returnLineItems (2 + returnLines × (1 + fulfillmentLineItem 1 + lineItem 1)))
func (s orderSize) cost() float64 {
	return float64(6 + (2 + 3*s.lines) + (3 + 2*s.lines) + 22 + 1 + (3 + 2*s.lines) + (2 + s.returns*(3+3*s.returnLines)))
}

// GetOrderCost is what reading a regular order asks of Shopify's bucket, in points.
var GetOrderCost = regularOrder.cost()

var getOrderOp = operation{
	name: "GetOrder",
	cost: func(vars map[string]any) float64 {
		s := orderSize{}
		s.lines, _ = vars["lines"].(int)
		s.returns, _ = vars["returns"].(int)
		s.returnLines, _ = vars["returnLines"].(int)
		return s.cost()
	},
	query: `query GetOrder($id: ID!, $lines: Int!, $returns: Int!, $returnLines: Int!) {
  order(id: $id) {
    id
    name
    createdAt
    updatedAt
    processedAt
    cancelledAt
    sourceName
    displayFinancialStatus
    displayFulfillmentStatus
    customer { id defaultEmailAddress { emailAddress } }
    totalPriceSet { shopMoney { amount currencyCode } }
    shippingAddress { name address1 address2 city provinceCode zip countryCodeV2 phone }
    lineItems(first: $lines) {
      nodes {
        id
        sku
        title
        quantity
        currentQuantity
        isGiftCard
        requiresShipping
        discountedUnitPriceSet { shopMoney { amount currencyCode } }
      }
      pageInfo { hasNextPage }
    }
    fulfillments(first: 20) {
      id
      status
      displayStatus
      createdAt
      inTransitAt
      deliveredAt
      fulfillmentLineItems(first: $lines) {
        nodes { quantity lineItem { id } }
        pageInfo { hasNextPage }
      }
    }
    fulfillmentOrders(first: 5) {
      nodes {
        status
        deliveryMethod { methodType }
        assignedLocation { location { id name } }
      }
      pageInfo { hasNextPage }
    }
    transactions(first: 10) { kind status gateway paymentId }
    refunds(first: 20) {
      id
      createdAt
      refundLineItems(first: $lines) {
        nodes { quantity lineItem { id } }
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
            ... on ReturnLineItem { fulfillmentLineItem { lineItem { id } } }
          }
          pageInfo { hasNextPage }
        }
      }
      pageInfo { hasNextPage }
    }
  }
}`,
}

// listOrdersOp pages through order ids only: a page of full orders would cost
// 2 + first × GetOrderCost, past Shopify's 1000-point single-query limit from three orders on.
var listOrdersOp = operation{
	name: "ListOrders",
	cost: func(vars map[string]any) float64 {
		n, _ := vars["first"].(int)
		return float64(2 + n)
	},
	query: `query ListOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}`,
}

// readyOp is the cheapest authenticated query there is (1 point).
var readyOp = operation{
	name:  "Ready",
	cost:  func(map[string]any) float64 { return 1 },
	query: `query Ready { shop { id } }`,
}
