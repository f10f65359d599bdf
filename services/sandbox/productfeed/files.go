package productfeed

import (
	"bytes"
	"encoding/csv"
	"strings"
)

// Item is one row of a product master export.
type Item struct {
	SKU, Title, ERPItemID, VariantID, WarehouseSKU, Price, Currency, TaxCode, Active string
}

// MasterHeader is the export's header, in the ERP's order (Retailbridge reads it by name).
var MasterHeader = []string{"sku", "title", "erp_item_id", "variant_id", "warehouse_sku", "price",
	"currency", "tax_code", "active"}

// Catalogue is the demo product master: the SKUs the other sandboxes sell and stock.
func Catalogue() []Item {
	return []Item{
		{"SKU-1", "Canvas tote", "ITM-1001", "gid://shopify/ProductVariant/1", "WH-SKU-1", "19.90", "EUR", "STD", "true"},
		{"SKU-2", "Linen shirt", "ITM-1002", "gid://shopify/ProductVariant/2", "WH-SKU-2", "49.00", "EUR", "STD", "true"},
		{"SKU-3", "Wool scarf", "ITM-1003", "gid://shopify/ProductVariant/3", "WH-SKU-3", "35.50", "EUR", "STD", "true"},
		{"SKU-4", "Gift card", "ITM-1004", "gid://shopify/ProductVariant/4", "", "25", "EUR", "EXEMPT", "false"},
	}
}

// MasterCSV renders items as a product master export; bom prefixes a UTF-8 byte order mark,
// as spreadsheet exports do.
func MasterCSV(items []Item, bom bool) []byte {
	rows := [][]string{MasterHeader}
	for _, it := range items {
		rows = append(rows, []string{it.SKU, it.Title, it.ERPItemID, it.VariantID, it.WarehouseSKU,
			it.Price, it.Currency, it.TaxCode, it.Active})
	}
	return render(rows, bom)
}

// PricesCSV renders a prices export: sku, price, currency.
func PricesCSV(prices [][3]string) []byte {
	rows := [][]string{{"sku", "price", "currency"}}
	for _, p := range prices {
		rows = append(rows, p[:])
	}
	return render(rows, false)
}

// WithBadRows is the catalogue followed by one bad row per kind of mistake an export makes:
// a missing SKU, a price with too many decimals, an unknown currency, an unreadable active flag,
// a row with a field missing and a duplicate SKU. The good rows apply; each bad one is reported.
func WithBadRows() []byte {
	good := MasterCSV(Catalogue(), false)
	bad := strings.Join([]string{
		`,No SKU,ITM-2001,gid://shopify/ProductVariant/21,WH-21,10.00,EUR,STD,true`,
		`SKU-22,Too precise,ITM-2002,gid://shopify/ProductVariant/22,WH-22,10.001,EUR,STD,true`,
		`SKU-23,Bad currency,ITM-2003,gid://shopify/ProductVariant/23,WH-23,10.00,EURO,STD,true`,
		`SKU-24,Bad flag,ITM-2004,gid://shopify/ProductVariant/24,WH-24,10.00,EUR,STD,maybe`,
		`SKU-25,Short row,ITM-2005,gid://shopify/ProductVariant/25,WH-25,10.00,EUR,STD`,
		`SKU-1,Duplicate,ITM-1001,gid://shopify/ProductVariant/1,WH-SKU-1,19.90,EUR,STD,true`,
	}, "\r\n")
	return append(good, []byte(bad+"\r\n")...)
}

// Unreadable is a file no row of which can be trusted: an unterminated quote.
func Unreadable() []byte {
	return []byte("sku,title,erp_item_id,variant_id,warehouse_sku,price,currency,tax_code,active\r\n" +
		"SKU-1,\"Canvas tote,ITM-1001,v1,WH-SKU-1,19.90,EUR,STD,true\r\n")
}

func render(rows [][]string, bom bool) []byte {
	var b bytes.Buffer
	if bom {
		b.WriteString("\xef\xbb\xbf")
	}
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	w.WriteAll(rows)
	return b.Bytes()
}
