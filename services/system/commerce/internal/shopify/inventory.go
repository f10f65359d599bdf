package shopify

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Inventory: the storefront's available quantity per SKU × location, read through
// inventoryItems (found by SKU) and set with inventorySetQuantities. Every set carries
// changeFromQuantity (Shopify's compare-and-set; from 2026-04 it replaces compareQuantity and is
// required on every quantity) and the caller's @idempotent key, so a retry after a lost answer
// either replays the first result or finds the compare value stale: never a second change.

// availableName is the quantity name the connector sets: what the storefront may sell.
const availableName = "available"

// inventoryLevelOp reads one SKU's inventory item and its available quantity at one location.
// first: 2 sees a SKU two items share. Cost: inventoryItems 2 + 2 × (item 1 + inventoryLevel 1
// + quantities 1).
var inventoryLevelOp = operation{
	name: "InventoryLevel",
	cost: costOf(8),
	query: `query InventoryLevel($query: String!, $location: ID!) {
  inventoryItems(first: 2, query: $query) {
    nodes {
      id
      sku
      inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
    }
  }
}`,
}

// inventorySetOp sets available quantities with compare-and-set and an idempotency key.
var inventorySetOp = operation{
	name: "InventorySet",
	cost: costOf(mutationCost),
	query: `mutation InventorySet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange item { id sku } location { id } } }
    userErrors { code field message }
  }
}`,
}

type inventoryLevelData struct {
	InventoryItems struct {
		Nodes []struct {
			ID             string `json:"id"`
			SKU            string `json:"sku"`
			InventoryLevel *struct {
				Quantities []struct {
					Name     string `json:"name"`
					Quantity int64  `json:"quantity"`
				} `json:"quantities"`
			} `json:"inventoryLevel"`
		} `json:"nodes"`
	} `json:"inventoryItems"`
}

// level reads one SKU's item id and available quantity at a numeric location id.
func (c *Connector) level(ctx context.Context, sku, location string) (*commercev1.InventoryLevel, error) {
	if !isNumeric(location) {
		return nil, errs.E(errs.NotFound, "location_not_found", "location not found")
	}
	var out inventoryLevelData
	vars := map[string]any{"query": "sku:" + strconv.Quote(sku), "location": "gid://shopify/Location/" + location}
	if err := c.do(ctx, inventoryLevelOp, vars, &out); err != nil {
		return nil, err
	}
	var found []int
	for i, n := range out.InventoryItems.Nodes {
		if n.SKU == sku { // Shopify's search matches more loosely than equality
			found = append(found, i)
		}
	}
	switch len(found) {
	case 0:
		return nil, errs.E(errs.NotFound, "inventory_item_not_found", "no inventory item has SKU "+sku)
	case 1:
	default:
		return nil, errs.E(errs.FailedPrecondition, "inventory_sku_ambiguous", "more than one inventory item has SKU "+sku)
	}
	n := out.InventoryItems.Nodes[found[0]]
	if n.InventoryLevel == nil {
		return nil, errs.E(errs.NotFound, "inventory_level_not_found", "SKU "+sku+" is not stocked at location "+location)
	}
	id, err := numericID(n.ID)
	if err != nil {
		return nil, c.fail(ctx, inventoryLevelOp, failure{status: http.StatusOK, cause: err})
	}
	lv := &commercev1.InventoryLevel{Sku: sku, LocationId: location, InventoryItemId: id}
	for _, q := range n.InventoryLevel.Quantities {
		if q.Name == availableName {
			lv.Available = q.Quantity
		}
	}
	return lv, nil
}

// InventoryLevels reads each level's available quantity, in request order (one call each).
func (c *Connector) InventoryLevels(ctx context.Context, keys []*commercev1.InventoryLevelKey) ([]*commercev1.InventoryLevel, error) {
	out := make([]*commercev1.InventoryLevel, 0, len(keys))
	for _, k := range keys {
		lv, err := c.level(ctx, k.GetSku(), k.GetLocationId())
		if err != nil {
			return nil, err
		}
		c.items.Store(lv.GetSku(), lv.GetInventoryItemId()) // the next set needs no lookup
		out = append(out, lv)
	}
	return out, nil
}

