package returns

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// A vendor can lose a record Retailbridge created there: a warehouse restored from an old backup,
// a sandbox started without its state, a record deleted by hand. A return waiting on that record
// would wait forever — no webhook will ever come — so reconciliation tells it (SignalRecordMissing)
// and, unless the record turns up again (SignalRecordFound), the return is handed to customer
// service in failed_needs_attention once it has waited its SLA (TimerRecordSLA, a durable timer).
const (
	SignalRecordMissing = "vendor_record_missing"
	SignalRecordFound   = "vendor_record_found"
	TimerRecordSLA      = "vendor_record_sla"
)

// missingRecord is SignalRecordMissing's payload: which record of which system, and why it is
// taken as gone.
type missingRecord struct {
	System string `json:"system"`
	Record string `json:"record"`
	Reason string `json:"reason"`
}

// describe is the reason as customer service reads it.
func (m missingRecord) describe() string {
	return fmt.Sprintf("%s record %s is gone: %s", m.System, m.Record, m.Reason)
}

// vanishedHandlers are the waiting states' handlers for a vendor record that vanished.
func vanishedHandlers(timings Timings, now func() time.Time) map[string]workflow.SignalHandler {
	missing := func(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
		var d returnData
		if err := i.Decode(&d); err != nil {
			return workflow.Result{}, err
		}
		var m missingRecord
		if err := json.Unmarshal(payload, &m); err != nil {
			return workflow.Result{}, errs.Wrap(err, errs.Invalid, "missing_record_invalid", "the missing-record report is not readable")
		}
		if d.MissingRecord != "" {
			return workflow.Result{}, nil // already counting down
		}
		d.MissingRecord = m.describe()
		// The SLA runs from when the return started waiting in its state, not from when the loss
		// was noticed: a return already past it goes to customer service at once.
		at := i.StateSince.Add(timings.VendorRecordSLA)
		if n := now(); at.Before(n) {
			at = n
		}
		return workflow.Result{Data: d, Timers: []workflow.Timer{{Name: TimerRecordSLA, At: at}},
			Note: d.MissingRecord + "; escalated to customer service at " + at.UTC().Format(time.RFC3339) + " unless it reappears"}, nil
	}
	found := func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
		var d returnData
		if err := i.Decode(&d); err != nil {
			return workflow.Result{}, err
		}
		if d.MissingRecord == "" {
			return workflow.Result{}, nil
		}
		d.MissingRecord = ""
		return workflow.Result{Data: d, CancelTimers: []string{TimerRecordSLA}, Note: "the vendor record is there again"}, nil
	}
	slaPassed := func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
		var d returnData
		if err := i.Decode(&d); err != nil {
			return workflow.Result{}, err
		}
		if d.MissingRecord == "" {
			return workflow.Result{}, nil
		}
		d.Exception = d.MissingRecord
		return workflow.Result{Next: StateFailed, Data: d, CancelTimers: []string{TimerReceiptReminder, TimerReceiptExpiry},
			Note:   "needs attention: " + d.MissingRecord + ", and the return waited past its SLA",
			Events: []*canonicalv1.Event{stateEvent(&d, StateFailed, now())}}, nil
	}
	return map[string]workflow.SignalHandler{SignalRecordMissing: missing, SignalRecordFound: found, TimerRecordSLA: slaPassed}
}
