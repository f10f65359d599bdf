package shopify

import (
	"context"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// fulfillmentSize is how much of an order fulfillmentContextOp reads.
var fulfillmentSize = struct{ orders, lines, fulfillments int }{orders: 5, lines: 50, fulfillments: 50}

// fulfillmentContextOp reads what CreateFulfillment needs: the order's fulfillment orders with
// their line items still to ship, and its fulfillments' tracking numbers (an earlier attempt's
// fulfillment is found by its tracking number). Cost by Shopify's rules:
//
//	order 1 + fulfillmentOrders (2 + orders × (1 + lineItems (2 + lines × (1 + lineItem 1))))
//	+ fulfillments (a list) 1 + trackingInfo (a list) 1
var fulfillmentContextOp = operation{
	name: "FulfillmentContext",
	cost: func(vars map[string]any) float64 {
		o, _ := vars["orders"].(int)
		l, _ := vars["lines"].(int)
		return float64(1 + (2 + o*(1+2+2*l)) + 2)
	},
	query: `query FulfillmentContext($id: ID!, $orders: Int!, $lines: Int!, $fulfillments: Int!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: $orders) {
      nodes {
        id
        status
        lineItems(first: $lines) {
          nodes { id remainingQuantity sku lineItem { id } }
        }
      }
    }
    fulfillments(first: $fulfillments) {
      id
      trackingInfo(first: 5) { number }
    }
  }
}`,
}

// fulfillmentCreateOp creates a fulfillment with tracking on the order's fulfillment orders and
// notifies the customer.
var fulfillmentCreateOp = operation{
	name: "FulfillmentCreate",
	cost: costOf(mutationCost),
	query: `mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}`,
}

// fulfillmentContext is what fulfillmentContextOp reads.
type fulfillmentContext struct {
	ID                string `json:"id"`
	FulfillmentOrders struct {
		Nodes []struct {
			ID        string `json:"id"`
			Status    string `json:"status"`
			LineItems struct {
				Nodes []struct {
					ID                string      `json:"id"`
					RemainingQuantity int32       `json:"remainingQuantity"`
					SKU               string      `json:"sku"`
					LineItem          lineItemRef `json:"lineItem"`
				} `json:"nodes"`
			} `json:"lineItems"`
		} `json:"nodes"`
	} `json:"fulfillmentOrders"`
	Fulfillments []struct {
		ID           string `json:"id"`
		TrackingInfo []struct {
			Number string `json:"number"`
		} `json:"trackingInfo"`
	} `json:"fulfillments"`
}

// foLineInput is FulfillmentOrderLineItemInput; foInput is FulfillmentOrderLineItemsInput.
type foLineInput struct {
	ID       string `json:"id"`
	Quantity int32  `json:"quantity"`
}

type foInput struct {
	FulfillmentOrderID        string        `json:"fulfillmentOrderId"`
	FulfillmentOrderLineItems []foLineInput `json:"fulfillmentOrderLineItems"`
}

// CreateFulfillment records a shipment on the order (fulfillmentCreate on its open fulfillment
// orders, with tracking, notifying the customer). The shipment's tracking number identifies it:
// a fulfillment already carrying it — an earlier attempt whose answer was lost — is returned.
func (c *Connector) CreateFulfillment(ctx context.Context, orderID string, sh *canonicalv1.Shipment, _ string) (string, error) {
	if !isNumeric(orderID) {
		return "", toError(ctx, failure{notFound: true, object: "order"})
	}
	var out struct {
		Order *fulfillmentContext `json:"order"`
	}
	vars := map[string]any{"id": "gid://shopify/Order/" + orderID, "orders": fulfillmentSize.orders,
		"lines": fulfillmentSize.lines, "fulfillments": fulfillmentSize.fulfillments}
	if err := c.do(ctx, fulfillmentContextOp, vars, &out); err != nil {
		return "", err
	}
	if out.Order == nil {
		return "", toError(ctx, failure{notFound: true, object: "order"})
	}
	for _, f := range out.Order.Fulfillments {
		for _, t := range f.TrackingInfo {
			if sh.GetTrackingNumber() != "" && t.Number == sh.GetTrackingNumber() {
				return numericIDOrFail(ctx, c, fulfillmentContextOp, f.ID)
			}
		}
	}
	input, err := fulfillmentInput(out.Order, sh)
	if err != nil {
		return "", err
	}
	return c.createFulfillment(ctx, input, sh)
}

// fulfillmentInput places each shipped line's units on the open fulfillment order line items of
// its order line (by line item id, or by SKU when the shipment names no line).
func fulfillmentInput(o *fulfillmentContext, sh *canonicalv1.Shipment) ([]foInput, error) {
	byFO := map[string]*foInput{}
	var order []string
	for i, l := range sh.GetLines() {
		left := l.GetQuantity()
		for _, fo := range o.FulfillmentOrders.Nodes {
			if fo.Status != "OPEN" && fo.Status != "IN_PROGRESS" {
				continue
			}
			for _, li := range fo.LineItems.Nodes {
				lineID, _ := numericID(li.LineItem.ID)
				match := lineID == l.GetOrderLineId() || (l.GetOrderLineId() == "" && li.SKU == l.GetSku())
				if left == 0 || !match || li.RemainingQuantity == 0 {
					continue
				}
				q := min(left, li.RemainingQuantity)
				if byFO[fo.ID] == nil {
					byFO[fo.ID] = &foInput{FulfillmentOrderID: fo.ID}
					order = append(order, fo.ID)
				}
				byFO[fo.ID].FulfillmentOrderLineItems = append(byFO[fo.ID].FulfillmentOrderLineItems, foLineInput{ID: li.ID, Quantity: q})
				left -= q
			}
		}
		if left > 0 {
			return nil, errs.E(errs.FailedPrecondition, "nothing_left_to_fulfill", "the order has fewer units left to fulfil than shipped").
				WithFields(errs.FieldViolation{Field: "shipment.lines[" + strconv.Itoa(i) + "]", Description: "more units than the order has open"})
		}
	}
	in := make([]foInput, 0, len(order))
	for _, id := range order {
		in = append(in, *byFO[id])
	}
	return in, nil
}

func (c *Connector) createFulfillment(ctx context.Context, input []foInput, sh *canonicalv1.Shipment) (string, error) {
	tracking := map[string]any{"number": sh.GetTrackingNumber()}
	if co := strings.TrimSpace(sh.GetCarrier()); co != "" {
		tracking["company"] = co
	}
	var out struct {
		FulfillmentCreate *struct {
			Fulfillment *struct {
				ID string `json:"id"`
			} `json:"fulfillment"`
			UserErrors []userError `json:"userErrors"`
		} `json:"fulfillmentCreate"`
	}
	fulfillment := map[string]any{"lineItemsByFulfillmentOrder": input, "notifyCustomer": true}
	if sh.GetTrackingNumber() != "" { // a delivery of lines that need no shipping has none
		fulfillment["trackingInfo"] = tracking
	}
	vars := map[string]any{"fulfillment": fulfillment}
	if err := c.do(ctx, fulfillmentCreateOp, vars, &out); err != nil {
		return "", err
	}
	p := out.FulfillmentCreate
	if p == nil || len(p.UserErrors) > 0 || p.Fulfillment == nil {
		var ue []userError
		if p != nil {
			ue = p.UserErrors
		}
		return "", c.fail(ctx, fulfillmentCreateOp, mutationFailure(p == nil, ue, "fulfillment order"))
	}
	return numericIDOrFail(ctx, c, fulfillmentCreateOp, p.Fulfillment.ID)
}
