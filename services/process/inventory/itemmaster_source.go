package inventory

import "context"

// ItemMasterRow is one row of the product feed's item master (services/process/productfeed):
// the SKU and its ids in the ERP, the storefront and the warehouse as the product master file
// states them.
type ItemMasterRow struct {
	SKU, ERPItemID, VariantID, WarehouseSKU string
	Active                                  bool
}

// ItemMasterSource reads the product feed's item master; the stack adapts the product feed's
// store to it, so the inventory process never reads another service's tables.
type ItemMasterSource interface {
	ItemMasterRows(ctx context.Context) ([]ItemMasterRow, error)
}
