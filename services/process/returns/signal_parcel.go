package returns

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// The waiting states' handlers for the parcel's journey, inspection and customer service's
// hand on the amount.

// move goes to next, cancelling the named timers.
func (f *flow) move(next string, cancel ...string) workflow.SignalHandler {
	return func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
		var d returnData
		if err := i.Decode(&d); err != nil {
			return workflow.Result{}, err
		}
		return workflow.Result{Next: next, CancelTimers: cancel, Events: []*canonicalv1.Event{stateEvent(&d, next, f.now())}}, nil
	}
}

// compensateTo undoes the completed steps and ends in next (cancelled, denied, expired).
func (f *flow) compensateTo(next string) workflow.SignalHandler {
	return func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
		var d returnData
		if err := i.Decode(&d); err != nil {
			return workflow.Result{}, err
		}
		return workflow.Result{Next: next, Compensate: true, CancelTimers: []string{TimerReceiptReminder, TimerReceiptExpiry},
			Events: []*canonicalv1.Event{stateEvent(&d, next, f.now())}}, nil
	}
}

// inspected applies the warehouse's inspection to the lines.
func (f *flow) inspected(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	var d returnData
	if err := i.Decode(&d); err != nil {
		return workflow.Result{}, err
	}
	var conditions map[string]string // order line id or SKU → resellable, damaged, wrong_or_missing
	if err := json.Unmarshal(payload, &conditions); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "inspection_payload_invalid", "the inspection result is not readable")
	}
	for i, l := range d.Lines {
		c := conditions[l.OrderLineID]
		if c == "" {
			c = conditions[l.SKU]
		}
		if c == "" {
			c = "wrong_or_missing" // a line the warehouse did not report is missing
		}
		d.Lines[i].Condition = c
	}
	d.InspectionResults = conditions
	return workflow.Result{Next: StateDispositioning, Data: d, Events: []*canonicalv1.Event{stateEvent(&d, StateDispositioning, f.now())}}, nil
}

// inspectedEarly applies an inspection reported before its receipt: webhooks arrive late and
// out of order, and an inspection means the parcel was received (the late receipt is then
// ignored).
func (f *flow) inspectedEarly(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	res, err := f.inspected(ctx, i, payload)
	res.CancelTimers = []string{TimerReceiptReminder, TimerReceiptExpiry}
	return res, err
}

// reminder tells the customer the parcel has not arrived yet.
func (f *flow) reminder(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
	var d returnData
	if err := i.Decode(&d); err != nil {
		return workflow.Result{}, err
	}
	d.ReminderSent = true
	return workflow.Result{Data: d, Note: "receipt reminder sent", Events: []*canonicalv1.Event{
		returnEvent(&d, "retailbridge.returns.return.receipt_reminder.v1", f.now())}}, nil
}

// overrideRefund sets the amount customer service decided.
func (f *flow) overrideRefund(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
	var d returnData
	if err := i.Decode(&d); err != nil {
		return workflow.Result{}, err
	}
	var o override
	if err := json.Unmarshal(payload, &o); err != nil {
		return workflow.Result{}, errs.Wrap(err, errs.Invalid, "override_invalid", "the override is not readable")
	}
	d.Override = &o
	return workflow.Result{Data: d, Note: fmt.Sprintf("refund overridden to %s by %s", money.FormatDecimal(o.Amount, d.Currency), o.By)}, nil
}
