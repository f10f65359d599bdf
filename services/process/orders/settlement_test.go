package orders

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/store/storetest"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"github.com/retailbridge/retailbridge/services/system/payments"
)

// servePayments serves the payments system service over gRPC, its Stripe connector talking to
// the sandbox at base: the path settlement takes in production.
func servePayments(t *testing.T, base string) PaymentsPayouts {
	t.Helper()
	svc, err := payments.New(payments.Config{Connection: payments.StripeConfig{BaseURL: base,
		SecretKey: stripesb.DevSecretKey, WebhookSecrets: []string{stripesb.DevWebhookSecret}}},
		payments.Deps{HTTPClient: telemetry.NewVendorClient("stripe", 5*time.Second, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpcx.NewServer(grpcx.ServerDeps{})
	paymentsv1.RegisterPaymentsServiceServer(srv.Server, svc)
	go func() { _ = srv.Server.Serve(lis) }()
	t.Cleanup(srv.Server.Stop)
	conn, err := grpcx.Dial(lis.Addr().String(), grpcx.DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return PaymentsPayouts{Client: paymentsv1.NewPaymentsServiceClient(conn)}
}

func TestSettlement(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) { testSettlement(t, d) })
	}
}

// testSettlement pays out three orders — one charged a fee off the schedule — and a charge no
// order made, leaves a fourth order unpaid past the grace, and runs settlement twice.
func testSettlement(t *testing.T, d store.Dialect) {
	now := time.Now().UTC()
	ctx := context.Background()
	sb := stripesb.New(nil, stripesb.Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	db := storetest.Open(t, d, store.Options{})
	reg := prometheus.NewRegistry()
	st, err := NewSettler(db, servePayments(t, srv.URL), nil, SettlementConfig{Fees: FeeSchedule{BasisPoints: 290, Fixed: 30},
		PayoutGrace: 72 * time.Hour, Lookback: 30 * 24 * time.Hour}, func() time.Time { return now }, reg)
	if err != nil {
		t.Fatal(err)
	}
	placed := now.Add(-5 * 24 * time.Hour)
	for _, id := range []string{"1001", "1002", "1003", "1004"} {
		o := &canonicalv1.Order{Id: id, PaymentReference: stripesb.PaymentIntentID(id), CreatedAt: timestamppb.New(placed)}
		if _, err := st.orders.put(ctx, version{orderID: id, order: o, kind: kindCreated, via: viaRead, updatedAt: placed}); err != nil {
			t.Fatal(err)
		}
	}
	sb.Charge("1001", 10000, "usd")
	sb.Charge("1002", 5000, "usd")
	sb.Charge("unknown-9", 700, "usd")
	sb.Payout() // records the first three at the standard fee
	sb.SetFee(350, 30)
	sb.Charge("1003", 2000, "usd")
	payouts := sb.Payout()
	if len(payouts) != 1 {
		t.Fatalf("second payout = %v", payouts)
	}
	run, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run.Payouts != 2 || run.Lines != 4 || run.NewMismatches != 3 {
		t.Fatalf("run = %+v; want 2 payouts, 4 lines, 3 mismatches", run)
	}
	want := map[string]string{MismatchNoOrder: "", MismatchFee: "", MismatchNotPaidOut: "1004"}
	ms, err := st.ListMismatches(ctx, "", 100)
	if err != nil || len(ms) != 3 {
		t.Fatalf("mismatches = %+v, %v; want 3", ms, err)
	}
	for _, m := range ms {
		subject, ok := want[m.Kind]
		if !ok || (subject != "" && m.Subject != subject) {
			t.Errorf("unexpected mismatch %+v", m)
		}
		delete(want, m.Kind)
	}
	pos, err := st.ListPayouts(ctx, 10)
	if err != nil || len(pos) != 2 {
		t.Fatalf("payouts = %+v, %v", pos, err)
	}
	for _, p := range pos {
		if p.Reconciled {
			t.Errorf("payout %+v reconciled; both carry a mismatch", p)
		}
	}
	again, err := st.Run(ctx)
	if err != nil || again.NewMismatches != 0 {
		t.Fatalf("second run = %+v, %v; want no new mismatches", again, err)
	}
	// An order placed just now, charged at the schedule's fee: its payout reconciles.
	o := &canonicalv1.Order{Id: "1005", PaymentReference: stripesb.PaymentIntentID("1005"), CreatedAt: timestamppb.New(now)}
	if _, err := st.orders.put(ctx, version{orderID: "1005", order: o, kind: kindCreated, via: viaRead, updatedAt: now}); err != nil {
		t.Fatal(err)
	}
	sb.SetFee(290, 30)
	sb.Charge("1005", 4321, "usd")
	third := sb.Payout()
	if run, err := st.Run(ctx); err != nil || run.NewMismatches != 0 || run.Lines != 5 {
		t.Fatalf("third run = %+v, %v; want 5 lines re-read, no new mismatches", run, err)
	}
	if pos, err := st.ListPayouts(ctx, 10); err != nil || len(pos) != 3 || pos[0].PayoutID != third[0] || !pos[0].Reconciled {
		t.Fatalf("payouts = %+v, %v; want %s first and reconciled", pos, err, third)
	}
	testSettlementPages(t, st)
	counted := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			counted[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if want := map[string]float64{MismatchNoOrder: 1, MismatchFee: 1, MismatchNotPaidOut: 1}; fmt.Sprint(counted) != fmt.Sprint(want) {
		t.Errorf("mismatches counted %v; want %v", counted, want)
	}
}

// testSettlementPages pages the three recorded payouts through the support API two at a time.
func testSettlementPages(t *testing.T, st *Settler) {
	api := &SettlementAPI{Settler: st}
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Audience: auth.Support, Subject: "agent-1", Scopes: []string{ScopeSupportRead}})
	first, err := api.ListSettlementPayouts(ctx, &ordersv1.ListSettlementPayoutsRequest{PageSize: 2})
	if err != nil || len(first.GetPayouts()) != 2 || first.GetNextPageToken() == "" {
		t.Fatalf("first page = %v, %v; want 2 payouts and a token", first, err)
	}
	second, err := api.ListSettlementPayouts(ctx, &ordersv1.ListSettlementPayoutsRequest{PageSize: 2, PageToken: first.GetNextPageToken()})
	if err != nil || len(second.GetPayouts()) != 1 || second.GetNextPageToken() != "" {
		t.Fatalf("second page = %v, %v; want the last payout and no token", second, err)
	}
	seen := map[string]bool{}
	for _, p := range append(first.GetPayouts(), second.GetPayouts()...) {
		seen[p.GetPayoutId()] = true
	}
	if len(seen) != 3 {
		t.Errorf("pages listed %d distinct payouts, want 3", len(seen))
	}
	if _, err := api.RunSettlement(ctx, &ordersv1.RunSettlementRequest{}); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("run with support:read only = %v, want permission denied", err)
	}
}
