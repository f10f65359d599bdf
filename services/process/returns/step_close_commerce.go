package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// closeCommerce (closing_commerce) records the refund on the storefront's order.
func (f *flow) closeCommerce(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	var lines []*commercev1.RefundLine
	for _, l := range d.Lines {
		lines = append(lines, &commercev1.RefundLine{OrderLineId: l.OrderLineID, Quantity: l.Quantity, Restock: l.Condition == "resellable"})
	}
	resp, err := f.sys.commerce.RecordRefund(ctx, &commercev1.RecordRefundRequest{OrderId: d.OrderID, Lines: lines,
		Amount: money.New(d.refundAmount(), d.Currency), IdempotencyKey: r.Key, GatewayRefundId: d.RefundID})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.PlatformRefundID = resp.GetPlatformRefundId()
	return StateClosingPlatform, nil
}
