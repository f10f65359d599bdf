package businesscentral

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The item master comes from API v2.0's items; on-hand per item and location from the analytics
// API's item ledger entries (api/microsoft/analytics/v1.0/…/itemLedgerEntries, which carry
// locationCode where v2.0's itemLedgerEntries do not), summed per item and location. Both are
// server-paged: the connector follows @odata.nextLink.

const groupAnalytics = "microsoft/analytics/v1.0"

// page is one page of a collection with Business Central's next link.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// listAll reads every page of u into the values add receives.
func listAll[T any](ctx context.Context, c *Client, u *url.URL, entity string, add func(T)) error {
	if err := c.closed(); err != nil {
		return err
	}
	for u != nil {
		var p page[T]
		if err := c.get(ctx, u, &p, entity); err != nil {
			return err
		}
		for _, v := range p.Value {
			add(v)
		}
		if p.NextLink == "" {
			return nil
		}
		next, err := url.Parse(p.NextLink)
		if err != nil {
			return toErr(badPayload(err))
		}
		u = u.ResolveReference(next) // absolute, or (as the sandbox sends) relative to this page
	}
	return nil
}

// ListItems reads every inventory item from API v2.0's items.
func (c *Client) ListItems(ctx context.Context) ([]*erpv1.Item, error) {
	type item struct {
		ID           string `json:"id"`
		Number       string `json:"number"`
		DisplayName  string `json:"displayName"`
		Blocked      bool   `json:"blocked"`
		LastModified string `json:"lastModifiedDateTime"`
	}
	var out []*erpv1.Item
	u := c.entityURL(groupV2, "items", url.Values{"$filter": {"type eq 'Inventory'"}})
	err := listAll(ctx, c, u, "item", func(it item) {
		if it.Blocked {
			return
		}
		e := &erpv1.Item{Sku: it.Number, ErpId: it.ID, DisplayName: it.DisplayName}
		if t, err := time.Parse(time.RFC3339, it.LastModified); err == nil {
			e.UpdatedAt = timestamppb.New(t)
		}
		out = append(out, e)
	})
	return out, err
}

// ListInventoryBalances sums the item ledger per item and location.
func (c *Client) ListInventoryBalances(ctx context.Context, skus, locations []string) ([]*erpv1.InventoryBalance, error) {
	type entry struct {
		ItemNo       string      `json:"itemNo"`
		LocationCode string      `json:"locationCode"`
		Quantity     json.Number `json:"quantity"`
	}
	want := func(set []string) map[string]bool {
		if len(set) == 0 {
			return nil
		}
		m := map[string]bool{}
		for _, v := range set {
			m[v] = true
		}
		return m
	}
	skuSet, locSet := want(skus), want(locations)
	type key struct{ sku, loc string }
	sums := map[key]int64{}
	var bad error
	u := c.entityURL(groupAnalytics, "itemLedgerEntries", nil)
	err := listAll(ctx, c, u, "itemLedgerEntry", func(e entry) {
		if (skuSet != nil && !skuSet[e.ItemNo]) || (locSet != nil && !locSet[e.LocationCode]) {
			return
		}
		n, err := e.Quantity.Float64()
		if err != nil && bad == nil {
			bad = toErr(badPayload(err))
		}
		sums[key{e.ItemNo, e.LocationCode}] += int64(n)
	})
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	out := make([]*erpv1.InventoryBalance, 0, len(sums))
	for k, n := range sums {
		out = append(out, &erpv1.InventoryBalance{Sku: k.sku, LocationId: k.loc, OnHand: n})
	}
	return out, nil
}
