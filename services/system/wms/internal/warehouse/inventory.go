package warehouse

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// pageSize is how many positions one inventory request asks for: the API's maximum.
const pageSize = 500

// maxPages bounds one listing, so a warehouse that keeps returning page tokens cannot keep a
// call going forever.
const maxPages = 1000

type inventoryPage struct {
	Positions     []positionDoc `json:"positions"`
	NextPageToken string        `json:"next_page_token"`
}

type positionDoc struct {
	SKU        string           `json:"sku"`
	LocationID string           `json:"location_id"`
	Quantities map[string]int64 `json:"quantities"`
	Version    int64            `json:"version"`
	UpdatedAt  string           `json:"updated_at"`
}

// states maps the warehouse's stock states to the retail states, in the order positions list
// them. On hand is computed: every state but incoming.
var states = []struct {
	name  string
	state canonicalv1.InventoryState
}{
	{"available", canonicalv1.InventoryState_INVENTORY_STATE_SELLABLE},
	{"reserved", canonicalv1.InventoryState_INVENTORY_STATE_RESERVED},
	{"damaged", canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED},
	{"quality_control", canonicalv1.InventoryState_INVENTORY_STATE_RETURNED_AWAITING_INSPECTION},
	{"safety_stock", canonicalv1.InventoryState_INVENTORY_STATE_SAFETY_STOCK},
	{"incoming", canonicalv1.InventoryState_INVENTORY_STATE_IN_TRANSIT},
}

// ListPositions reads every matching position, page by page.
func (c *Client) ListPositions(ctx context.Context, skus, locationIDs []string) ([]*canonicalv1.InventoryPosition, error) {
	var out []*canonicalv1.InventoryPosition
	token := ""
	for range maxPages {
		q := url.Values{"sku": skus, "location_id": locationIDs, "page_size": {strconv.Itoa(pageSize)}}
		if token != "" {
			q.Set("page_token", token)
		}
		var page inventoryPage
		if err := c.call(ctx, http.MethodGet, "v1/inventory", q, "", nil, &page); err != nil {
			return nil, err
		}
		for _, p := range page.Positions {
			pos, err := c.toPosition(ctx, p)
			if err != nil {
				return nil, toErr(badPayload(err))
			}
			out = append(out, pos)
		}
		if page.NextPageToken == "" {
			return out, nil
		}
		token = page.NextPageToken
	}
	return nil, toErr(badPayload(errors.New("the inventory listing did not end")))
}

func (c *Client) toPosition(ctx context.Context, p positionDoc) (*canonicalv1.InventoryPosition, error) {
	at, err := parseTime(p.UpdatedAt)
	if err != nil {
		return nil, err
	}
	pos := &canonicalv1.InventoryPosition{Sku: p.SKU, LocationId: p.LocationID, AsOf: at, Version: p.Version}
	var onHand int64
	known := 0
	for _, s := range states {
		n, ok := p.Quantities[s.name]
		if !ok {
			continue
		}
		known++
		if s.state != canonicalv1.InventoryState_INVENTORY_STATE_IN_TRANSIT {
			onHand += n
		}
		pos.Quantities = append(pos.Quantities, &canonicalv1.InventoryQuantity{State: s.state, Quantity: n})
	}
	if known < len(p.Quantities) {
		// A state this connector does not know yet: leave it out rather than fail the listing.
		c.log.DebugContext(ctx, "warehouse position has unknown stock states", "sku", p.SKU, "quantities", p.Quantities)
	}
	pos.Quantities = append([]*canonicalv1.InventoryQuantity{
		{State: canonicalv1.InventoryState_INVENTORY_STATE_ON_HAND, Quantity: onHand}}, pos.Quantities...)
	return pos, nil
}
