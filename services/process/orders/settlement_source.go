package orders

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
)

// PaymentsPayouts reads payouts through the payments system API.
type PaymentsPayouts struct {
	Client paymentsv1.PaymentsServiceClient
}

// Payouts lists the payouts created since since.
func (p PaymentsPayouts) Payouts(ctx context.Context, since time.Time) ([]SettlementPayout, error) {
	resp, err := p.Client.ListPayouts(ctx, &paymentsv1.ListPayoutsRequest{CreatedSince: timestamppb.New(since)})
	if err != nil {
		return nil, err
	}
	out := make([]SettlementPayout, 0, len(resp.GetPayouts()))
	for _, po := range resp.GetPayouts() {
		out = append(out, SettlementPayout{ID: po.GetId(), Amount: po.GetAmountMinor(),
			Currency: strings.ToLower(po.GetCurrency()), Created: po.GetCreatedAt().AsTime()})
	}
	return out, nil
}

// PayoutLines lists what a payout paid out.
func (p PaymentsPayouts) PayoutLines(ctx context.Context, payoutID string) ([]SettlementLine, error) {
	resp, err := p.Client.ListPayoutLines(ctx, &paymentsv1.ListPayoutLinesRequest{PayoutId: payoutID})
	if err != nil {
		return nil, err
	}
	out := make([]SettlementLine, 0, len(resp.GetLines()))
	for _, l := range resp.GetLines() {
		out = append(out, SettlementLine{ID: l.GetId(), Type: l.GetType(), Amount: l.GetAmountMinor(),
			Fee: l.GetFeeMinor(), PaymentReference: l.GetPaymentReference()})
	}
	return out, nil
}

// DefaultSettlementInterval is how often Loop settles when RB_SETTLEMENT_INTERVAL is unset.
const DefaultSettlementInterval = time.Hour

// Loop runs settlement every interval until ctx ends; a failed run is logged by report and
// retried at the next tick, since the watermark only moves on success.
func (s *Settler) Loop(ctx context.Context, interval time.Duration, report func(SettlementRun, error)) error {
	if interval <= 0 {
		return fmt.Errorf("settlement: interval %v must be positive", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		report(s.Run(ctx))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
