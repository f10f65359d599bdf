package netsuite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The item master and on-hand are read with SuiteQL (POST /services/rest/query/v1/suiteql,
// "Prefer: transient"), which answers one paged collection where the REST record service would
// need a request per item: inventory items from table item, on-hand summed per item and location
// from table inventorybalance (one row per item, location, bin and status). SuiteQL returns every
// value as a string and column names in lower case.

const (
	suiteQLPageSize = 1000
	queryItems      = `SELECT id, itemid, externalid, displayname, lastmodifieddate FROM item WHERE itemtype = 'InvtPart' AND isinactive = 'F' ORDER BY id`
	queryBalances   = `SELECT item.externalid AS sku, inventorybalance.location AS location, SUM(inventorybalance.quantityonhand) AS quantityonhand FROM inventorybalance INNER JOIN item ON item.id = inventorybalance.item%s GROUP BY item.externalid, inventorybalance.location ORDER BY inventorybalance.location, item.externalid`
)

// ListItems reads every active inventory item.
func (c *Client) ListItems(ctx context.Context) ([]*erpv1.Item, error) {
	rows, err := c.suiteQL(ctx, queryItems)
	if err != nil {
		return nil, err
	}
	items := make([]*erpv1.Item, 0, len(rows))
	for _, row := range rows {
		it := &erpv1.Item{Sku: row["externalid"], ErpId: row["id"], DisplayName: row["displayname"]}
		if it.Sku == "" {
			it.Sku = row["itemid"] // records created in the UI may have no external id
		}
		if t, err := time.Parse("1/2/2006", row["lastmodifieddate"]); err == nil {
			it.UpdatedAt = timestamppb.New(t)
		}
		items = append(items, it)
	}
	return items, nil
}

// ListInventoryBalances reads on-hand per item and location from inventorybalance.
func (c *Client) ListInventoryBalances(ctx context.Context, skus, locations []string) ([]*erpv1.InventoryBalance, error) {
	var where []string
	if len(skus) > 0 {
		where = append(where, "item.externalid IN ("+quoteList(skus)+")")
	}
	if len(locations) > 0 {
		where = append(where, "inventorybalance.location IN ("+quoteList(locations)+")")
	}
	clause := ""
	if len(where) > 0 {
		clause = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := c.suiteQL(ctx, fmt.Sprintf(queryBalances, clause))
	if err != nil {
		return nil, err
	}
	out := make([]*erpv1.InventoryBalance, 0, len(rows))
	for _, row := range rows {
		n, err := strconv.ParseFloat(row["quantityonhand"], 64)
		if err != nil {
			return nil, toErr(badPayload(fmt.Errorf("inventorybalance %s at %s: quantityonhand %q", row["sku"], row["location"], row["quantityonhand"])))
		}
		out = append(out, &erpv1.InventoryBalance{Sku: row["sku"], LocationId: row["location"], OnHand: int64(n)})
	}
	return out, nil
}

// quoteList renders values as a SuiteQL list of string literals (quotes doubled).
func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}
