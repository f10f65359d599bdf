package returns

import (
	"context"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// flow is the return-to-refund workflow's steps and signal handlers (one file per step:
// step_*.go; the waiting states' handlers: signal_*.go), over the system APIs it drives.
type flow struct {
	sys     systems
	timings Timings
	now     func() time.Time
}

// stepFunc does one step's call on the return's data and says which state comes next.
type stepFunc func(ctx context.Context, r workflow.Run, d *returnData) (string, error)

// compensateFunc undoes what a step did, when the return is cancelled, denied or expires.
type compensateFunc func(ctx context.Context, r workflow.Run, d *returnData) error

// step adapts a step to the workflow engine: the return's data in and out, the event of the
// state it enters, and the timers that state starts.
func (f *flow) step(system string, do stepFunc, comp compensateFunc) workflow.Step {
	s := workflow.Step{System: system, Do: func(ctx context.Context, r workflow.Run) (workflow.Result, error) {
		var d returnData
		if err := r.Decode(&d); err != nil {
			return workflow.Result{}, errs.Wrap(err, errs.Internal, "return_data_corrupt", "")
		}
		next, err := do(d.withRoute(ctx), r, &d)
		if err != nil {
			return workflow.Result{}, err
		}
		res := workflow.Result{Next: next, Data: d, Events: []*canonicalv1.Event{stateEvent(&d, next, f.now())}}
		switch next {
		case StateAwaitingParcel:
			res.Timers = []workflow.Timer{
				{Name: TimerReceiptReminder, At: f.now().Add(f.timings.ReceiptReminder)},
				{Name: TimerReceiptExpiry, At: f.now().Add(f.timings.ReceiptExpiry)},
			}
		}
		// A refund the gateway has not settled yet is escalated if it stays so.
		if r.State == StateRefunding && d.RefundStatus == "pending" {
			res.Timers = []workflow.Timer{{Name: TimerRefundEscalate, At: f.now().Add(f.timings.RefundEscalation)}}
		}
		return res, nil
	}}
	if comp != nil {
		s.Compensate = func(ctx context.Context, r workflow.Run) error {
			var d returnData
			if err := r.Decode(&d); err != nil {
				return err
			}
			return comp(d.withRoute(ctx), r, &d)
		}
	}
	return s
}

// steps are the active states' steps.
func (f *flow) steps() map[string]workflow.Step {
	return map[string]workflow.Step{
		StateRequested:       f.step("erp", f.openRMA, f.closeRMA),
		StateRegistering:     f.step("returnsplatform", f.register, f.unregister),
		StateLabelling:       f.step("returnsplatform", f.label, f.voidLabel),
		StateAnnouncing:      f.step("wms", f.announce, nil),
		StateDispositioning:  f.step("erp", f.disposition, nil),
		StateRefunding:       f.step("payments", f.refund, nil),
		StateReceivingERP:    f.step("erp", f.receiveInERP, nil),
		StateCrediting:       f.step("erp", f.credit, nil),
		StateClosingCommerce: f.step("commerce", f.closeCommerce, nil),
		StateClosingPlatform: f.step("returnsplatform", f.closePlatform, nil),
	}
}

func asError(err error) error {
	if err == nil {
		return nil
	}
	return errs.FromError(err)
}
