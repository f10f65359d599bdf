package returns

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// withRoute makes ctx's system calls carry the return's tenant and channel, so a system kind
// served by several vendors sends them to the one configured for that tenant or channel.
func (d *returnData) withRoute(ctx context.Context) context.Context {
	return vendors.WithRoute(ctx, vendors.Route{Tenant: d.Tenant, Channel: d.Channel})
}

// returnData is a return's workflow data. It is the whole record of the return: lines, amounts,
// and every identifier the backends gave it.
type returnData struct {
	ReturnID   string `json:"return_id"`
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	Tenant     string `json:"tenant,omitempty"` // the partner tenant whose channel sold the order
	// Channel is the sales channel that sold the order (the commerce platform's source name).
	// With Tenant it routes the return's system calls (withRoute).
	Channel          string       `json:"channel,omitempty"`
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
