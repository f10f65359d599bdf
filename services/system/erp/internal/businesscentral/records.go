package businesscentral

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// collection is an OData collection answer.
type collection[T any] struct {
	Value []T `json:"value"`
}

// returnItem is the returns extension's item page: the standard item fields and the return policy.
type returnItem struct {
	ID               string      `json:"id"`
	Number           string      `json:"number"`
	DisplayName      string      `json:"displayName"`
	ItemCategoryCode string      `json:"itemCategoryCode"`
	UnitPrice        json.Number `json:"unitPrice"`
	Returnable       bool        `json:"returnable"`
	FinalSale        bool        `json:"finalSale"`
	ReturnWindowDays int32       `json:"returnWindowDays"`
	LastModified     string      `json:"lastModifiedDateTime"`
}

func (r returnItem) item(currency string) (*erpv1.Item, error) {
	price, err := minor(r.UnitPrice)
	if err != nil {
		return nil, fmt.Errorf("item %s unitPrice: %w", r.Number, err)
	}
	mod, err := time.Parse(time.RFC3339Nano, r.LastModified)
	if err != nil {
		return nil, fmt.Errorf("item %s lastModifiedDateTime: %w", r.Number, err)
	}
	return &erpv1.Item{Sku: r.Number, ErpId: r.ID, DisplayName: r.DisplayName, Category: r.ItemCategoryCode,
		Returnable: r.Returnable, ReturnWindowDays: r.ReturnWindowDays, FinalSale: r.FinalSale,
		BasePrice: money.New(price, currency), UpdatedAt: timestamppb.New(mod.UTC().Truncate(time.Second))}, nil
}

// minor reads a decimal amount into minor units (two decimals, Business Central's amount precision).
func minor(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not an amount", n)
	}
	return int64(math.Round(f * 100)), nil
}

// decimal writes minor units as the JSON number Business Central expects.
func decimal(m int64) json.Number {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return json.Number(fmt.Sprintf("%s%d.%02d", sign, m/100, m%100))
}

// docLine is a document line as the API pages show and accept it.
type docLine struct {
	Sequence         int         `json:"sequence,omitempty"`
	LineType         string      `json:"lineType,omitempty"`
	LineObjectNumber string      `json:"lineObjectNumber"`
	Quantity         json.Number `json:"quantity"`
	UnitPrice        json.Number `json:"unitPrice,omitempty"`
	DiscountAmount   json.Number `json:"discountAmount,omitempty"`
	QuantityReceived json.Number `json:"quantityReceived,omitempty"`
	ReturnReasonCode string      `json:"returnReasonCode,omitempty"`
	Restock          bool        `json:"restock,omitempty"`
	Condition        string      `json:"condition,omitempty"`
}

func (l docLine) qty() int64 {
	n, _ := strconv.ParseInt(string(l.Quantity), 10, 64)
	return n
}

func count(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// document is any document the connector reads (sales order, return order, receipt, credit
// memo, adjustment); each uses its own fields.
type document struct {
	ETag             string      `json:"@odata.etag"`
	ID               string      `json:"id"`
	Number           string      `json:"number"`
	External         string      `json:"externalDocumentNumber"`
	CustomerNumber   string      `json:"customerNumber"`
	Status           string      `json:"status"`
	YourReference    string      `json:"yourReference"`
	SalesOrderID     string      `json:"salesOrderId"`
	Total            json.Number `json:"totalAmountIncludingTax"`
	Currency         string      `json:"currencyCode"`
	LastModified     string      `json:"lastModifiedDateTime"`
	SystemCreatedAt  string      `json:"systemCreatedAt"`
	SalesOrderLines  []docLine   `json:"salesOrderLines"`
	ReturnOrderLines []docLine   `json:"returnOrderLines"`
	CreditMemoLines  []docLine   `json:"salesCreditMemoLines"`
}

// authorised is how many units of sku the return order authorises.
func (d *document) authorised(sku string) int64 {
	var n int64
	for _, l := range d.ReturnOrderLines {
		if l.LineObjectNumber == sku {
			n += l.qty()
		}
	}
	return n
}

// isGUID says whether id has Business Central's id format; anything else names no document.
func isGUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
