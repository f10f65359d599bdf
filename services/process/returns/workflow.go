package returns

import (
	"maps"
	"time"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// Kind is the workflow kind of a return.
const Kind = "return"

// The states of a return. Active states run one step each; waiting states move on events,
// customer-service actions and timers; terminal states are final.
const (
	StateRequested          = "requested"           // active: open the RMA in the ERP
	StateRegistering        = "registering"         // active: the return on the returns platform
	StateLabelling          = "labelling"           // active: the mail label (skipped for in-store returns)
	StateAnnouncing         = "announcing"          // active: tell the warehouse what is coming
	StateAwaitingParcel     = "awaiting_parcel"     // waiting: label issued, nothing moving yet
	StateInTransit          = "in_transit"          // waiting: the carrier has the parcel
	StateAwaitingInspection = "awaiting_inspection" // waiting: received, not inspected
	StateDispositioning     = "dispositioning"      // active: restock, write off or raise an exception
	StateException          = "exception"           // waiting: customer service decides
	StateRefunding          = "refunding"           // active: refund through the payment gateway
	StateReceivingERP       = "receiving_erp"       // active: item receipt against the RMA
	StateCrediting          = "crediting"           // active: the ERP credit memo
	StateClosingCommerce    = "closing_commerce"    // active: refund recorded on the storefront
	StateClosingPlatform    = "closing_platform"    // active: close the platform return
	StateRefunded           = "refunded"            // terminal
	StateDenied             = "denied"              // terminal
	StateCancelled          = "cancelled"           // terminal
	StateExpired            = "expired"             // terminal: never received
	StateFailed             = "failed_needs_attention"
)

// Signals a return reacts to.
const (
	SignalInTransit      = "parcel_in_transit"
	SignalReceived       = "parcel_received"
	SignalInspected      = "inspected"
	SignalApprove        = "approve_exception"
	SignalDeny           = "deny_exception"
	SignalCancel         = "cancel"
	SignalOverride       = "override_refund"
	TimerReceiptReminder = "receipt_reminder"
	TimerReceiptExpiry   = "receipt_expiry"
	TimerRefundEscalate  = "refund_escalation"
	// SignalRefundUpdate carries the payment gateway's word on the refund (its webhooks): pending,
	// succeeded, failed or canceled.
	SignalRefundUpdate = "refund_update"
	// SignalRefundResolve is customer service's decision on a refund the gateway failed.
	SignalRefundResolve = "refund_resolve"
)

// Terminal reports whether state is final.
func Terminal(state string) bool {
	switch state {
	case StateRefunded, StateDenied, StateCancelled, StateExpired, StateFailed:
		return true
	}
	return false
}

// Timings of the waiting states.
type Timings struct {
	// ReceiptReminder: no receipt after this long → a reminder event for the customer.
	ReceiptReminder time.Duration
	// ReceiptExpiry: no receipt after this long → the return expires and is compensated.
	ReceiptExpiry time.Duration
	// RefundEscalation: a refund still pending after this long → escalated to customer service.
	RefundEscalation time.Duration
	// Reconcile is how often returns waiting on a vendor are checked against it, to repair
	// webhooks that never came (and how long a return waits before it is checked).
	Reconcile time.Duration
	// VendorRecordSLA is how long a return may wait in its state on a vendor record that has
	// vanished (the vendor no longer knows the record Retailbridge created) before it is handed
	// to customer service in failed_needs_attention.
	VendorRecordSLA time.Duration
}

func (t Timings) withDefaults() Timings {
	if t.ReceiptReminder == 0 {
		t.ReceiptReminder = 14 * 24 * time.Hour
	}
	if t.ReceiptExpiry == 0 {
		t.ReceiptExpiry = 30 * 24 * time.Hour
	}
	if t.RefundEscalation == 0 {
		t.RefundEscalation = 3 * 24 * time.Hour
	}
	if t.Reconcile == 0 {
		t.Reconcile = 5 * time.Minute
	}
	if t.VendorRecordSLA == 0 {
		t.VendorRecordSLA = 24 * time.Hour
	}
	return t
}

// systems are the system APIs the workflow drives.
type systems struct {
	commerce commercev1.CommerceServiceClient
	erp      erpv1.ErpServiceClient
	platform returnsplatformv1.ReturnsPlatformServiceClient
	wms      wmsv1.WmsServiceClient
	payments paymentsv1.PaymentsServiceClient
}

// definition is the return-to-refund workflow: its steps (step.go, one file per step) and, per
// waiting state, the signals and timers it reacts to (signal_*.go, vanished.go).
func definition(sys systems, timings Timings, now func() time.Time) *workflow.Definition {
	f := &flow{sys: sys, timings: timings, now: now}
	return &workflow.Definition{
		Kind:     Kind,
		Steps:    f.steps(),
		Signals:  f.signals(),
		Terminal: map[string]bool{StateRefunded: true, StateDenied: true, StateCancelled: true, StateExpired: true, StateFailed: true},
		// Carrier and warehouse facts can overtake the commit of the step that caused them.
		// So can the payment gateway's word on a refund (its webhook beats the refunding commit).
		Deferrable: map[string]bool{SignalInTransit: true, SignalReceived: true, SignalInspected: true, SignalRefundUpdate: true},
		FailState:  StateFailed,
		// Once the customer has been refunded the return only goes forward: a later step that
		// fails for good leaves it for customer service rather than closing the RMA and the
		// platform return behind a refund that happened.
		Pivots:      map[string]bool{StateRefunding: true},
		MaxAttempts: 12,
		Backoff:     500 * time.Millisecond,
		MaxBackoff:  2 * time.Minute,
	}
}

// signals are, per state, the signals and timers the return reacts to.
func (f *flow) signals() map[string]map[string]workflow.SignalHandler {
	beforeParcel := func() map[string]workflow.SignalHandler {
		return map[string]workflow.SignalHandler{SignalCancel: f.compensateTo(StateCancelled), SignalOverride: f.overrideRefund}
	}
	inTransit := map[string]workflow.SignalHandler{
		SignalReceived:       f.move(StateAwaitingInspection, TimerReceiptReminder, TimerReceiptExpiry),
		SignalInspected:      f.inspectedEarly,
		SignalOverride:       f.overrideRefund,
		TimerReceiptReminder: f.reminder,
		TimerReceiptExpiry:   f.compensateTo(StateExpired),
	}
	// Every state that waits on the warehouse's receipt learns when it vanished.
	vanished := vanishedHandlers(f.timings, f.now)
	maps.Copy(inTransit, vanished)
	awaitingInspection := map[string]workflow.SignalHandler{SignalInspected: f.inspected, SignalOverride: f.overrideRefund}
	maps.Copy(awaitingInspection, vanished)
	// Before the parcel ships the return can be cancelled (the label is voided); once the
	// carrier has it, it will arrive and be handled.
	awaitingParcel := maps.Clone(inTransit)
	awaitingParcel[SignalInTransit] = f.move(StateInTransit)
	awaitingParcel[SignalCancel] = f.compensateTo(StateCancelled)
	return map[string]map[string]workflow.SignalHandler{
		StateRequested:          beforeParcel(),
		StateRegistering:        beforeParcel(),
		StateLabelling:          beforeParcel(),
		StateAnnouncing:         beforeParcel(),
		StateAwaitingParcel:     awaitingParcel,
		StateInTransit:          inTransit,
		StateAwaitingInspection: awaitingInspection,
		StateException: {
			SignalApprove:  f.move(StateRefunding),
			SignalDeny:     f.compensateTo(StateDenied),
			SignalOverride: f.overrideRefund,
		},
		StateReceivingERP:    f.afterRefund(StateReceivingERP),
		StateCrediting:       f.afterRefund(StateCrediting),
		StateClosingCommerce: f.afterRefund(StateClosingCommerce),
		StateClosingPlatform: f.afterRefund(StateClosingPlatform),
		StateRefunded:        f.afterRefund(StateRefunded),
		StateFailed:          f.afterRefund(StateFailed),
	}
}
