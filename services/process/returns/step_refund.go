package returns

import (
	"context"
	"fmt"
	"strconv"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// refund (refunding) pays the customer back through the payment gateway: the pivot of the
// workflow, after which the return only goes forward.
func (f *flow) refund(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
	amount := d.refundAmount()
	if amount <= 0 {
		return d.nextAfterRefund(), nil
	}
	// A refund customer service asked for again after the gateway failed the last one is a
	// new refund: its own key (the old one would replay the failure) and attempt number.
	key, meta := r.Key, map[string]string{"return_id": d.ReturnID, "order_id": d.OrderID}
	if d.RefundAttempt > 0 {
		key = fmt.Sprintf("%s:attempt-%d", r.Key, d.RefundAttempt+1)
		meta["attempt"] = strconv.Itoa(d.RefundAttempt + 1)
	}
	resp, err := f.sys.payments.CreateRefund(ctx, &paymentsv1.CreateRefundRequest{
		PaymentReference: d.PaymentReference, Amount: money.New(amount, d.Currency), IdempotencyKey: key,
		Metadata: meta})
	if err != nil {
		return "", errs.FromError(err)
	}
	d.RefundID = resp.GetRefund().GetGatewayRefundId()
	// A gateway webhook may have told a later status already (kept and applied); a
	// retried call's answer never takes the refund back to pending.
	d.RefundStatus = mergeRefundStatus(d.RefundStatus, refundStatus(resp.GetRefund().GetStatus()))
	if d.RefundStatus == "failed" || d.RefundStatus == "canceled" {
		return "", errs.E(errs.FailedPrecondition, "refund_failed", "the payment gateway refused the refund")
	}
	return d.nextAfterRefund(), nil
}

// settledRefund reports whether a refund status is final at the gateway.
func settledRefund(status string) bool {
	return status == "succeeded" || status == "failed" || status == "canceled"
}

// mergeRefundStatus orders what the gateway says about a refund, which arrives late and out of
// order: a settled status is never taken back to pending, and a refund that succeeded can still
// fail (the card network returns it), but nothing comes back from failed or canceled.
func mergeRefundStatus(current, update string) string {
	switch {
	case update == "" || current == update:
		return current
	case current == "failed" || current == "canceled":
		return current
	case current == "succeeded":
		if update == "failed" {
			return update
		}
		return current
	}
	return update
}

func refundStatus(s canonicalv1.RefundStatus) string {
	switch s {
	case canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED:
		return "succeeded"
	case canonicalv1.RefundStatus_REFUND_STATUS_FAILED:
		return "failed"
	case canonicalv1.RefundStatus_REFUND_STATUS_CANCELED:
		return "canceled"
	case canonicalv1.RefundStatus_REFUND_STATUS_REQUIRES_ACTION:
		return "requires_action"
	}
	return "pending"
}
