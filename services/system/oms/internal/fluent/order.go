package fluent

import (
	"context"
	"net/http"
	"strconv"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/money"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

const (
	queryOrderByRef = `query orderByRef($ref: [String]) { orders(ref: $ref, first: 1) { edges { node { id ref status } } } }`
	mutationCreate  = `mutation createOrder($input: CreateOrderInput) { createOrder(input: $input) { id ref type status } }`
	queryFulfilment = `query orderFulfilments($id: ID!) { order(id: $id) { id ref status fulfilments(first: 50) { edges { node {
		ref status fromLocation { ref } items(first: 100) { edges { node { orderItem { ref } requestedQuantity } } } } } } } }`
	queryPositions = `query positions($productRef: [String], $locationRef: [String]) { inventoryPositions(productRef: $productRef,
		locationRef: $locationRef, first: 500) { edges { node { productRef locationRef onHand } } } }`
)

// orderNode is an order as the GraphQL API returns it.
type orderNode struct {
	ID          string `json:"id"`
	Ref         string `json:"ref"`
	Status      string `json:"status"`
	Fulfilments struct {
		Edges []struct {
			Node fulfilmentNode `json:"node"`
		} `json:"edges"`
	} `json:"fulfilments"`
}

type fulfilmentNode struct {
	Ref          string `json:"ref"`
	Status       string `json:"status"`
	FromLocation struct {
		Ref string `json:"ref"`
	} `json:"fromLocation"`
	Items struct {
		Edges []struct {
			Node struct {
				OrderItem struct {
					Ref string `json:"ref"`
				} `json:"orderItem"`
				RequestedQuantity int32 `json:"requestedQuantity"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"items"`
}

// SubmitOrder creates the order under ref = the storefront order id. Fluent refs are unique, so
// the order is looked up first: a repeat (same key or not) returns the order created before.
func (c *Client) SubmitOrder(ctx context.Context, o *canonicalv1.Order, _ string) (string, error) {
	var found struct {
		Orders struct {
			Edges []struct {
				Node orderNode `json:"node"`
			} `json:"edges"`
		} `json:"orders"`
	}
	if err := c.graphql(ctx, queryOrderByRef, map[string]any{"ref": []string{o.GetId()}}, &found); err != nil {
		return "", err
	}
	if len(found.Orders.Edges) > 0 {
		return found.Orders.Edges[0].Node.ID, nil
	}
	var created struct {
		CreateOrder orderNode `json:"createOrder"`
	}
	if err := c.graphql(ctx, mutationCreate, map[string]any{"input": c.toFluentOrder(o)}, &created); err != nil {
		return "", err
	}
	return created.CreateOrder.ID, nil
}

// toFluentOrder is CreateOrderInput: HD (home delivery) or CC (click & collect) with its
// fulfilment choice, the items by product ref.
func (c *Client) toFluentOrder(o *canonicalv1.Order) map[string]any {
	typ, fulfilment := "HD", "HD_WH"
	switch o.GetFulfillmentModel() {
	case canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE:
		typ, fulfilment = "CC", "CC_PFS"
	case canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_FROM_STORE:
		fulfilment = "HD_PFS"
	}
	choice := map[string]any{"deliveryType": "STANDARD", "fulfilmentType": fulfilment, "currency": o.GetTotal().GetCurrencyCode()}
	if ref := o.GetPickupLocationId(); ref != "" {
		choice["pickupLocationRef"] = ref
	}
	if a := o.GetShippingAddress(); a != nil {
		choice["address"] = map[string]any{"name": a.GetName(), "street": first(a.GetLines()), "city": a.GetCity(),
			"state": a.GetRegion(), "postcode": a.GetPostalCode(), "country": a.GetCountryCode()}
	}
	var items []map[string]any
	for _, l := range o.GetLines() {
		items = append(items, map[string]any{"ref": l.GetId(), "productRef": l.GetSku(), "quantity": l.GetQuantity(),
			"price": decimal(l.GetUnitPrice()), "currency": l.GetUnitPrice().GetCurrencyCode()})
	}
	retailer, _ := strconv.Atoi(c.cfg.RetailerID)
	return map[string]any{"ref": o.GetId(), "type": typ, "retailer": map[string]any{"id": retailer},
		"customer": map[string]any{"ref": o.GetCustomer().GetId()}, "totalPrice": decimal(o.GetTotal()),
		"fulfilmentChoice": choice, "items": items}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// decimal is a price as Fluent's Float fields take it.
func decimal(m *canonicalv1.Money) string {
	if m == nil {
		return "0"
	}
	return money.FormatDecimal(m.GetAmountMinor(), m.GetCurrencyCode())
}

// GetAllocation reads the order's fulfilments: each is one location's share of the lines.
// Cancelled and rejected fulfilments allocate nothing.
func (c *Client) GetAllocation(ctx context.Context, id string) ([]*omsv1.Allocation, error) {
	var out struct {
		Order *orderNode `json:"order"`
	}
	if err := c.graphql(ctx, queryFulfilment, map[string]any{"id": id}, &out); err != nil {
		return nil, err
	}
	if out.Order == nil {
		return nil, errs.E(errs.NotFound, "oms_order_not_found", "the OMS has no such order")
	}
	var all []*omsv1.Allocation
	for _, e := range out.Order.Fulfilments.Edges {
		f := e.Node
		if f.Status == "CANCELLED" || f.Status == "REJECTED" {
			continue
		}
		for _, it := range f.Items.Edges {
			all = append(all, &omsv1.Allocation{OrderLineId: it.Node.OrderItem.Ref, LocationId: f.FromLocation.Ref, Quantity: it.Node.RequestedQuantity})
		}
	}
	return all, nil
}

// CancelOrder sends the CancelOrder event for the order (Event API, asynchronous); the order's
// workflow in Fluent cancels its open fulfilments. A cancelled order takes it again harmlessly.
func (c *Client) CancelOrder(ctx context.Context, id, reason, _ string) error {
	var out struct {
		Order *orderNode `json:"order"`
	}
	if err := c.graphql(ctx, `query order($id: ID!) { order(id: $id) { id ref status } }`, map[string]any{"id": id}, &out); err != nil {
		return err
	}
	if out.Order == nil {
		return errs.E(errs.NotFound, "oms_order_not_found", "the OMS has no such order")
	}
	if out.Order.Status == "CANCELLED" {
		return nil
	}
	ev := map[string]any{"name": "CancelOrder", "retailerId": c.cfg.RetailerID, "entityType": "ORDER", "entityId": id,
		"entityRef": out.Order.Ref, "rootEntityType": "ORDER", "rootEntityId": id, "rootEntityRef": out.Order.Ref,
		"attributes": map[string]any{"cancelReason": reason}}
	return c.call(ctx, http.MethodPost, "/api/v4.1/event/async", ev, nil)
}

// ListPositions reads inventory positions (on hand per product and location).
func (c *Client) ListPositions(ctx context.Context, skus, locations []string) ([]*canonicalv1.InventoryPosition, error) {
	vars := map[string]any{}
	if len(skus) > 0 {
		vars["productRef"] = skus
	}
	if len(locations) > 0 {
		vars["locationRef"] = locations
	}
	var out struct {
		InventoryPositions struct {
			Edges []struct {
				Node struct {
					ProductRef  string `json:"productRef"`
					LocationRef string `json:"locationRef"`
					OnHand      int64  `json:"onHand"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"inventoryPositions"`
	}
	if err := c.graphql(ctx, queryPositions, vars, &out); err != nil {
		return nil, err
	}
	var ps []*canonicalv1.InventoryPosition
	for _, e := range out.InventoryPositions.Edges {
		ps = append(ps, &canonicalv1.InventoryPosition{Sku: e.Node.ProductRef, LocationId: e.Node.LocationRef,
			Quantities: []*canonicalv1.InventoryQuantity{{State: canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND, Quantity: e.Node.OnHand}}})
	}
	return ps, nil
}
