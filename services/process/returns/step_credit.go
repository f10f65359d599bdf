package returns

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// credit (crediting) posts the credit memo in the ERP: the refund, line by line.
func (f *flow) credit(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	var lines []*canonicalv1.CreditMemoLine
	for i, amount := range lineCredits(d) {
		l := d.Lines[i]
		lines = append(lines, &canonicalv1.CreditMemoLine{Sku: l.SKU, Quantity: l.Quantity,
			Amount: money.New(amount, d.Currency), Restock: l.Condition == "resellable"})
	}
	resp, err := f.sys.erp.CreateCreditMemo(ctx, &erpv1.CreateCreditMemoRequest{ReturnAuthorizationId: d.RMAID,
		Lines: lines, Total: money.New(d.refundAmount(), d.Currency), IdempotencyKey: r.Key})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.CreditMemoID, d.CreditMemoNumber = resp.GetCreditMemo().GetId(), resp.GetCreditMemo().GetNumber()
	return StateClosingCommerce, nil
}

// lineCredits splits the refund over the lines so they add up to it exactly: the policy's line
// refunds, or, after an override, each line's share of the override in proportion to its price,
// the rounding remainder on the last line.
func lineCredits(d *returnData) []int64 {
	out := make([]int64, len(d.Lines))
	if d.Override == nil {
		for i, l := range d.Lines {
			out[i] = l.Refund
		}
		return out
	}
	var gross int64
	for _, l := range d.Lines {
		gross += l.UnitPrice * int64(l.Quantity)
	}
	var given int64
	for i, l := range d.Lines {
		if i == len(d.Lines)-1 || gross == 0 {
			out[i] = d.Override.Amount - given
			break
		}
		out[i] = d.Override.Amount * l.UnitPrice * int64(l.Quantity) / gross
		given += out[i]
	}
	return out
}
