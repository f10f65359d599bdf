package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// openRMA (requested) opens the return authorisation in the ERP against the sales order.
func (f *flow) openRMA(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	resp, err := f.sys.erp.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{
		Return: d.canonical(""), SalesOrderId: d.OrderID, IdempotencyKey: r.Key})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.RMAID, d.RMANumber = resp.GetReturnAuthorizationId(), resp.GetRmaNumber()
	return StateRegistering, nil
}

// closeRMA compensates openRMA: the RMA is closed, not deleted, so the ERP keeps its history.
func (f *flow) closeRMA(ctx context.Context, r workflow.Run, d *returnData) error {
	if d.RMAID == "" {
		return nil
	}
	_, err := f.sys.erp.CloseReturnAuthorization(ctx, &erpv1.CloseReturnAuthorizationRequest{
		ReturnAuthorizationId: d.RMAID, IdempotencyKey: r.Key + ":close"})
	return asError(err)
}