type inventoryQuantityInput struct {
	InventoryItemID    string `json:"inventoryItemId"`
	LocationID         string `json:"locationId"`
	Quantity           int64  `json:"quantity"`
	ChangeFromQuantity int64  `json:"changeFromQuantity"`
}

type inventorySetInput struct {
	Name                 string                   `json:"name"`
	Reason               string                   `json:"reason"`
	ReferenceDocumentURI string                   `json:"referenceDocumentUri,omitempty"`
	Quantities           []inventoryQuantityInput `json:"quantities"`
}

// SetInventory sets available quantities, each only if the storefront still holds its compare
// quantity: a stale one is errs.Conflict "inventory_compare_stale" and nothing changes.
func (c *Connector) SetInventory(ctx context.Context, req *commercev1.SetInventoryRequest) ([]*commercev1.InventoryLevel, error) {
	in := inventorySetInput{Name: availableName, Reason: req.GetReason(), ReferenceDocumentURI: req.GetReferenceDocumentUri()}
	items := map[string]string{}
	for _, q := range req.GetQuantities() {
		item, err := c.itemID(ctx, q.GetSku(), q.GetLocationId())
		if err != nil {
			return nil, err
		}
		items[item] = q.GetSku()
		in.Quantities = append(in.Quantities, inventoryQuantityInput{InventoryItemID: "gid://shopify/InventoryItem/" + item,
			LocationID: "gid://shopify/Location/" + q.GetLocationId(), Quantity: q.GetQuantity(), ChangeFromQuantity: q.GetCompareQuantity()})
	}
	var out struct {
		InventorySetQuantities *struct {
			InventoryAdjustmentGroup *struct {
				Changes []struct {
					Name                string `json:"name"`
					QuantityAfterChange *int64 `json:"quantityAfterChange"`
					Item                struct {
						ID string `json:"id"`
					} `json:"item"`
					Location struct {
						ID string `json:"id"`
					} `json:"location"`
				} `json:"changes"`
			} `json:"inventoryAdjustmentGroup"`
			UserErrors []userError `json:"userErrors"`
		} `json:"inventorySetQuantities"`
	}
	if err := c.do(ctx, inventorySetOp, map[string]any{"input": in, "key": req.GetIdempotencyKey()}, &out); err != nil {
		return nil, err
	}
	p := out.InventorySetQuantities
	switch {
	case p == nil:
		return nil, c.fail(ctx, inventorySetOp, mutationFailure(true, nil, "inventory_item"))
	case len(p.UserErrors) > 0 || p.InventoryAdjustmentGroup == nil:
		return nil, c.fail(ctx, inventorySetOp, mutationFailure(false, p.UserErrors, "inventory_item"))
	}
	levels := make([]*commercev1.InventoryLevel, 0, len(p.InventoryAdjustmentGroup.Changes))
	for _, ch := range p.InventoryAdjustmentGroup.Changes {
		item, _ := numericID(ch.Item.ID)
		loc, _ := numericID(ch.Location.ID)
		lv := &commercev1.InventoryLevel{Sku: items[item], LocationId: loc, InventoryItemId: item}
		if ch.QuantityAfterChange != nil {
			lv.Available = *ch.QuantityAfterChange
		}
		levels = append(levels, lv)
	}
	return levels, nil
}

// itemID is the SKU's inventory item id, remembered after the first read (an item's id never
// changes; a SKU moved to another item shows as the old item's level refusing the change).
func (c *Connector) itemID(ctx context.Context, sku, location string) (string, error) {
	if id, ok := c.items.Load(sku); ok {
		return id.(string), nil
	}
	lv, err := c.level(ctx, sku, location)
	if err != nil {
		return "", err
	}
	c.items.Store(sku, lv.GetInventoryItemId())
	return lv.GetInventoryItemId(), nil
}

// staleCompare reports whether code is Shopify's compare-and-set refusal.
func staleCompare(code string) bool {
	return strings.HasSuffix(code, "_QUANTITY_STALE")
}
