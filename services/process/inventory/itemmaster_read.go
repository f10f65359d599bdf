package inventory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// readSources reads every configured source; any failure fails the refresh (a half-read source
// would report every SKU it did not return as missing).
func (s *Service) readSources(ctx context.Context) (*sources, error) {
	src := &sources{ledger: map[string]bool{}, pushed: map[string]bool{}}
	if s.erp != nil {
		resp, err := s.erp.ListItems(ctx, &erpv1.ListItemsRequest{})
		if err != nil {
			return nil, fmt.Errorf("erp items: %w", err)
		}
		src.erp = map[string][]string{}
		for _, it := range resp.GetItems() {
			src.erp[it.GetSku()] = append(src.erp[it.GetSku()], it.GetErpId())
		}
	}
	if s.commerce != nil {
		resp, err := s.commerce.ListVariants(ctx, &commercev1.ListVariantsRequest{})
		if err != nil {
			return nil, fmt.Errorf("storefront variants: %w", err)
		}
		src.variants = map[string][]*commercev1.Variant{}
		for _, v := range resp.GetVariants() {
			src.variants[v.GetSku()] = append(src.variants[v.GetSku()], v)
		}
	}
	if s.wms != nil {
		resp, err := s.wms.ListPositions(ctx, &wmsv1.ListPositionsRequest{})
		if err != nil {
			return nil, fmt.Errorf("warehouse positions: %w", err)
		}
		src.warehouse = map[string]bool{}
		for _, p := range resp.GetPositions() {
			src.warehouse[p.GetSku()] = true
		}
	}
	if s.feed != nil {
		rows, err := s.feed.ItemMasterRows(ctx)
		if err != nil {
			return nil, fmt.Errorf("product feed: %w", err)
		}
		if len(rows) > 0 { // a master no file has filled yet is no feed to compare with
			src.feed = map[string]ItemMasterRow{}
			for _, r := range rows {
				src.feed[r.SKU] = r
			}
		}
	}
	return src, s.readLedgerSKUs(ctx, src)
}

// readLedgerSKUs notes the SKUs the ledger holds, and those at locations the push sets.
func (s *Service) readLedgerSKUs(ctx context.Context, src *sources) error {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT sku, location_id FROM inventory_positions`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sku, loc string
		if err := rows.Scan(&sku, &loc); err != nil {
			return err
		}
		src.ledger[sku] = true
		if _, ok := s.cfg.Push.Locations[loc]; ok {
			src.pushed[sku] = true
		}
	}
	return rows.Err()
}

// compare builds every SKU's mapping and the mismatches the sources show.
func (src *sources) compare() (map[string]skuMap, []mismatch) {
	maps := map[string]skuMap{}
	var found []mismatch
	for _, sku := range src.universe() {
		m := skuMap{warehouseSKU: sku}
		if ids := src.erp[sku]; len(ids) > 0 {
			m.erpItem = ids[0]
		}
		if vs := src.variants[sku]; len(vs) > 0 {
			m.variant, m.inventoryItem = vs[0].GetVariantId(), vs[0].GetInventoryItemId()
		}
		if r, ok := src.feed[sku]; ok {
			// An empty warehouse SKU is the master saying the warehouse does not stock the item
			// (a digital gift card), not that it stocks it under its SKU.
			m.feedERPItem, m.feedVariant, m.warehouseSKU = r.ERPItemID, r.VariantID, r.WarehouseSKU
		}
		maps[sku] = m
		found = append(found, src.mismatchesOf(sku, m)...)
	}
	return maps, found
}

// universe is every SKU any source knows, sorted.
func (src *sources) universe() []string {
	set := map[string]bool{}
	for sku := range src.erp {
		set[sku] = true
	}
	for sku := range src.variants {
		set[sku] = true
	}
	for sku := range src.warehouse {
		set[sku] = true
	}
	for sku := range src.feed {
		set[sku] = true
	}
	for sku := range src.ledger {
		set[sku] = true
	}
	delete(set, "")
	out := make([]string, 0, len(set))
	for sku := range set {
		out = append(out, sku)
	}
	sort.Strings(out)
	return out
}

// mismatchesOf lists what is wrong about one SKU.
func (src *sources) mismatchesOf(sku string, m skuMap) []mismatch {
	var out []mismatch
	add := func(kind, system, detail string) { out = append(out, mismatch{sku, kind, system, detail}) }
	if src.erp != nil && len(src.erp[sku]) == 0 {
		add(mismatchMissing+systemERP, systemERP, notInTheERPsMaster)
		if src.ledger[sku] {
			add(mismatchMovement, systemLedger, "the ledger holds movements for a SKU the ERP's item master does not know")
		}
	}
	if src.variants != nil && len(src.variants[sku]) == 0 {
		add(mismatchMissing+systemStorefront, systemStorefront, noStorefrontVariant)
		if src.pushed[sku] {
			add(mismatchPush, systemStorefront, "the ledger holds stock at a pushed location for a SKU the storefront has no variant for")
		}
	}
	switch {
	case src.warehouse == nil || src.warehouse[m.warehouseSKU]:
	case m.warehouseSKU == "" && !src.warehouse[sku]: // not a warehouse item, and not stocked
	case m.warehouseSKU == "":
		add(mismatchFeed, systemWarehouse, fmt.Sprintf("the feed names no warehouse SKU, the warehouse stocks it as %s", sku))
	case m.warehouseSKU != sku && src.warehouse[sku]:
		add(mismatchFeed, systemWarehouse, fmt.Sprintf("feed warehouse SKU %s, the warehouse stocks it as %s", m.warehouseSKU, sku))
	default:
		add(mismatchMissing+systemWarehouse, systemWarehouse, fmt.Sprintf("the warehouse lists no stock of %s", m.warehouseSKU))
	}
	if src.feed != nil {
		if _, ok := src.feed[sku]; !ok {
			add(mismatchMissing+systemFeed, systemFeed, "the product master file has no row for the SKU")
		}
	}
	if ids := src.erp[sku]; len(ids) > 1 {
		add(mismatchDuplicate, systemERP, "ERP items "+strings.Join(ids, ", ")+" share the SKU")
	}
	if vs := src.variants[sku]; len(vs) > 1 {
		var ids []string
		for _, v := range vs {
			ids = append(ids, v.GetInventoryItemId())
		}
		slices.Sort(ids)
		add(mismatchDuplicate, systemStorefront, "inventory items "+strings.Join(ids, ", ")+" share the SKU")
	}
	out = append(out, feedDisagreements(sku, m)...)
	return out
}

// feedDisagreements compares the ids the product master file states with the systems'.
func feedDisagreements(sku string, m skuMap) []mismatch {
	var out []mismatch
	if m.feedERPItem != "" && m.erpItem != "" && !sameID(m.feedERPItem, m.erpItem) {
		out = append(out, mismatch{sku, mismatchFeed, systemERP, fmt.Sprintf("feed ERP item %s, ERP %s", m.feedERPItem, m.erpItem)})
	}
	if m.feedVariant != "" && m.variant != "" && !sameID(m.feedVariant, m.variant) {
		out = append(out, mismatch{sku, mismatchFeed, systemStorefront, fmt.Sprintf("feed variant %s, storefront %s", m.feedVariant, m.variant)})
	}
	return out
}

// sameID compares two systems' ids for one record: the product master file may write a
// storefront id as a URI (gid://…/ProductVariant/21) where the system API gives its last segment.
func sameID(a, b string) bool {
	return a == b || a[strings.LastIndexByte(a, '/')+1:] == b[strings.LastIndexByte(b, '/')+1:]
}
