package shopify

import (
	"context"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// variantsPageSize keeps one page's requested cost (2 + 100 × 2) well inside the bucket.
const variantsPageSize = 100

// variantsOp pages through the inventory items with their variants.
var variantsOp = operation{
	name: "Variants",
	cost: costOf(2 + variantsPageSize*2),
	query: `query Variants($after: String) {
  inventoryItems(first: 100, after: $after) {
    nodes { id sku variant { id } }
    pageInfo { hasNextPage endCursor }
  }
}`,
}

type variantsData struct {
	InventoryItems struct {
		Nodes []struct {
			ID      string `json:"id"`
			SKU     string `json:"sku"`
			Variant struct {
				ID string `json:"id"`
			} `json:"variant"`
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
			variant, err := numericIDOrFail(ctx, c, variantsOp, n.Variant.ID)
			if err != nil {
				return nil, err
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
