package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/store"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// storeMappings writes every SKU's mapping and returns the ids that changed since the last
// refresh (an id that appeared or disappeared is a missing_in_ mismatch instead).
func storeMappings(ctx context.Context, tx *store.Tx, maps map[string]skuMap, now time.Time) ([]mismatch, error) {
	prev := map[string]skuMap{}
	rows, err := tx.Query(ctx, `SELECT sku, erp_item_id, variant_id, inventory_item_id, warehouse_sku, feed_erp_item_id, feed_variant_id
		FROM inventory_sku_map`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var sku string
		var m skuMap
		if err := rows.Scan(&sku, &m.erpItem, &m.variant, &m.inventoryItem, &m.warehouseSKU, &m.feedERPItem, &m.feedVariant); err != nil {
			rows.Close()
			return nil, err
		}
		prev[sku] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var changed []mismatch
	for sku, m := range maps {
		changed = append(changed, mappingChanges(sku, prev[sku], m)...)
		if _, err := tx.Exec(ctx, `INSERT INTO inventory_sku_map (sku, erp_item_id, variant_id, inventory_item_id, warehouse_sku,
				feed_erp_item_id, feed_variant_id, refreshed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (sku) DO UPDATE SET erp_item_id = excluded.erp_item_id, variant_id = excluded.variant_id,
				inventory_item_id = excluded.inventory_item_id, warehouse_sku = excluded.warehouse_sku,
				feed_erp_item_id = excluded.feed_erp_item_id, feed_variant_id = excluded.feed_variant_id, refreshed_at = excluded.refreshed_at`,
			sku, m.erpItem, m.variant, m.inventoryItem, m.warehouseSKU, m.feedERPItem, m.feedVariant, now.UTC()); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// mappingChanges names each id of a SKU that one system now gives differently.
func mappingChanges(sku string, before, after skuMap) []mismatch {
	var out []mismatch
	for _, c := range []struct{ system, what, was, now string }{
		{systemERP, "ERP item", before.erpItem, after.erpItem},
		{systemStorefront, "variant", before.variant, after.variant},
		{systemStorefront, "inventory item", before.inventoryItem, after.inventoryItem},
		{systemWarehouse, "warehouse SKU", before.warehouseSKU, after.warehouseSKU},
	} {
		if c.was != "" && c.now != "" && c.was != c.now {
			out = append(out, mismatch{sku, mismatchChanged, c.system, fmt.Sprintf("%s %s → %s", c.what, c.was, c.now)})
		}
	}
	return out
}

// storeMismatches records this refresh's mismatches and resolves the open ones it no longer
// saw. A mapping change is an event, not a state a later refresh could see again: it stays open
// (and counted) until someone deals with it.
func storeMismatches(ctx context.Context, tx *store.Tx, found []mismatch, now time.Time) (MappingResult, error) {
	res := MappingResult{Mismatches: map[string]int{}}
	open, err := openMismatches(ctx, tx)
	if err != nil {
		return res, err
	}
	seen := map[[3]string]bool{}
	for _, m := range found {
		k := [3]string{m.sku, m.kind, m.system}
		if seen[k] {
			continue
		}
		seen[k] = true
		res.Mismatches[m.kind]++
		if _, err := tx.Exec(ctx, `INSERT INTO inventory_sku_mismatches (sku, kind, system, detail, first_seen_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (sku, kind, system) DO UPDATE SET detail = excluded.detail, last_seen_at = excluded.last_seen_at,
				resolved_at = NULL, first_seen_at = CASE WHEN inventory_sku_mismatches.resolved_at IS NULL
					THEN inventory_sku_mismatches.first_seen_at ELSE excluded.first_seen_at END`,
			m.sku, m.kind, m.system, m.detail, now.UTC()); err != nil {
			return res, err
		}
	}
	for _, k := range open {
		if seen[k] {
			continue
		}
		if k[1] == mismatchChanged {
			res.Mismatches[mismatchChanged]++
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE inventory_sku_mismatches SET resolved_at = $1 WHERE sku = $2 AND kind = $3 AND system = $4`,
			now.UTC(), k[0], k[1], k[2]); err != nil {
			return res, err
		}
	}
	return res, nil
}

// openMismatches lists the open mismatches' keys (sku, kind, system).
func openMismatches(ctx context.Context, tx *store.Tx) ([][3]string, error) {
	rows, err := tx.Query(ctx, `SELECT sku, kind, system FROM inventory_sku_mismatches WHERE resolved_at IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][3]string
	for rows.Next() {
		var k [3]string
		if err := rows.Scan(&k[0], &k[1], &k[2]); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// recordUnmappedPush notes a storefront push refused because the storefront has no inventory
// item for the SKU: the position is not retried until it moves again, and the report shows why.
func (s *Service) recordUnmappedPush(ctx context.Context, sku, loc string) error {
	now := s.now().UTC()
	_, err := s.db.Exec(ctx, `INSERT INTO inventory_sku_mismatches (sku, kind, system, detail, first_seen_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (sku, kind, system) DO UPDATE SET detail = excluded.detail, last_seen_at = excluded.last_seen_at, resolved_at = NULL`,
		sku, mismatchPush, systemStorefront, "a push to the storefront at "+loc+" was refused: "+noStorefrontVariant, now)
	return err
}

// ListSkuMismatches pages through the item master's mismatch report.
func (s *Service) ListSkuMismatches(ctx context.Context, req *inventoryv1.ListSkuMismatchesRequest) (*inventoryv1.ListSkuMismatchesResponse, error) {
	size, offset, err := s.reportPage(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	// The location check's findings are listed with the SKUs' (location.go): with a location id
	// and no SKU.
	query := `SELECT sku, location_id, kind, system, detail, first_seen_at, last_seen_at, resolved_at FROM (
		SELECT sku, '' AS location_id, kind, system, detail, first_seen_at, last_seen_at, resolved_at FROM inventory_sku_mismatches
		UNION ALL
		SELECT '' AS sku, location_id, kind, system, detail, first_seen_at, last_seen_at, resolved_at FROM inventory_location_mismatches
	) m WHERE 1=1`
	var args []any
	for col, v := range map[string]string{"sku": req.GetSku(), "kind": req.GetKind()} {
		if v != "" {
			args = append(args, v)
			query += fmt.Sprintf(" AND %s = $%d", col, len(args))
		}
	}
	if !req.GetIncludeResolved() {
		query += " AND resolved_at IS NULL"
	}
	rows, err := s.db.Query(ctx, query+fmt.Sprintf(" ORDER BY sku, location_id, kind, system LIMIT %d OFFSET %d", size+1, offset), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &inventoryv1.ListSkuMismatchesResponse{}
	for rows.Next() {
		m := &inventoryv1.SkuMismatch{}
		var first, last time.Time
		var resolved sql.NullTime
		if err := rows.Scan(&m.Sku, &m.LocationId, &m.Kind, &m.System, &m.Detail, &first, &last, &resolved); err != nil {
			return nil, err
		}
		m.FirstSeenAt, m.LastSeenAt = timestamppb.New(first.UTC()), timestamppb.New(last.UTC())
		if resolved.Valid {
			m.ResolvedAt = timestamppb.New(resolved.Time.UTC())
		}
		resp.Mismatches = append(resp.Mismatches, m)
	}
	if len(resp.Mismatches) > size {
		resp.Mismatches, resp.NextPageToken = resp.Mismatches[:size], strconv.Itoa(offset+size)
	}
	return resp, rows.Err()
}
