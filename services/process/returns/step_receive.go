package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// receiveInERP (receiving_erp) books the item receipt against the RMA: resellable units back
// into stock.
func (f *flow) receiveInERP(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	var lines []*erpv1.ReceiptLine
	for _, l := range d.Lines {
		lines = append(lines, &erpv1.ReceiptLine{Sku: l.SKU, Quantity: l.Quantity, Restock: l.Condition == "resellable",
			Condition: conditionProto(l.Condition)})
	}
	resp, err := f.sys.erp.CreateItemReceipt(ctx, &erpv1.CreateItemReceiptRequest{ReturnAuthorizationId: d.RMAID,
		LocationId: d.LocationID, Lines: lines, IdempotencyKey: r.Key})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.ItemReceiptID = resp.GetItemReceiptId()
	return StateCrediting, nil
}
