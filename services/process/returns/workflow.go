package returns

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
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

// returnData is a return's workflow data. It is the whole record of the return: lines, amounts,
// and every identifier the backends gave it.
type returnData struct {
	ReturnID         string       `json:"return_id"`
	OrderID          string       `json:"order_id"`
	CustomerID       string       `json:"customer_id"`
	Tenant           string       `json:"tenant,omitempty"` // the partner tenant whose channel sold the order
	Currency         string       `json:"currency"`
	Method           string       `json:"method"` // mail, in_store
	LocationID       string       `json:"location_id"`
	PaymentReference string       `json:"payment_reference"`
	Lines            []returnLine `json:"lines"`
	RefundTotal      int64        `json:"refund_total_minor"`
	Override         *override    `json:"override,omitempty"`
	Exception        string       `json:"exception,omitempty"`

	RMAID, RMANumber string
	PlatformReturnID string
	CommerceReturnID string
	LabelID          string
	TrackingNumber   string
	LabelURL         string
	ReceiptID        string
	RefundID         string
	RefundStatus     string
	ItemReceiptID    string
	CreditMemoID     string
	CreditMemoNumber string
	PlatformRefundID string
	ReminderSent     bool
	EscalatedRefund  bool
	// RefundAttention is set when the refund, not the return, put the return in front of
	// customer service (failed at the gateway, or still pending past the escalation delay);
	// a later success settles it.
	RefundAttention bool `json:"refund_attention,omitempty"`
	// RefundAttempt counts refunds customer service asked for again after the gateway failed
	// one; each is a new refund with its own idempotency key.
	RefundAttempt int `json:"refund_attempt,omitempty"`
	// SettledOutside is set when customer service paid the customer another way.
	SettledOutside bool `json:"settled_outside,omitempty"`
	// PlatformClosed is set once the storefront and platform returns are closed.
	PlatformClosed bool `json:"platform_closed,omitempty"`
	// MissingRecord says which vendor record the return waits on has vanished, while the
	// return counts down to its SLA (see vanished.go).
	MissingRecord     string `json:"missing_record,omitempty"`
	CreatedAt         time.Time
	InspectionResults map[string]string `json:"inspection_results,omitempty"`
}

type returnLine struct {
	OrderLineID string `json:"order_line_id"`
	SKU         string `json:"sku"`
	Quantity    int32  `json:"quantity"`
	Reason      string `json:"reason"`
	Note        string `json:"note,omitempty"`
	UnitPrice   int64  `json:"unit_price_minor"`
	Fee         int64  `json:"restocking_fee_minor"`
	Refund      int64  `json:"refund_minor"`
	Condition   string `json:"condition,omitempty"`
}

type override struct {
	Amount int64  `json:"amount_minor"`
	By     string `json:"by"`
	Note   string `json:"note"`
}

// nextAfterRefund is where a return goes once its refund is made: the first later step it has
// not done. A refund made again after the gateway failed one resumes where the return had got
// to; the storefront's record of the refund and the closed returns stand.
func (d *returnData) nextAfterRefund() string {
	switch {
	case d.ItemReceiptID == "":
		return StateReceivingERP
	case d.CreditMemoID == "":
		return StateCrediting
	case d.PlatformRefundID == "":
		return StateClosingCommerce
	case !d.PlatformClosed:
		return StateClosingPlatform
	}
	return StateRefunded
}

