package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// announce (announcing) tells the warehouse what is coming, so the dock can receive it.
func (f *flow) announce(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	resp, err := f.sys.wms.ExpectReturn(ctx, &wmsv1.ExpectReturnRequest{Return: d.canonical(""), LocationId: d.LocationID, IdempotencyKey: r.Key})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.ReceiptID = resp.GetReceiptId()
	return StateAwaitingParcel, nil
}
