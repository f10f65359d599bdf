package stripe

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

func TestRefundForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  *paymentsv1.CreateRefundRequest
		want string
	}{
		{"payment intent with metadata", &paymentsv1.CreateRefundRequest{
			PaymentReference: "pi_3MtwBwLkdIwHu7ix28a3tqPa", Amount: money.New(1250, "USD"), IdempotencyKey: "wf_1/refund",
			Metadata: map[string]string{"return_id": "ret_42", "order_id": "5100042"},
		}, "amount=1250&currency=usd&metadata%5Bidempotency_key%5D=wf_1%2Frefund&metadata%5Border_id%5D=5100042&" +
			"metadata%5Breturn_id%5D=ret_42&payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa&reason=requested_by_customer"},
		{"charge", &paymentsv1.CreateRefundRequest{
			PaymentReference: "ch_3MtwBwLkdIwHu7ix28a3tqPa", Amount: money.New(5, "EUR"), IdempotencyKey: "k",
		}, "amount=5&charge=ch_3MtwBwLkdIwHu7ix28a3tqPa&currency=eur&metadata%5Bidempotency_key%5D=k&reason=requested_by_customer"},
		{"zero-decimal ISO currency Stripe takes with two decimals", &paymentsv1.CreateRefundRequest{
			PaymentReference: "py_1", Amount: money.New(5, "ISK"), IdempotencyKey: "k",
		}, "amount=500&charge=py_1&currency=isk&metadata%5Bidempotency_key%5D=k&reason=requested_by_customer"},
		{"yen", &paymentsv1.CreateRefundRequest{
			PaymentReference: "pi_1", Amount: money.New(1500, "JPY"), IdempotencyKey: "k",
		}, "amount=1500&currency=jpy&metadata%5Bidempotency_key%5D=k&payment_intent=pi_1&reason=requested_by_customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			form, err := refundForm(tt.req)
			if err != nil {
				t.Fatalf("refundForm: %v", err)
			}
			if diff := cmp.Diff(tt.want, form.Encode()); diff != "" {
				t.Errorf("form mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefundFormInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		req   *paymentsv1.CreateRefundRequest
		field string
	}{
		{"not a Stripe payment", &paymentsv1.CreateRefundRequest{PaymentReference: "cus_1", Amount: money.New(1, "USD")}, "payment_reference"},
		{"path in the reference", &paymentsv1.CreateRefundRequest{PaymentReference: "pi_1/../x", Amount: money.New(1, "USD")}, "payment_reference"},
		{"zero", &paymentsv1.CreateRefundRequest{PaymentReference: "pi_1", Amount: money.New(0, "USD")}, "amount.amount_minor"},
		{"no currency", &paymentsv1.CreateRefundRequest{PaymentReference: "pi_1", Amount: &canonicalv1.Money{AmountMinor: 1}}, "amount.currency_code"},
		{"three decimals not in tens", &paymentsv1.CreateRefundRequest{PaymentReference: "pi_1", Amount: money.New(5125, "KWD")}, "amount.amount_minor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := refundForm(tt.req)
			e := errs.As(err)
			if e == nil || e.Kind != errs.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
				t.Errorf("refundForm: %v; want Invalid naming %s", err, tt.field)
			}
		})
	}
}

func TestToRefund(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/refund.json")
	if err != nil {
		t.Fatal(err)
	}
	var obj refundObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	got, err := toRefund(obj)
	if err != nil {
		t.Fatalf("toRefund: %v", err)
	}
	want := &canonicalv1.Refund{
		Id: "rf_42", OrderId: "5100042", ReturnId: "ret_42", Amount: money.New(1250, "USD"),
		Status: canonicalv1.RefundStatus_REFUND_STATUS_PENDING, PaymentReference: "pi_3MtwBwLkdIwHu7ix28a3tqPa",
		GatewayRefundId: "re_3MtwBwLkdIwHu7ix1BnUNJv3", IdempotencyKey: "wf_1/refund",
		CreatedAt: timestamppb.New(time.Unix(1773480413, 0)),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("toRefund mismatch (-want +got):\n%s", diff)
	}
}

func TestToStatus(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]canonicalv1.RefundStatus{
		"pending":         canonicalv1.RefundStatus_REFUND_STATUS_PENDING,
		"requires_action": canonicalv1.RefundStatus_REFUND_STATUS_REQUIRES_ACTION,
		"succeeded":       canonicalv1.RefundStatus_REFUND_STATUS_SUCCEEDED,
		"failed":          canonicalv1.RefundStatus_REFUND_STATUS_FAILED,
		"canceled":        canonicalv1.RefundStatus_REFUND_STATUS_CANCELED,
		"something_new":   canonicalv1.RefundStatus_REFUND_STATUS_UNSPECIFIED,
	} {
		if got := toStatus(in); got != want {
			t.Errorf("toStatus(%q) = %v; want %v", in, got, want)
		}
	}
}

func TestExpandable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]expandable{
		`null`:   "",
		`"pi_1"`: "pi_1",
		`{"id":"pi_2","object":"payment_intent"}`: "pi_2",
	} {
		var got expandable
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("unmarshal %s = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestAmounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		minor    int64
		currency string
		stripe   int64
	}{
		{1250, "USD", 1250},
		{1500, "JPY", 1500},
		{5, "ISK", 500},
		{2000, "UGX", 200000},
		{5120, "KWD", 5120},
	}
	for _, tt := range tests {
		n, cur, err := toStripeAmount(money.New(tt.minor, tt.currency))
		if err != nil || n != tt.stripe {
			t.Errorf("toStripeAmount(%d %s) = %d, %v; want %d", tt.minor, tt.currency, n, err, tt.stripe)
			continue
		}
		back, err := fromStripeAmount(n, cur)
		if err != nil || back.GetAmountMinor() != tt.minor || back.GetCurrencyCode() != tt.currency {
			t.Errorf("fromStripeAmount(%d, %s) = %v, %v; want %d %s", n, cur, back, err, tt.minor, tt.currency)
		}
	}
	if _, err := fromStripeAmount(550, "isk"); err == nil {
		t.Errorf("fromStripeAmount(550 isk) succeeded; want an error: Stripe sends whole krónur as multiples of 100")
	}
}
