package shopify

import (
	"context"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// variantsPageSize keeps one page's requested cost (2 + 50 × (1 + 2 + 1)) well inside the
// bucket.
const variantsPageSize = 50

// variantsOp pages through the inventory items with their variants.
var variantsOp = operation{
	name: "Variants",
	cost: costOf(2 + variantsPageSize*4),
	query: `query Variants($after: String) {
  inventoryItems(first: 50, after: $after) {
    nodes { id sku variants(first: 1) { nodes { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`,
}

type variantsData struct {
	InventoryItems struct {
		Nodes []struct {
			ID       string `json:"id"`
			SKU      string `json:"sku"`
			Variants struct {
				Nodes []struct {
					ID string `json:"id"`
				} `json:"nodes"`
			} `json:"variants"`
		} `json:"nodes"`
		PageInfo struct {
			HasNextPage bool   `json:"hasNextPage"`
			EndCursor   string `json:"endCursor"`
		} `json:"pageInfo"`
	} `json:"inventoryItems"`
}

// ListVariants reads every inventory item and its variant, following the pages.
func (c *Connector) ListVariants(ctx context.Context) ([]*commercev1.Variant, error) {
	var out []*commercev1.Variant
	vars := map[string]any{"after": nil}
	for {
		var page variantsData
		if err := c.do(ctx, variantsOp, vars, &page); err != nil {
			return nil, err
		}
		for _, n := range page.InventoryItems.Nodes {
			variant := ""
			if len(n.Variants.Nodes) > 0 { // an inventory item with no variant left is still listed
				var err error
				if variant, err = numericIDOrFail(ctx, c, variantsOp, n.Variants.Nodes[0].ID); err != nil {
					return nil, err
				}
			}
			item, err := numericIDOrFail(ctx, c, variantsOp, n.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, &commercev1.Variant{Sku: n.SKU, VariantId: variant, InventoryItemId: item})
		}
		if !page.InventoryItems.PageInfo.HasNextPage || page.InventoryItems.PageInfo.EndCursor == "" {
			return out, nil
		}
		vars = map[string]any{"after": page.InventoryItems.PageInfo.EndCursor}
	}
}
