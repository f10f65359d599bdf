package returns

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// A receipt is applied to a return only when it is the return's: its reference is the return's
// id and its lines are the return's lines. A receipt id alone proves nothing — a warehouse that
// lost its records gives the same id to another return.
func TestReceiptConditionsMatchByReference(t *testing.T) {
	t.Parallel()
	d := &returnData{ReturnID: "ret_a", Lines: []returnLine{{OrderLineID: "9001", SKU: "APP-000"}}}
	line := func(orderLine, sku string, c canonicalv1.ItemCondition) *canonicalv1.ReturnLine {
		return &canonicalv1.ReturnLine{OrderLineId: orderLine, Sku: sku, Condition: c}
	}
	for _, tc := range []struct {
		name         string
		receipt      *wmsv1.GetReturnReceiptResponse
		want         map[string]string
		wantMismatch bool
	}{
		{"own receipt, inspected", &wmsv1.GetReturnReceiptResponse{Reference: "ret_a",
			Lines: []*canonicalv1.ReturnLine{line("9001", "APP-000", canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED)}},
			map[string]string{"9001": "damaged"}, false},
		{"own receipt by SKU", &wmsv1.GetReturnReceiptResponse{Reference: "ret_a",
			Lines: []*canonicalv1.ReturnLine{line("", "APP-000", canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE)}},
			map[string]string{"APP-000": "resellable"}, false},
		{"own receipt, not inspected", &wmsv1.GetReturnReceiptResponse{Reference: "ret_a",
			Lines: []*canonicalv1.ReturnLine{line("9001", "APP-000", canonicalv1.ItemCondition_ITEM_CONDITION_UNSPECIFIED)}},
			map[string]string{}, false},
		{"another return's receipt under the same id", &wmsv1.GetReturnReceiptResponse{Reference: "ret_b",
			Lines: []*canonicalv1.ReturnLine{line("9001", "APP-000", canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED)}},
			nil, true},
		{"no reference", &wmsv1.GetReturnReceiptResponse{
			Lines: []*canonicalv1.ReturnLine{line("9001", "APP-000", canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED)}},
			nil, true},
		{"a line the return does not have", &wmsv1.GetReturnReceiptResponse{Reference: "ret_a",
			Lines: []*canonicalv1.ReturnLine{line("7777", "FTW-100", canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED)}},
			nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, mismatch := receiptConditions(d, tc.receipt)
			if (mismatch != "") != tc.wantMismatch {
				t.Errorf("mismatch %q; want mismatch %v", mismatch, tc.wantMismatch)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}