// refundAmount is what the customer gets: the override when customer service set one.
func (d *returnData) refundAmount() int64 {
	if d.Override != nil {
		return d.Override.Amount
	}
	return d.RefundTotal
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

// definition is the return-to-refund workflow.
func definition(sys systems, timings Timings, now func() time.Time) *workflow.Definition {
	step := func(system string, do func(ctx context.Context, r workflow.Run, d *returnData) (string, error), comp func(ctx context.Context, r workflow.Run, d *returnData) error) workflow.Step {
		s := workflow.Step{System: system, Do: func(ctx context.Context, r workflow.Run) (workflow.Result, error) {
			var d returnData
			if err := r.Decode(&d); err != nil {
				return workflow.Result{}, errs.Wrap(err, errs.Internal, "return_data_corrupt", "")
			}
			next, err := do(ctx, r, &d)
			if err != nil {
				return workflow.Result{}, err
			}
			res := workflow.Result{Next: next, Data: d, Events: []*canonicalv1.Event{stateEvent(&d, next, now())}}
			switch next {
			case StateAwaitingParcel:
				res.Timers = []workflow.Timer{
					{Name: TimerReceiptReminder, At: now().Add(timings.ReceiptReminder)},
					{Name: TimerReceiptExpiry, At: now().Add(timings.ReceiptExpiry)},
				}
			}
			// A refund the gateway has not settled yet is escalated if it stays so.
			if r.State == StateRefunding && d.RefundStatus == "pending" {
				res.Timers = []workflow.Timer{{Name: TimerRefundEscalate, At: now().Add(timings.RefundEscalation)}}
			}
			return res, nil
		}}
		if comp != nil {
			s.Compensate = func(ctx context.Context, r workflow.Run) error {
				var d returnData
				if err := r.Decode(&d); err != nil {
					return err
				}
				return comp(ctx, r, &d)
			}
		}
		return s
	}

	steps := map[string]workflow.Step{
		StateRequested: step("erp", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			resp, err := sys.erp.CreateReturnAuthorization(ctx, &erpv1.CreateReturnAuthorizationRequest{
				Return: d.canonical(""), SalesOrderId: d.OrderID, IdempotencyKey: r.Key})
			if err != nil {
				return "", errs.FromError(err)
			}
			d.RMAID, d.RMANumber = resp.GetReturnAuthorizationId(), resp.GetRmaNumber()
			return StateRegistering, nil
		}, func(ctx context.Context, r workflow.Run, d *returnData) error {
			if d.RMAID == "" {
				return nil
			}
			_, err := sys.erp.CloseReturnAuthorization(ctx, &erpv1.CloseReturnAuthorizationRequest{
				ReturnAuthorizationId: d.RMAID, IdempotencyKey: r.Key + ":close"})
			return asError(err)
		}),
		StateRegistering: step("returnsplatform", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			// The storefront shows the return on the order (Shopify returnCreate), and the returns
			// platform holds it (unless the customer started it there).
			if d.CommerceReturnID == "" {
				resp, err := sys.commerce.CreateReturn(ctx, &commercev1.CreateReturnRequest{Return: d.canonical(""), IdempotencyKey: r.Key + ":commerce"})
				if err != nil {
					return "", errs.FromError(err)
				}
				d.CommerceReturnID = resp.GetPlatformReturnId()
			}
			if d.PlatformReturnID != "" {
				return StateLabelling, nil
			}
			resp, err := sys.platform.CreateReturn(ctx, &returnsplatformv1.CreateReturnRequest{Return: d.canonical(""), IdempotencyKey: r.Key})
			if err != nil {
				return "", errs.FromError(err)
			}
			d.PlatformReturnID = resp.GetPlatformReturnId()
			return StateLabelling, nil
		}, func(ctx context.Context, r workflow.Run, d *returnData) error {
			if d.CommerceReturnID != "" {
				if _, err := sys.commerce.CloseReturn(ctx, &commercev1.CloseReturnRequest{PlatformReturnId: d.CommerceReturnID}); err != nil {
					return errs.FromError(err)
				}
			}
			if d.PlatformReturnID == "" {
				return nil
			}
			_, err := sys.platform.CloseReturn(ctx, &returnsplatformv1.CloseReturnRequest{PlatformReturnId: d.PlatformReturnID})
			return asError(err)
		}),
		StateLabelling: step("returnsplatform", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			if d.Method != "mail" {
				return StateAnnouncing, nil
			}
			resp, err := sys.platform.CreateLabel(ctx, &returnsplatformv1.CreateLabelRequest{PlatformReturnId: d.PlatformReturnID, IdempotencyKey: r.Key})
			if err != nil {
				return "", errs.FromError(err)
			}
			d.LabelID, d.TrackingNumber, d.LabelURL = resp.GetLabelId(), resp.GetTrackingNumber(), resp.GetLabelUrl()
			return StateAnnouncing, nil
		}, func(ctx context.Context, r workflow.Run, d *returnData) error {
			if d.LabelID == "" {
				return nil
			}
			_, err := sys.platform.VoidLabel(ctx, &returnsplatformv1.VoidLabelRequest{LabelId: d.LabelID})
			return asError(err)
		}),
		StateAnnouncing: step("wms", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			resp, err := sys.wms.ExpectReturn(ctx, &wmsv1.ExpectReturnRequest{Return: d.canonical(""), LocationId: d.LocationID, IdempotencyKey: r.Key})
			if err != nil {
				return "", errs.FromError(err)
			}
			d.ReceiptID = resp.GetReceiptId()
			return StateAwaitingParcel, nil
		}, nil),
		StateDispositioning: step("erp", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			wrong := false
			for i, l := range d.Lines {
				switch l.Condition {
				case "damaged":
					_, err := sys.erp.RecordInventoryAdjustment(ctx, &erpv1.RecordInventoryAdjustmentRequest{
						Adjustment: &canonicalv1.InventoryAdjustment{Sku: l.SKU, LocationId: d.LocationID,
							FromState: canonicalv1.InventoryState_INVENTORY_STATE_RETURNED_AWAITING_INSPECTION,
							ToState:   canonicalv1.InventoryState_INVENTORY_STATE_DAMAGED, Quantity: int64(l.Quantity), Reason: "return_damaged"},
						Disposition:    canonicalv1.Disposition_DISPOSITION_WRITE_OFF,
						Value:          money.New(l.UnitPrice*int64(l.Quantity), d.Currency),
						IdempotencyKey: fmt.Sprintf("%s:%d", r.Key, i)})
					if err != nil {
						return "", errs.FromError(err)
					}
				case "wrong_or_missing":
					wrong = true
				}
			}
			if wrong {
				d.Exception = "wrong or missing item found at inspection"
				return StateException, nil
			}
			return StateRefunding, nil
		}, nil),
		StateRefunding: step("payments", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
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
			resp, err := sys.payments.CreateRefund(ctx, &paymentsv1.CreateRefundRequest{
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
		}, nil),
		StateReceivingERP: step("erp", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			var lines []*erpv1.ReceiptLine
			for _, l := range d.Lines {
				lines = append(lines, &erpv1.ReceiptLine{Sku: l.SKU, Quantity: l.Quantity, Restock: l.Condition == "resellable",
					Condition: conditionProto(l.Condition)})
			}
			resp, err := sys.erp.CreateItemReceipt(ctx, &erpv1.CreateItemReceiptRequest{ReturnAuthorizationId: d.RMAID,
				LocationId: d.LocationID, Lines: lines, IdempotencyKey: r.Key})
			if err != nil {
				return "", errs.FromError(err)
			}
			d.ItemReceiptID = resp.GetItemReceiptId()
			return StateCrediting, nil
		}, nil),
		StateCrediting: step("erp", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			var lines []*canonicalv1.CreditMemoLine
			for i, amount := range lineCredits(d) {
				l := d.Lines[i]
				lines = append(lines, &canonicalv1.CreditMemoLine{Sku: l.SKU, Quantity: l.Quantity,
					Amount: money.New(amount, d.Currency), Restock: l.Condition == "resellable"})
			}
			resp, err := sys.erp.CreateCreditMemo(ctx, &erpv1.CreateCreditMemoRequest{ReturnAuthorizationId: d.RMAID,
				Lines: lines, Total: money.New(d.refundAmount(), d.Currency), IdempotencyKey: r.Key})
			if err != nil {
				return "", errs.FromError(err)
			}
			d.CreditMemoID, d.CreditMemoNumber = resp.GetCreditMemo().GetId(), resp.GetCreditMemo().GetNumber()
			return StateClosingCommerce, nil
		}, nil),
		StateClosingCommerce: step("commerce", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			var lines []*commercev1.RefundLine
			for _, l := range d.Lines {
				lines = append(lines, &commercev1.RefundLine{OrderLineId: l.OrderLineID, Quantity: l.Quantity, Restock: l.Condition == "resellable"})
			}
			resp, err := sys.commerce.RecordRefund(ctx, &commercev1.RecordRefundRequest{OrderId: d.OrderID, Lines: lines,
				Amount: money.New(d.refundAmount(), d.Currency), IdempotencyKey: r.Key, GatewayRefundId: d.RefundID})
			if err != nil {
				return "", errs.FromError(err)
			}
			d.PlatformRefundID = resp.GetPlatformRefundId()
			return StateClosingPlatform, nil
		}, nil),
		StateClosingPlatform: step("returnsplatform", func(ctx context.Context, r workflow.Run, d *returnData) (string, error) {
			if d.CommerceReturnID != "" {
				if _, err := sys.commerce.CloseReturn(ctx, &commercev1.CloseReturnRequest{PlatformReturnId: d.CommerceReturnID}); err != nil {
					return "", errs.FromError(err)
				}
			}
			if _, err := sys.platform.CloseReturn(ctx, &returnsplatformv1.CloseReturnRequest{PlatformReturnId: d.PlatformReturnID}); err != nil {
				return "", errs.FromError(err)
			}
			d.PlatformClosed = true
			return StateRefunded, nil
		}, nil),
	}

	move := func(next string, cancel ...string) workflow.SignalHandler {
		return func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
			var d returnData
			if err := i.Decode(&d); err != nil {
				return workflow.Result{}, err
			}
			return workflow.Result{Next: next, CancelTimers: cancel, Events: []*canonicalv1.Event{stateEvent(&d, next, now())}}, nil
		}
	}
	compensateTo := func(next string) workflow.SignalHandler {
		return func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
			var d returnData
			if err := i.Decode(&d); err != nil {
				return workflow.Result{}, err
			}
			return workflow.Result{Next: next, Compensate: true, CancelTimers: []string{TimerReceiptReminder, TimerReceiptExpiry},
				Events: []*canonicalv1.Event{stateEvent(&d, next, now())}}, nil
		}
	}
	inspected := func(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
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
		return workflow.Result{Next: StateDispositioning, Data: d, Events: []*canonicalv1.Event{stateEvent(&d, StateDispositioning, now())}}, nil
	}
	reminder := func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
		var d returnData
		if err := i.Decode(&d); err != nil {
			return workflow.Result{}, err
		}
		d.ReminderSent = true
		return workflow.Result{Data: d, Note: "receipt reminder sent", Events: []*canonicalv1.Event{
			returnEvent(&d, "retailbridge.returns.return.receipt_reminder.v1", now())}}, nil
	}
	overrideRefund := func(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
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
	// Webhooks arrive late and out of order: an inspection reported before its receipt means
	// the parcel was received, so it is applied at once (and the late receipt is then ignored).
	inspectedEarly := func(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
		res, err := inspected(ctx, i, payload)
		res.CancelTimers = []string{TimerReceiptReminder, TimerReceiptExpiry}
		return res, err
	}
	inTransit := map[string]workflow.SignalHandler{
		SignalReceived:       move(StateAwaitingInspection, TimerReceiptReminder, TimerReceiptExpiry),
		SignalInspected:      inspectedEarly,
		SignalOverride:       overrideRefund,
		TimerReceiptReminder: reminder,
		TimerReceiptExpiry:   compensateTo(StateExpired),
	}
	// Every state that waits on the warehouse's receipt learns when it vanished.
	vanished := vanishedHandlers(timings, now)
	maps.Copy(inTransit, vanished)
	awaitingInspection := map[string]workflow.SignalHandler{SignalInspected: inspected, SignalOverride: overrideRefund}
	maps.Copy(awaitingInspection, vanished)
	// Before the parcel ships the return can be cancelled (the label is voided); once the
	// carrier has it, it will arrive and be handled.
	awaitingParcel := maps.Clone(inTransit)
	awaitingParcel[SignalInTransit] = move(StateInTransit)
	awaitingParcel[SignalCancel] = compensateTo(StateCancelled)
	// A refund still pending when the escalation timer fires goes to customer service: while the
	// return is still being closed as an event and a flag, once it is closed by reopening it into
	// failed_needs_attention (the queue people work), from which the gateway's later success
	// settles it by itself.
	escalate := func(ctx context.Context, i workflow.Instance, _ []byte) (workflow.Result, error) {
		var d returnData
		if err := i.Decode(&d); err != nil {
			return workflow.Result{}, err
		}
		if settledRefund(d.RefundStatus) {
			return workflow.Result{}, nil
		}
		d.EscalatedRefund = true
		res := workflow.Result{Data: d, Note: "refund pending too long: escalated", Events: []*canonicalv1.Event{
			returnEvent(&d, "retailbridge.returns.refund.escalated.v1", now())}}
		if i.Terminal {
			d.RefundAttention = true
			res.Next, res.Data = StateFailed, d
			res.Note = "refund " + d.RefundID + " still pending at the payment gateway: escalated to customer service"
			res.Events = append(res.Events, stateEvent(&d, StateFailed, now()))
		}
		return res, nil
	}
	refundUpdated := func(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
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
				res.Events = []*canonicalv1.Event{stateEvent(&d, StateRefunded, now())}
			}
			return res, nil
		case "failed", "canceled":
			d.RefundAttention = true
			return workflow.Result{Next: StateFailed, Data: d, CancelTimers: []string{TimerRefundEscalate},
				Note: "refund " + d.RefundID + " " + status + " at the payment gateway: the customer has not been paid; customer service must refund another way",
				Events: []*canonicalv1.Event{
					returnEvent(&d, "retailbridge.returns.refund.failed.v1", now()),
					stateEvent(&d, StateFailed, now()),
				}}, nil
		}
		return workflow.Result{Data: d}, nil
	}
	// Customer service decides about a refund the gateway failed: refund again (a new refund), or
	// close the return as paid another way. A refund still pending is the gateway's to settle:
	// refunding again could pay the customer twice.
	resolveRefund := func(ctx context.Context, i workflow.Instance, payload []byte) (workflow.Result, error) {
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
				Events: []*canonicalv1.Event{stateEvent(&d, StateRefunding, now())}}, nil
		case "settled_outside":
			d.SettledOutside = true
			return workflow.Result{Next: StateRefunded, Data: d, Note: "refund settled outside the payment gateway: " + p.Note,
				Events: []*canonicalv1.Event{stateEvent(&d, StateRefunded, now())}}, nil
		}
		return workflow.Result{}, errs.E(errs.Invalid, "refund_resolution_invalid", "unknown resolution "+p.Resolution)
	}
	// The refund's later life: from the moment the refund exists until long after the return
	// closed. (While the refunding step runs, updates are kept and applied when it commits.)
	afterRefund := func(state string) map[string]workflow.SignalHandler {
		h := map[string]workflow.SignalHandler{SignalRefundUpdate: refundUpdated}
		if state == StateFailed {
			h[SignalRefundResolve] = resolveRefund
		} else {
			h[TimerRefundEscalate] = escalate
		}
		return h
	}
	return &workflow.Definition{
		Kind:  Kind,
		Steps: steps,
		Signals: map[string]map[string]workflow.SignalHandler{
			StateRequested:          {SignalCancel: compensateTo(StateCancelled), SignalOverride: overrideRefund},
			StateRegistering:        {SignalCancel: compensateTo(StateCancelled), SignalOverride: overrideRefund},
			StateLabelling:          {SignalCancel: compensateTo(StateCancelled), SignalOverride: overrideRefund},
			StateAnnouncing:         {SignalCancel: compensateTo(StateCancelled), SignalOverride: overrideRefund},
			StateAwaitingParcel:     awaitingParcel,
			StateInTransit:          inTransit,
			StateAwaitingInspection: awaitingInspection,
			StateException: {
				SignalApprove:  move(StateRefunding),
				SignalDeny:     compensateTo(StateDenied),
				SignalOverride: overrideRefund,
			},
			StateReceivingERP:    afterRefund(StateReceivingERP),
			StateCrediting:       afterRefund(StateCrediting),
			StateClosingCommerce: afterRefund(StateClosingCommerce),
			StateClosingPlatform: afterRefund(StateClosingPlatform),
			StateRefunded:        afterRefund(StateRefunded),
			StateFailed:          afterRefund(StateFailed),
		},
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

// canonical is the return as the canonical model describes it.
func (d *returnData) canonical(state string) *canonicalv1.Return {
	r := &canonicalv1.Return{
		Id: d.ReturnID, OrderId: d.OrderID, CustomerId: d.CustomerID, State: state, RmaNumber: d.RMANumber,
		TrackingNumber: d.TrackingNumber, RefundTotal: money.New(d.refundAmount(), d.Currency),
		CreatedAt: timestamppb.New(d.CreatedAt), Method: methodProto(d.Method),
		ExternalIds: map[string]string{},
	}
	for k, v := range map[string]string{"erp": d.RMAID, "returnsplatform": d.PlatformReturnID, "commerce": d.CommerceReturnID, "wms": d.ReceiptID,
		"payments": d.RefundID, "erp_credit_memo": d.CreditMemoID, "commerce_refund": d.PlatformRefundID} {
		if v != "" {
			r.ExternalIds[k] = v
		}
	}
	for _, l := range d.Lines {
		r.Lines = append(r.Lines, &canonicalv1.ReturnLine{
			OrderLineId: l.OrderLineID, Sku: l.SKU, Quantity: l.Quantity, Reason: reasonProto(l.Reason), Note: l.Note,
			Condition: conditionProto(l.Condition), RefundAmount: money.New(l.Refund, d.Currency),
			RestockingFee: money.New(l.Fee, d.Currency),
		})
	}
	return r
}

// stateEvent announces that a return entered state.
func stateEvent(d *returnData, state string, at time.Time) *canonicalv1.Event {
	return returnEvent(d, "retailbridge.returns.return."+state+".v1", at)
}

func returnEvent(d *returnData, typ string, at time.Time) *canonicalv1.Event {
	data, _ := anypb.New(d.canonical(""))
	return &canonicalv1.Event{Source: "retailbridge/process/returns", Type: typ, Subject: "return/" + d.ReturnID,
		Time: timestamppb.New(at), Data: data, References: &canonicalv1.EventReferences{ReturnId: d.ReturnID, OrderId: d.OrderID}}
}

func asError(err error) error {
	if err == nil {
		return nil
	}
	return errs.FromError(err)
}

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

func conditionProto(c string) canonicalv1.ItemCondition {
	switch c {
	case "resellable":
		return canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE
	case "damaged":
		return canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED
	case "wrong_or_missing":
		return canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING
	}
	return canonicalv1.ItemCondition_ITEM_CONDITION_UNSPECIFIED
}

func methodProto(m string) canonicalv1.ReturnMethod {
	if m == "in_store" {
		return canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE
	}
	return canonicalv1.ReturnMethod_RETURN_METHOD_MAIL
}

func reasonProto(r string) canonicalv1.ReturnReason {
	if v, ok := canonicalv1.ReturnReason_value[r]; ok {
		return canonicalv1.ReturnReason(v)
	}
	return canonicalv1.ReturnReason_RETURN_REASON_OTHER
}
