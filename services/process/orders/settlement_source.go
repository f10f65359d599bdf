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

// Loop triggers a scheduled run every interval until ctx ends, through the same path as
// support's triggers (Trigger): a run already going for the period (on any replica) is left to
// finish, and report hears of the runs this replica worked on, a failed one with its cause.
// Runs work on ctx (Serve), and Loop returns once those it started have finished.
func (s *Settler) Loop(ctx context.Context, interval time.Duration, report func(SettlementRun, error)) error {
	if interval <= 0 {
		return fmt.Errorf("settlement: interval %v must be positive", interval)
	}
	s.Serve(ctx)
	defer s.jobs.wg.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		run, started, err := s.Trigger(ctx, OriginSchedule)
		switch {
		case err != nil:
			report(SettlementRun{}, err)
		case started:
			s.wait(ctx, run.ID)
			if ctx.Err() == nil {
				report(s.outcome(ctx, run.ID))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// outcome is a finished run's counts, or its recorded cause as an error.
func (s *Settler) outcome(ctx context.Context, id string) (SettlementRun, error) {
	run, _, err := s.GetRun(ctx, id)
	switch {
	case err != nil:
		return SettlementRun{}, err
	case run.State == RunFailed:
		return run.SettlementRun, fmt.Errorf("settlement run %s failed: %s", id, run.Reason)
	}
	return run.SettlementRun, nil
}
