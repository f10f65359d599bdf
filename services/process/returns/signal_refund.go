package returns

import (
	"cmp"
	"context"
	"encoding/json"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// The refund's later life: from the moment the refund exists until long after the return
// closed. (While the refunding step runs, updates are kept and applied when it commits.)

// refundResolution is SignalRefundResolve's payload.
type refundResolution struct {
	Resolution string `json:"resolution"` // retry, settled_outside
	Note       string `json:"note"`
}

// refundUpdate is SignalRefundUpdate's payload.
type refundUpdate struct {
	RefundID string `json:"refund_id"`
	Status   string `json:"status"`
}

// afterRefund are the handlers of a state after the refund was made.
func (f *flow) afterRefund(state string) map[string]workflow.SignalHandler {
	h := map[string]workflow.SignalHandler{SignalRefundUpdate: f.refundUpdated}
	if state == StateFailed {
		h[SignalRefundResolve] = f.resolveRefund
	} else {
		h[TimerRefundEscalate] = f.escalate
	}
	return h
}

// escalate hands a refund still pending when the escalation timer fires to customer service:
// while the return is still being closed as an event and a flag, once it is closed by reopening
// it into failed_needs_attention (the queue people work), from which the gateway's later
// success settles it by itself.
func (f *flow) escalate(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
	var d returnData
	if err := i.Decode(&d); err != nil {
		return workflow.Result{}, err
	}
	if settledRefund(d.RefundStatus) {
		return workflow.Result{}, nil
	}
	d.EscalatedRefund = true
	res := workflow.Result{Data: d, Note: "refund pending too long: escalated", Events: []*canonicalv1.Event{
		returnEvent(&d, "retailbridge.returns.refund.escalated.v1", f.now())}}
	if i.Terminal {
		d.RefundAttention = true
		res.Next, res.Data = StateFailed, d
		res.Note = "refund " + d.RefundID + " still pending at the payment gateway: escalated to customer service"
		res.Events = append(res.Events, stateEvent(&d, StateFailed, f.now()))
	}
	return res, nil
}

// refundUpdated applies the payment gateway's word on the refund.
func (f *flow) refundUpdated(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	var d returnData
	if err := i.Decode(&d); err != nil {
		return workflow.Result{}, err
	}
	var u refundUpdate
	if err := json.Unmarshal(payload, &u); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "refund_update_invalid", "the refund update is not readable")
	}
	if d.RefundID != "" && u.RefundID != "" && u.RefundID != d.RefundID {
		return workflow.Result{Note: "update for refund " + u.RefundID + " ignored: this return's refund is " + d.RefundID}, nil
	}
	status := mergeRefundStatus(d.RefundStatus, u.Status)
	if status == d.RefundStatus {
		return workflow.Result{}, nil // a repeat, or older news
	}
	d.RefundStatus = status
	if d.RefundID == "" {
		d.RefundID = u.RefundID
	}
	switch status {
	case "succeeded":
		res := workflow.Result{Data: d, Note: "refund " + d.RefundID + " succeeded at the payment gateway",
			CancelTimers: []string{TimerRefundEscalate}}
		if i.State == StateFailed && d.RefundAttention {
			d.RefundAttention = false
			res.Data, res.Next = d, StateRefunded
			res.Note = "refund " + d.RefundID + " settled at the payment gateway: the return is refunded"
			res.Events = []*canonicalv1.Event{stateEvent(&d, StateRefunded, f.now())}
		}
		return res, nil
	case "failed", "canceled":
		d.RefundAttention = true
		return workflow.Result{Next: StateFailed, Data: d, CancelTimers: []string{TimerRefundEscalate},
			Note: "refund " + d.RefundID + " " + status + " at the payment gateway: the customer has not been paid; customer service must refund another way",
			Events: []*canonicalv1.Event{
				returnEvent(&d, "retailbridge.returns.refund.failed.v1", f.now()),
				stateEvent(&d, StateFailed, f.now()),
			}}, nil
	}
	return workflow.Result{Data: d}, nil
}

// resolveRefund is customer service's decision about a refund the gateway failed: refund again
// (a new refund), or close the return as paid another way. A refund still pending is the
// gateway's to settle: refunding again could pay the customer twice.
func (f *flow) resolveRefund(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	var d returnData
	if err := i.Decode(&d); err != nil {
		return workflow.Result{}, err
	}
	var p refundResolution
	if err := json.Unmarshal(payload, &p); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "refund_resolution_invalid", "the resolution is not readable")
	}
	if !d.RefundAttention || (d.RefundStatus != "failed" && d.RefundStatus != "canceled") {
		return workflow.Result{}, errs.E(errs.FailedPrecondition, "refund_not_failed",
			"only a return whose refund the payment gateway failed can be resolved; this refund is "+cmp.Or(d.RefundStatus, "not made"))
	}
	d.RefundAttention = false
	switch p.Resolution {
	case "retry":
		d.RefundAttempt++
		d.RefundID, d.RefundStatus = "", ""
		return workflow.Result{Next: StateRefunding, Data: d, Note: "refund requested again: " + p.Note,
			Events: []*canonicalv1.Event{stateEvent(&d, StateRefunding, f.now())}}, nil
	case "settled_outside":
		d.SettledOutside = true
		return workflow.Result{Next: StateRefunded, Data: d, Note: "refund settled outside the payment gateway: " + p.Note,
			Events: []*canonicalv1.Event{stateEvent(&d, StateRefunded, f.now())}}, nil
	}
	return workflow.Result{}, errs.E(errs.Invalid, "refund_resolution_invalid", "unknown resolution "+p.Resolution)
}
