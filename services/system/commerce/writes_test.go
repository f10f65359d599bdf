package commerce_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

func TestWriteValidation(t *testing.T) {
	t.Parallel()
	svc, sb := newService(t, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		bad  []string
	}{
		{"empty return", func() error { _, err := svc.CreateReturn(ctx, &commercev1.CreateReturnRequest{}); return err },
			[]string{"idempotency_key", "return"}},
		{"return with bad lines", func() error {
			_, err := svc.CreateReturn(ctx, &commercev1.CreateReturnRequest{IdempotencyKey: "k k", Return: &canonicalv1.Return{
				OrderId: "1", Lines: []*canonicalv1.ReturnLine{{Quantity: 0, Note: strings.Repeat("n", 256)}}}})
			return err
		}, []string{"idempotency_key", "return.lines[0].note", "return.lines[0].order_line_id", "return.lines[0].quantity"}},
		{"return with no lines", func() error {
			_, err := svc.CreateReturn(ctx, &commercev1.CreateReturnRequest{IdempotencyKey: "k", Return: &canonicalv1.Return{OrderId: "1"}})
			return err
		}, []string{"return.lines"}},
		{"close without an id", func() error { _, err := svc.CloseReturn(ctx, &commercev1.CloseReturnRequest{}); return err },
			[]string{"platform_return_id"}},
		{"empty refund", func() error { _, err := svc.RecordRefund(ctx, &commercev1.RecordRefundRequest{}); return err },
			[]string{"amount", "idempotency_key", "order_id"}},
		{"refund of nothing", func() error {
			_, err := svc.RecordRefund(ctx, &commercev1.RecordRefundRequest{OrderId: "1", IdempotencyKey: "k", Amount: money.New(0, "USD")})
			return err
		}, []string{"lines"}},
		{"refund with bad fields", func() error {
			_, err := svc.RecordRefund(ctx, &commercev1.RecordRefundRequest{OrderId: "1", IdempotencyKey: strings.Repeat("k", 256),
				Amount: &canonicalv1.Money{AmountMinor: -1, CurrencyCode: "USD"}, GatewayRefundId: "re 1",
				Lines: []*commercev1.RefundLine{{OrderLineId: "", Quantity: -1}}})
			return err
		}, []string{"amount.amount_minor", "gateway_refund_id", "idempotency_key", "lines[0].order_line_id", "lines[0].quantity"}},
	}
	for _, tt := range tests {
		err := tt.call()
		if e := errs.As(err); e == nil || e.Kind != errs.Invalid || e.Reason != "invalid_request" {
			t.Errorf("%s: got %v, want invalid_request", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.bad, fieldsOf(err)); diff != "" {
			t.Errorf("%s: bad fields mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	if n := sb.Faults().Requests(); n != 0 {
		t.Errorf("invalid requests reached the vendor %d times, want 0", n)
	}
}

// TestRefundThroughTheService records a refund twice with one key, as a workflow resumed after a
// crash does: one refund, visible in the next read, on the default API version (where Shopify
// requires the idempotency key).
func TestRefundThroughTheService(t *testing.T) {
	t.Parallel()
	svc, sb := newService(t, nil)
	ctx := context.Background()
	o := dataset().Scenario(demo.ScenarioMultipleQuantity)
	req := &commercev1.RecordRefundRequest{OrderId: o.ID, IdempotencyKey: "wf-3/refund",
		Lines:  []*commercev1.RefundLine{{OrderLineId: o.Lines[0].ID, Quantity: 2}},
		Amount: money.New(2*o.Lines[0].UnitPriceMinor, "USD")}
	var first string
	for i := range 3 {
		resp, err := svc.RecordRefund(ctx, req)
		if err != nil {
			t.Fatalf("RecordRefund %d: %v", i, err)
		}
		if i == 0 {
			first = resp.GetPlatformRefundId()
		} else if resp.GetPlatformRefundId() != first {
			t.Errorf("attempt %d refund %s; want the first, %s", i, resp.GetPlatformRefundId(), first)
		}
	}
	got, err := svc.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	if q := got.GetOrder().GetLines()[0].GetRefundedQuantity(); q != 2 {
		t.Errorf("refunded quantity %d; want 2", q)
	}
	if st := sb.Stats(); st.Mutations != 3 {
		t.Errorf("mutations %d; want 3 (each attempt reached Shopify, one refund was made)", st.Mutations)
	}
}
