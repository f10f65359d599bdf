package returns

import (
	"context"
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// disposition (dispositioning) acts on what inspection found: damaged units are written off in
// the ERP, a wrong or missing item holds the return for customer service.
func (f *flow) disposition(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	wrong := false
	for i, l := range d.Lines {
		switch l.Condition {
		case "damaged":
			_, err := f.sys.erp.RecordInventoryAdjustment(ctx, &erpv1.RecordInventoryAdjustmentRequest{
				Adjustment: &canonicalv1.InventoryAdjustment{Sku: l.SKU, LocationId: d.LocationID,
					FromState: canonicalv1.InventoryState_INVENTORY_STATE_RETURNED_AWAITING_INSPECTION,
					ToState:   canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED, Quantity: int64(l.Quantity), Reason: "return_damaged"},
				Disposition:    canonicalv1.Disposition_DISPOSITION_WRITE_OFF,
				Value:          money.New(l.UnitPrice*int64(l.Quantity), d.Currency),
				IdempotencyKey: fmt.Sprintf("%s:%d", r.Key, i)})
			if err != nil {
				return "", errs.FromError(err)
			}
		case "wrong_or_missing":
			wrong = true
		}
	}
	if wrong {
		d.Exception = "wrong or missing item found at inspection"
		return StateException, nil
	}
	return StateRefunding, nil
}
