package stripe_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
)

// TestSettlementListsSandbox pays out more balance transactions than one page holds and reads
// them back through the payout: every charge once, with the fee the sandbox's schedule charged.
func TestSettlementListsSandbox(t *testing.T) {
	t.Parallel()
	sb := stripesb.New(nil, stripesb.Options{})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	sb.SetFee(100, 10) // 1% + 10
	const n = 130
	for i := range n {
		sb.Charge(fmt.Sprintf("settle-%03d", i), 1000, "usd")
	}
	ids := sb.Payout()
	if len(ids) != 1 {
		t.Fatalf("payouts = %v; want one", ids)
	}
	c := connect(t, srv.URL, stripesb.DevSecretKey, 0)
	pos, err := c.ListPayouts(context.Background(), 0)
	if err != nil || len(pos) != 1 || pos[0].ID != ids[0] || pos[0].Amount != n*(1000-20) {
		t.Fatalf("ListPayouts = %+v, %v; want %s of %d", pos, err, ids[0], n*(1000-20))
	}
	txns, err := c.ListBalanceTransactions(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tx := range txns {
		if tx.Type != "charge" || tx.Fee != 20 || tx.Net != 980 || tx.PaymentIntent == "" || seen[tx.PaymentIntent] {
			t.Fatalf("balance transaction %+v: want a charge of 1000, fee 20, a new payment intent", tx)
		}
		seen[tx.PaymentIntent] = true
	}
	if len(seen) != n {
		t.Fatalf("%d balance transactions; want %d", len(seen), n)
	}
}

// TestSettlementListsStripeMock shows stripe-mock accepts the settlement requests as sent:
// paths, limit, starting_after-free first page, created[gte], payout and expand[]=data.source.
func TestSettlementListsStripeMock(t *testing.T) {
	t.Parallel()
	base := os.Getenv(stripeMockEnv)
	if base == "" {
		t.Fatal(stripeMockEnv + " is not set: run the tests through scripts/with-stripe-mock.sh")
	}
	c := connect(t, base, "sk_test_settle", 0)
	pos, err := c.ListPayouts(context.Background(), 1700000000)
	if err != nil || len(pos) == 0 {
		t.Fatalf("ListPayouts = %v, %v", pos, err)
	}
	txns, err := c.ListBalanceTransactions(context.Background(), pos[0].ID)
	if err != nil || len(txns) == 0 {
		t.Fatalf("ListBalanceTransactions = %v, %v", txns, err)
	}
}
