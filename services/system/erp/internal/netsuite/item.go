package netsuite

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// inventoryItem is the part of NetSuite's inventoryItem REST record Retailbridge reads. The
// return-policy attributes are item custom fields the integration's bundle installs.
type inventoryItem struct {
	ID               string      `json:"id"`
	ItemID           string      `json:"itemId"`
	ExternalID       string      `json:"externalId"`
	DisplayName      string      `json:"displayName"`
	BasePrice        json.Number `json:"basePrice"`
	LastModifiedDate string      `json:"lastModifiedDate"`
	Returnable       bool        `json:"custitem_rb_returnable"`
	FinalSale        bool        `json:"custitem_rb_final_sale"`
	WindowDays       json.Number `json:"custitem_rb_return_window_days"`
	ReturnCategory   *listValue  `json:"custitem_rb_return_category"`
}

// listValue is a reference to a custom list value.
type listValue struct {
	ID      string `json:"id"`
	RefName string `json:"refName"`
}

// collection is a page of a record listing.
type collection struct {
	Count        int  `json:"count"`
	HasMore      bool `json:"hasMore"`
	TotalResults int  `json:"totalResults"`
}

// toItem converts a record. Prices are read from the JSON number's text, never through float64.
func toItem(rec inventoryItem, currency string) (*erpv1.Item, error) {
	it := &erpv1.Item{
		Sku:         rec.ExternalID,
		ErpId:       rec.ID,
		DisplayName: rec.DisplayName,
		Category:    toCategory(rec.ReturnCategory),
		Returnable:  rec.Returnable,
		FinalSale:   rec.FinalSale,
	}
	if it.Sku == "" {
		it.Sku = rec.ItemID // records created in the UI may have no external id
	}
	if it.DisplayName == "" { // NetSuite leaves display name empty unless someone fills it in
		it.DisplayName = cmp.Or(rec.ItemID, it.Sku)
	}
	if rec.BasePrice != "" {
		minor, err := money.ParseDecimal(rec.BasePrice.String(), currency)
		if err != nil {
			return nil, fmt.Errorf("item %s basePrice: %w", rec.ID, err)
		}
		it.BasePrice = money.New(minor, currency)
	}
	if rec.WindowDays != "" {
		days, err := strconv.ParseInt(rec.WindowDays.String(), 10, 32)
		if err != nil || days < 0 {
			return nil, fmt.Errorf("item %s custitem_rb_return_window_days %q is not a day count", rec.ID, rec.WindowDays)
		}
		it.ReturnWindowDays = int32(days)
	}
	if rec.LastModifiedDate != "" {
		t, err := time.Parse(time.RFC3339, rec.LastModifiedDate)
		if err != nil {
			return nil, fmt.Errorf("item %s lastModifiedDate: %w", rec.ID, err)
		}
		it.UpdatedAt = timestamppb.New(t)
	}
	return it, nil
}

// toCategory turns the custom list value's name ("Gift Card") into the policy category code
// ("gift_card").
func toCategory(ref *listValue) string {
	if ref == nil {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(ref.RefName)), " ", "_")
}
