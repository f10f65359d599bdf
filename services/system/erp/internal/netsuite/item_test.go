package netsuite

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

func decodeRecord(tb testing.TB, body []byte) inventoryItem {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var rec inventoryItem
	if err := dec.Decode(&rec); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return rec
}

// TestToItemFromPayload maps a payload in NetSuite's shape, with fields Retailbridge ignores and a
// price whose trailing zero must not lose or gain a cent.
func TestToItemFromPayload(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/inventory_item.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := toItem(decodeRecord(t, body), "USD")
	if err != nil {
		t.Fatalf("toItem: %v", err)
	}
	want := &erpv1.Item{
		Sku:              "ELC-320",
		ErpId:            "3042",
		DisplayName:      "Olive Smartwatch",
		Category:         "electronics",
		Returnable:       true,
		ReturnWindowDays: 14,
		BasePrice:        money.New(24990, "USD"),
		UpdatedAt:        timestamppb.New(time.Date(2026, 3, 1, 17, 42, 0, 0, time.UTC)),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("toItem mismatch (-want +got):\n%s", diff)
	}
}

func TestToItem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		currency string
		want     *erpv1.Item
		wantErr  bool
	}{
		{
			name:     "sparse record falls back to itemId and leaves unknowns empty",
			body:     `{"id":"7","itemId":"GFT-600"}`,
			currency: "USD",
			want:     &erpv1.Item{Sku: "GFT-600", ErpId: "7", DisplayName: "GFT-600"},
		},
		{
			name:     "category with spaces becomes a snake_case code",
			body:     `{"id":"8","externalId":"GFT-601","custitem_rb_return_category":{"id":"7","refName":" Gift Card "}}`,
			currency: "USD",
			want:     &erpv1.Item{Sku: "GFT-601", ErpId: "8", DisplayName: "GFT-601", Category: "gift_card"},
		},
		{
			name:     "large price stays exact",
			body:     `{"id":"9","externalId":"X","basePrice":90071992547409.93}`,
			currency: "USD",
			want:     &erpv1.Item{Sku: "X", ErpId: "9", DisplayName: "X", BasePrice: money.New(9007199254740993, "USD")},
		},
		{
			name:     "zero-decimal currency",
			body:     `{"id":"10","externalId":"Y","basePrice":1500}`,
			currency: "JPY",
			want:     &erpv1.Item{Sku: "Y", ErpId: "10", DisplayName: "Y", BasePrice: money.New(1500, "JPY")},
		},
		{name: "sub-cent price", body: `{"id":"1","externalId":"Z","basePrice":1.005}`, currency: "USD", wantErr: true},
		{name: "exponent price", body: `{"id":"1","externalId":"Z","basePrice":1e3}`, currency: "USD", wantErr: true},
		{name: "fractional window", body: `{"id":"1","externalId":"Z","custitem_rb_return_window_days":1.5}`, currency: "USD", wantErr: true},
		{name: "negative window", body: `{"id":"1","externalId":"Z","custitem_rb_return_window_days":-1}`, currency: "USD", wantErr: true},
		{name: "bad date", body: `{"id":"1","externalId":"Z","lastModifiedDate":"1/3/2026 5:42 pm"}`, currency: "USD", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := toItem(decodeRecord(t, []byte(tt.body)), tt.currency)
			if tt.wantErr {
				if err == nil {
					t.Errorf("toItem = %v; want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("toItem: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("toItem mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
