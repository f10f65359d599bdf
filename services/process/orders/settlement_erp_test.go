package orders

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
)

// erpBook is the ERP's cash as a test plants it.
type erpBook struct {
	pays []ERPPayment
	deps []ERPDeposit
}

func (b *erpBook) Payments(context.Context, time.Time) ([]ERPPayment, error) { return b.pays, nil }
func (b *erpBook) Deposits(context.Context, time.Time) ([]ERPDeposit, error) { return b.deps, nil }

func TestSettlementERPSide(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) { testSettlementERPSide(t, d) })
	}
}

// Two payouts: the first carries 2001 and 2002 and has a deposit that carries only 2001's ERP
// payment with a fee off by 5; the second has no deposit; an ERP payment matches no charge.
func testSettlementERPSide(t *testing.T, d store.Dialect) {
	now := time.Now().UTC()
	ctx := context.Background()
	sb := stripesb.New(nil, stripesb.Options{Now: func() time.Time { return now.Add(-5 * 24 * time.Hour) }})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	db := storetest.Open(t, d, store.Options{})
	book := &erpBook{}
	st, err := NewSettler(db, servePayments(t, srv.URL), book, SettlementConfig{Fees: FeeSchedule{BasisPoints: 290, Fixed: 30},
		PayoutGrace: 72 * time.Hour, Lookback: 30 * 24 * time.Hour}, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	placed := now.Add(-5 * 24 * time.Hour)
	for _, id := range []string{"2001", "2002", "2003"} {
		o := &canonicalv1.Order{Id: id, PaymentReference: stripesb.PaymentIntentID(id), CreatedAt: timestamppb.New(placed)}
		if _, err := st.orders.put(ctx, version{orderID: id, order: o, kind: kindCreated, via: viaRead, updatedAt: placed}); err != nil {
			t.Fatal(err)
		}
	}
	sb.Charge("2001", 10000, "usd")
	sb.Charge("2002", 5000, "usd")
	first := sb.Payout()
	sb.Charge("2003", 2000, "usd")
	sb.Payout()
	old := now.Add(-4 * 24 * time.Hour)
	book.pays = []ERPPayment{{ID: "P1", OrderID: "2001", PaymentReference: stripesb.PaymentIntentID("2001"), Amount: 10000, Created: old},
		{ID: "P2", OrderID: "2002", PaymentReference: stripesb.PaymentIntentID("2002"), Amount: 5000, Created: old},
		{ID: "P9", OrderID: "ghost", PaymentReference: "pi_ghost", Amount: 700, Created: old}}
	fees := FeeSchedule{BasisPoints: 290, Fixed: 30}
	book.deps = []ERPDeposit{{ID: "D1", PayoutReference: first[0], Fee: fees.Expected(10000) + fees.Expected(5000) + 5,
		PaymentIDs: []string{"P1"}, Created: old}}
	run, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{MismatchNoDeposit: "2002", MismatchDepositFee: "D1", MismatchPaymentNoCharge: "P9", MismatchPayoutNoDeposit: ""}
	ms, err := st.ListMismatches(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range ms {
		if _, ok := want[m.Kind]; ok {
			got[m.Kind] = m.Subject
		}
	}
	for kind, subject := range want {
		if s, ok := got[kind]; !ok || (subject != "" && s != subject) {
			t.Errorf("%s: got %q (%v), want %q; all %+v (run %+v)", kind, s, ok, subject, ms, run)
		}
	}
	if again, err := st.Run(ctx); err != nil || again.NewMismatches != 0 {
		t.Fatalf("second run = %+v, %v; want no new mismatches", again, err)
	}
}
