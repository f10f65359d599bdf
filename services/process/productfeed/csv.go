package productfeed

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/retailbridge/retailbridge/pkg/money"
)

// Kind is what a file carries, told by its header.
type Kind string

const (
	// Master files carry every item master column.
	Master Kind = "master"
	// Prices files carry sku, price and currency only and update known items' prices.
	Prices Kind = "prices"
)

// masterColumns are the product master's columns; the header names them in any order.
var masterColumns = []string{"sku", "title", "erp_item_id", "variant_id", "warehouse_sku",
	"price", "currency", "tax_code", "active"}

var priceColumns = []string{"sku", "price", "currency"}

// MaxRows bounds one file, so one export cannot hold a transaction for minutes.
const MaxRows = 100_000

// Item is one item master row.
type Item struct {
	SKU, Title, ERPItemID, VariantID, WarehouseSKU string
	PriceMinor                                     int64
	Currency, TaxCode                              string
	Active                                         bool
}

// Row is a valid row with its row number (the header is row 1, as a spreadsheet shows it).
type Row struct {
	Line int
	Item Item
}

// Reject is a row refused, naming the column and why ("" column: the whole row).
type Reject struct {
	Line   int    `json:"row"`
	Column string `json:"column"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// Parsed is a readable file: its kind, valid rows and rejected rows.
type Parsed struct {
	Kind    Kind
	Rows    []Row
	Rejects []Reject
}

// ErrUnreadable marks a file that cannot be read as a table at all (not UTF-8, broken quoting,
// no usable header); such a file is quarantined, not reported row by row.
var ErrUnreadable = errors.New("productfeed: unreadable file")

// Parse reads a CSV product master or prices file. A UTF-8 byte order mark is skipped.
func Parse(data []byte) (Parsed, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return Parsed{}, fmt.Errorf("%w: not UTF-8", ErrUnreadable)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return Parsed{}, fmt.Errorf("%w: header row: %v", ErrUnreadable, err)
	}
	kind, index, err := readHeader(header)
	if err != nil {
		return Parsed{}, err
	}
	p := Parsed{Kind: kind}
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			p.Rejects = append(p.Rejects, Reject{Line: pe.StartLine, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		if err != nil {
			return Parsed{}, fmt.Errorf("%w: %v", ErrUnreadable, err)
		}
		// The line the record starts on (a quoted field may span lines).
		line, _ := r.FieldPos(0)
		if len(p.Rows)+len(p.Rejects) >= MaxRows {
			return Parsed{}, fmt.Errorf("%w: more than %d rows", ErrUnreadable, MaxRows)
		}
		item, rej := readRow(kind, index, rec)
		if rej == nil {
			if first, dup := seen[item.SKU]; dup {
				rej = &Reject{Column: "sku", Value: item.SKU, Reason: fmt.Sprintf("duplicate of row %d", first)}
			} else {
				seen[item.SKU] = line
			}
		}
		if rej != nil {
			rej.Line = line
			p.Rejects = append(p.Rejects, *rej)
			continue
		}
		p.Rows = append(p.Rows, Row{Line: line, Item: item})
	}
	return p, nil
}

// readHeader checks the header by name: every column of the kind present once; unknown columns
// are refused so a renamed column is not silently ignored.
func readHeader(header []string) (Kind, map[string]int, error) {
	index := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if _, dup := index[name]; dup {
			return "", nil, fmt.Errorf("%w: header names %q twice", ErrUnreadable, name)
		}
		index[name] = i
	}
	kind, want := Master, masterColumns
	if _, ok := index["title"]; !ok && len(index) == len(priceColumns) {
		kind, want = Prices, priceColumns
	}
	var missing []string
	for _, c := range want {
		if _, ok := index[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return "", nil, fmt.Errorf("%w: header lacks %s (a %s file needs %s)", ErrUnreadable,
			strings.Join(missing, ", "), kind, strings.Join(want, ", "))
	}
	if len(index) != len(want) {
		known := map[string]bool{}
		for _, c := range want {
			known[c] = true
		}
		for name := range index {
			if !known[name] {
				return "", nil, fmt.Errorf("%w: header column %q is not a %s column", ErrUnreadable, name, kind)
			}
		}
	}
	return kind, index, nil
}

// readRow validates one record; the first bad column is named.
func readRow(kind Kind, index map[string]int, rec []string) (Item, *Reject) {
	get := func(c string) string { return strings.TrimSpace(rec[index[c]]) }
	bad := func(c, reason string) (Item, *Reject) {
		return Item{}, &Reject{Column: c, Value: get(c), Reason: reason}
	}
	it := Item{SKU: get("sku"), Currency: strings.ToUpper(get("currency"))}
	if it.SKU == "" {
		return bad("sku", "is empty")
	}
	if len(it.SKU) > 64 || strings.ContainsAny(it.SKU, " \t") {
		return bad("sku", "must be at most 64 characters without spaces")
	}
	if len(it.Currency) != 3 || strings.Trim(it.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return bad("currency", "is not a three-letter ISO 4217 code")
	}
	price, err := money.ParseDecimal(get("price"), it.Currency)
	if err != nil {
		return bad("price", strings.TrimPrefix(err.Error(), "money: "))
	}
	if price < 0 {
		return bad("price", "is negative")
	}
	it.PriceMinor = price
	if kind == Prices {
		return it, nil
	}
	it.Title, it.ERPItemID, it.VariantID = get("title"), get("erp_item_id"), get("variant_id")
	it.WarehouseSKU, it.TaxCode = get("warehouse_sku"), get("tax_code")
	for _, c := range []string{"title", "erp_item_id", "tax_code"} {
		if get(c) == "" {
			return bad(c, "is empty")
		}
	}
	switch strings.ToLower(get("active")) {
	case "true", "1", "yes", "y":
		it.Active = true
	case "false", "0", "no", "n":
	default:
		return bad("active", "must be true or false")
	}
	return it, nil
}
