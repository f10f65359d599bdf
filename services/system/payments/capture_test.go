package payments_test

import (
	"context"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// An authorised payment is captured once: a repeat with the key (an answer lost) and a capture
// under another key both answer what was captured, and the sandbox captured once. A payment
// captured at checkout answers what it received; an unknown one is not found.
func TestCaptureAuthorisedPayment(t *testing.T) {
	t.Parallel()
	svc, sb, ds := newTestService(t, nil)
	ctx := context.Background()
	pi := sb.Authorize("cap1", 4200, "USD")
	for _, key := range []string{"k1", "k1", "k2"} {
		resp, err := svc.CapturePayment(ctx, &paymentsv1.CapturePaymentRequest{PaymentReference: pi, IdempotencyKey: key,
			Amount: &canonicalv1.Money{CurrencyCode: "USD", AmountMinor: 4000}})
		if err != nil || resp.GetCaptured().GetAmountMinor() != 4000 {
			t.Fatalf("capture (%s) = %v, %v; want 4000 captured", key, resp, err)
		}
	}
	if n := sb.Captures(); n != 1 {
		t.Errorf("the gateway captured %d times, want 1", n)
	}
	paid := ds.Orders[0]
	resp, err := svc.CapturePayment(ctx, &paymentsv1.CapturePaymentRequest{PaymentReference: "pi_" + paid.ID, IdempotencyKey: "k3"})
	if err != nil || resp.GetCaptured().GetAmountMinor() != paid.TotalMinor() {
		t.Errorf("capture of a paid order = %v, %v; want its %d", resp, err, paid.TotalMinor())
	}
	if _, err := svc.CapturePayment(ctx, &paymentsv1.CapturePaymentRequest{PaymentReference: "pi_nobody", IdempotencyKey: "k4"}); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown payment: %v, want NotFound", err)
	}
}
