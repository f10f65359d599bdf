package productfeed

import (
	"errors"
	"strings"
	"testing"
)

// TestHeaderReadByName: columns in any order and case, with a BOM, read by name; a missing,
// unknown or doubled column makes the file unreadable and names the column.
func TestHeaderReadByName(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte("\xef\xbb\xbfActive,Price,SKU,Currency,Title,tax_code,erp_item_id,warehouse_sku,variant_id\r\n" +
		"no,\"1,00\",SKU-7,EUR,\"Scarf, wool\",STD,I-7,W-7,V-7\r\n" +
		"yes,2.5,SKU-8,JPY,Plate,STD,I-8,W-8,V-8\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 0 || len(p.Rejects) != 2 {
		t.Fatalf("parsed %+v", p)
	}
	if r := p.Rejects[0]; r.Column != "price" || r.Line != 2 {
		t.Fatalf("decimal comma: %+v", r)
	}
	if r := p.Rejects[1]; r.Column != "price" || r.Line != 3 || !strings.Contains(r.Reason, "0 decimal places for JPY") {
		t.Fatalf("JPY with cents: %+v", r)
	}
	p, err = Parse([]byte("price,sku,currency\nSKU-1,x,EUR\n"))
	if err != nil || p.Kind != Prices || len(p.Rejects) != 1 || p.Rejects[0].Column != "price" {
		t.Fatalf("prices file read by name: %+v, %v", p, err)
	}
	for header, want := range map[string]string{
		"sku,title,erp_item_id,variant_id,warehouse_sku,price,currency,tax_code":             "lacks active",
		"sku,title,erp_item_id,variant_id,warehouse_sku,price,currency,tax_code,active,size": `"size" is not a master column`,
		"sku,sku,title,erp_item_id,variant_id,warehouse_sku,price,currency,tax_code,active":  `names "sku" twice`,
		"": "header row",
	} {
		_, err := Parse([]byte(header))
		if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), want) {
			t.Errorf("header %q: %v, want unreadable naming %q", header, err, want)
		}
	}
}

// FuzzParse: any bytes give rows, rejects or ErrUnreadable, never a panic, and every row is
// accounted for once.
func FuzzParse(f *testing.F) {
	f.Add([]byte("sku,price,currency\nA,1,EUR\n"))
	f.Add([]byte("sku,title,erp_item_id,variant_id,warehouse_sku,price,currency,tax_code,active\n,\"x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil && !errors.Is(err, ErrUnreadable) {
			t.Fatalf("error not marked unreadable: %v", err)
		}
		seen := map[string]bool{}
		for _, r := range p.Rows {
			if seen[r.Item.SKU] || r.Item.SKU == "" {
				t.Fatalf("row %d: empty or repeated SKU %q", r.Line, r.Item.SKU)
			}
			seen[r.Item.SKU] = true
		}
	})
}
