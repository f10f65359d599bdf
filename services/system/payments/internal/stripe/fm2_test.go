package stripe_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
)

// TestFM2LostResponsesNeverDoubleARefund is ACCEPTANCE.md FM-2: the payment gateway commits
// refunds and then loses 30% of the answers. Every refund must still end in success, through
// retries with its own idempotency key, and the gateway must hold exactly one refund per key.
//
// Each seeded payment intent captured exactly what its refunds add up to, so a duplicate would
// also show as a later refund refused for exceeding what is left.
func TestFM2LostResponsesNeverDoubleARefund(t *testing.T) {
	t.Parallel()
	const (
		refunds   = 10_000 // under -race too: about 10 s on 2 cores
		perIntent = 20
		amount    = 100 // cents
		lossRate  = 0.3
		workers   = 32
	)
	intents := refunds / perIntent
	sb := stripesb.New(nil, stripesb.Options{SeedIntents: intents, SeedAmount: perIntent * amount, Seed: 2})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := connect(t, srv.URL, sb.SecretKey(), workers)
	sb.SetLoseResponses(lossRate)

	ids := make([]string, refunds)
	var failed atomic.Int64
	next := make(chan int)
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				r, err := c.CreateRefund(ctx, &paymentsv1.CreateRefundRequest{
					PaymentReference: stripesb.SeedIntentID(i/perIntent + 1),
					Amount:           money.New(amount, "USD"),
					IdempotencyKey:   fmt.Sprintf("fm2/return-%05d/refund", i),
					Metadata:         map[string]string{"refund_id": fmt.Sprintf("rf_%05d", i)},
				})
				cancel()
				if err != nil {
					if failed.Add(1) <= 10 {
						t.Errorf("refund %d: %v", i, err)
					}
					continue
				}
				ids[i] = r.GetGatewayRefundId()
			}
		})
	}
	for i := range refunds {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(began)
	sb.SetLoseResponses(0)

	st := sb.Stats()
	t.Logf("FM-2: %d refunds attempted over %d payment intents with %.0f%% of committed answers lost, %d workers, %v",
		refunds, intents, lossRate*100, workers, took.Round(time.Millisecond))
	t.Logf("FM-2: %d succeeded, %d failed; gateway created %d refunds; %d answers lost; connector retries %d; "+
		"answers replayed %d (connector saw %d); duplicate refunds %d; refunds refused as over-refunds %d; payments over-refunded %d",
		refunds-int(failed.Load()), failed.Load(), st.RefundsCreated, st.ResponsesLost, c.Retries(), st.Replayed, c.Replays(),
		st.Duplicates, st.Refused, st.OverRefunded)

	if failed.Load() != 0 {
		t.Errorf("%d refunds failed; want every one to succeed through same-key retries", failed.Load())
	}
	if st.RefundsCreated != int64(refunds) {
		t.Errorf("gateway created %d refunds; want exactly %d", st.RefundsCreated, refunds)
	}
	if st.Duplicates != 0 || st.Refused != 0 || st.OverRefunded != 0 {
		t.Errorf("duplicates %d, refused %d, over-refunded %d; want 0, 0, 0", st.Duplicates, st.Refused, st.OverRefunded)
	}
	if got := distinct(ids); got != refunds {
		t.Errorf("callers saw %d distinct refund ids; want %d", got, refunds)
	}
	for n := 1; n <= intents; n++ {
		if got := st.RefundsPerIntent[stripesb.SeedIntentID(n)]; got != perIntent {
			t.Errorf("%s has %d refunds; want %d", stripesb.SeedIntentID(n), got, perIntent)
		}
	}
	// Every lost answer was followed by exactly one retry, which the gateway answered from its
	// idempotency store (or lost again, and so on): nothing was executed twice.
	if st.ResponsesLost == 0 || st.Replayed != st.ResponsesLost || c.Retries() != st.ResponsesLost {
		t.Errorf("answers lost %d, replayed %d, connector retries %d; want lost > 0 and all three equal",
			st.ResponsesLost, st.Replayed, c.Retries())
	}
	if lost := float64(st.ResponsesLost) / float64(st.RefundsCreated+st.Replayed); lost < 0.25 || lost > 0.35 {
		t.Errorf("%.1f%% of answers were lost; want about %.0f%%", lost*100, lossRate*100)
	}
}

func distinct(ids []string) int {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" {
			seen[id] = true
		}
	}
	return len(seen)
}
